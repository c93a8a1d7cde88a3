"""A fleet's plan: waves as Ansible's serial counts them, dependency order, the concurrency cap,
clusters in order; refusals naming the parameter; when the fleet stops; the report's table."""

import re

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.fleet import (
    outcome,
    plan_fleet,
    report_row,
    report_table,
    stop_reason,
)


def apps(spec):
    """'a@east b@west>a' -> applications a in east, b in west released after a."""
    result = []
    for word in spec.split():
        match = re.fullmatch(r"([^@>]+)(?:@([^>]+))?(?:>(.+))?", word)
        result.append({"name": match[1], "cluster": match[2] or "local", "after": match[3].split(",") if match[3] else []})
    return result


@pytest.mark.parametrize("fleet, waves, cap, clusters, expected_waves, expected_batches", [
    # No waves: one wave of all; a cap cuts it.
    ("a b c", None, None, None, [["a", "b", "c"]], [["a", "b", "c"]]),
    ("a b c d e", [], 2, None, [["a", "b", "c", "d", "e"]], [["a", "b"], ["c", "d"], ["e"]]),
    # Numbers and percentages as serial counts them; the last size repeats.
    ("a b c d e f g h i j", [1, "20%", "100%"], None, None,
     [["a"], ["b", "c"], ["d", "e", "f", "g", "h", "i", "j"]], None),
    ("a b c d e", [2], None, None, [["a", "b"], ["c", "d"], ["e"]], None),
    ("a b c", ["10%", "100%"], None, None, [["a"], ["b", "c"]], None),  # a percentage is at least one
    ("a b", [5, "50%"], None, None, [["a", "b"]], None),
    # A dependency moves an application after the wave of the one it names, even a later one.
    ("web>api api b", [1, 1, "100%"], None, None, [["api"], ["web", "b"]], None),
    ("a b>c c d", [2, "100%"], None, None, [["a"], ["c", "d"], ["b"]], None),
    ("a b>a c>b", ["100%"], None, None, [["a"], ["b"], ["c"]], None),
    # Clusters in order: all of east's waves, then west's, each cluster's sizes counted on its own.
    ("a@west b@east c@west d@east e@east", ["50%", "100%"], None, ["east", "west"],
     [["b"], ["d", "e"], ["a"], ["c"]], None),
    # Without an order, waves span clusters in inventory order.
    ("a@west b@east c@west d@east", [2, "100%"], None, None, [["a", "b"], ["c", "d"]], None),
    # A dependency across clusters wins over the cluster order.
    ("a@east>b b@west", ["100%"], None, ["east", "west"], [["b"], ["a"]], None),
    # The cap cuts each wave, never joins two.
    ("a b c d e", [3, "100%"], 2, None, [["a", "b", "c"], ["d", "e"]], [["a", "b"], ["c"], ["d", "e"]]),
    ("a b", ["100%"], "1", None, [["a", "b"]], [["a"], ["b"]]),
])
def test_plan(fleet, waves, cap, clusters, expected_waves, expected_batches):
    plan = plan_fleet(apps(fleet), waves, cap, clusters)
    assert plan["waves"] == expected_waves
    assert plan["batches"] == (expected_batches or expected_waves)
    assert plan["batch_sizes"] == [len(batch) for batch in plan["batches"]]
    assert plan["order"] == [name for batch in plan["batches"] for name in batch]
    assert plan["wave_of"] == {name: number for number, wave in enumerate(expected_waves, 1) for name in wave}


