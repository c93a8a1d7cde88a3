import copy

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import ModuleFailure
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.istio import IstioRouter


def virtual_service(*http):
    return {"metadata": {"name": "web"}, "spec": {"hosts": ["web"], "http": list(http)}}


DEFAULT = {"name": "primary", "route": [{"destination": {"host": "web-stable", "port": {"number": 80}}}]}
ADMIN = {"name": "admin", "match": [{"uri": {"prefix": "/admin"}}], "route": [{"destination": {"host": "admin"}}]}


def test_weight_by_host_keeps_other_routes(module):
    router = IstioRouter(module())
    parts = {"virtual_service": virtual_service(ADMIN, DEFAULT)}
    desired = router.desired(parts, {"weight": 25})
    http = desired["virtual_service"]["spec"]["http"]
    assert http[0] == ADMIN
    assert http[1]["route"] == [
        {"destination": {"host": "web-stable", "port": {"number": 80}}, "weight": 75},
        {"destination": {"host": "web-canary", "port": {"number": 80}}, "weight": 25}]
    assert router.desired(desired, {"weight": 25}) == desired


def test_fully_qualified_hosts_count_as_the_service(module):
    router = IstioRouter(module())
    route = {"route": [{"destination": {"host": "web-stable.shop.svc.cluster.local"}, "weight": 100}]}
    assert router.state({"virtual_service": virtual_service(route)})["weights"] == {
        "web-stable": 100, "web-canary": 0}


def test_header_route_goes_before_the_weighted_route_and_mirror_on_it(module):
    router = IstioRouter(module())
    desired = router.desired({"virtual_service": virtual_service(DEFAULT)}, {
        "header_route": {"headers": {"x-canary": "yes"}, "cookie": "canary=always"}, "mirror": 10})
    http = desired["virtual_service"]["spec"]["http"]
    assert http[0]["name"] == "progressive-delivery-header"
    assert http[0]["match"][0]["headers"]["x-canary"] == {"exact": "yes"}
    assert http[1]["mirror"] == {"host": "web-canary", "port": {"number": 80}}
    assert http[1]["mirrorPercentage"] == {"value": 10.0}
    state = router.state(desired)
    assert state["header_route"] == {"headers": {"x-canary": "yes"}, "cookie": "canary=always"}
    assert state["mirror"] == 10
    assert router.desired(desired, {"remove_managed_routes": True})["virtual_service"]["spec"]["http"] == [DEFAULT]


def test_subset_mode_weights_subsets_and_sets_their_labels(module):
    router = IstioRouter(module(stable="stable", canary="canary", istio={
        "destination_rule": "web", "stable_labels": {"version": "1"}, "canary_labels": {"version": "2"}}))
    router.host = "web"
    parts = {"virtual_service": virtual_service({"route": [{"destination": {"host": "web", "subset": "stable"}}]}),
             "destination_rule": {"spec": {"host": "web", "subsets": [{"name": "stable", "labels": {"version": "0"}}]}}}
    desired = router.desired(parts, {"weight": 40})
    assert desired["virtual_service"]["spec"]["http"][0]["route"] == [
        {"destination": {"host": "web", "subset": "stable"}, "weight": 60},
        {"destination": {"host": "web", "subset": "canary"}, "weight": 40}]
    assert desired["destination_rule"]["spec"]["subsets"] == [
        {"name": "stable", "labels": {"version": "1"}}, {"name": "canary", "labels": {"version": "2"}}]
    assert router.state(desired)["subset_labels"] == {"stable": {"version": "1"}, "canary": {"version": "2"}}


def test_several_candidate_routes_need_route_rule(module):
    second = dict(copy.deepcopy(DEFAULT), name="secondary")
    with pytest.raises(ModuleFailure, match="name one with route_rule"):
        IstioRouter(module()).state({"virtual_service": virtual_service(DEFAULT, second)})
    chosen = IstioRouter(module(route_rule="secondary")).desired(
        {"virtual_service": virtual_service(DEFAULT, second)}, {"weight": 50})
    assert chosen["virtual_service"]["spec"]["http"][0] == DEFAULT
    assert chosen["virtual_service"]["spec"]["http"][1]["route"][1]["weight"] == 50


def test_other_destinations_keep_their_share_first(module):
    route = {"route": [{"destination": {"host": "web-stable"}, "weight": 0},
                       {"destination": {"host": "legacy"}, "weight": 100}]}
    desired = IstioRouter(module()).desired({"virtual_service": virtual_service(route)}, {"weight": 50})
    assert [r["weight"] for r in desired["virtual_service"]["spec"]["http"][0]["route"]] == [0, 100, 0]
