"""release_record and release_info against the real API server."""

import json

from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import run_module
from objects import deployment, service

RECORD = "web-release"


def config_map(api_client, namespace):
    try:
        return client.CoreV1Api(api_client).read_namespaced_config_map(RECORD, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def record(namespace, **fields):
    return dict({"app": "web", "namespace": namespace}, **fields)


def four_ways(api_client, cluster, args):
    """check, real, idempotent check, idempotent real: changed True/True/False/False, check writes nothing."""
    namespace = args["namespace"]
    before = config_map(api_client, namespace)
    version = before.metadata.resource_version if before else None
    checked = run_module(cluster, "release_record", args, check=True, diff=True)
    assert checked["changed"] is True and not checked.get("failed"), checked
    assert "diff" in checked
    after_check = config_map(api_client, namespace)
    assert (after_check.metadata.resource_version if after_check else None) == version
    result = run_module(cluster, "release_record", args)
    assert result["changed"] is True, result
    version = config_map(api_client, namespace).metadata.resource_version
    for check in (True, False):
        again = run_module(cluster, "release_record", args, check=check)
        assert again["changed"] is False, again
    assert config_map(api_client, namespace).metadata.resource_version == version
    return result


def test_a_release_is_recorded_updated_and_read_back(api_client, cluster, namespace):
    empty = run_module(cluster, "release_info", {"app": "web", "namespace": namespace})
    assert empty["exists"] is False and empty["release"] is None and empty["history"] == []

    started = four_ways(api_client, cluster, record(
        namespace, release_id="web-2.0", strategy="canary", version="2.0", step="0",
        stable_revision="1", stable_images={"app": "web:1.0"}, new_revision="2", new_images={"app": "web:2.0"},
        details={"canary_weight": 0}))
    release = started["release"]
    assert release["phase"] == "progressing" and release["finished"] is None
    assert release["new_images"] == {"app": "web:2.0"} and release["details"] == {"canary_weight": "0"}

    stored = config_map(api_client, namespace)
    assert json.loads(stored.data["release.json"]) == release
    assert stored.metadata.labels["app.kubernetes.io/name"] == "web"

    # A later run sets only what changed.
    paused = four_ways(api_client, cluster, record(
        namespace, phase="paused", step="2", gate_verdict="Successful", gate_message="error rate 0.1%",
        details={"canary_weight": 20}))["release"]
    assert paused["strategy"] == "canary" and paused["stable_revision"] == "1" and paused["step"] == "2"
    assert paused["gate"]["verdict"] == "Successful" and paused["gate"]["message"] == "error rate 0.1%"
    assert paused["started"] == release["started"]

    promoted = four_ways(api_client, cluster, record(namespace, phase="promoted"))["release"]
    assert promoted["finished"] is not None

    info = run_module(cluster, "release_info", {"app": "web", "namespace": namespace}, check=True)
    assert info["exists"] is True and info["release"] == promoted and info["history"] == []


def test_new_releases_push_old_ones_into_a_trimmed_history(api_client, cluster, namespace):
    for number in range(1, 5):
        result = run_module(cluster, "release_record", record(
            namespace, release_id="r%d" % number, version=str(number), phase="promoted", history_limit=2))
        assert result["changed"] is True, result
    assert result["release"]["id"] == "r4"
    assert [(h["id"], h["phase"]) for h in result["history"]] == [("r3", "promoted"), ("r2", "promoted")]
    info = run_module(cluster, "release_info", {"app": "web", "namespace": namespace})
    assert [h["id"] for h in info["history"]] == ["r3", "r2"]


def test_secrets_and_bad_arguments_are_refused_before_anything_is_written(api_client, cluster, namespace):
    for args, start in ((record(namespace, details={"db_password": "x"}), "details must not hold secrets"),
                        (record(namespace, phase="done"), "value of phase must be one of"),
                        (record(namespace, app="Web"), "app must be a DNS-1123 label"),
                        (record(namespace, history_limit=-1), "history_limit must be 0 or more"),
                        (record(namespace, gate_message="no verdict"), "missing parameter(s) required by 'gate_message'")):
        result = run_module(cluster, "release_record", args)
        assert result["failed"] and result["msg"].startswith(start), result
    assert config_map(api_client, namespace) is None


def test_the_record_is_deleted_four_ways(api_client, cluster, namespace):
    assert run_module(cluster, "release_record", record(namespace, release_id="r1"))["changed"] is True
    args = record(namespace, state="absent")
    checked = run_module(cluster, "release_record", args, check=True, diff=True)
    assert checked["changed"] is True and checked["release"] is None, checked
    assert checked["diff"]["before"]["release"]["id"] == "r1"
    assert config_map(api_client, namespace) is not None
    assert run_module(cluster, "release_record", args)["changed"] is True
    assert config_map(api_client, namespace) is None
    for check in (True, False):
        assert run_module(cluster, "release_record", args, check=check)["changed"] is False


def test_info_reads_the_deployments_a_service_sends_traffic_to(api_client, cluster, namespace):
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    args = {"app": "web", "namespace": namespace, "service": "web"}
    assert run_module(cluster, "release_info", args)["traffic"] == {"service": "", "selector": {}, "deployments": []}

    selector = {"app.kubernetes.io/name": "web", "terragonlabs.io/color": "blue"}
    core.create_namespaced_service(namespace, service("web", selector))
    for color, version, replicas in (("blue", "1.0", 2), ("green", "1.1", 0)):
        body = deployment(f"web-{color}", "web", version, replicas=replicas)
        for labels in (body["metadata"]["labels"], body["spec"]["selector"]["matchLabels"],
                       body["spec"]["template"]["metadata"]["labels"]):
            labels["terragonlabs.io/color"] = color
        apps.create_namespaced_deployment(namespace, body)
    traffic = run_module(cluster, "release_info", args, check=True)["traffic"]
    assert traffic == {"service": "web", "selector": selector,
                       "deployments": [{"name": "web-blue", "version": "1.0", "replicas": 2}]}

    # A Service without a selector sends traffic to no Deployment, not to all of them.
    core.patch_namespaced_service("web", namespace, [{"op": "remove", "path": "/spec/selector"}])
    assert run_module(cluster, "release_info", args)["traffic"] == {"service": "web", "selector": {}, "deployments": []}

    refused = run_module(cluster, "release_info", dict(args, service="Web"))
    assert refused["failed"] and refused["msg"].startswith("service must be a DNS-1123 label"), refused
