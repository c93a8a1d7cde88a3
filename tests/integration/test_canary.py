"""Canary releases driven by the playbooks, through the real routers' objects, the real
Prometheus and the traffic simulator that follows them."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client

from conftest import REPO, ansible_env, kill_tree, run_module, run_playbook, wait_for
from inventories import fleet_inventory
from stub_http import Stub

APP = "modelcard-generator"
# Analyses measure once after 6 s (two scrapes fill the 10 s window); background every 2 s.
# Each test runs several playbooks end to end; on a loaded machine that outlasts the default timeout.
pytestmark = pytest.mark.timeout(1800)
FAST = {"pd_gate_count": 1, "pd_gate_initial_delay": 6, "pd_gate_interval": 2, "pd_canary_lock_ttl": 30,
        "pd_canary_background_analysis": {}}
BAD = {"simulator.terragonlabs.io/error-rate": "0.5"}
ANALYSIS = {"analysis": {"templates": ["app_success_rate"]}}
TESTERS = {"set_header_route": {"name": "testers", "match": [
    {"header_name": "x-canary", "header_value": {"exact": "yes"}},
    {"header_name": "Cookie", "header_value": {"exact": "canary=always"}}]}}


def variables(namespace, router, **extra):
    return dict(FAST, pd_namespace=namespace, pd_canary_router=router, **extra)


def play(cluster, playbook, namespace, router, check=True, **extra):
    return run_playbook(cluster, playbook, "-i", "inventories/local",
                        "-e", json.dumps(variables(namespace, router, **extra)), check=check)


def release(cluster, namespace, router, version, steps, check=True, **extra):
    return play(cluster, "canary.yml", namespace, router, check=check, release_version=version,
                pd_canary_steps=steps, **extra)


def traffic(cluster, namespace, router, api_client=None):
    """traffic_info's view: weights, header route and mirror of the canary's route (with no router,
    the replica split between the slots the record names)."""
    args = {"router": router, "namespace": namespace}
    if router == "replicas":
        current = record(api_client, namespace)
        args.update(stable=f"{APP}-{current['stable_revision']}", canary=f"{APP}-{current['new_revision']}",
                    replicas={"total": 3})
    else:
        args.update(stable=APP, canary=f"{APP}-canary", route=APP)
    result = run_module(cluster, "traffic_info", args)
    assert not result.get("failed"), result
    return result


def canary_weight(cluster, namespace, router):
    return traffic(cluster, namespace, router)["weights"].get(f"{APP}-canary", 0)


def running(api_client, namespace, app=APP):
    """(version, replicas, ready replicas) of each of the application's slots that runs pods, oldest version first."""
    return sorted((d.metadata.labels["app.kubernetes.io/version"], d.spec.replicas, d.status.ready_replicas or 0)
                  for d in client.AppsV1Api(api_client).list_namespaced_deployment(
                      namespace, label_selector=f"app.kubernetes.io/name={app}").items if d.spec.replicas)


def stable_selects(api_client, namespace, version, app=APP):
    """Whether the stable Service selects the pods of the slot that runs version, and no other's."""
    selector = client.CoreV1Api(api_client).read_namespaced_service(app, namespace).spec.selector
    pods = client.CoreV1Api(api_client).list_namespaced_pod(
        namespace, label_selector=",".join(f"{k}={v}" for k, v in selector.items())).items
    return bool(pods) and {p.metadata.labels["app.kubernetes.io/version"] for p in pods} == {version}


def record(api_client, namespace):
    data = client.CoreV1Api(api_client).read_namespaced_config_map(f"{APP}-release", namespace).data
    return json.loads(data["release.json"])


def assert_back_on_stable(api_client, cluster, namespace, router, stable_version):
    assert canary_weight(cluster, namespace, router) == 0
    assert running(api_client, namespace) == [(stable_version, 3, 3)]
    current = record(api_client, namespace)
    assert (current["phase"], current["details"]["traffic"]) == ("aborted", "stable")
    return current


