"""The canary strategy's step checks and plan."""

import pytest
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.canary_plan import PlanError, canary_plan

STEPS = [
    {"set_weight": 20},
    {"pause": {"duration": "1m"}},
    {"analysis": {"templates": ["app_success_rate"]}},
    {"set_canary_scale": {"replicas": 2}},
    {"set_header_route": {"name": "testers", "match": [
        {"header_name": "x-canary", "header_value": {"exact": "yes"}},
        {"header_name": "Cookie", "header_value": {"exact": "canary=always"}}]}},
    {"set_mirror_route": {"name": "copy", "percentage": 30}},
    {"set_weight": 50},
    {"set_canary_scale": {"match_traffic_weight": True}},
    {"pause": {}},
    {"set_weight": 100},
]


def test_the_plan_carries_the_weight_and_canary_size_in_force_after_each_step():
    plan = canary_plan(STEPS, "istio", 4)
    assert [(p["type"], p["weight"], p["canary_replicas"]) for p in plan] == [
        ("set_weight", 20, 1), ("pause", 20, 1), ("analysis", 20, 1), ("set_canary_scale", 20, 2),
        ("set_header_route", 20, 2), ("set_mirror_route", 20, 2), ("set_weight", 50, 2),
        ("set_canary_scale", 50, 2), ("pause", 50, 2), ("set_weight", 100, 4)]
    assert plan[1]["duration"] == 60 and plan[8]["duration"] is None
    assert (plan[4]["headers"], plan[4]["cookie"]) == ({"x-canary": "yes"}, "canary=always")
    assert plan[5]["percentage"] == 30
    assert plan[2]["templates"] == ["app_success_rate"] and plan[2]["metrics"] == []


def test_a_scale_by_weight_rounds_up():
    plan = canary_plan([{"set_canary_scale": {"weight": 10}}, {"pause": {"duration": 5}}], "gateway_api", 3)
    assert [p["canary_replicas"] for p in plan] == [1, 1]


def test_a_header_route_without_match_removes_it():
    plan = canary_plan([{"set_header_route": {"name": "testers"}}], "gateway_api", 3)
    assert (plan[0]["headers"], plan[0]["cookie"]) == ({}, None)


def test_a_route_step_needs_no_name_since_the_router_keeps_one_of_each():
    plan = canary_plan([{"set_canary_scale": {"replicas": 1}}, {"set_mirror_route": {"percentage": 10}},
                        {"set_header_route": {"match": [{"header_name": "x", "header_value": {"exact": "a"}}]}}],
                       "istio", 3)
    assert [p["name"] for p in plan[1:]] == ["set_mirror_route", "set_header_route"]


@pytest.mark.parametrize("steps, router, message", [
    ([{"set_weight": 10}, {"rollout": 3}], "istio", "canary_steps[1]: unknown step"),
    ([{"set_weight": 10, "pause": {}}], "istio", "canary_steps[0]: unknown step"),
    (["set_weight"], "istio", "canary_steps[0]: unknown step"),
    ([{"set_weight": 120}], "istio", "canary_steps[0]: set_weight must be an integer from 0 to 100, got 120"),
    ([{"set_weight": "10"}], "istio", "canary_steps[0]: set_weight must be an integer"),
    ([{"set_weight": True}], "istio", "canary_steps[0]: set_weight must be an integer"),
    ([{"pause": {"duration": "soon"}}], "istio", "canary_steps[0]: pause.duration must be seconds"),
    ([{"pause": {"until": 3}}], "istio", "canary_steps[0]: pause does not take until"),
    ([{"analysis": {}}], "istio", "canary_steps[0]: analysis needs templates or metrics"),
    ([{"analysis": {"metrics": [{"query": "up"}]}}], "istio", "each with a name"),
    ([{"set_canary_scale": {"replicas": 1, "weight": 3}}], "istio", "exactly one of"),
    ([{"set_canary_scale": {"replicas": 1}}], "replicas", "needs a traffic router"),
    ([{"set_weight": 5}, {"set_header_route": {"name": "t", "match": []}}], "nginx",
     "canary_steps[1]: set_header_route needs the istio or gateway_api router, not nginx"),
    ([{"set_header_route": {"name": "t", "match": [{"header_name": "x", "header_value": {"prefix": "a"}}]}}],
     "istio", "prefix and regex matches are not supported"),
    ([{"set_header_route": {"name": "t", "match": [{"header_name": "Cookie", "header_value": {"exact": "a"}}]}}],
     "istio", "NAME=VALUE"),
    ([{"set_mirror_route": {"name": "m", "percentage": 10}}], "replicas", "needs the istio or gateway_api router"),
    ([{"set_weight": 20}, {"set_canary_scale": {"replicas": 0}}], "istio",
     "canary_steps[1]: the canary would have no replicas while it takes 20% of traffic"),
    ([{"set_header_route": {"name": "t", "match": [{"header_name": "x", "header_value": {"exact": "a"}}]}}], "istio",
     "canary_steps[0]: the canary would have no replicas while it takes the header route's requests"),
    ([{"set_mirror_route": {"name": "m", "match": [{"method": {"exact": "GET"}}]}}], "istio",
     "set_mirror_route.match is not supported"),
    ([{"set_header_route": {"name": "", "match": []}}], "istio",
     "canary_steps[0]: set_header_route.name must be a non-empty string when given"),
])
def test_bad_steps_are_refused_naming_the_step(steps, router, message):
    with pytest.raises(PlanError) as error:
        canary_plan(steps, router, 3)
    assert message in str(error.value)


def test_bad_router_steps_or_replicas_are_refused():
    with pytest.raises(PlanError, match="canary_router"):
        canary_plan([], "traefik", 3)
    with pytest.raises(PlanError, match="canary_steps must be a list"):
        canary_plan({"set_weight": 5}, "istio", 3)
    with pytest.raises(PlanError, match="canary_replicas"):
        canary_plan([], "istio", 0)


@pytest.mark.parametrize("step, summary", [
    ({"set_weight": 20}, "20% of traffic to the canary, 1 of 3 replicas"),
    ({"pause": {"duration": "1m"}}, "pause 60s"),
    ({"pause": {}}, "pause until playbooks/promote.yml or playbooks/abort.yml"),
    ({"analysis": {"templates": ["app_success_rate"], "metrics": [{"name": "p99", "query": "up"}]}},
     "analysis of app_success_rate, p99 (Failed or Error aborts, Inconclusive pauses)"),
    ({"set_canary_scale": {"replicas": 2}}, "0% of traffic to the canary, 2 of 3 replicas"),
    ({"set_header_route": {"match": [{"header_name": "x-canary", "header_value": {"exact": "yes"}},
                                     {"header_name": "Cookie", "header_value": {"exact": "canary=1"}}]}},
     "requests with x-canary: yes or cookie canary=1 to the canary"),
    ({"set_header_route": {}}, "header route removed"),
    ({"set_mirror_route": {"percentage": 30}}, "a copy of 30% of requests to the canary"),
])
def test_each_planned_step_says_what_it_does(step, summary):
    steps = [{"set_canary_scale": {"replicas": 1}}, step] if "header" in str(step) else [step]
    assert canary_plan(steps, "istio", 3)[-1]["summary"] == summary
