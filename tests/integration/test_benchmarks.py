"""The benchmarks entry point runs on the local cluster and writes its figures as JSON.
Only the shape is checked: speed targets live in the benchmark's own table, never in timed tests.
CI measures the per-task part and the smallest fleet: whole releases and time to safety each run
several releases, which `make benchmark` pays for, not every test run."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, ansible_env


@pytest.mark.timeout(1800)  # a fleet release and a playbook of tasks on a loaded machine
def test_quick_benchmark_writes_its_figures_as_json(cluster, tmp_path):
    path = tmp_path / "benchmark.json"
    completed = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--parts", "tasks,fleet",
                                "--json", str(path)],
                               cwd=REPO, env=ansible_env(cluster), capture_output=True, text=True, timeout=1700,
                               check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    print(completed.stdout)  # the table, for whoever runs this with -s
    results = json.loads(path.read_text())

    assert {row["task"] for row in results["per_task"]} >= {"traffic_switch", "metric_gate", "rollout_status"}
    for row in results["per_task"]:
        assert row["seconds"] > 0 and row["ping_seconds"] > 0 and isinstance(row["pass"], bool)
        assert (row["equivalent"] is None) == (row["equivalent_seconds"] is None)
    assert results["evaluator"]["ms_per_measurement"] >= 0
    assert [row["applications"] for row in results["fleet"]] == [1, 3]
    assert all(row["wall_seconds"] > 0 and row["peak_rss_mib"] > 0 for row in results["fleet"])
    assert "canary" not in results and "time_to_safety" not in results