@pytest.mark.parametrize("router", ["gateway_api", "istio", "replicas"])
def test_a_healthy_canary_pauses_and_a_second_run_promotes_it(api_client, cluster, namespace, router):
    release(cluster, namespace, router, "1.0.0", [])
    assert running(api_client, namespace) == [("1.0.0", 3, 3)]
    assert record(api_client, namespace)["phase"] == "promoted"

    headers = router != "replicas"
    steps = ([{"set_canary_scale": {"replicas": 1}}, TESTERS] if headers else []) + [
        {"set_weight": 50}, {"pause": {}}, {"set_weight": 100}]
    release(cluster, namespace, router, "1.1.0", steps)
    current = record(api_client, namespace)
    assert (current["strategy"], current["version"], current["phase"]) == ("canary", "1.1.0", "paused")
    assert current["details"]["step_index"] == str(len(steps) - 2)  # the pause's own index
    seen = traffic(cluster, namespace, router, api_client)
    # With no router the weight is the replica split: ceil(3 x 50%) = 2 canary pods of 3, in green beside blue.
    assert seen["weights"] == ({APP: 50, f"{APP}-canary": 50} if headers else {f"{APP}-blue": 33, f"{APP}-green": 67})
    # The explicit scale holds with a router; with none the canary has ceil(3 x 50%) replicas.
    assert running(api_client, namespace) == ([("1.0.0", 3, 3), ("1.1.0", 1, 1)] if headers
                                              else [("1.0.0", 1, 1), ("1.1.0", 2, 2)])
    if headers:
        assert seen["header_route"] == {"headers": {"x-canary": "yes"}, "cookie": "canary=always"}

    play(cluster, "promote.yml", namespace, router, pd_canary_steps=steps)
    current = record(api_client, namespace)
    assert (current["version"], current["phase"], current["details"]["weight"]) == ("1.1.0", "promoted", "0")
    seen = traffic(cluster, namespace, router, api_client)
    assert seen["weights"][APP if headers else f"{APP}-green"] == 100 and seen["header_route"] is None
    # The canary's pods became stable's: green serves, blue is scaled to 0.
    assert running(api_client, namespace) == [("1.1.0", 3, 3)]
    assert client.AppsV1Api(api_client).read_namespaced_deployment(f"{APP}-green", namespace).spec.replicas == 3
    if headers:
        assert stable_selects(api_client, namespace, "1.1.0")

    again = release(cluster, namespace, router, "1.1.0", steps)
    # (each step is shown on stderr, as warnings are)
    assert "already serves all traffic" in again.stderr and "changed=0" in again.stdout
    status = play(cluster, "status.yml", namespace, router)
    assert "strategy: canary, version: 1.1.0" in status.stdout and "phase: promoted" in status.stdout


def test_a_healthy_canary_walks_every_step_to_promotion_and_reports_each_event(api_client, cluster, namespace):
    receiver = Stub({"/events": lambda *_: (200, {"received": True})})
    try:
        targets = [{"type": "webhook", "name": "audit", "url": receiver.url + "/events"}]
        release(cluster, namespace, "nginx", "1.0.0", [], pd_notify_targets=targets)
        steps = [{"set_weight": 25}, ANALYSIS, {"set_weight": 50}, {"pause": {"duration": 2}}, {"set_weight": 100}]
        release(cluster, namespace, "nginx", "1.1.0", steps, pd_notify_targets=targets)
        events = [json.loads(r["body"]) for r in receiver.calls("/events")]
    finally:
        receiver.close()
    current = record(api_client, namespace)
    assert (current["version"], current["phase"], current["gate"]["verdict"]) == ("1.1.0", "promoted", "Successful")
    assert canary_weight(cluster, namespace, "nginx") == 0
    assert running(api_client, namespace) == [("1.1.0", 3, 3)] and stable_selects(api_client, namespace, "1.1.0")
    second = [(e["event"], e["details"].get("step_index")) for e in events if e["version"] == "1.1.0"]
    assert second == [("started", None)] + [("step_completed", i) for i in range(len(steps))] + [("promoted", None)]
    assert {e["strategy"] for e in events} == {"canary"}


