"""traffic_switch without a router: replica counts."""

from conftest import run_module
from traffic_cases import ReplicasCase, two_versions


def test_a_missing_deployment_is_named(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case = ReplicasCase(api_client, namespace)
    result = run_module(cluster, "traffic_switch", case.args(weight=50, canary="web-v3"))
    assert result["failed"] and result["msg"] == "Deployment %s/web-v3 (canary) does not exist" % namespace
    result = run_module(cluster, "traffic_switch", {k: v for k, v in case.args(weight=50).items() if k != "replicas"})
    assert result["failed"] and "replicas" in result["msg"]
