"""traffic_switch with Gateway API: header route and mirror, bad input, and the traffic simulator
following a switch end to end."""

from kubernetes import client

from conftest import prometheus_query, run_module, wait_for
from objects import http_route
from test_traffic_switch import four_ways
from traffic_cases import GatewayApiCase, two_versions

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"


def test_header_route_and_mirror(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case = GatewayApiCase(api_client, namespace)
    case.create()
    header_route = {"headers": {"x-canary": "yes"}, "cookie": "canary=always"}
    real = four_ways(cluster, case, case.args(weight=10, header_route=header_route, mirror=20))
    assert real["after"] == {"weights": {"web": 90, "web-canary": 10}, "header_route": header_route, "mirror": 20}

    rules = case.read()["spec"]["rules"]
    assert rules[0]["filters"][0]["requestMirror"]["percent"] == 20
    assert rules[1]["backendRefs"][0]["name"] == "web-canary"
    assert {h["name"] for h in rules[1]["matches"][0]["headers"]} == {"x-canary", "Cookie"}

    removed = four_ways(cluster, case, case.args(remove_managed_routes=True))
    assert removed["after"] == {"weights": {"web": 90, "web-canary": 10}, "header_route": None, "mirror": 0}
    assert len(case.read()["spec"]["rules"]) == 1


def test_bad_input_fails_before_anything_is_written(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case = GatewayApiCase(api_client, namespace)
    case.create()
    unwritten = case.versions()

    def failure(**args):
        result = run_module(cluster, "traffic_switch", dict(case.args(weight=10), **args))
        assert result.get("failed"), result
        return result["msg"]

    assert failure(weight=101) == "weight must be between 0 and 100, got 101"
    assert failure(mirror=-1) == "mirror must be between 0 and 100, got -1"
    assert "router" in failure(router="linkerd")
    assert failure(route="nothing") == "HTTPRoute %s/nothing (route) does not exist" % namespace
    assert failure(route="other") == "backend web (stable) is not in HTTPRoute other"
    assert failure(stable="nothing") == (
        "no HTTPRoute in namespace %s routes to the stable backend; name one with route" % namespace)
    assert failure(canary="web") == "stable and canary must name different backends, both are web"
    assert failure(header_route={"cookie": "canary"}) == "header_route.cookie must be name=value, got canary"
    assert case.versions() == unwritten

    client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, http_route("web-2", "web"))
    assert failure() == ("several HTTPRoutes in namespace %s route to the stable backend (web, web-2); "
                         "name one with route" % namespace)
    info = run_module(cluster, "traffic_info", dict(case.args(), route="missing"))
    assert info["failed"] and info["msg"] == "HTTPRoute %s/missing (route) does not exist" % namespace


def test_the_simulated_traffic_follows_the_switch(cluster, api_client, namespace):
    two_versions(api_client, namespace)
    case = GatewayApiCase(api_client, namespace)
    case.create()

    def share(service, version):
        samples = prometheus_query(cluster["prometheus_url"], 'simulator_backend_weight{namespace="%s",'
                                   'service="%s",version="%s"}' % (namespace, service, version))
        return samples[0][1] if samples else 0.0

    wait_for(lambda: share("web", "1.0") == 1.0, 60, "the simulator to send everything to web")
    result = run_module(cluster, "traffic_switch", case.args(weight=40))
    assert result["changed"] and result["verified"], result
    wait_for(lambda: abs(share("web-canary", "2.0") - 0.4) < 0.001 and abs(share("web", "1.0") - 0.6) < 0.001,
             60, "40% of the simulated traffic on web-canary")
