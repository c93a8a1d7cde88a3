"""What a release costs on the local cluster, each figure next to its baseline measured in the same run.

    .venv/bin/python benchmarks/run.py [--runs N] [--quick] [--json PATH] [--parts ...] [--fleet-sizes 1,10,50]     (or: make benchmark)

Prints one table and writes it as JSON (.cache/benchmark.json unless --json says otherwise), saved after each
part so that a stopped run keeps what it measured:

- per task: traffic_switch, metric_gate (one measurement), rollout_status on a ready Deployment, a
  scale, and the release lifecycle modules, each against ansible.builtin.ping (the floor of any module call) and the
  kubernetes.core task doing the same thing. Every task is timed as a user runs it, inside one
  ansible-playbook run of interleaved tasks (the callback's per-task wall time): process start-up is
  paid once per playbook, not once per task, so it does not blur the per-task figures.
- whole releases: a canary (four weight steps, zero pauses, one measurement per analysis step), the peer
  benchmark's good canary (Istio, 20% -> pause 4 s -> one-measurement analysis -> 50% -> pause 4 s -> 100%,
  next to its goals and Argo Rollouts' wall time from .cache/benchmark-peers.json) and a blue-green
  release; wall time, our overhead = wall time minus the waits the strategy asks for, and task executions.
- a fleet: one blue-green release of 1, 10 and 50 applications in one playbook run (forks 10), with
  the processor time and peak memory of ansible-playbook and its workers.
- a fleet across clusters: the largest of those fleets, half on the default cluster and half on a
  second local cluster started for it, released blue-green by playbooks/fleet.yml in waves
  [5, "50%", "100%"] (forks 10), next to the single-cluster fleet of the same size.
- time to safety: from the simulator serving the canary's first error to the route sending the canary
  no traffic, with background analysis every 1 s and every 5 s.
- the guard window: from the first 5xx of a promoted version that turns bad to traffic back on the
  previous version, through Prometheus (1 s scrapes, a 10 s `for:`), Alertmanager, ansible-rulebook,
  guard.yml and rollback.yml, with no playbook started by the benchmark after the promotion.

Everything runs in fresh namespaces (bench-*) that are deleted afterwards. The local cluster must be
running (make cluster-up; make benchmark does both).
"""

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "local_cluster"))
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / ".cache" / "collections"))

import local_cluster  # noqa: E402
from kubernetes import client, config  # noqa: E402
from inventories import clusters_inventory, fleet_inventory  # noqa: E402
from objects import deployment, http_route  # noqa: E402
from peer_harness import GOOD_CANARY, good_canary_steps  # noqa: E402

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.gate import build_gate  # noqa: E402

COLLECTION = "terragonlabs.progressive_delivery."
APP = "modelcard-generator"
BIN = Path(sys.executable).parent
# Gates as short as the local Prometheus allows (it scrapes every second; the rate window is 10 s):
# one measurement, a few seconds for the new version's traffic to reach Prometheus, no scale-down delay.
FAST = {"pd_gate_count": 1, "pd_gate_initial_delay": 4, "pd_gate_interval": 2, "pd_scale_down_delay_seconds": 0,
        "pd_canary_lock_ttl": 30, "pd_canary_background_analysis": {}}
CANARY_STEPS = [{"set_weight": 25}, {"analysis": {"templates": ["app_success_rate"]}},
                {"set_weight": 50}, {"analysis": {"templates": ["app_success_rate"]}},
                {"set_weight": 75}, {"analysis": {"templates": ["app_success_rate"]}},
                {"set_weight": 100}]
GOAL_RATIO_TO_PING = 1.5
# The good canary's goals: its wall time, and task executions beyond one per step.
GOOD_CANARY_GOAL_SECONDS = 15
GOOD_CANARY_GOAL_EXTRA_TASKS = 12
PEERS_JSON = REPO / ".cache" / "benchmark-peers.json"
# Per-task figures are always measured: the release overheads are computed against them.
PARTS = ("tasks", "releases", "fleet", "clusters", "safety", "guard")
CLUSTER_WAVES = [5, "50%", "100%"]
# The guard's releases: no gates (the guard is what is measured); the version turns bad once promoted.
GUARD_RELEASE = {"pd_gate_templates": [], "pd_smoke_test": {}}
GUARD_BAD_AFTER = 20
GUARD_GOAL_SECONDS = 30


# ---------------------------------------------------------------------------------------------- cluster

