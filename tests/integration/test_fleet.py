"""A fleet across two local clusters: the default one and a second started beside it (index 1), in
waves, with a dependency across clusters; a bad version in the first wave stops the fleet, leaving
later waves exactly as they were; the second cluster then stops alone. Refusals and check mode need
the default cluster only."""

import json
import os
import subprocess
import sys

import pytest
from kubernetes import client, config

from conftest import JSON_OUTPUT, REPO, local_cluster, run_playbook, task_results, wait_for
from inventories import clusters_inventory, fleet_inventory

TOOL = REPO / "tools" / "local_cluster" / "local_cluster.py"
INDEX = 1
# Release order as listed, clusters alternating; waves [2, 2, "100%"] would give [api, search],
# [web, ui], [worker, batch], but web follows ui (in the other cluster), so it moves to the third.
APPS = {"api": "cluster_a", "search": "cluster_b", "web": "cluster_a", "ui": "cluster_b", "worker": "cluster_a",
        "batch": "cluster_b"}
WAVES = {"api": 1, "search": 1, "ui": 2, "web": 3, "worker": 3, "batch": 3}
# Short canary steps: the bad version's errors fail the analysis within seconds of taking traffic.
FLEET = {"pd_release_strategy": "canary", "pd_replicas": 1, "pd_fleet_waves": [2, 2, "100%"],
         "pd_canary_background_analysis": {}, "pd_gate_count": 1, "pd_gate_initial_delay": 5}


# Without the variables that would override what the index derives.
ENVIRONMENT = {name: value for name, value in os.environ.items()
               if name != "PD_CLUSTER_DIR" and not (name.startswith("PD_") and name.endswith("_PORT"))}
SETTINGS = local_cluster.settings(INDEX, ENVIRONMENT)


