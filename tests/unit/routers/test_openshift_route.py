import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import ModuleFailure
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.openshift_route import (
    OpenShiftRouteRouter,
)


def route(*alternates):
    return {"route": {"metadata": {"name": "web"}, "spec": {
        "host": "web.example", "to": {"kind": "Service", "name": "web-stable"},
        "alternateBackends": list(alternates)}}}


def test_weight_sets_to_and_adds_the_canary_as_alternate_backend(module):
    router = OpenShiftRouteRouter(module())
    desired = router.desired(route(), {"weight": 10})
    spec = desired["route"]["spec"]
    assert spec["to"] == {"kind": "Service", "name": "web-stable", "weight": 90}
    assert spec["alternateBackends"] == [{"kind": "Service", "name": "web-canary", "weight": 10}]
    assert router.state(desired)["weights"] == {"web-stable": 90, "web-canary": 10}
    assert router.desired(desired, {"weight": 10}) == desired


def test_an_unweighted_to_counts_as_the_default_weight(module):
    assert OpenShiftRouteRouter(module()).state(route())["weights"] == {"web-stable": 100, "web-canary": 0}


def test_a_full_route_and_unsupported_features_are_refused(module):
    router = OpenShiftRouteRouter(module())
    full = route(*({"kind": "Service", "name": "other-%d" % i, "weight": 0} for i in range(3)))
    with pytest.raises(ModuleFailure, match="already has 3 alternateBackends"):
        router.desired(full, {"weight": 10})
    with pytest.raises(ModuleFailure, match="router openshift_route does not support header routes"):
        router.desired(route(), {"header_route": {"headers": {"x": "y"}, "cookie": None}})
    with pytest.raises(ModuleFailure, match="router openshift_route does not support mirroring"):
        router.desired(route(), {"mirror": 5})
