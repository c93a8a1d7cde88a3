"""benchmarks/run.py's decisions without a cluster: what counts as a task execution, and the good canary's
goals, with Argo Rollouts' figure read from the peer benchmark's report when there is one."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import run  # noqa: E402  (imports the cluster client, needs no cluster)
from peer_harness import GOOD_CANARY, canary_success_query, good_canary_steps  # noqa: E402

STEPS = good_canary_steps("ns", "app", "istio")


def host(skipped):
    return {"skipped": True} if skipped else {"changed": False}


def test_task_executions_count_every_host_a_task_ran_for_in_every_play_but_not_the_skipped_ones():
    report = {"plays": [
        {"tasks": [{"hosts": {"a": host(False), "b": host(True)}}, {"hosts": {"a": host(True)}}]},
        {"tasks": [{"hosts": {"localhost": host(False)}}, {"hosts": {"a": host(False), "b": host(False)}}]}]}
    assert run.task_executions(report) == 4
    assert len(run.tasks_of(report)) == 4


def peers_report(argo):
    return {"date": "2026-12-05 10:12 UTC", "workloads": [
        {"name": GOOD_CANARY + ", Gateway API HTTPRoute", "systems": {"argo-rollouts": {"unavailable": "no plugin"}}},
        {"name": GOOD_CANARY, "systems": {"ours": {"wall_seconds": 18.4}, "argo-rollouts": argo}}]}


@pytest.mark.parametrize("report, expected", [
    (None, None),  # the peer benchmark never ran here
    ({"date": "d", "workloads": []}, None),  # it ran other workloads only
    (peers_report({"unavailable": "its build failed: 403"}), None),
    (peers_report({"runs": 0, "errors": ["timed out"], "unavailable": "timed out"}), None),
    (peers_report({"runs": 3, "wall_seconds": 8.67}), 8.67),
])
def test_argo_rollouts_wall_time_comes_from_the_peer_reports_good_canary_when_measured(report, expected):
    assert run.peer_wall_seconds(report, GOOD_CANARY, "argo-rollouts") == expected


@pytest.mark.parametrize("wall, executions, wall_pass, tasks_pass", [
    (14.9, 18, True, True),
    (15.0, 18, True, True),  # at most: the goals themselves pass
    (15.1, 18, False, True),
    (12.0, 19, True, False),
    (50.0, 140, False, False),
])
def test_the_good_canary_passes_within_15_seconds_and_steps_plus_12_task_executions(wall, executions, wall_pass,
                                                                                    tasks_pass):
    goals = run.good_canary_goals({"wall_seconds": wall, "task_executions": executions}, STEPS, None)
    assert goals["goal_task_executions"] == len(STEPS) + 12 == 18
    assert (goals["wall_pass"], goals["task_executions_pass"], goals["pass"]) == (
        wall_pass, tasks_pass, wall_pass and tasks_pass)


def test_the_goal_line_names_argo_rollouts_figure_and_its_date_or_says_it_was_not_measured():
    row = {"wall_seconds": 14.2, "task_executions": 19}
    measured = dict(row, **run.good_canary_goals(row, STEPS, peers_report({"wall_seconds": 8.67})))
    line = run.good_canary_line(measured)
    assert "wall 14.20s <= 15.00s pass" in line
    assert "Argo Rollouts 8.67s in the peer benchmark of 2026-12-05 10:12 UTC" in line
    assert line.endswith("19 task executions <= 6 steps + 12 = 18 MISS")
    assert "Argo Rollouts not measured" in run.good_canary_line(dict(row, **run.good_canary_goals(row, STEPS, None)))


def test_the_releases_table_shows_the_good_canary_beside_the_others_with_its_goals():
    release = {"wall_seconds": 14.2, "overhead_seconds": 4.1, "tasks": 9, "task_executions": 8,
               "waits_seconds": {"gates": 0.0, "pauses": 8.0, "rollouts": 2.1}}
    results = {"load": "1.0", "per_task": [], "canary": release, "blue_green": release,
               "evaluator": {"ms_per_measurement": 1.0, "round_trip_ms": 2.0, "goal": "< 20 ms", "pass": True},
               "good_canary": dict(release, **run.good_canary_goals(release, STEPS, None))}
    lines = run.table(results).splitlines()
    # The goal line comes last, under the rows.
    names = [line.split()[0] for line in lines[:-1] if line.split() and line.split()[0] in (
        "canary", "good_canary", "blue_green")]
    assert names == ["canary", "good_canary", "blue_green"]
    assert "14.20s   4.10s     0.00s    8.00s    2.10s     9      8" in next(
        line for line in lines if line.startswith("good_canary "))
    assert lines[-1].startswith("good_canary goals: wall 14.20s <= 15.00s pass (Argo Rollouts not measured)")


def test_a_peer_report_is_read_when_saved_and_none_when_absent(tmp_path):
    assert run.read_peers_report(tmp_path / "benchmark-peers.json") is None
    (tmp_path / "benchmark-peers.json").write_text(json.dumps(peers_report({"wall_seconds": 8.67})))
    assert run.peer_wall_seconds(run.read_peers_report(tmp_path / "benchmark-peers.json"), GOOD_CANARY,
                                 "argo-rollouts") == 8.67


def test_the_good_canary_is_20_pause_analysis_50_pause_100_measuring_the_canary_query_once():
    assert [next(iter(step)) for step in STEPS] == ["set_weight", "pause", "analysis", "set_weight", "pause",
                                                    "set_weight"]
    assert [step["set_weight"] for step in STEPS if "set_weight" in step] == [20, 50, 100]
    assert [step["pause"]["duration"] for step in STEPS if "pause" in step] == [4, 4]
    metric, = STEPS[2]["analysis"]["metrics"]
    assert metric["query"] == canary_success_query("ns", "app", "istio") and "count" not in metric
