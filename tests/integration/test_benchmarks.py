"""The benchmarks entry point runs end to end on the local cluster and writes its figures as JSON.
Only the shape is checked: speed targets live in the benchmark's own table, never in timed tests."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, ansible_env


@pytest.mark.timeout(3600)  # a dozen releases on a shared, loaded machine
def test_quick_benchmark_writes_every_figure(cluster, tmp_path):
    path = tmp_path / "benchmark.json"
    completed = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--json", str(path)],
                               cwd=REPO, env=ansible_env(cluster), capture_output=True, text=True, timeout=3500,
                               check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    print(completed.stdout)  # the table, for whoever runs this with -s
    results = json.loads(path.read_text())
    assert "time to safety" in completed.stdout

    assert {row["task"] for row in results["per_task"]} >= {"traffic_switch", "metric_gate", "rollout_status"}
    for row in results["per_task"]:
        assert row["seconds"] > 0 and row["ping_seconds"] > 0 and isinstance(row["pass"], bool)
        assert (row["equivalent"] is None) == (row["equivalent_seconds"] is None)
    assert results["evaluator"]["ms_per_measurement"] >= 0
    for strategy in ("canary", "blue_green"):
        release = results[strategy]
        assert release["wall_seconds"] > 0 and set(release["waits_seconds"]) == {"gates", "pauses", "rollouts"}
        assert isinstance(release["overhead_seconds"], float)
    assert [row["applications"] for row in results["fleet"]] == [1, 3]
    assert all(row["wall_seconds"] > 0 and row["peak_rss_mib"] > 0 for row in results["fleet"])
    assert [row["interval_seconds"] for row in results["time_to_safety"]] == [1, 5]
    assert all(row["seconds"] > 0 and isinstance(row["pass"], bool) for row in results["time_to_safety"])
