"""traffic_switch with a Service selector (blue-green)."""

from kubernetes import client

from conftest import run_module
from objects import APP
from test_traffic_switch import four_ways
from traffic_cases import ServiceCase, two_versions


def test_only_all_or_nothing(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case = ServiceCase(api_client, namespace)
    case.create()
    unwritten = case.versions()
    result = run_module(cluster, "traffic_switch", case.args(weight=50))
    assert result["failed"] and result["msg"] == (
        "router service switches all traffic at once: weight must be 0 (stable) or 100 (canary), got 50")
    assert case.versions() == unwritten


def test_switch_to_a_pod_template_hash(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case = ServiceCase(api_client, namespace)
    case.create()
    pods = client.CoreV1Api(api_client).list_namespaced_pod(namespace, label_selector="app.kubernetes.io/version=2.0")
    selector = {APP: "web", "pod-template-hash": pods.items[0].metadata.labels["pod-template-hash"]}
    args = case.args(weight=100)
    args["service"]["canary_selector"] = selector
    real = four_ways(cluster, case, args)
    assert real["after"]["selector"] == selector
    assert case.read()["spec"]["selector"] == selector
