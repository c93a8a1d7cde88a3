import copy

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import ModuleFailure
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.gateway_api import (
    GatewayApiRouter,
)


def route(*rules):
    return {"route": {"metadata": {"name": "web"}, "spec": {"rules": list(rules)}}}


STABLE = {"group": "", "kind": "Service", "name": "web-stable", "port": 80, "weight": 1}
OTHER_RULE = {"matches": [{"path": {"type": "PathPrefix", "value": "/admin"}}],
              "backendRefs": [{"name": "admin", "port": 80}]}


def test_weight_adds_the_canary_beside_stable_and_keeps_other_rules(module):
    router = GatewayApiRouter(module())
    parts = route(OTHER_RULE, {"backendRefs": [dict(STABLE)]})
    desired = router.desired(parts, {"weight": 30})
    assert desired["route"]["spec"]["rules"][0] == OTHER_RULE
    assert desired["route"]["spec"]["rules"][1]["backendRefs"] == [
        dict(STABLE, weight=70), dict(STABLE, name="web-canary", weight=30)]
    assert router.state(desired)["weights"] == {"web-stable": 70, "web-canary": 30}
    assert parts["route"]["spec"]["rules"][1]["backendRefs"] == [STABLE]  # input untouched


def test_the_same_weight_again_changes_nothing(module):
    router = GatewayApiRouter(module())
    once = router.desired(route({"backendRefs": [dict(STABLE)]}), {"weight": 30})
    assert router.desired(once, {"weight": 30}) == once


def test_other_backends_keep_their_weight(module):
    router = GatewayApiRouter(module())
    third = {"name": "web-legacy", "port": 80, "weight": 20}
    desired = router.desired(route({"backendRefs": [dict(STABLE), third]}), {"weight": 50})
    weights = dict((ref["name"], ref["weight"]) for ref in desired["route"]["spec"]["rules"][0]["backendRefs"])
    assert weights == {"web-stable": 40, "web-canary": 40, "web-legacy": 20}


def test_header_route_and_mirror_round_trip_through_state(module):
    router = GatewayApiRouter(module())
    header_route = {"headers": {"x-canary": "yes"}, "cookie": "canary=always"}
    desired = router.desired(route({"backendRefs": [dict(STABLE)]}),
                             {"weight": 0, "header_route": header_route, "mirror": 15})
    state = router.state(desired)
    assert state["header_route"] == header_route and state["mirror"] == 15
    rules = desired["route"]["spec"]["rules"]
    assert rules[1]["backendRefs"] == [{"group": "", "kind": "Service", "name": "web-canary", "port": 80}]
    assert rules[0]["filters"] == [{"type": "RequestMirror", "requestMirror": {
        "backendRef": {"name": "web-canary", "port": 80}, "percent": 15}}]

    removed = router.desired(desired, {"remove_managed_routes": True})
    assert router.state(removed) == {"weights": {"web-stable": 100, "web-canary": 0},
                                     "header_route": None, "mirror": 0}
    assert len(removed["route"]["spec"]["rules"]) == 1 and "filters" not in removed["route"]["spec"]["rules"][0]


def test_server_defaults_on_the_header_rule_do_not_cause_a_rewrite(module):
    router = GatewayApiRouter(module())
    header_route = {"headers": {"x-canary": "yes"}, "cookie": None}
    desired = router.desired(route({"backendRefs": [dict(STABLE)]}), {"header_route": header_route})
    defaulted = copy.deepcopy(desired)
    defaulted["route"]["spec"]["rules"][1]["matches"][0]["path"] = {"type": "PathPrefix", "value": "/"}
    assert router.desired(defaulted, {"header_route": header_route}) == defaulted


def test_a_route_without_stable_or_with_two_candidate_rules_is_refused(module):
    router = GatewayApiRouter(module())
    with pytest.raises(ModuleFailure, match="backend web-stable \\(stable\\) is not in HTTPRoute web"):
        router.state(route(OTHER_RULE))
    with pytest.raises(ModuleFailure, match="several rules of HTTPRoute web"):
        router.state(route({"backendRefs": [STABLE]}, {"backendRefs": [STABLE]}))