class Cluster:
    def __init__(self):
        local_cluster.up()
        self.info = local_cluster.cluster_info()
        self.api = config.new_client_from_config(config_file=self.info["kubeconfig"])
        self.core, self.apps = client.CoreV1Api(self.api), client.AppsV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    def namespace(self):
        name = "bench-%s" % uuid.uuid4().hex[:8]
        self.core.create_namespace({"metadata": {"name": name, "labels": {
            "pod-security.kubernetes.io/enforce": "restricted"}}})
        wait_for(lambda: self.core.list_namespaced_service_account(name).items, 30, "the default ServiceAccount")
        return name

    def delete(self, namespace):
        self.core.delete_namespace(namespace)

    def env(self, **extra):
        return dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), K8S_AUTH_KUBECONFIG=self.info["kubeconfig"],
                    ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                    ANSIBLE_FORCE_COLOR="0", **extra)

    def playbook(self, args, env=None, sampler=None, hosts_may_fail=False):
        """(wall seconds, the json callback's report) of one ansible-playbook run from the repository root.
        hosts_may_fail: a run in which some hosts failed (exit code 2) still counts; its report says which."""
        progress("ansible-playbook %s" % " ".join(arg for arg in args if not arg.startswith("{")))
        started = time.monotonic()
        process = subprocess.Popen([str(BIN / "ansible-playbook")] + args, cwd=REPO, env=env or self.env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if sampler:
                sampler.watch(process.pid)
            stdout, stderr = process.communicate()
        finally:
            stop(process)
        elapsed = time.monotonic() - started
        if sampler:
            sampler.stop()
        progress("... %.1fs" % elapsed)
        if process.returncode != 0 and not (hosts_may_fail and process.returncode == 2):
            raise SystemExit("ansible-playbook %s failed:\n%s\n%s" % (" ".join(args), stdout[-4000:], stderr[-3000:]))
        return elapsed, json.loads(stdout)


def stop(process):
    """Kills a playbook the benchmark no longer waits for (an error or SIGTERM), so none outlives it."""
    if process.poll() is None:
        process.kill()
        process.wait()


def progress(message):
    """A line on stderr, so a long run shows where it is."""
    print("[%s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def wait_for(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def seconds(duration):
    start, end = (datetime.fromisoformat(duration[key].replace("Z", "+00:00")) for key in ("start", "end"))
    return (end - start).total_seconds()


def tasks_of(report):
    return [task for play in report["plays"] for task in play["tasks"]]


def task_executions(report):
    """How many times a task ran for a host: a task skipped for a host did not run there."""
    return sum(1 for task in tasks_of(report) for result in task["hosts"].values() if not result.get("skipped"))


def median(values):
    return statistics.median(values) if values else None


# ------------------------------------------------------------------------------------------- per task

def per_task_playbook(namespace, prometheus, rounds):
    """Rounds of interleaved tasks, so every kind meets the same machine load."""
    common = {"app": "undo", "namespace": namespace}
    # The first task of a play pays one-time costs (loading plugins, the connection): not a ping's.
    tasks = [{"name": "warm-up", "ansible.builtin.ping": {}}]
    for index in range(rounds):
        weight = 10 + 10 * (index % 2)  # alternates, so every switch is a real change
        route = http_route("web", "web")
        route["metadata"]["namespace"] = namespace
        route["spec"]["rules"][0]["backendRefs"] = [  # other weights than the switch's, so this changes them too
            {"name": "web", "port": 80, "weight": 95 - weight}, {"name": "web-canary", "port": 80, "weight": weight + 5}]
        tasks += [
            {"name": "ansible.builtin.ping", "ansible.builtin.ping": {}},
            {"name": "traffic_switch", COLLECTION + "traffic_switch": {
                "router": "gateway_api", "namespace": namespace, "route": "web", "stable": "web",
                "canary": "web-canary", "weight": weight}},
            {"name": "kubernetes.core.k8s patch", "kubernetes.core.k8s": {"state": "present", "definition": route}},
            {"name": "metric_gate", COLLECTION + "metric_gate": {"prometheus": {"url": prometheus}, "metrics": [
                {"name": "m", "query": "vector(0.99)", "success": {"min": 0.95}}]}},
            {"name": "ansible.builtin.uri GET", "ansible.builtin.uri": {
                "url": "%s/api/v1/query?query=vector(0.99)" % prometheus, "return_content": True}},
            {"name": "rollout_status", COLLECTION + "rollout_status": {"name": "web-v1", "namespace": namespace}},
            {"name": "kubernetes.core.k8s_info wait", "kubernetes.core.k8s_info": {
                "kind": "Deployment", "name": "web-v1", "namespace": namespace, "wait": True}},
            {"name": "release_lock", COLLECTION + "release_lock": dict(common, holder="bench")},
            {"name": "release_record", COLLECTION + "release_record": dict(common, release_id="r1", step=str(index % 2))},
            {"name": "release_info", COLLECTION + "release_info": common},
            {"name": "rollout_undo", COLLECTION + "rollout_undo": {"name": "undo", "namespace": namespace}},
            # Both change it every round: up to one replica, then back to none (no wait: pods come and go).
            {"name": "rollout_scale", COLLECTION + "rollout_scale": {"name": "scaled", "namespace": namespace,
                                                                     "replicas": 1}},
            {"name": "kubernetes.core.k8s scale", "kubernetes.core.k8s": {
                "state": "patched", "kind": "Deployment", "name": "scaled", "namespace": namespace,
                "definition": {"spec": {"replicas": 0}}}},
        ]
    return [{"name": "bench", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]


# Each of our tasks, the kubernetes.core task doing the same thing (None: there is none).
PER_TASK = [
    ("traffic_switch", "kubernetes.core.k8s patch", "an HTTPRoute's weights"),
    ("metric_gate", "ansible.builtin.uri GET", "one Prometheus query (no kubernetes.core metric task exists)"),
    ("rollout_status", "kubernetes.core.k8s_info wait", "a Deployment already rolled out"),
    ("release_lock", None, "take, then keep, a lock"),
    ("release_record", None, "write a release record"),
    ("release_info", None, "read the release record"),
    ("rollout_undo", None, "undo to the other revision (alternating)"),
    ("rollout_scale", "kubernetes.core.k8s scale", "scale a Deployment from 0 to 1 replica"),
]


def per_task(cluster, runs, rounds):
    # Imported here: traffic_cases takes wait_for from the integration tests' conftest, and a unit
    # test that imports this file (through peers.py) runs where another conftest holds that name.
    from traffic_cases import two_versions

    times = {}
    for _run in range(runs):
        namespace = cluster.namespace()
        try:
            two_versions(cluster.api, namespace)
            cluster.custom.create_namespaced_custom_object(
                "gateway.networking.k8s.io", "v1", namespace, "httproutes", http_route("web", "web"))
            cluster.apps.create_namespaced_deployment(namespace, deployment("undo", "undo", "1", replicas=0))
            cluster.apps.create_namespaced_deployment(namespace, deployment("scaled", "scaled", "1", replicas=0))
            cluster.apps.patch_namespaced_deployment("undo", namespace, {"spec": {"template": {"spec": {
                "containers": [{"name": "app", "image": "ghcr.io/terragonlabs/undo:2"}]}}}})
            wait_for(lambda: len(cluster.apps.list_namespaced_replica_set(namespace, label_selector="app.kubernetes.io/name=undo").items) == 2,
                     30, "undo's two ReplicaSets")
            with tempfile.TemporaryDirectory() as scratch:
                path = Path(scratch) / "per_task.yml"
                path.write_text(json.dumps(per_task_playbook(namespace, cluster.info["prometheus_url"], rounds)))
                report = cluster.playbook(["-i", "localhost,", "-e", "ansible_python_interpreter=%s" % sys.executable,
                                           "-c", "local", str(path)])[1]
        finally:
            cluster.delete(namespace)
        for task in tasks_of(report):
            result = task["hosts"]["localhost"]
            if task["task"]["name"] == "traffic_switch":
                assert result["changed"] and result["verified"], result
            times.setdefault(task["task"]["name"], []).append(seconds(task["task"]["duration"]))
    ping = median(times["ansible.builtin.ping"])
    rows = []
    for ours, theirs, what in PER_TASK:
        cost, equivalent = median(times[ours]), median(times[theirs]) if theirs else None
        goals = [cost <= GOAL_RATIO_TO_PING * ping] + ([cost <= equivalent] if theirs else [])
        rows.append({"task": ours, "what": what, "seconds": cost, "ping_seconds": ping,
                     "ratio_to_ping": cost / ping, "equivalent": theirs, "equivalent_seconds": equivalent,
                     "ratio_to_equivalent": cost / equivalent if theirs else None,
                     "goal": "<= %.1fx ping%s" % (GOAL_RATIO_TO_PING, ", <= equivalent" if theirs else ""),
                     "pass": all(goals), "samples": len(times[ours])})
    return rows


def evaluator_overhead(prometheus, measurements):
    """metric_gate's own cost per measurement beyond the Prometheus round trip, in process."""
    params = {"prometheus": {"url": prometheus}, "metrics": [{
        "name": "m", "query": "vector(0.99)", "count": measurements, "interval": 0.001,
        "success": {"min": 0.95, "expression": "result < 1 and labels is mapping"}}]}
    gate = build_gate(params)
    gate.sleep = lambda seconds: None  # the schedule's waits are not overhead
    provider = gate.metrics[0].provider
    spent = [0.0]

    def timed_fetch(fetch=provider.fetch):
        started = time.perf_counter()
        try:
            return fetch()
        finally:
            spent[0] += time.perf_counter() - started

    provider.fetch = timed_fetch
    started = time.perf_counter()
    result = gate.run()
    total = time.perf_counter() - started
    assert result["verdict"] == "Successful", result["message"]
    return {"ms_per_measurement": (total - spent[0]) / measurements * 1000,
            "round_trip_ms": spent[0] / measurements * 1000, "goal": "< 20 ms",
            "pass": (total - spent[0]) / measurements < 0.020}


# ------------------------------------------------------------------------------------------- releases

def strategy_waits(report, rollout_floor):
    """Seconds of a release the strategy itself asks for: what the release task says its calls of the
    engine waited (pauses, gates, pods starting); for the other tasks, from the callback's per-task timings -
    pauses (the pause tasks' durations), gates (initial delay + interval x (count - 1) of the longest
    metric of each metric_gate task) and rollouts (each rollout_status task's duration beyond its cost
    on a Deployment already rolled out, measured in the per-task section)."""
    waits = {"pauses": 0.0, "gates": 0.0, "rollouts": 0.0}
    for task in tasks_of(report):
        for result in task["hosts"].values():
            if result.get("skipped"):
                continue
            for kind, waited in (result.get("waited") or {}).items():
                waits[kind] += waited
            action = result.get("action") or ""
            duration = seconds(task["task"]["duration"])
            if action in ("ansible.builtin.pause", "pause"):
                waits["pauses"] += duration
            elif action.endswith("metric_gate"):
                metrics = result["invocation"]["module_args"]["metrics"]
                waits["gates"] += max(float(m.get("initial_delay") or 0) + float(m.get("interval") or 0)
                                      * (int(m.get("count") or 1) - 1) for m in metrics)
            elif action.endswith("rollout_status"):
                waits["rollouts"] += max(0.0, duration - rollout_floor)
    return waits


def release(cluster, playbook, namespace, version, extra, inventory="inventories/local", env=None, sampler=None,
            hosts_may_fail=False):
    variables = dict(FAST, pd_namespace=namespace, release_version=version, **extra)
    return cluster.playbook(["-i", inventory, "playbooks/%s" % playbook, "-e", json.dumps(variables)],
                            env=env, sampler=sampler, hosts_may_fail=hosts_may_fail)


def slowest_tasks(report, count=5):
    """The tasks that took longest, to say where a release's time goes."""
    timed = [(seconds(task["task"]["duration"]), task["task"]["name"]) for task in tasks_of(report)]
    return [{"task": name, "seconds": round(duration, 2)} for duration, name in sorted(timed, reverse=True)[:count]]


def whole_release(cluster, playbook, extra, runs, rollout_floor):
    walls, overheads, waits, slowest, tasks, executions = [], [], [], [], [], []
    for _run in range(runs):
        namespace = cluster.namespace()
        try:
            release(cluster, playbook, namespace, "1.0.0", extra)  # the first release: nothing to compare yet
            wall, report = release(cluster, playbook, namespace, "1.1.0", extra)
        finally:
            cluster.delete(namespace)
        wait = strategy_waits(report, rollout_floor)
        walls.append(wall)
        waits.append(wait)
        slowest.append(slowest_tasks(report))
        tasks.append(len(tasks_of(report)))
        executions.append(task_executions(report))
        overheads.append(wall - sum(wait.values()))
    # The waits, tasks and slowest tasks shown are those of the run nearest the median wall time.
    index = min(range(len(walls)), key=lambda run: abs(walls[run] - median(walls)))
    return {"wall_seconds": median(walls), "overhead_seconds": median(overheads),
            "waits_seconds": waits[index], "slowest_tasks": slowest[index], "tasks": tasks[index],
            "task_executions": executions[index], "samples": runs}


def peer_wall_seconds(peers_report, workload, system):
    """A system's median wall time of a workload in a peer benchmark report (None: no report, or no figure)."""
    for entry in (peers_report or {}).get("workloads", []):
        if entry["name"] == workload:
            return entry["systems"].get(system, {}).get("wall_seconds")
    return None


def good_canary_goals(row, steps, peers_report):
    """The good canary's goals beside its figures: a wall time, task executions at most one per step plus a
    fixed few, and Argo Rollouts' wall time from the peer benchmark for reference."""
    most_tasks = len(steps) + GOOD_CANARY_GOAL_EXTRA_TASKS
    argo = peer_wall_seconds(peers_report, GOOD_CANARY, "argo-rollouts")
    wall_pass = row["wall_seconds"] <= GOOD_CANARY_GOAL_SECONDS
    tasks_pass = row["task_executions"] <= most_tasks
    return {"steps": len(steps), "goal_wall_seconds": GOOD_CANARY_GOAL_SECONDS, "wall_pass": wall_pass,
            "goal_task_executions": most_tasks, "task_executions_pass": tasks_pass, "pass": wall_pass and tasks_pass,
            "argo_rollouts_wall_seconds": argo, "argo_rollouts_date": None if argo is None else peers_report["date"]}


def read_peers_report(path):
    """The peer benchmark's saved report, None when it has not been run here."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------- fleet

class ResourceSampler:
    """Peak summed RSS of a process and its descendants, sampled every 0.2 s from /proc, and the processor
    time they used (counted once the process has been waited for: each process adds its reaped children's)."""

    def __init__(self):
        self.peak, self.cpu_seconds, self._stop, self._thread = 0, None, threading.Event(), None
        self._children_before = None

    def watch(self, pid):
        self._children_before = children_cpu_seconds()
        self._thread = threading.Thread(target=self._run, args=(pid,), daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.cpu_seconds = children_cpu_seconds() - self._children_before

    def _run(self, root):
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(rss(pid) for pid in tree(root)))
            time.sleep(0.2)


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def children():
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(parent, []).append(int(entry))
    return parents


def tree(root):
    parents, found, todo = children(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def rss(pid):
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def fleet(cluster, sizes, rows, save):
    """Appends a row to rows, and saves, as each fleet size is measured."""
    env = cluster.env(ANSIBLE_FORKS="10")
    for size in sizes:
        namespace = cluster.namespace()
        # One pod per color and application: 50 applications stay within the shared cluster's room.
        extra = {"pd_replicas": 1}
        try:
            with tempfile.TemporaryDirectory() as scratch:
                inventory = str(fleet_inventory(Path(scratch), {"%s-%02d" % (APP, i): None for i in range(1, size + 1)}))
                release(cluster, "blue_green.yml", namespace, "1.0.0", extra, inventory, env)
                sampler = ResourceSampler()
                # On a busy machine a gate may see no data yet and abort an application's release: the
                # run's cost is still measured, and the row says how many ended so.
                wall, report = release(cluster, "blue_green.yml", namespace, "1.1.0", extra, inventory, env, sampler,
                                       hosts_may_fail=True)
        finally:
            cluster.delete(namespace)
        failed = sum(1 for stats in report["stats"].values() if stats["failures"])
        row = {"applications": size, "wall_seconds": wall, "seconds_per_application": wall / size,
               "cpu_seconds_per_application": sampler.cpu_seconds / size, "peak_rss_mib": sampler.peak / 2 ** 20,
               "failed_applications": failed, "pass": None}
        if rows and not failed and not rows[-1]["failed_applications"]:
            # (an aborted release does less work: a fleet with one proves nothing either way)
            row["pass"] = row["seconds_per_application"] < rows[-1]["seconds_per_application"]
        rows.append(row)
        save()


def fleet_across_clusters(cluster, size, single_cluster_rows):
    """The row of a fleet of size applications over two clusters, released in CLUSTER_WAVES."""
    env = cluster.env(ANSIBLE_FORKS="10", ANSIBLE_SHOW_CUSTOM_STATS="1")
    second = [sys.executable, str(REPO / "tools" / "local_cluster" / "local_cluster.py"), "--index", "1"]
    progress("starting a second local cluster")
    subprocess.run(second + ["up"], check=True, stdout=subprocess.DEVNULL)
    namespace = cluster.namespace()
    try:
        info = json.loads((local_cluster.settings(1, os.environ)["directory"] / "cluster.json").read_text())
        client.CoreV1Api(config.new_client_from_config(config_file=info["kubeconfig"])).create_namespace(
            {"metadata": {"name": namespace, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
        apps = {"%s-%02d" % (APP, i): ("cluster_a" if i % 2 else "cluster_b", None) for i in range(1, size + 1)}
        extra = {"pd_replicas": 1, "pd_release_strategy": "blue_green"}
        with tempfile.TemporaryDirectory() as scratch:
            inventory = str(clusters_inventory(Path(scratch) / "inventory", {"cluster_a": cluster.info, "cluster_b": info},
                                               apps))
            release(cluster, "fleet.yml", namespace, "1.0.0", extra, inventory, env)
            sampler = ResourceSampler()
            wall, report = release(cluster, "fleet.yml", namespace, "1.1.0", dict(extra, pd_fleet_waves=CLUSTER_WAVES),
                                   inventory, env, sampler, hosts_may_fail=True)
    finally:
        cluster.delete(namespace)
        subprocess.run(second + ["down"], check=False, stdout=subprocess.DEVNULL)
    outcomes = [row["outcome"] for row in report["global_custom_stats"]["pd_fleet"]["applications"]]
    failed = sum(1 for outcome in outcomes if outcome != "released")
    row = {"applications": size, "clusters": 2, "waves": CLUSTER_WAVES, "wall_seconds": wall,
           "seconds_per_application": wall / size, "cpu_seconds_per_application": sampler.cpu_seconds / size,
           "peak_rss_mib": sampler.peak / 2 ** 20, "failed_applications": failed, "pass": None}
    single = next((other for other in single_cluster_rows if other["applications"] == size), None)
    if single and not failed and not single["failed_applications"]:
        row["pass"] = row["seconds_per_application"] <= single["seconds_per_application"]
    return row


# ------------------------------------------------------------------------------------- time to safety

def canary_weight(cluster, namespace):
    route = cluster.custom.get_namespaced_custom_object("gateway.networking.k8s.io", "v1", namespace, "httproutes", APP)
    refs = route["spec"]["rules"][-1]["backendRefs"]
    return sum(ref.get("weight", 1) for ref in refs if ref["name"] == "%s-canary" % APP)


def simulator_errors(cluster, namespace):
    """Requests the simulator has answered with 500 for the canary's pods so far."""
    with urllib.request.urlopen(cluster.info["simulator_url"] + "/metrics", timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if (line.startswith("http_requests_total{") and 'namespace="%s"' % namespace in line
                and 'status="500"' in line and 'version="1.1.0"' in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def prometheus_sees_errors(cluster, namespace):
    query = 'sum(http_requests_total{namespace="%s",version="1.1.0",status="500"})' % namespace
    url = "%s/api/v1/query?%s" % (cluster.info["prometheus_url"], urllib.parse.urlencode({"query": query}))
    with urllib.request.urlopen(url, timeout=5) as response:
        return bool(json.load(response)["data"]["result"])


def time_to_safety(cluster, interval):
    namespace = cluster.namespace()
    extra = {"pd_canary_router": "gateway_api", "pd_canary_background_analysis": {
        "templates": ["app_success_rate"], "start_at_step": 1, "interval": interval}}
    try:
        release(cluster, "canary.yml", namespace, "1.0.0", dict(extra, pd_canary_steps=[]))
        variables = dict(FAST, pd_namespace=namespace, release_version="1.1.0",
                         pd_canary_steps=[{"set_weight": 20}, {"pause": {"duration": 600}}], **extra)
        process = subprocess.Popen([str(BIN / "ansible-playbook"), "-i", "inventories/local", "playbooks/canary.yml",
                                    "-e", json.dumps(variables)], cwd=REPO, env=cluster.env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: _route_exists(cluster, namespace) and canary_weight(cluster, namespace) == 20,
                     300, "the canary at 20%")
            # A full rate window of good canary traffic, and background measurements passing, before the fault.
            time.sleep(12 + interval)
            for pod in cluster.core.list_namespaced_pod(
                    namespace, label_selector="app.kubernetes.io/name=%s,app.kubernetes.io/version=1.1.0" % APP).items:
                # The simulator reads the pods' own annotations each tick: no rollout needed.
                cluster.core.patch_namespaced_pod(pod.metadata.name, namespace, {"metadata": {"annotations": {
                    "simulator.terragonlabs.io/error-rate": "1.0"}}})
            injected = time.monotonic()
            wait_for(lambda: simulator_errors(cluster, namespace) > 0, 60, "the simulator's first error")
            first_error = time.monotonic()
            wait_for(lambda: prometheus_sees_errors(cluster, namespace), 60, "Prometheus's first error sample")
            scraped = time.monotonic()
            wait_for(lambda: canary_weight(cluster, namespace) == 0, 120, "the canary's weight back to 0")
            safe = time.monotonic()
            # The abort ends the playbook (failed, as a gate failure does); give it time to record it.
            process.wait(timeout=300)
        finally:
            stop(process)
    finally:
        cluster.delete(namespace)
    return {"seconds": safe - first_error, "injected_to_first_error_seconds": first_error - injected,
            "first_error_to_prometheus_seconds": scraped - first_error, "prometheus_to_safe_seconds": safe - scraped}


def median_time_to_safety(cluster, interval, runs):
    """Medians over runs: where the error falls between scrapes and measurements moves one run's span by
    up to two intervals."""
    trials = [time_to_safety(cluster, interval) for _run in range(runs)]
    row = {key: median([trial[key] for trial in trials]) for key in trials[0]}
    row.update({"interval_seconds": interval, "goal_seconds": interval + 2, "pass": row["seconds"] <= interval + 2,
                "spans_seconds": [round(trial["seconds"], 2) for trial in trials]})
    return row


def serving_version(cluster, namespace):
    color = cluster.core.read_namespaced_service(APP, namespace).spec.selector["terragonlabs.io/color"]
    return cluster.apps.read_namespaced_deployment("%s-%s" % (APP, color), namespace).metadata.labels[
        "app.kubernetes.io/version"]


def alert_in_alertmanager(cluster, namespace):
    url = "%s/api/v2/alerts?%s" % (cluster.info["alertmanager_url"],
                                   urllib.parse.urlencode({"filter": 'namespace="%s"' % namespace}))
    with urllib.request.urlopen(url, timeout=5) as response:
        return bool(json.load(response))


def guard_decided(cluster, namespace):
    return any(event.reason == "GuardRollback" for event in cluster.core.list_namespaced_event(namespace).items)


def guard_rollback(cluster):
    """One promoted version turning bad, rolled back by the guard: the spans from its first 5xx."""
    namespace = cluster.namespace()
    try:
        cluster.playbook(["-i", "inventories/local", "playbooks/provision.yml", "-e",
                          json.dumps({"pd_namespace": namespace, "pd_monitoring_enabled": True})])
        release(cluster, "blue_green.yml", namespace, "1.0.0", GUARD_RELEASE)
        release(cluster, "blue_green.yml", namespace, "1.1.0", dict(GUARD_RELEASE, pd_pod_annotations_by_version={
            "1.1.0": {"simulator.terragonlabs.io/error-rate": "0.5",
                      "simulator.terragonlabs.io/bad-after-seconds": str(GUARD_BAD_AFTER)}}))
        wait_for(lambda: simulator_errors(cluster, namespace) > 0, 120, "the simulator's first error")
        first_error = time.monotonic()
        wait_for(lambda: alert_in_alertmanager(cluster, namespace), 120, "the alert in Alertmanager")
        alerted = time.monotonic()
        wait_for(lambda: guard_decided(cluster, namespace), 120, "the guard's decision")
        decided = time.monotonic()
        wait_for(lambda: serving_version(cluster, namespace) == "1.0.0", 120, "traffic back on 1.0.0")
        safe = time.monotonic()
    finally:
        cluster.delete(namespace)
    return {"seconds": safe - first_error, "first_error_to_alert_seconds": alerted - first_error,
            "alert_to_decision_seconds": decided - alerted, "decision_to_safe_seconds": safe - decided}


def median_guard_rollback(cluster, runs):
    trials = [guard_rollback(cluster) for _run in range(runs)]
    row = {key: median([trial[key] for trial in trials]) for key in trials[0]}
    row.update({"goal_seconds": GUARD_GOAL_SECONDS, "pass": row["seconds"] <= GUARD_GOAL_SECONDS,
                "spans_seconds": [round(trial["seconds"], 2) for trial in trials]})
    return row


def _route_exists(cluster, namespace):
    try:
        canary_weight(cluster, namespace)
    except client.ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


# ---------------------------------------------------------------------------------------------- report

def fmt(value, unit="s"):
    return "-" if value is None else "%.2f%s" % (value, unit)


def verdict(passed):
    return "-" if passed is None else ("pass" if passed else "MISS")


def table(results):
    lines = ["load: %s" % results["load"], "",
             "%-16s %-8s %-8s %-7s %-30s %-8s %-7s %-26s %s" % (
                 "task", "median", "ping", "x ping", "kubernetes.core equivalent", "median", "x equiv", "goal", "")]
    for row in results["per_task"]:
        lines.append("%-16s %-8s %-8s %-7s %-30s %-8s %-7s %-26s %s" % (
            row["task"], fmt(row["seconds"]), fmt(row["ping_seconds"]), fmt(row["ratio_to_ping"], "x"),
            row["equivalent"] or "(none)", fmt(row["equivalent_seconds"]), fmt(row["ratio_to_equivalent"], "x"),
            row["goal"], verdict(row["pass"])))
    evaluator = results["evaluator"]
    lines.append("metric_gate evaluator: %.2f ms per measurement beyond a %.2f ms Prometheus round trip "
                 "(goal %s) %s" % (evaluator["ms_per_measurement"], evaluator["round_trip_ms"], evaluator["goal"],
                                   verdict(evaluator["pass"])))
    releases = [(name, results[name]) for name in ("canary", "good_canary", "blue_green") if name in results]
    if releases:
        lines += ["", "%-12s %-8s %-9s %-8s %-8s %-9s %-6s %s" % (
            "release", "wall", "overhead", "gates", "pauses", "rollouts", "tasks", "executed")]
    for name, row in releases:
        waits = row["waits_seconds"]
        lines.append("%-12s %-8s %-9s %-8s %-8s %-9s %-6d %d" % (
            name, fmt(row["wall_seconds"]), fmt(row["overhead_seconds"]), fmt(waits["gates"]),
            fmt(waits["pauses"]), fmt(waits["rollouts"]), row["tasks"], row["task_executions"]))
    if "good_canary" in results:
        lines.append(good_canary_line(results["good_canary"]))
    if "fleet" in results or "fleet_clusters" in results:
        lines += ["", "%-15s %-9s %-9s %-12s %-10s %-7s %s" % (
            "fleet (apps)", "wall", "per app", "CPU per app", "peak RSS", "failed", "goal: per app falls as the fleet grows")]
    for row in results.get("fleet", []):
        lines.append("%-15d %-9s %-9s %-12s %-10s %-7d %s" % (
            row["applications"], fmt(row["wall_seconds"]), fmt(row["seconds_per_application"]),
            fmt(row["cpu_seconds_per_application"]), "%.0f MiB" % row["peak_rss_mib"], row["failed_applications"],
            verdict(row["pass"])))
    for row in results.get("fleet_clusters", []):
        lines.append("%-15s %-9s %-9s %-12s %-10s %-7d %s" % (
            "%d, 2 clusters" % row["applications"], fmt(row["wall_seconds"]), fmt(row["seconds_per_application"]),
            fmt(row["cpu_seconds_per_application"]), "%.0f MiB" % row["peak_rss_mib"], row["failed_applications"],
            verdict(row["pass"])))
    if results.get("fleet_clusters"):
        size = results["fleet_clusters"][0]["applications"]
        lines.append("(%s applications across 2 clusters: fleet.yml in waves %s; goal: per app no more than the "
                     "single-cluster fleet of as many)" % (size, json.dumps(CLUSTER_WAVES)))
    if "time_to_safety" in results:
        lines += ["", "%-15s %-8s %-10s %-14s %-16s %-12s %-5s %s" % (
            "time to safety", "span", "goal", "inject->error", "error->scraped", "scraped->0%", "", "each run")]
    for row in results.get("time_to_safety", []):
        lines.append("%-15s %-8s %-10s %-14s %-16s %-12s %-5s %s" % (
            "interval %ds" % row["interval_seconds"], fmt(row["seconds"]), "<= %s" % fmt(row["goal_seconds"]),
            fmt(row["injected_to_first_error_seconds"]), fmt(row["first_error_to_prometheus_seconds"]),
            fmt(row["prometheus_to_safe_seconds"]), verdict(row["pass"]),
            " ".join(fmt(span) for span in row["spans_seconds"])))
    if "guard" in results:
        row = results["guard"]
        lines += ["", "%-15s %-8s %-10s %-14s %-16s %-12s %-5s %s" % (
            "guard window", "span", "goal", "5xx->alert", "alert->decision", "decision->back", "", "each run"),
            "%-15s %-8s %-10s %-14s %-16s %-12s %-5s %s" % (
                "first 5xx->back", fmt(row["seconds"]), "<= %s" % fmt(row["goal_seconds"]),
                fmt(row["first_error_to_alert_seconds"]), fmt(row["alert_to_decision_seconds"]),
                fmt(row["decision_to_safe_seconds"]), verdict(row["pass"]),
                " ".join(fmt(span) for span in row["spans_seconds"]))]
    return "\n".join(lines)


def good_canary_line(row):
    argo = ("Argo Rollouts %s in the peer benchmark of %s" % (fmt(row["argo_rollouts_wall_seconds"]),
                                                              row["argo_rollouts_date"])
            if row["argo_rollouts_wall_seconds"] is not None else "Argo Rollouts not measured")
    return ("good_canary goals: wall %s <= %s %s (%s); %d task executions <= %d steps + %d = %d %s" % (
        fmt(row["wall_seconds"]), fmt(row["goal_wall_seconds"]), verdict(row["wall_pass"]), argo,
        row["task_executions"], row["steps"], GOOD_CANARY_GOAL_EXTRA_TASKS, row["goal_task_executions"],
        verdict(row["task_executions_pass"])))


def main():
    # A stopped run still deletes its namespaces (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (medians are reported)")
    parser.add_argument("--quick", action="store_true",
                        help="one run each and fleets of 1 and 3 (a smoke test; --fleet-sizes is ignored)")
    parser.add_argument("--json", default=str(REPO / ".cache" / "benchmark.json"), help="where to write the results")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help="comma-separated parts to measure (default: all of %s)" % ", ".join(PARTS))
    parser.add_argument("--fleet-sizes", default="1,10,50",
                        help="comma-separated fleet sizes, each compared with the one before it (default: 1,10,50)")
    args = parser.parse_args()
    parts = args.parts.split(",")
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error("--parts: unknown %s; choose from %s" % (", ".join(unknown), ", ".join(PARTS)))
    try:
        sizes = [1, 3] if args.quick else [int(size) for size in args.fleet_sizes.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1 or sizes != sorted(set(sizes)):
        parser.error("--fleet-sizes: give growing whole numbers of applications, such as 1,10,50; got %s"
                     % args.fleet_sizes)
    runs = 1 if args.quick else args.runs
    rounds = 1 if args.quick else 3  # tasks of each kind per playbook run
    cluster = Cluster()
    with open("/proc/loadavg") as handle:
        load = " ".join(handle.read().split()[:3])
    results = {"runs": runs, "quick": args.quick, "load": "%s (1, 5, 15 min) on %d cores" % (load, os.cpu_count())}

    def save():
        # After every part, so that a stopped run keeps what it has measured.
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")

    results["per_task"] = per_task(cluster, runs, rounds)
    results["evaluator"] = evaluator_overhead(cluster.info["prometheus_url"], 20 if args.quick else 200)
    save()
    if "releases" in parts:
        floor = next(row["seconds"] for row in results["per_task"] if row["task"] == "rollout_status")
        results["canary"] = whole_release(cluster, "canary.yml", {"pd_canary_router": "gateway_api",
                                                                  "pd_canary_steps": CANARY_STEPS}, runs, floor)
        save()
        # The query's namespace and application are the playbook's own, filled in by Ansible.
        steps = good_canary_steps("{{ pd_namespace }}", "{{ inventory_hostname }}", "istio")
        row = whole_release(cluster, "canary.yml", {"pd_canary_router": "istio", "pd_canary_steps": steps}, runs, floor)
        results["good_canary"] = dict(row, **good_canary_goals(row, steps, read_peers_report(PEERS_JSON)))
        save()
        results["blue_green"] = whole_release(cluster, "blue_green.yml", {}, runs, floor)
        save()
    if "fleet" in parts:
        fleet(cluster, sizes, results.setdefault("fleet", []), save)
    if "clusters" in parts:
        results["fleet_clusters"] = [fleet_across_clusters(cluster, sizes[-1], results.get("fleet", []))]
        save()
    if "safety" in parts:
        results["time_to_safety"] = []
        for interval in (1, 5):
            results["time_to_safety"].append(median_time_to_safety(cluster, interval, runs))
            save()
    if "guard" in parts:
        results["guard"] = median_guard_rollback(cluster, runs)
        save()
    print(table(results))
    print("\nwritten to %s" % args.json)


if __name__ == "__main__":
    main()