def test_a_bad_canary_is_aborted_by_its_analysis_step(api_client, cluster, namespace):
    release(cluster, namespace, "gateway_api", "1.0.0", [])
    # A second stable version first, so the abort below must leave stable on it, not undo it.
    release(cluster, namespace, "gateway_api", "1.1.0", [])
    assert running(api_client, namespace) == [("1.1.0", 3, 3)]
    failed = release(cluster, namespace, "gateway_api", "1.2.0", [{"set_weight": 50}, ANALYSIS, {"set_weight": 100}],
                     check=False, pd_pod_annotations_by_version={"1.2.0": BAD})
    assert failed.returncode != 0
    assert "the step 1 analysis ended Failed" in failed.stdout
    current = assert_back_on_stable(api_client, cluster, namespace, "gateway_api", "1.1.0")
    assert current["gate"]["verdict"] == "Failed" and current["details"]["step_index"] == "1"


def test_background_analysis_aborts_a_bad_canary_during_a_long_pause(api_client, cluster, namespace):
    release(cluster, namespace, "istio", "1.0.0", [])
    pause = 600
    started = time.monotonic()
    failed = release(cluster, namespace, "istio", "1.1.0", [{"set_weight": 50}, {"pause": {"duration": pause}}],
                     check=False, pd_pod_annotations_by_version={"1.1.0": BAD},
                     pd_canary_background_analysis={"templates": ["app_success_rate"], "start_at_step": 1})
    elapsed = time.monotonic() - started
    assert failed.returncode != 0
    assert "the background analysis ended" in failed.stdout
    assert elapsed < pause / 2, elapsed
    current = assert_back_on_stable(api_client, cluster, namespace, "istio", "1.0.0")
    assert current["details"]["step_index"] == "1"


def test_one_fork_at_a_time_the_applications_of_a_fleet_are_released_one_after_another(
        api_client, cluster, namespace, tmp_path):
    """Each application's release is one task, which waits out its own pause in process: with one fork,
    the second application's canary starts once the first is promoted, never with half its pause spent."""
    apps = [f"{APP}-a", f"{APP}-b"]
    inventory = fleet_inventory(tmp_path, dict.fromkeys(apps))
    steps = [{"set_weight": 50}, {"pause": {"duration": 5}}]
    for version in ("1.0.0", "1.1.0"):
        run_playbook(cluster, "canary.yml", "-i", str(inventory), "-e",
                     json.dumps(variables(namespace, "gateway_api", release_version=version, pd_canary_steps=steps)),
                     env={"ANSIBLE_FORKS": "1"})
    records = [json.loads(client.CoreV1Api(api_client).read_namespaced_config_map(
        f"{app}-release", namespace).data["release.json"]) for app in apps]
    assert [r["phase"] for r in records] == ["promoted", "promoted"]
    assert records[1]["started"] >= records[0]["finished"], records
    for app in apps:
        weights = run_module(cluster, "traffic_info", {"router": "gateway_api", "namespace": namespace, "stable": app,
                                                       "canary": f"{app}-canary", "route": app})["weights"]
        assert weights.get(f"{app}-canary", 0) == 0
        assert running(api_client, namespace, app) == [("1.1.0", 3, 3)] and stable_selects(
            api_client, namespace, "1.1.0", app)


def test_a_paused_release_is_aborted_by_a_second_run(api_client, cluster, namespace):
    release(cluster, namespace, "gateway_api", "1.0.0", [])
    steps = [{"set_canary_scale": {"replicas": 1}}, TESTERS, {"set_weight": 25}, {"pause": {}}, {"set_weight": 100}]
    release(cluster, namespace, "gateway_api", "1.1.0", steps)
    assert traffic(cluster, namespace, "gateway_api")["header_route"] is not None
    play(cluster, "abort.yml", namespace, "gateway_api", pd_canary_steps=steps)
    current = assert_back_on_stable(api_client, cluster, namespace, "gateway_api", "1.0.0")
    assert current["details"]["reason"].startswith("aborted by")
    assert traffic(cluster, namespace, "gateway_api")["header_route"] is None


