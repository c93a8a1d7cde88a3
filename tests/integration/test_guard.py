"""The guard window end to end: the environment role's alert rules in the local Prometheus, Alertmanager,
ansible-rulebook running the collection's rulebook, guard.yml and rollback.yml. The test releases and
then starts no playbook: whatever happens after the promotion is the guard's doing."""

import datetime
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from kubernetes import client

import local_cluster
from conftest import fresh_namespace, run_module, run_playbook, wait_for
from stub_http import Stub

APP = "modelcard-generator"
# Releases without gates or scale-down delay: the guard is what is tested, and its window starts
# at the promotion. 1.1.0 turns bad BAD_AFTER s after its pods start, some 20 s after its promotion.
FAST = {"pd_gate_templates": [], "pd_smoke_test": {}, "pd_scale_down_delay_seconds": 0}
BAD_AFTER = 25
BAD = {"simulator.terragonlabs.io/error-rate": "0.5", "simulator.terragonlabs.io/bad-after-seconds": str(BAD_AFTER)}


def play(cluster, playbook, namespace, **extra):
    return run_playbook(cluster, playbook, "-i", "inventories/local", "-e",
                        json.dumps(dict(FAST, pd_namespace=namespace, **extra)))


def provision_and_release(cluster, namespace, bad, then=None):
    """1.0.0 then 1.1.0, and then (before 1.1.0 turns bad) whatever else the case needs."""
    play(cluster, "provision.yml", namespace, pd_monitoring_enabled=True)
    play(cluster, "blue_green.yml", namespace, release_version="1.0.0")
    play(cluster, "blue_green.yml", namespace, release_version="1.1.0",
         pd_pod_annotations_by_version={"1.1.0": BAD} if bad else {})
    if then:
        then()


def serving_version(api_client, namespace):
    color = client.CoreV1Api(api_client).read_namespaced_service(APP, namespace).spec.selector["terragonlabs.io/color"]
    return client.AppsV1Api(api_client).read_namespaced_deployment(
        f"{APP}-{color}", namespace).metadata.labels["app.kubernetes.io/version"]


def record(api_client, namespace):
    data = client.CoreV1Api(api_client).read_namespaced_config_map(f"{APP}-release", namespace).data
    return json.loads(data["release.json"])


def guard_events(api_client, namespace):
    events = client.CoreV1Api(api_client).list_namespaced_event(namespace).items
    return [(e.reason, e.message) for e in events if e.reason.startswith("Guard")]


def promoted_an_hour_ago(api_client, namespace):
    """The record of a release promoted long ago: its guard window has closed."""
    core = client.CoreV1Api(api_client)
    config_map = core.read_namespaced_config_map(f"{APP}-release", namespace)
    release = json.loads(config_map.data["release.json"])
    an_hour_ago = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    release["finished"] = an_hour_ago.strftime("%Y-%m-%dT%H:%M:%SZ")
    config_map.data["release.json"] = json.dumps(release)
    core.replace_namespaced_config_map(f"{APP}-release", namespace, config_map)


def guard_trace(api_client, namespace):
    """What the guard saw and did for namespace: its events, the release record, and the end of the
    rulebook's log, where its runs interleave (the cluster's logs go when CI stops it)."""
    log = local_cluster.PATHS.root / "logs" / "ansible-rulebook.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return (f"guard events: {guard_events(api_client, namespace)}\nrecord: {record(api_client, namespace)}\n"
            f"the rulebook's log ({namespace} is where its tasks name it):\n" + "\n".join(lines[-150:]))


def first_5xx(api_client, namespace):
    """When 1.1.0 started answering 500: BAD_AFTER s after its first pod started (the simulator's rule)."""
    pods = client.CoreV1Api(api_client).list_namespaced_pod(
        namespace, label_selector="app.kubernetes.io/version=1.1.0").items
    return min(pod.status.start_time for pod in pods) + datetime.timedelta(seconds=BAD_AFTER)


