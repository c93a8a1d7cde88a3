"""traffic_switch with an OpenShift Route: what it cannot do fails before any write."""

from conftest import run_module
from traffic_cases import OpenShiftRouteCase, two_versions


def test_mirroring_is_not_supported(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case = OpenShiftRouteCase(api_client, namespace)
    case.create()
    unwritten = case.versions()
    result = run_module(cluster, "traffic_switch", case.args(weight=10, mirror=10))
    assert result["failed"] and result["msg"] == "router openshift_route does not support mirroring"
    assert case.versions() == unwritten
