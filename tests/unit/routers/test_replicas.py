import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.replicas import (
    ReplicasRouter,
    replica_split,
)


@pytest.mark.parametrize("total, weight, expected", [
    (4, 0, (4, 0)), (4, 25, (3, 1)), (4, 10, (3, 1)), (3, 50, (1, 2)), (4, 100, (0, 4)), (10, 33, (6, 4))])
def test_the_canary_is_rounded_up(total, weight, expected):
    assert replica_split(total, weight) == expected


def deployment(name, replicas):
    return {"metadata": {"name": name}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"v": name}}}}


def test_weight_scales_both_deployments(module):
    router = ReplicasRouter(module(replicas={"total": 4}))
    parts = {"stable": deployment("web-stable", 4), "canary": deployment("web-canary", 0)}
    desired = router.desired(parts, {"weight": 25})
    assert desired["stable"]["spec"]["replicas"] == 3 and desired["canary"]["spec"]["replicas"] == 1
    assert router.state(desired)["weights"] == {"web-stable": 75, "web-canary": 25}
    assert router.desired(desired, {"weight": 25}) == desired


def test_only_deployments_that_run_replicas_are_held_to_readiness(module):
    router = ReplicasRouter(module(replicas={"total": 4}))
    router.live = {"stable": deployment("web-stable", 4), "canary": deployment("web-canary", 0)}
    desired = router.desired(router.live, {"weight": 50})
    assert router.receivers(desired) == {"web-stable"}
