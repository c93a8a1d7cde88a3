"""Blue-green releases driven by the playbooks, on the real cluster with the real Prometheus."""

import contextlib
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import REPO, ansible_env, prometheus_query, run_playbook, wait_for
from inventories import fleet_inventory
from objects import rolled_out

# Each test runs several releases; on a machine busy with the rest of the suite that outlasts the
# default timeout.
pytestmark = pytest.mark.timeout(1500)

APP = "modelcard-generator"
# Gates measure once after 6 s (two scrapes fill the 10 s window) and nothing waits after promotion.
# A lock far longer than any gap between a run's renewals, even on a machine busy with the whole
# suite: a second run waiting for a live run's lock must never find it expired. (The kill trials
# use a short one: a killed run renews nothing.)
FAST = {"pd_gate_count": 1, "pd_gate_initial_delay": 6, "pd_scale_down_delay_seconds": 0, "pd_blue_green_lock_ttl": 300}
BAD = {"simulator.terragonlabs.io/error-rate": "0.5"}


def play(cluster, playbook, namespace, check=True, **extra):
    variables = dict(FAST, pd_namespace=namespace, **extra)
    return run_playbook(cluster, playbook, "-i", "inventories/local", "-e", json.dumps(variables), check=check)


def release(cluster, namespace, version, check=True, **extra):
    return play(cluster, "blue_green.yml", namespace, check=check, release_version=version, **extra)


def serving(api_client, namespace):
    """(color, version, ready replicas) behind the active Service."""
    color = client.CoreV1Api(api_client).read_namespaced_service(APP, namespace).spec.selector["terragonlabs.io/color"]
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(f"{APP}-{color}", namespace)
    return color, deployment.metadata.labels["app.kubernetes.io/version"], deployment.status.ready_replicas


def replicas(api_client, namespace, color):
    return client.AppsV1Api(api_client).read_namespaced_deployment(f"{APP}-{color}", namespace).spec.replicas


def record(api_client, namespace):
    data = client.CoreV1Api(api_client).read_namespaced_config_map(f"{APP}-release", namespace).data
    return json.loads(data["release.json"]), json.loads(data.get("history.json") or "[]")


def user_requests(cluster, namespace, version):
    """Requests users sent (through the active Service) to a version, as Prometheus counted them."""
    result = prometheus_query(cluster["prometheus_url"], f'sum(simulator_requests_total{{namespace="{namespace}",'
                                                         f'service="{APP}",version="{version}"}})')
    return result[0][1] if result else 0.0


def test_healthy_versions_are_promoted_and_a_bad_one_never_gets_traffic(api_client, cluster, namespace):
    release(cluster, namespace, "1.0.0")
    assert serving(api_client, namespace) == ("blue", "1.0.0", 3)

    release(cluster, namespace, "1.1.0")
    assert serving(api_client, namespace) == ("green", "1.1.0", 3)
    assert replicas(api_client, namespace, "blue") == 0
    current, history = record(api_client, namespace)
    assert (current["version"], current["phase"], current["gate"]["verdict"]) == ("1.1.0", "promoted", "Successful")
    assert [h["version"] for h in history] == ["1.0.0"]

    again = release(cluster, namespace, "1.1.0")
    # (each step is shown on stderr, as warnings are)
    assert "already serves all traffic" in again.stderr and "changed=0" in again.stdout

    failed = release(cluster, namespace, "1.2.0", check=False)  # the inventory's simulated bad version
    assert failed.returncode != 0
    assert "the pre-promotion gate ended Failed" in failed.stdout
    assert serving(api_client, namespace) == ("green", "1.1.0", 3)
    assert replicas(api_client, namespace, "blue") == 0
    current = record(api_client, namespace)[0]
    assert (current["version"], current["phase"]) == ("1.2.0", "aborted")
    assert user_requests(cluster, namespace, "1.2.0") == 0
    assert user_requests(cluster, namespace, "1.1.0") > 0