def test_alerts_after_a_promotion_roll_back_inside_the_window_and_only_notify_otherwise(api_client, cluster):
    with ExitStack() as stack:
        bad, healthy, old, locked = (stack.enter_context(fresh_namespace(api_client))
                                     for case in ("bad", "healthy", "old", "locked"))

        def take_the_lock():
            """As a release in progress does, holding it through the alert."""
            taken = run_module(cluster, "release_lock", {"app": APP, "namespace": locked, "holder": "release-1.2.0",
                                                         "ttl": 300, "kubeconfig": cluster["kubeconfig"]})
            assert taken["held"], taken

        with ThreadPoolExecutor(4) as pool:
            for future in [pool.submit(provision_and_release, cluster, bad, True),
                           pool.submit(provision_and_release, cluster, healthy, False),
                           pool.submit(provision_and_release, cluster, old, True,
                                       lambda: promoted_an_hour_ago(api_client, old)),
                           pool.submit(provision_and_release, cluster, locked, True, take_the_lock)]:
                future.result()

        # Inside the window, the bad version is rolled back by the guard alone.
        try:
            wait_for(lambda: serving_version(api_client, bad) == "1.0.0", 120, "the guard to roll 1.1.0 back", 0.2)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{guard_trace(api_client, bad)}") from None
        back = datetime.datetime.now(datetime.timezone.utc)
        print(f"guard: from the first 5xx to traffic back on 1.0.0: {(back - first_5xx(api_client, bad)).total_seconds():.1f}s")
        rolled_back = wait_for(lambda: record(api_client, bad)["phase"] == "rolled_back" and record(api_client, bad),
                               60, "the rollback's record")
        details = rolled_back["details"]
        assert (details["rolled_back_from"], details["rolled_back_to"], details["guard_alert"]) == (
            "1.1.0", "1.0.0", "HighErrorRate")
        assert float(details["guard_alert_value"]) > 0.05 and details["guard_alert_since"]
        assert "inside its guard window of 120s" in details["reason"]
        assert guard_events(api_client, bad)[0][0] == "GuardRollback"

        # Outside the window, and while a release holds the lock, the alert is only reported.
        for namespace, why in ((old, "outside its guard window"), (locked, "a release in progress holds the lock")):
            reason, message = wait_for(lambda: guard_events(api_client, namespace), 60, "the guard's decision")[0]
            assert reason == "GuardAlertIgnored" and "alert HighErrorRate" in message and why in message, message
            assert serving_version(api_client, namespace) == "1.1.0"
            assert record(api_client, namespace)["phase"] == "promoted"

        # The healthy version, promoted as long ago as the bad one, is left alone.
        assert serving_version(api_client, healthy) == "1.1.0"
        assert record(api_client, healthy)["phase"] == "promoted"
        assert guard_events(api_client, healthy) == []


def test_an_alert_the_guard_leaves_alone_is_notified(api_client, cluster, namespace):
    """guard.yml as the rulebook runs it, with a webhook target: an application with no release to guard."""
    stub = Stub({"/hook": lambda *_: (200, {"received": True})})
    try:
        alert = {"status": "firing", "startsAt": "2026-12-05T04:00:00.123456789Z", "annotations": {"value": "2.5"},
                 "labels": {"alertname": "HighLatency", "app": APP, "namespace": namespace}}
        run_playbook(cluster, "guard.yml", "-i", "inventories/local", "--limit", APP, "-e", json.dumps({
            "pd_namespace": namespace, "pd_notify_targets": [{"type": "webhook", "url": stub.url + "/hook"}],
            "ansible_eda": {"event": {"payload": {"status": "firing", "alerts": [alert]}}}}))
        [call] = stub.calls("/hook")
        body = json.loads(call["body"])
        assert (body["event"], body["details"]["alert"], body["details"]["value"]) == ("guard_alert", "HighLatency", "2.5")
        assert "no release is recorded; the release is left alone" in body["message"]
        assert guard_events(api_client, namespace) == [("GuardAlertIgnored", body["message"].split(": ", 1)[1].split(";")[0])]
    finally:
        stub.close()
