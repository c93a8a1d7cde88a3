"""traffic_switch with Istio: header route and mirror by host, and subset mode with the
DestinationRule's labels managed."""

from kubernetes import client

from conftest import run_module
from objects import APP, VERSION, service
from test_traffic_switch import four_ways
from traffic_cases import IstioCase, two_versions

GROUP, API_VERSION = "networking.istio.io", "v1"


def test_header_route_and_mirror(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case = IstioCase(api_client, namespace)
    case.create()
    header_route = {"headers": {"x-canary": "yes"}, "cookie": None}
    real = four_ways(cluster, case, case.args(header_route=header_route, mirror=5))
    assert real["after"] == {"weights": {"web": 100, "web-canary": 0}, "header_route": header_route, "mirror": 5}
    http = case.read()["spec"]["http"]
    assert http[0]["name"] == "progressive-delivery-header" and http[0]["route"][0]["destination"]["host"] == "web-canary"
    assert http[1]["mirror"]["host"] == "web-canary" and http[1]["mirrorPercentage"] == {"value": 5}

    info = run_module(cluster, "traffic_info", case.args())
    assert info["header_route"] == header_route and info["mirror"] == 5


def test_subset_mode_sets_weights_and_subset_labels(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    custom = client.CustomObjectsApi(api_client)
    client.CoreV1Api(api_client).create_namespaced_service(namespace, service("web-all", {APP: "web"}))
    custom.create_namespaced_custom_object(GROUP, API_VERSION, namespace, "destinationrules", {
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": "web"},
        "spec": {"host": "web-all", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
                 "subsets": [{"name": "stable", "labels": {VERSION: "1.0"}}]}})
    custom.create_namespaced_custom_object(GROUP, API_VERSION, namespace, "virtualservices", {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "web"},
        "spec": {"hosts": ["web-all"], "http": [{"route": [{"destination": {"host": "web-all", "subset": "stable"}}]}]}})

    class SubsetCase(IstioCase):
        def versions(self):
            return {kind: custom.get_namespaced_custom_object(GROUP, API_VERSION, namespace, kind, "web")
                    ["metadata"]["resourceVersion"] for kind in ("virtualservices", "destinationrules")}

    args = {"router": "istio", "namespace": namespace, "stable": "stable", "canary": "canary", "weight": 20,
            "istio": {"destination_rule": "web", "canary_labels": {VERSION: "2.0"}}}
    real = four_ways(cluster, SubsetCase(api_client, namespace), args)
    assert real["after"]["weights"] == {"stable": 80, "canary": 20}
    assert real["after"]["subset_labels"] == {"stable": {VERSION: "1.0"}, "canary": {VERSION: "2.0"}}

    rule = custom.get_namespaced_custom_object(GROUP, API_VERSION, namespace, "destinationrules", "web")
    assert rule["spec"]["trafficPolicy"] == {"tls": {"mode": "ISTIO_MUTUAL"}}
    assert rule["spec"]["subsets"][1] == {"name": "canary", "labels": {VERSION: "2.0"}}
    info = run_module(cluster, "traffic_info", {k: v for k, v in args.items() if k != "weight"})
    assert info["ready_endpoints"] == {"stable": 1, "canary": 1}