def test_a_failed_post_promotion_gate_sends_traffic_back(api_client, cluster, namespace):
    release(cluster, namespace, "1.0.0")
    # Errors that only live traffic reveals: no pre-promotion gate, a bad post-promotion one.
    failed = release(cluster, namespace, "1.3.0", check=False,
                     pd_pod_annotations_by_version={"1.3.0": BAD},
                     blue_green_pre_promotion_templates=[], blue_green_smoke_test={})
    assert failed.returncode != 0
    assert "the post-promotion gate ended Failed" in failed.stdout
    assert serving(api_client, namespace) == ("blue", "1.0.0", 3)
    assert replicas(api_client, namespace, "green") == 0
    current = record(api_client, namespace)[0]
    assert (current["phase"], current["details"]["traffic"]) == ("aborted", "blue")
    # Recorded after traffic went back, the verdict is still the release's.
    assert current["gate"]["verdict"] == "Failed" and current["gate"]["message"].startswith("post-promotion: ")
    assert user_requests(cluster, namespace, "1.3.0") > 0  # it did serve, briefly


def test_a_version_whose_pods_never_become_ready_is_aborted_at_the_inventorys_progress_deadline(
        api_client, cluster, namespace):
    release(cluster, namespace, "1.0.0")
    started = time.monotonic()
    stuck = release(cluster, namespace, "1.1.0", check=False, pd_progress_deadline_seconds=5,
                    pd_pod_annotations_by_version={"1.1.0": {"simulator.terragonlabs.io/ready": "false"}})
    # The rollout timeout is 300 s: only the deadline ends the wait this soon.
    assert stuck.returncode != 0 and time.monotonic() - started < 120
    assert "exceeded its progress deadline" in stuck.stdout
    assert serving(api_client, namespace) == ("blue", "1.0.0", 3)
    assert record(api_client, namespace)[0]["phase"] == "aborted"


@pytest.mark.long
def test_manual_promotion_pauses_and_a_later_run_promotes_or_aborts(api_client, cluster, namespace):
    release(cluster, namespace, "1.0.0")
    release(cluster, namespace, "1.1.0", auto_promote=False)
    assert serving(api_client, namespace) == ("blue", "1.0.0", 3)
    assert record(api_client, namespace)[0]["phase"] == "paused"
    preview = client.CoreV1Api(api_client).read_namespaced_service(f"{APP}-preview", namespace)
    assert preview.spec.selector["terragonlabs.io/color"] == "green"

    refused = release(cluster, namespace, "1.2.0", check=False)
    assert refused.returncode != 0 and "1.1.0 is paused awaiting promotion" in refused.stdout

    play(cluster, "abort.yml", namespace)
    assert serving(api_client, namespace) == ("blue", "1.0.0", 3)
    assert replicas(api_client, namespace, "green") == 0
    assert record(api_client, namespace)[0]["phase"] == "aborted"

    release(cluster, namespace, "1.1.0", auto_promote=False)
    play(cluster, "promote.yml", namespace)
    assert serving(api_client, namespace) == ("green", "1.1.0", 3)
    assert record(api_client, namespace)[0]["phase"] == "promoted"

    nothing = play(cluster, "promote.yml", namespace, check=False)
    assert nothing.returncode != 0 and "has no paused release to promote" in nothing.stdout


def test_each_application_of_a_fleet_waits_out_its_own_scale_down_delay(api_client, cluster, namespace, tmp_path):
    """Each application keeps its old color up for its own delay after its promotion, whatever the
    others' (a pause task once ran for all hosts with the first one's delay)."""
    delays = {f"{APP}-a": 0, f"{APP}-b": 12}
    inventory = fleet_inventory(tmp_path, {app: {"pd_scale_down_delay_seconds": delay} for app, delay in delays.items()})
    for version in ("1.0.0", "1.1.0"):
        variables = dict(FAST, pd_namespace=namespace, release_version=version)
        del variables["pd_scale_down_delay_seconds"]
        run_playbook(cluster, "blue_green.yml", "-i", str(inventory), "-e", json.dumps(variables))
    for app, delay in delays.items():
        current = json.loads(client.CoreV1Api(api_client).read_namespaced_config_map(
            f"{app}-release", namespace).data["release.json"])
        # promoted when the switch was recorded, updated when the old color went to zero
        kept = (datetime.fromisoformat(current["updated"].replace("Z", "+00:00"))
                - datetime.fromisoformat(current["finished"].replace("Z", "+00:00"))).total_seconds()
        assert (kept >= delay - 1) and (delay or kept < 10), (app, kept)
    apps = client.AppsV1Api(api_client)
    for app in delays:
        color = client.CoreV1Api(api_client).read_namespaced_service(app, namespace).spec.selector["terragonlabs.io/color"]
        assert apps.read_namespaced_deployment(f"{app}-{color}", namespace).metadata.labels[
            "app.kubernetes.io/version"] == "1.1.0"
        assert apps.read_namespaced_deployment(f"{app}-{'green' if color == 'blue' else 'blue'}", namespace).spec.replicas == 0


