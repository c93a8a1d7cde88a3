"""The peer benchmark's harness without a cluster: its medians, ratios and table (a reason in every cell
without a figure), and its cleanup (every process stopped, every namespace deleted, failures reported)."""

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import peer_table  # noqa: E402
import peer_harness as peers  # noqa: E402
import peers as benchmark  # noqa: E402  (its measuring loop; imports the cluster client, needs no cluster)


def test_summary_is_the_median_of_the_runs_that_succeeded_and_keeps_their_errors():
    summary = peer_table.summarise([{"wall_seconds": 9.0, "api_requests": 40}, {"error": "timed out"},
                                    {"wall_seconds": 7.0, "api_requests": 50}, {"wall_seconds": 8.0, "api_requests": 60}])
    assert summary == {"runs": 3, "errors": ["timed out"], "wall_seconds": 8.0, "api_requests": 50}


def test_a_system_whose_every_run_failed_is_unavailable_with_its_first_error():
    assert peer_table.summarise([{"error": "a"}, {"error": "b"}])["unavailable"] == "a"
    assert peer_table.summarise([])["unavailable"] == "not run"


def test_ratio_is_ours_over_the_peer_and_absent_when_either_is_missing_or_not_positive():
    assert peer_table.ratio(5.0, 10.0) == 0.5
    assert peer_table.ratio(None, 10.0) is None
    assert peer_table.ratio(5.0, None) is None
    assert peer_table.ratio(5.0, 0) is None
    assert peer_table.ratio(5.0, -0.4) is None and peer_table.ratio(-1.0, 2.0) is None


def results():
    ours = {"runs": 3, "wall_seconds": 10.0, "overhead_seconds": 2.0, "api_requests": 100, "cpu_seconds": 4.0,
            "peak_rss_mib": 300.0}
    argo = {"runs": 3, "wall_seconds": 8.0, "overhead_seconds": 0.5, "api_requests": 50, "cpu_seconds": 0.5,
            "peak_rss_mib": 90.0}
    return {"date": "2026-12-04 21:00 UTC", "load": "1.0", "runs": 3, "versions": {"Argo Rollouts": "v1.8.5"},
            "builds": {"argo-rollouts": "cached"}, "notes": ["a general note"],
            "workloads": [
                {"name": "good canary", "systems": {"ours": ours, "argo-rollouts": argo,
                                                    "flagger": {"unavailable": "its build failed: 403"}}},
                {"name": "bad canary 1s", "systems": {"ours": ours, "argo-rollouts": argo,
                                                      "flagger": {"unavailable": "interval below 10 s"}}},
                {"name": "fleet", "systems": {}}]}


def test_every_workload_and_figure_has_a_row_and_every_missing_cell_a_reason():
    text = peer_table.render(results())
    lines = text.splitlines()
    good = [line for line in lines if line.startswith("good canary")]
    assert len(good) == len(peer_table.FIGURES)
    wall = next(line for line in good if "wall" in line)
    assert "10.00s" in wall and "8.00s" in wall and "1.25x" in wall and "n/a [1]" in wall
    assert "[1] Flagger, good canary: its build failed: 403" in lines
    assert any("Flagger, bad canary 1s: interval below 10 s" in line for line in lines)
    # A workload nobody ran is printed, saying so, not left out.
    assert any(line.startswith("fleet") and "n/a" in line for line in lines)
    assert any(line.endswith("Argo Rollouts, fleet: not run") for line in lines)
    assert any(line.endswith("a general note") for line in lines)
    assert "versions: Argo Rollouts v1.8.5" in text


def test_a_figure_from_fewer_runs_than_asked_says_how_many_failed_and_why():
    data = results()
    data["workloads"][0]["systems"]["argo-rollouts"] = peer_table.summarise(
        [{"wall_seconds": 8.0}, {"error": "timed out"}, {"wall_seconds": 9.0}])
    text = peer_table.render(data)
    wall = next(line for line in text.splitlines() if line.startswith("good canary") and "wall" in line)
    assert "8.50s [" in wall
    assert "Argo Rollouts, good canary: 1 of 3 runs failed, first: timed out" in text


def test_markdown_has_the_same_rows():
    table = peer_table.markdown(results())
    assert table.count("| good canary |") == len(peer_table.FIGURES)
    assert "1. Flagger, good canary: its build failed: 403" in table


