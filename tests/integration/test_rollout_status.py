"""rollout_status against real rollouts on the local cluster."""

import copy

from kubernetes import client

from conftest import run_module, wait_for
from objects import deployment, rolled_out

BAD = {"simulator.terragonlabs.io/ready": "false"}


def test_a_good_rollout_completes(api_client, cluster, namespace):
    client.AppsV1Api(api_client).create_namespaced_deployment(namespace, deployment("web", "web", "1.0"))
    result = run_module(cluster, "rollout_status", {"name": "web", "namespace": namespace, "timeout": 60})
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["message"] == "deployment web successfully rolled out"
    assert result["replicas"] == {"desired": 3, "updated": 3, "ready": 3, "available": 3}
    assert result["revision"] == "1"

    checked = run_module(cluster, "rollout_status", {"name": "web", "namespace": namespace}, check=True)
    assert checked["message"] == result["message"] and checked["changed"] is False


def test_a_stuck_update_is_not_done_although_the_deployment_is_available(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("web", "web", "1.0"))
    wait_for(lambda: rolled_out(apps, namespace, "web", 3), 60, "web to roll out")
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"template": {"metadata": {"annotations": BAD}}}})

    result = run_module(cluster, "rollout_status", {"name": "web", "namespace": namespace, "timeout": 3})
    assert result["failed"]
    assert result["msg"].startswith("timed out after 3s waiting for Deployment %s/web to roll out" % namespace)
    assert "CrashLoopBackOff" in result["msg"] and result["not_ready_pods"]
    assert result["revision"] == "2"
    available = {c["type"]: c["status"] for c in result["conditions"]}["Available"]
    assert available == "True"  # what a wait on the Available condition would have accepted


def test_a_bad_version_fails_fast_on_progress_deadline_exceeded(api_client, cluster, namespace):
    body = deployment("bad", "bad", "6.6.6", replicas=2, annotations=BAD, progress_deadline=3)
    client.AppsV1Api(api_client).create_namespaced_deployment(namespace, body)
    result = run_module(cluster, "rollout_status", {"name": "bad", "namespace": namespace, "timeout": 300})
    assert result["failed"]
    assert result["elapsed"] < 60
    assert result["msg"].startswith("deployment bad exceeded its progress deadline; pods not ready: bad-")
    assert "container app CrashLoopBackOff" in result["msg"]
    assert len(result["not_ready_pods"]) == 2


def test_a_missing_workload_is_an_error(cluster, namespace):
    result = run_module(cluster, "rollout_status", {"name": "nothing", "namespace": namespace})
    assert result["failed"] and result["msg"] == "Deployment %s/nothing does not exist" % namespace


def test_bad_arguments_fail_before_any_wait(cluster, namespace):
    result = run_module(cluster, "rollout_status", {"name": "web", "namespace": namespace, "poll_interval": 0})
    assert result["failed"] and "poll_interval" in result["msg"]
    result = run_module(cluster, "rollout_status", {"name": "web", "namespace": namespace, "kind": "Job"})
    assert result["failed"] and "kind" in result["msg"]


def test_statefulset_and_daemonset_roll_out(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    template = deployment("store", "store", "1.0", replicas=2)["spec"]
    apps.create_namespaced_stateful_set(namespace, {
        "metadata": {"name": "store"},
        "spec": {"serviceName": "store", "replicas": 2, "selector": template["selector"],
                 "template": template["template"]}})
    daemon = copy.deepcopy(deployment("agent", "agent", "1.0")["spec"])
    apps.create_namespaced_daemon_set(namespace, {
        "metadata": {"name": "agent"},
        "spec": {"selector": daemon["selector"], "template": daemon["template"]}})

    store = run_module(cluster, "rollout_status",
                       {"kind": "StatefulSet", "name": "store", "namespace": namespace, "timeout": 120})
    assert not store.get("failed"), store
    assert store["message"].startswith("statefulset store rolled out at revision store-")
    agent = run_module(cluster, "rollout_status",
                       {"kind": "DaemonSet", "name": "agent", "namespace": namespace, "timeout": 120})
    assert not agent.get("failed"), agent
    assert agent["replicas"]["desired"] == 3 and agent["replicas"]["available"] == 3