def test_a_killed_release_is_resumed_by_running_it_again(api_client, cluster, namespace):
    release(cluster, namespace, "replicas", "1.0.0", [])
    steps = [{"set_weight": 33}, {"pause": {"duration": 120}}, {"set_weight": 100}]
    extra = variables(namespace, "replicas", release_version="1.1.0", pd_canary_steps=steps)
    first = subprocess.Popen(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local",
         "playbooks/canary.yml", "-e", json.dumps(extra)],
        cwd=REPO, env=ansible_env(cluster), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def pausing():
            try:
                return record(api_client, namespace)["details"].get("step_index") == "1"
            except (client.ApiException, KeyError):
                return False
        wait_for(pausing, 600, "the release to reach its pause")
    finally:
        first.kill()  # SIGKILL: no rescue, no lock given back
        first.wait()
    assert client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items  # left behind
    assert running(api_client, namespace) == [("1.0.0", 2, 2), ("1.1.0", 1, 1)]  # ceil(3 x 33%)

    steps[1] = {"pause": {"duration": 1}}  # the resumed run need not wait the whole pause again
    release(cluster, namespace, "replicas", "1.1.0", steps)
    current = record(api_client, namespace)
    assert (current["version"], current["phase"]) == ("1.1.0", "promoted")
    assert running(api_client, namespace) == [("1.1.0", 3, 3)]


@pytest.mark.parametrize("recovery", ["abort", "re-run"])
def test_a_promotion_killed_once_the_stable_service_moved_is_aborted_back_or_finished(
        api_client, cluster, namespace, recovery):
    """Left as a promotion killed after the stable Service selected the new slot and the old slot went
    to 0, before the record said promoted: abort.yml brings the old slot back to full size and the
    Service back to it before the route changes; a re-run finishes the promotion."""
    steps = [{"set_weight": 50}, {"pause": {}}]
    release(cluster, namespace, "gateway_api", "1.0.0", [])
    release(cluster, namespace, "gateway_api", "1.1.0", steps)
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.patch_namespaced_deployment_scale(f"{APP}-green", namespace, {"spec": {"replicas": 3}})
    wait_for(lambda: running(api_client, namespace) == [("1.0.0", 3, 3), ("1.1.0", 3, 3)], 120, "green at 3")
    core.patch_namespaced_service(APP, namespace, {"spec": {"selector": {"terragonlabs.io/color": "green"}}})
    switched = run_module(cluster, "traffic_switch", {"router": "gateway_api", "namespace": namespace, "route": APP,
                                                      "stable": APP, "canary": f"{APP}-canary", "weight": 0})
    assert not switched.get("failed"), switched
    apps.patch_namespaced_deployment_scale(f"{APP}-blue", namespace, {"spec": {"replicas": 0}})
    recorded = run_module(cluster, "release_record", {"app": APP, "namespace": namespace, "phase": "progressing",
                                                      "step": "promoting", "details": {"step_index": "2"}})
    assert not recorded.get("failed"), recorded
    assert running(api_client, namespace) == [("1.1.0", 3, 3)] and stable_selects(api_client, namespace, "1.1.0")

    if recovery == "abort":
        play(cluster, "abort.yml", namespace, "gateway_api")
        assert_back_on_stable(api_client, cluster, namespace, "gateway_api", "1.0.0")
        assert stable_selects(api_client, namespace, "1.0.0") and replicas(api_client, namespace, "blue") == 3
    else:
        release(cluster, namespace, "gateway_api", "1.1.0", steps)
        assert (record(api_client, namespace)["phase"], canary_weight(cluster, namespace, "gateway_api")) == (
            "promoted", 0)
        assert running(api_client, namespace) == [("1.1.0", 3, 3)] and stable_selects(api_client, namespace, "1.1.0")