def test_a_merged_report_takes_later_runs_rows_in_place_and_says_where_they_come_from():
    first = results()
    later = {"date": "2026-12-05 07:00 UTC", "load": "4.00 3.00 2.00", "runs": 1, "versions": first["versions"],
             "workloads": [{"name": "fleet", "systems": {"ours": {"runs": 1, "wall_seconds": 99.0}}},
                           {"name": "gateway", "systems": {}}]}
    merged = peer_table.merge(first, later)
    assert [w["name"] for w in merged["workloads"]] == ["good canary", "bad canary 1s", "fleet", "gateway"]
    assert merged["workloads"][2]["systems"]["ours"]["wall_seconds"] == 99.0
    assert merged["notes"][-1] == "fleet; gateway: from another run (2026-12-05 07:00 UTC, load 4.00 3.00 2.00, runs: 1)"
    assert merged["date"] == first["date"] and first["workloads"][2]["systems"] == {}


class FakeProcess:
    def __init__(self, running=True):
        self.running, self.signals = running, []

    def poll(self):
        return None if self.running else 0

    def terminate(self):
        self.signals.append("TERM")
        self.running = False

    def wait(self, timeout=None):
        return 0


def test_cleanup_stops_every_process_and_deletes_what_it_created_even_when_one_deletion_fails():
    first, done = FakeProcess(), FakeProcess(running=False)
    deleted = []

    def delete(kind, name):
        if name == "broken":
            raise RuntimeError("403")
        deleted.append((kind, name))

    created = [("CustomResourceDefinition", "rollouts.argoproj.io"), ("namespace", "broken"), ("namespace", "b")]
    errors = peers.cleanup([("argo-rollouts", first), ("flagger", done)], created, delete)
    assert first.signals == ["TERM"] and done.signals == []
    assert deleted == [("CustomResourceDefinition", "rollouts.argoproj.io"), ("namespace", "b")]
    assert errors == ["deleting namespace broken: 403"]


def test_only_the_crds_the_cluster_did_not_have_are_deleted_afterwards():
    documents = [None, {"kind": "CustomResourceDefinition", "metadata": {"name": "rollouts.argoproj.io"}},
                 {"kind": "CustomResourceDefinition", "metadata": {"name": "virtualservices.networking.istio.io"}},
                 {"kind": "ClusterRole", "metadata": {"name": "argo-rollouts"}}]
    assert peers.new_crd_names(documents, {"virtualservices.networking.istio.io"}) == ["rollouts.argoproj.io"]


def test_a_process_that_ignores_sigterm_is_killed():
    process = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
                                "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
                               stdout=subprocess.PIPE, text=True)
    process.stdout.readline()
    assert peers.stop_processes([("stubborn", process)], timeout=0.5) == ["stubborn"]
    assert process.poll() is not None
    process.stdout.close()


def test_every_system_measures_the_same_canary_query():
    query = peers.success_rate_query("ns", "app")
    assert 'destination_service_name="app-canary"' in query and 'destination_version="1.1.0"' in query
    assert query.count("[10s]") == 2


def test_through_gateway_api_the_canary_query_reads_the_applications_own_metrics_of_the_canary_service():
    assert peers.canary_success_query("ns", "app", "istio") == peers.success_rate_query("ns", "app")
    query = peers.canary_success_query("ns", "app", "gateway_api")
    assert query == peers.service_success_query("ns", "app-canary")
    assert 'http_requests_total{namespace="ns",service="app-canary",version="1.1.0"' in query


class FakeSystem:
    """A system whose namespace reset is recorded, as measure drives it between runs."""

    def __init__(self):
        self.namespace, self.resets = "bench", []
        self.harness = self

    def reset(self, namespace):
        self.resets.append(namespace)


def test_a_benchmark_stopped_midway_keeps_the_runs_it_finished():
    ours, argo = FakeSystem(), FakeSystem()
    saved, summaries = [], {}

    def body(system, index):
        if index == 1:
            raise benchmark.Stopped("stopped by signal 15")
        return {"wall_seconds": 5.0}

    try:
        benchmark.measure({"ours": ours, "argo-rollouts": argo, "flagger": "its build failed: 403"}, 3, "good",
                          body, summaries, lambda: saved.append(dict(summaries)))
    except benchmark.Stopped:
        pass
    assert summaries == {"ours": {"runs": 1, "wall_seconds": 5.0}}
    assert saved == [summaries] and ours.resets == ["bench", "bench"] and argo.resets == []