@pytest.mark.parametrize("fleet, waves, cap, clusters, message", [
    ("a b>x", None, None, None, "pd_release_after of b names x, which is not an application of this fleet"),
    ("a b>a,y,z", None, None, None, "pd_release_after of b names y, z, which"),
    ("a>b b>c c>a", None, None, None, "pd_release_after forms a cycle: a -> b -> c -> a"),
    ("a b>b", None, None, None, "pd_release_after forms a cycle: b -> b"),
    ("a b", [1, "abc"], None, None, "pd_fleet_waves[1] is 'abc': give a number of applications"),
    ("a b", [0], None, None, "pd_fleet_waves[0] is 0"),
    ("a b", ["0%"], None, None, "pd_fleet_waves[0] is '0%'"),
    ("a b", ["150%"], None, None, "pd_fleet_waves[0] is '150%'"),
    ("a b", [True], None, None, "pd_fleet_waves[0] is True"),
    ("a b", "10%", None, None, "pd_fleet_waves must be a list of wave sizes"),
    ("a b", None, -1, None, "pd_fleet_max_concurrent must be a whole number of applications (at least 1), got -1"),
    ("a b", None, "many", None, "pd_fleet_max_concurrent must be a whole number"),
    ("a@east b@west", None, None, ["east", "north"], "pd_fleet_clusters names north, which no application"),
    ("a@east b@west", None, None, ["east"], "pd_fleet_clusters leaves out the cluster of b (west)"),
    ("a@east b@west", None, None, "east", "pd_fleet_clusters must be a list"),
])
def test_refusals_name_the_parameter(fleet, waves, cap, clusters, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        plan_fleet(apps(fleet), waves, cap, clusters)


def test_after_must_be_a_list():
    with pytest.raises(ValueError, match="pd_release_after of b must be a list of applications, got 'a'"):
        plan_fleet([{"name": "a"}, {"name": "b", "after": "a"}])


@pytest.mark.parametrize("outcomes, percent, stops", [
    ({}, 0, False),
    ({"a": "released", "b": "released"}, 0, False),
    ({"a": "paused"}, 0, False),
    ({"a": "aborted"}, 0, True),
    ({"a": "failed", "b": "released"}, 0, True),
    ({"a": "aborted"}, 25, False),  # 1 of 4 is 25%: not more than 25
    ({"a": "aborted", "b": "failed"}, 25, True),
    ({"a": "aborted", "b": "failed", "c": "aborted", "d": "failed"}, 100, False),
])
def test_stop(outcomes, percent, stops):
    reason = stop_reason([2, ["a", "b", "c", "d"]], outcomes, percent)
    assert bool(reason) == stops
    if stops:
        assert reason.startswith("wave 2: ") and "pd_fleet_max_failed_percent" in reason


@pytest.mark.parametrize("percent", [-1, 101, "x", True])
def test_stop_refuses_a_share_that_is_no_percentage(percent):
    with pytest.raises(ValueError, match="pd_fleet_max_failed_percent must be a percentage from 0 to 100"):
        stop_reason([1, ["a"]], {}, percent)


def test_report_table():
    lines = report_table([
        {"application": "api", "cluster": "east", "strategy": "canary", "version": "1.2.0", "wave": 1,
         "outcome": "aborted", "verdict": "Failed: app_success_rate\n 0.7 < 0.95", "seconds": 31.24},
        {"application": "web", "cluster": "west", "strategy": "blue_green", "version": "1.1.0", "wave": 2,
         "outcome": "not started", "verdict": "", "seconds": None}])
    assert lines == [
        "application  cluster  strategy    version  wave  outcome      verdict                              time",
        "api          east     canary      1.2.0    1     aborted      Failed: app_success_rate 0.7 < 0.95  31.2s",
        "web          west     blue_green  1.1.0    2     not started  -                                    -",
    ]


@pytest.mark.parametrize("percent", [-1, 101, "x", True])
def test_the_plan_refuses_a_share_that_is_no_percentage(percent):
    with pytest.raises(ValueError, match="pd_fleet_max_failed_percent must be a percentage from 0 to 100"):
        plan_fleet(apps("a"), max_failed_percent=percent)


def record(version, phase, verdict=None, message=None):
    return {"version": version, "phase": phase, "gate": {"verdict": verdict, "message": message} if verdict else None}


@pytest.mark.parametrize("after, failure, unpromoted, check_mode, expected", [
    (record("1.1.0", "promoted", "Successful", "all passed"), None, None, False,
     {"outcome": "released", "verdict": "Successful: all passed"}),
    (record("1.1.0", "promoted"), None, None, False, {"outcome": "released", "verdict": "promoted"}),
    (record("1.1.0", "paused"), None, None, False,
     {"outcome": "paused", "verdict": "paused for promote.yml or abort.yml"}),
    # A gate that failed: the role sent traffic back, then failed the host.
    (record("1.1.0", "aborted", "Failed", "0.7 < 0.95"), "gate failed", None, False,
     {"outcome": "aborted", "verdict": "Failed: 0.7 < 0.95"}),
    (record("1.1.0", "rolled_back"), "rollout failed", None, False, {"outcome": "aborted", "verdict": "rollout failed"}),
    # A failure before this release was recorded: the record is the previous release's.
    (record("1.0.0", "promoted", "Successful", "old"), "bad input", None, False,
     {"outcome": "failed", "verdict": "bad input"}),
    (None, "API server unreachable", None, False, {"outcome": "failed", "verdict": "API server unreachable"}),
    # The role succeeded but the record shows something else: never reported as released.
    (record("1.0.0", "promoted"), None, None, False,
     {"outcome": "failed", "verdict": "the release record does not show 1.1.0 promoted (1.0.0 promoted)"}),
    (None, None, ["api", "db"], False, {"outcome": "not started", "verdict": "waits for api, db, not promoted in this run"}),
    (record("1.0.0", "promoted"), None, None, True, {"outcome": "checked", "verdict": "check mode: nothing changed"}),
])
def test_outcome(after, failure, unpromoted, check_mode, expected):
    assert outcome(after, "1.1.0", failure, unpromoted, check_mode) == expected


def test_an_application_never_started_reads_not_started():
    assert report_row("web", "east", "canary", "1.1.0", 3) == {
        "application": "web", "cluster": "east", "strategy": "canary", "version": "1.1.0", "wave": 3,
        "outcome": "not started", "verdict": "", "seconds": None}
    released = {"outcome": "released", "verdict": "promoted", "seconds": 3.5}
    assert report_row("web", "east", "canary", "1.1.0", 1, released)["outcome"] == "released"


def test_a_long_verdict_is_cut_in_the_table_only():
    lines = report_table([{"application": "a", "verdict": "x" * 200}])
    assert ("x" * 77 + "...  -") in lines[1]
