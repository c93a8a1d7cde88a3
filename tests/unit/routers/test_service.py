import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import ModuleFailure
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.service import ServiceRouter

BLUE = {"app": "web", "version": "1"}
GREEN = {"app": "web", "pod-template-hash": "5d8f7c"}


def router(module):
    service = ServiceRouter(module(service={"active_service": "web"}))
    service.selectors = {"web-stable": BLUE, "web-canary": GREEN}
    return service


def active(selector):
    return {"active": {"metadata": {"name": "web"}, "spec": {"selector": dict(selector), "ports": [{"port": 80}]}}}


def test_switching_replaces_the_selector_only(module):
    service = router(module)
    desired = service.desired(active(BLUE), {"weight": 100})
    assert desired == active(GREEN)
    assert service.state(desired)["weights"] == {"web-stable": 0, "web-canary": 100}
    assert service.desired(desired, {"weight": 100}) == desired
    assert service.desired(desired, {"weight": 0}) == active(BLUE)


def test_a_partial_weight_is_refused(module):
    with pytest.raises(ModuleFailure, match="weight must be 0 \\(stable\\) or 100 \\(canary\\), got 50"):
        router(module).desired(active(BLUE), {"weight": 50})


def test_an_unknown_selector_is_neither_backend(module):
    assert router(module).state(active({"app": "other"}))["weights"] == {"web-stable": 0, "web-canary": 0}