@contextlib.contextmanager
def holding_the_lock(api_client, cluster, namespace, playbook, extra):
    """A run of playbook with the extra variables, given once it holds the release lock; killed if it
    is still running after."""
    variables = dict(FAST, pd_namespace=namespace, **extra)
    run = subprocess.Popen(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local",
         f"playbooks/{playbook}", "-e", json.dumps(variables)],
        cwd=REPO, env=ansible_env(cluster), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        leases = client.CoordinationV1Api(api_client)

        def lock_taken():
            try:
                return bool(leases.list_namespaced_lease(namespace).items)
            except ApiException:
                return False

        wait_for(lock_taken, 120, f"the {playbook} run to take the lock")
        yield run
    finally:
        if run.poll() is None:
            run.kill()


def test_a_second_release_while_one_runs_is_refused_by_the_lock(api_client, cluster, namespace):
    release(cluster, namespace, "1.0.0")
    with holding_the_lock(api_client, cluster, namespace, "blue_green.yml", {"release_version": "1.1.0"}) as first:
        second = release(cluster, namespace, "1.1.0", check=False)
        assert second.returncode != 0
        assert "held by" in second.stdout
        assert first.wait(timeout=600) == 0, first.stdout.read()
    assert serving(api_client, namespace) == ("green", "1.1.0", 3)


def test_rollback_returns_to_the_previous_release_at_once_and_status_reports_it(api_client, cluster, namespace):
    release(cluster, namespace, "1.0.0")
    release(cluster, namespace, "1.1.0")
    play(cluster, "rollback.yml", namespace)
    assert serving(api_client, namespace) == ("blue", "1.0.0", 3)
    current = record(api_client, namespace)[0]
    assert (current["phase"], current["details"]["rolled_back_to"]) == ("rolled_back", "1.0.0")
    assert current["gate"] is None  # no gate ran

    status = play(cluster, "status.yml", namespace)
    assert "phase: rolled_back" in status.stdout and "earlier: 1.1.0 promoted, 1.0.0 promoted" in status.stdout


# Releases without gates: what these tests check does not depend on measurements.
NO_GATES = {"pd_gate_templates": [], "pd_smoke_test": {}, "pd_pod_annotations_by_version": {}}


def migration_job(name, annotations=None, deadline_seconds=None):
    """A database migration Job as a user would give it; kwok completes its pod once it is Ready."""
    spec = {"backoffLimit": 0, "template": {
        "metadata": {"annotations": annotations or {}},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1001, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "migrate", "image": "ghcr.io/terragonlabs/modelcard-generator-migrations:1.1.0",
                            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                                "capabilities": {"drop": ["ALL"]}}}]}}}
    if deadline_seconds:
        spec["activeDeadlineSeconds"] = deadline_seconds
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}


@pytest.mark.timeout(1200)  # three releases
def test_a_database_migration_runs_to_completion_before_the_new_color_and_a_failed_one_stops_the_release(
        api_client, cluster, namespace):
    release(cluster, namespace, "1.0.0", **NO_GATES)
    apps, core, batch = client.AppsV1Api(api_client), client.CoreV1Api(api_client), client.BatchV1Api(api_client)

    # A migration that never finishes (its pod never becomes Ready): the Job controller fails it
    # at its deadline, and the release stops there.
    failing = migration_job("migrate-broken", {"simulator.terragonlabs.io/ready": "false"}, deadline_seconds=3)
    failed = release(cluster, namespace, "1.1.0", check=False, pd_migration_job=failing, **NO_GATES)
    assert failed.returncode != 0
    assert "the database migration Job migrate-broken failed: DeadlineExceeded" in " ".join(failed.stdout.split()), \
        failed.stdout
    assert serving(api_client, namespace) == ("blue", "1.0.0", 3)
    assert core.read_namespaced_service(APP, namespace).spec.selector["terragonlabs.io/color"] == "blue"
    assert [d.metadata.name for d in apps.list_namespaced_deployment(namespace).items] == [f"{APP}-blue"]
    current = record(api_client, namespace)[0]
    assert (current["version"], current["phase"]) == ("1.1.0", "aborted")
    assert "migrate-broken" in current["details"]["reason"]
    assert client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items == []

    release(cluster, namespace, "1.1.0", pd_migration_job=migration_job("migrate-1-1-0"), **NO_GATES)
    assert serving(api_client, namespace) == ("green", "1.1.0", 3)
    job = batch.read_namespaced_job("migrate-1-1-0", namespace)
    green = apps.read_namespaced_deployment(f"{APP}-green", namespace)
    assert job.status.succeeded == 1
    assert job.status.completion_time <= green.metadata.creation_timestamp
    assert record(api_client, namespace)[0]["phase"] == "promoted"


