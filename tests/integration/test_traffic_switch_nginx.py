"""traffic_switch with NGINX Ingress: the canary Ingress is removed when the release is done."""

from conftest import run_module
from test_traffic_switch import four_ways
from traffic_cases import NginxCase, two_versions


def test_remove_managed_routes_deletes_the_canary_ingress(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case = NginxCase(api_client, namespace)
    case.create()
    created = four_ways(cluster, case, case.args(weight=50))
    assert created["after"]["canary_ingress"] == "web-canary"
    stable = case.read("web")
    assert case.read()["spec"]["ingress_class_name"] == stable["spec"]["ingress_class_name"]

    removed = four_ways(cluster, case, case.args(remove_managed_routes=True))
    assert removed["after"]["canary_ingress"] is None
    assert removed["after"]["weights"] == {"web": 100, "web-canary": 0}
    assert set(case.versions()) == {"web", "other"}


def test_header_routes_are_not_supported(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case = NginxCase(api_client, namespace)
    case.create()
    result = run_module(cluster, "traffic_switch", case.args(weight=10, header_route={"headers": {"x": "y"}}))
    assert result["failed"] and result["msg"] == "router nginx does not support header routes"
    assert set(case.versions()) == {"web", "other"}