def test_rollback_releases_the_previous_version_again_through_the_recorded_router(api_client, cluster, namespace):
    """A canary application goes back as a canary: the earlier version in the idle slot, promoted at once
    with no gates, through the router the releases started with even when the inventory now names another."""
    for version in ("1.0.0", "1.1.0"):
        release(cluster, namespace, "gateway_api", version, [{"set_weight": 50}, ANALYSIS])
    play(cluster, "rollback.yml", namespace, "istio", pd_canary_steps=[ANALYSIS])
    assert running(api_client, namespace) == [("1.0.0", 3, 3)] and stable_selects(api_client, namespace, "1.0.0")
    assert canary_weight(cluster, namespace, "gateway_api") == 0
    names = [d.metadata.name for d in client.AppsV1Api(api_client).list_namespaced_deployment(namespace).items]
    assert sorted(names) == [f"{APP}-blue", f"{APP}-green"]
    assert not client.CustomObjectsApi(api_client).list_namespaced_custom_object(
        "networking.istio.io", "v1", namespace, "virtualservices")["items"]
    current = record(api_client, namespace)
    assert (current["strategy"], current["version"], current["phase"]) == ("canary", "1.0.0", "rolled_back")
    assert (current["details"]["rolled_back_from"], current["gate"]) == ("1.1.0", None)  # no analysis ran
    status = play(cluster, "status.yml", namespace, "istio")
    assert "rolled back from 1.1.0 to 1.0.0" in status.stdout


def test_a_version_whose_pods_never_become_ready_is_aborted_at_the_inventorys_progress_deadline(
        api_client, cluster, namespace):
    release(cluster, namespace, "istio", "1.0.0", [])
    started = time.monotonic()
    stuck = release(cluster, namespace, "istio", "1.1.0", [{"set_weight": 50}, {"set_weight": 100}], check=False,
                    pd_progress_deadline_seconds=5,
                    pd_pod_annotations_by_version={"1.1.0": {"simulator.terragonlabs.io/ready": "false"}})
    # The rollout timeout is 300 s: only the deadline ends the wait this soon.
    assert stuck.returncode != 0 and time.monotonic() - started < 120
    assert "exceeded its progress deadline" in stuck.stdout
    assert_back_on_stable(api_client, cluster, namespace, "istio", "1.0.0")


def test_a_run_killed_while_it_waits_for_pods_leaves_a_lock_that_expires_within_its_ttl(api_client, cluster, namespace):
    """The wait for the canary's pods renews the lock itself: no hold of ttl + twice the rollout
    timeout that an abort would have to wait out while the canary takes traffic."""
    release(cluster, namespace, "istio", "1.0.0", [])
    never_ready = {"1.1.0": {"simulator.terragonlabs.io/ready": "false"}}
    extra = variables(namespace, "istio", release_version="1.1.0", pd_canary_steps=[{"set_weight": 50}],
                      pd_pod_annotations_by_version=never_ready)
    waiting = subprocess.Popen(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local",
         "playbooks/canary.yml", "-e", json.dumps(extra)],
        cwd=REPO, env=ansible_env(cluster), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    leases = client.CoordinationV1Api(api_client)
    try:
        def scaling_up():
            try:
                return client.AppsV1Api(api_client).read_namespaced_deployment(
                    f"{APP}-green", namespace).spec.replicas > 0
            except client.ApiException:  # not created yet
                return False
        wait_for(scaling_up, 300, "the canary to scale up")
        time.sleep(FAST["pd_canary_lock_ttl"] / 3 + 3)  # one renewal by the waiting module
        lease = leases.list_namespaced_lease(namespace).items[0]
        assert waiting.poll() is None, "the release stopped waiting"
    finally:
        kill_tree(waiting.pid)  # a lost node: the playbook and the module waiting in its worker
        waiting.wait()
    assert lease.spec.lease_duration_seconds == FAST["pd_canary_lock_ttl"]
    started = time.monotonic()
    play(cluster, "abort.yml", namespace, "istio")
    assert time.monotonic() - started < FAST["pd_canary_lock_ttl"] + 30
    assert_back_on_stable(api_client, cluster, namespace, "istio", "1.0.0")


# The last commit whose canary ran the two Deployments APP-stable and APP-canary (pods labelled
# terragonlabs.io/track): what it released, or left paused, the slots take over.
TWO_DEPLOYMENTS_COMMIT = "75971edcf4e50f0c37322d03005f8343d4b5d7dc"