@pytest.mark.long
@pytest.mark.timeout(1200)  # three releases
def test_rollback_to_a_named_blue_green_release_switches_to_it_without_gates(api_client, cluster, namespace):
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        release(cluster, namespace, version, **NO_GATES)
    assert serving(api_client, namespace) == ("blue", "1.2.0", 3)

    # The inventory's gates stay on: the rollback must skip them by itself.
    play(cluster, "rollback.yml", namespace, rollback_to="1.0.0", pd_pod_annotations_by_version={})
    assert serving(api_client, namespace) == ("green", "1.0.0", 3)
    assert replicas(api_client, namespace, "blue") == 0
    current, history = record(api_client, namespace)
    assert (current["version"], current["phase"], current["details"]["rolled_back_to"]) == ("1.0.0", "rolled_back", "1.0.0")
    assert current["gate"] is None
    assert [h["version"] for h in history][:3] == ["1.2.0", "1.1.0", "1.0.0"]


@pytest.mark.timeout(1200)  # three releases
def test_rollback_to_a_named_rolling_revision_undoes_the_deployment_to_it(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    for version in ("1.0.0", "1.1.0"):
        variables = dict(NO_GATES, pd_namespace=namespace, release_version=version)
        run_playbook(cluster, "rolling.yml", "-i", "inventories/local", "-e", json.dumps(variables))
    # The rollback goes through the engine and its lock: it never undoes an update under way.
    gated = dict(NO_GATES, release_version="1.2.0", pd_gate_templates=["app_success_rate"])
    with holding_the_lock(api_client, cluster, namespace, "rolling.yml", gated) as updating:
        refused = play(cluster, "rollback.yml", namespace, check=False, rollback_to="1")
        assert refused.returncode != 0 and "held by" in refused.stdout, refused.stdout
        assert updating.wait(timeout=600) == 0, updating.stdout.read()
    assert apps.read_namespaced_deployment(APP, namespace).metadata.annotations[
        "deployment.kubernetes.io/revision"] == "3"

    # Through the engine: under --check it says what it would undo and changes nothing.
    checked = run_playbook(cluster, "rollback.yml", "--check", "-i", "inventories/local", "-e",
                           json.dumps(dict(FAST, pd_namespace=namespace, rollback_to="1")))
    assert f"{APP}: would undo {APP} (1.2.0, revision 3) to revision 1, without gates" in checked.stderr, checked.stderr
    assert apps.read_namespaced_deployment(APP, namespace).metadata.annotations[
        "deployment.kubernetes.io/revision"] == "3"
    assert record(api_client, namespace)[0]["phase"] == "promoted"
    # A rolling application goes back to a revision: a version is refused, not taken as the one before.
    refused = play(cluster, "rollback.yml", namespace, check=False, rollback_to="1.0.0")
    assert refused.returncode != 0 and "rollback_to" in refused.stdout, refused.stdout
    assert apps.read_namespaced_deployment(APP, namespace).metadata.annotations[
        "deployment.kubernetes.io/revision"] == "3"

    play(cluster, "rollback.yml", namespace, rollback_to="1")
    deployment = wait_for(lambda: rolled_out(apps, namespace, APP, 3), 120, "the undone rollout")
    assert deployment.spec.template.spec.containers[0].image.endswith(":1.0.0")
    assert deployment.spec.template.metadata.labels["app.kubernetes.io/version"] == "1.0.0"
    service = client.CoreV1Api(api_client).read_namespaced_service(APP, namespace)
    assert service.spec.selector == {"app.kubernetes.io/name": APP}
    current = record(api_client, namespace)[0]
    assert (current["strategy"], current["phase"], current["details"]["rolled_back_to"]) == ("rolling", "rolled_back", "1")
