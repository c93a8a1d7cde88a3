"""The benchmarks entry point runs on the local cluster and writes its figures as JSON.
Only the shape is checked: speed targets live in the benchmark's own table, never in timed tests.
CI measures the per-task part only: whole releases, fleets and time to safety each run several
releases, which `make benchmark` pays for, not every test run."""

import json
import subprocess
import sys

import pytest

from conftest import REPO, ansible_env


@pytest.mark.timeout(1200)  # a playbook of tasks on a loaded machine
def test_quick_benchmark_writes_its_figures_as_json(cluster, tmp_path):
    path = tmp_path / "benchmark.json"
    completed = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--parts", "tasks",
                                "--json", str(path)],
                               cwd=REPO, env=ansible_env(cluster), capture_output=True, text=True, timeout=1100,
                               check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    print(completed.stdout)  # the table, for whoever runs this with -s
    results = json.loads(path.read_text())

    assert {row["task"] for row in results["per_task"]} >= {"traffic_switch", "metric_gate", "rollout_status"}
    for row in results["per_task"]:
        assert row["seconds"] > 0 and row["ping_seconds"] > 0 and isinstance(row["pass"], bool)
        assert (row["equivalent"] is None) == (row["equivalent_seconds"] is None)
    assert results["evaluator"]["ms_per_measurement"] >= 0
    assert not {"canary", "blue_green", "fleet", "fleet_clusters", "time_to_safety"} & set(results)
