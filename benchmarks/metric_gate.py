"""Figures for metric_gate (a script, not a test): prints

1. the evaluator's overhead per measurement beyond the provider's own round trip (goal: < 20 ms),
   measured against the real local Prometheus and with a provider that costs nothing;
2. the wall time of a playbook running one one-measurement metric_gate task, next to the same
   playbook running ansible.builtin.ping (the floor of any task).

Usage: .venv/bin/python benchmarks/metric_gate.py [--prometheus-url URL] [--measurements N] [--runs N]
The local cluster must be running (make cluster-up) unless --prometheus-url points elsewhere.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / ".cache" / "collections"))
sys.path.insert(0, str(REPO / "tools" / "local_cluster"))

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.gate import build_gate  # noqa: E402
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import Sample  # noqa: E402


class Timed:
    """Wraps a provider and adds up the time spent inside fetch()."""

    def __init__(self, provider):
        self.provider, self.spent = provider, 0.0

    def fetch(self):
        started = time.perf_counter()
        try:
            return self.provider.fetch()
        finally:
            self.spent += time.perf_counter() - started


class Free:
    """A provider that returns ten labelled series at no cost."""

    def fetch(self):
        return [Sample(0.99, {"pod": "web-%d" % i}) for i in range(10)]


def overhead(params, measurements, replace=None):
    gate = build_gate(params)
    gate.sleep = lambda seconds: None  # the schedule's waits are not overhead
    metric = gate.metrics[0]
    metric.provider = Timed(replace or metric.provider)
    started = time.perf_counter()
    result = gate.run()
    total = time.perf_counter() - started
    assert result["verdict"] == "Successful", result["message"]
    return (total - metric.provider.spent) / measurements * 1000, metric.provider.spent / measurements * 1000


def playbook_wall_time(task, runs):
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        handle.write("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - %s\n" % task)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    times = []
    for attempt in range(runs):
        started = time.perf_counter()
        subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", handle.name,
                        "-e", "ansible_python_interpreter=%s" % sys.executable],
                       cwd=REPO, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    os.unlink(handle.name)
    return statistics.median(times), min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus-url")
    parser.add_argument("--measurements", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = args.prometheus_url
    if not url:
        import local_cluster
        url = local_cluster.cluster_info()["prometheus_url"]
    n = args.measurements
    metric = {"name": "m", "query": "vector(0.99)", "count": n, "interval": 0.001,
              "success": {"min": 0.95, "expression": "result < 1 and labels is mapping"}}
    params = {"prometheus": {"url": url}, "metrics": [metric]}
    evaluator_ms, round_trip_ms = overhead(params, n)
    print("evaluator overhead per measurement (real Prometheus): %.3f ms beyond a %.2f ms round trip"
          % (evaluator_ms, round_trip_ms))
    free = dict(params, metrics=[dict(metric, series="each")])
    evaluator_ms = overhead(free, n, replace=Free())[0]
    print("evaluator overhead per measurement (10 series, each judged by range and expression): %.3f ms"
          % evaluator_ms)
    print("goal: under 20 ms")

    gate_task = ("terragonlabs.progressive_delivery.metric_gate: {prometheus: {url: '%s'}, metrics: "
                 "[{name: m, query: vector(0.99), success: {min: 0.95}}]}" % url)
    gate_median, gate_best = playbook_wall_time(gate_task, args.runs)
    ping_median, ping_best = playbook_wall_time("ansible.builtin.ping:", args.runs)
    print("playbook with one metric_gate task (one measurement): median %.2f s, best %.2f s" % (gate_median, gate_best))
    print("playbook with one ansible.builtin.ping task:          median %.2f s, best %.2f s" % (ping_median, ping_best))
    print("metric_gate costs %.2f s more than ping (median)" % (gate_median - ping_median))


if __name__ == "__main__":
    main()