def tool(command):
    return subprocess.run([sys.executable, str(TOOL), command, "--index", str(INDEX)], env=ENVIRONMENT,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture()
def second_cluster(cluster):
    started = tool("up")
    if started.returncode != 0:
        tool("down")
        pytest.fail(f"the second local cluster did not start:\n{started.stdout}\n{started.stderr}")
    yield json.loads((SETTINGS["directory"] / "cluster.json").read_text())
    tool("down")


def make_namespace(api_client, name):
    core = client.CoreV1Api(api_client)
    core.create_namespace({"metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    wait_for(lambda: core.list_namespaced_service_account(name, field_selector="metadata.name=default").items, 30,
             "the default ServiceAccount")


def snapshot(api_client, namespace, app):
    """The resourceVersion of each of an application's objects."""
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)

    def mine(name):
        return name == app or name.startswith(app + "-")

    versions = {("Deployment", d.metadata.name): d.metadata.resource_version
                for d in apps.list_namespaced_deployment(namespace).items if mine(d.metadata.name)}
    versions.update({("Service", s.metadata.name): s.metadata.resource_version
                     for s in core.list_namespaced_service(namespace).items if mine(s.metadata.name)})
    versions.update({("ConfigMap", c.metadata.name): c.metadata.resource_version
                     for c in core.list_namespaced_config_map(namespace).items if mine(c.metadata.name)})
    versions.update({("HTTPRoute", r["metadata"]["name"]): r["metadata"]["resourceVersion"]
                     for r in custom.list_namespaced_custom_object("gateway.networking.k8s.io", "v1", namespace,
                                                                   "httproutes")["items"]
                     if mine(r["metadata"]["name"])})
    return versions


def assert_independent(second_cluster, cluster):
    """The second cluster has its own ports, context and nodes."""
    ports = SETTINGS["ports"]
    assert second_cluster["api_server"] == f"https://127.0.0.1:{ports['kube-apiserver']}" != cluster["api_server"]
    assert second_cluster["context"] == "progressive-delivery-local-1"
    assert second_cluster["prometheus_url"] == f"http://127.0.0.1:{ports['prometheus']}"
    second_api = config.new_client_from_config(config_file=second_cluster["kubeconfig"])
    nodes = {node.metadata.name for node in client.CoreV1Api(second_api).list_node().items}
    assert nodes == {"kwok-node-0", "kwok-node-1", "kwok-node-2"}


def assert_stops_alone(api_client):
    """`down --index 1` stops every process of the second cluster and removes its directory, and the
    default cluster goes on serving."""
    directory = SETTINGS["directory"]
    pids = [json.loads(path.read_text())["pid"] for path in (directory / "run").glob("*.pid")]
    assert len(pids) == len(SETTINGS["components"]) == 8  # the guard runs beside the default cluster only
    stopped = tool("down")
    assert stopped.returncode == 0, stopped.stderr
    assert not directory.exists()
    assert all(local_cluster.processes.process_start_time(pid) is None for pid in pids)
    assert local_cluster.apiserver_ready()
    assert client.CoreV1Api(api_client).list_namespace().items


def fleet(cluster, inventory, extra):
    return run_playbook(cluster, "fleet.yml", "-i", str(inventory), "-e", json.dumps(extra), check=False,
                        env=dict(JSON_OUTPUT, ANSIBLE_SHOW_CUSTOM_STATS="1"))


def test_a_bad_version_in_the_first_wave_stops_a_fleet_across_two_clusters(
        api_client, cluster, second_cluster, namespace, tmp_path):
    assert_independent(second_cluster, cluster)
    second_api = config.new_client_from_config(config_file=second_cluster["kubeconfig"])
    make_namespace(second_api, namespace)
    apis = {"cluster_a": api_client, "cluster_b": second_api}
    try:
        report = tmp_path / "fleet.json"
        inventory = clusters_inventory(tmp_path / "inventory", {"cluster_a": cluster, "cluster_b": second_cluster},
                                       {app: (group, {"pd_release_after": ["ui"]} if app == "web" else {})
                                        for app, group in APPS.items()})
        common = dict(FLEET, pd_namespace=namespace, pd_fleet_report=str(report))

        first = fleet(cluster, inventory, dict(common, release_version="1.0.0", pd_canary_steps=[]))
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr
        rows = {row["application"]: row for row in json.loads(report.read_text())["applications"]}
        assert {app: (row["outcome"], row["cluster"], row["wave"]) for app, row in rows.items()} == {
            app: ("released", APPS[app], WAVES[app]) for app in APPS}
        # Each application is on its own cluster only.
        for app, group in APPS.items():
            other = apis["cluster_b" if group == "cluster_a" else "cluster_a"]
            assert (("Deployment", f"{app}-blue") in snapshot(apis[group], namespace, app)
                    and not snapshot(other, namespace, app))

        later = {app: snapshot(apis[APPS[app]], namespace, app) for app, wave in WAVES.items() if wave > 1}
        # The version is each application's own: the api's 1.2.0 answers 30% errors (inventories/local).
        versions = {app: "1.2.0" if app == "api" else "1.1.0" for app in APPS}
        inventory = clusters_inventory(tmp_path / "inventory2", {"cluster_a": cluster, "cluster_b": second_cluster},
                                       {app: (group, dict({"pd_release_after": ["ui"]} if app == "web" else {},
                                                          release_version=versions[app]))
                                        for app, group in APPS.items()})
        second = fleet(cluster, inventory, dict(common, pd_canary_steps=[
            {"set_weight": 50}, {"analysis": {"templates": ["app_success_rate"]}}]))
        assert second.returncode == 2, second.stdout[-3000:] + second.stderr

        published = json.loads(second.stdout)["global_custom_stats"]["pd_fleet"]
        assert published == json.loads(report.read_text())
        outcomes = {row["application"]: (row["outcome"], row["version"]) for row in published["applications"]}
        assert outcomes == {"api": ("aborted", "1.2.0"), "search": ("released", "1.1.0"),
                            "ui": ("not started", "1.1.0"), "web": ("not started", "1.1.0"),
                            "worker": ("not started", "1.1.0"), "batch": ("not started", "1.1.0")}
        api = next(row for row in published["applications"] if row["application"] == "api")
        assert api["verdict"].startswith("Failed") and "app_success_rate" in api["verdict"]
        assert published["stopped"].startswith("wave 1: api ended aborted or failed")
        # Later waves untouched, on both clusters.
        assert {app: snapshot(apis[APPS[app]], namespace, app) for app in later} == later
        # The table in the play's output.
        table = task_results(second.stdout, "Print the fleet report")["localhost"]["msg"].splitlines()
        assert table[0].split() == ["application", "cluster", "strategy", "version", "wave", "outcome", "verdict", "time"]
        assert table[1].split()[:6] == ["api", "cluster_a", "canary", "1.2.0", "1", "aborted"]
        assert any(line.split()[:7] == ["web", "cluster_a", "canary", "1.1.0", "3", "not", "started"]
                   for line in table)
    finally:
        client.CoreV1Api(second_api).delete_namespace(namespace)
    # Last, as the second cluster is not needed any more.
    assert_stops_alone(api_client)


@pytest.mark.parametrize("after, message", [
    ({"a": ["b"], "b": ["a"]}, "pd_release_after forms a cycle: a -> b -> a"),
    ({"b": ["missing"]}, "pd_release_after of b names missing, which is not an application of this fleet"),
])
def test_a_cycle_or_an_unknown_name_is_refused_before_anything_changes(
        api_client, cluster, namespace, tmp_path, after, message):
    inventory = fleet_inventory(tmp_path, {app: {"pd_release_after": after[app]} if app in after else None
                                           for app in ("a", "b", "c")})
    refused = fleet(cluster, inventory, dict(FLEET, pd_namespace=namespace, release_version="1.0.0"))
    assert refused.returncode == 2
    assert message in refused.stdout
    assert not client.AppsV1Api(api_client).list_namespaced_deployment(namespace).items
    assert {c.metadata.name for c in client.CoreV1Api(api_client).list_namespaced_config_map(namespace).items} == {
        "kube-root-ca.crt"}


def test_check_mode_changes_nothing_and_reports_each_application_checked(api_client, cluster, namespace, tmp_path):
    inventory = fleet_inventory(tmp_path, {"a": None, "b": {"pd_release_after": ["a"]}})
    checked = run_playbook(cluster, "fleet.yml", "--check", "-i", str(inventory), "-e", json.dumps(
        dict(FLEET, pd_namespace=namespace, release_version="1.0.0", pd_canary_steps=[])),
        env=dict(JSON_OUTPUT, ANSIBLE_SHOW_CUSTOM_STATS="1"))
    rows = json.loads(checked.stdout)["global_custom_stats"]["pd_fleet"]["applications"]
    assert [(row["application"], row["wave"], row["outcome"]) for row in rows] == [
        ("a", 1, "checked"), ("b", 2, "checked")]
    assert not client.AppsV1Api(api_client).list_namespaced_deployment(namespace).items