@pytest.fixture(scope="module")
def two_deployments_code(tmp_path_factory):
    """That commit's collection, checked out beside this one, as run by a user who has not upgraded."""
    root = tmp_path_factory.mktemp("two-deployments")
    archive = subprocess.run(["git", "-C", str(REPO), "archive", TWO_DEPLOYMENTS_COMMIT],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    link = root / ".cache/collections/ansible_collections/terragonlabs/progressive_delivery"
    link.parent.mkdir(parents=True)
    link.symlink_to(root)
    return root


def release_with_two_deployments(root, cluster, namespace, router, version, steps):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local", "playbooks/canary.yml",
         "-e", json.dumps(variables(namespace, router, release_version=version, pd_canary_steps=steps))],
        cwd=root, env=dict(ansible_env(cluster), ANSIBLE_CONFIG=str(root / "ansible.cfg")),
        capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def replicas(api_client, namespace, name):
    return client.AppsV1Api(api_client).read_namespaced_deployment(f"{APP}-{name}", namespace).spec.replicas


def test_a_release_recorded_in_two_deployments_is_promoted_into_the_slots(
        api_client, cluster, namespace, two_deployments_code):
    """Left paused by the two-Deployment code, a release is promoted by the slots' (the stable Service
    then selects APP-canary's pods); the next release goes to APP-blue and leaves the old ones at 0."""
    release_with_two_deployments(two_deployments_code, cluster, namespace, "gateway_api", "1.0.0", [])
    release_with_two_deployments(two_deployments_code, cluster, namespace, "gateway_api", "1.1.0",
                                 [{"set_weight": 20}, {"pause": {}}])
    assert running(api_client, namespace) == [("1.0.0", 3, 3), ("1.1.0", 1, 1)]

    play(cluster, "promote.yml", namespace, "gateway_api")
    current = record(api_client, namespace)
    assert (current["version"], current["phase"]) == ("1.1.0", "promoted")
    assert running(api_client, namespace) == [("1.1.0", 3, 3)] and replicas(api_client, namespace, "canary") == 3
    assert stable_selects(api_client, namespace, "1.1.0") and canary_weight(cluster, namespace, "gateway_api") == 0

    release(cluster, namespace, "gateway_api", "1.2.0", [{"set_weight": 50}])
    assert running(api_client, namespace) == [("1.2.0", 3, 3)] and replicas(api_client, namespace, "blue") == 3
    assert stable_selects(api_client, namespace, "1.2.0") and canary_weight(cluster, namespace, "gateway_api") == 0
    assert (replicas(api_client, namespace, "stable"), replicas(api_client, namespace, "canary")) == (0, 0)


def test_a_release_recorded_in_two_deployments_is_aborted_and_the_next_one_goes_to_a_slot(
        api_client, cluster, namespace, two_deployments_code):
    """With no router (one Service over both Deployments, the record saying which is stable): the paused
    release is aborted back to APP-stable, and the next release goes to APP-blue beside it."""
    release_with_two_deployments(two_deployments_code, cluster, namespace, "replicas", "1.0.0", [])
    release_with_two_deployments(two_deployments_code, cluster, namespace, "replicas", "1.1.0",
                                 [{"set_weight": 33}, {"pause": {}}])
    assert running(api_client, namespace) == [("1.0.0", 2, 2), ("1.1.0", 1, 1)]

    play(cluster, "abort.yml", namespace, "replicas")
    assert record(api_client, namespace)["phase"] == "aborted"
    assert running(api_client, namespace) == [("1.0.0", 3, 3)] and replicas(api_client, namespace, "stable") == 3

    release(cluster, namespace, "replicas", "1.1.0", [{"set_weight": 33}])
    current = record(api_client, namespace)
    assert (current["version"], current["phase"]) == ("1.1.0", "promoted")
    assert running(api_client, namespace) == [("1.1.0", 3, 3)] and replicas(api_client, namespace, "blue") == 3
