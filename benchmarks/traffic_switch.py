"""Median wall time of one traffic_switch task, against an ansible.builtin.ping task (the floor of
any module call) and a kubernetes.core.k8s task making the same change (an HTTPRoute's weights),
all in one ansible-playbook run on the local cluster. Each switch really changes the weights.

Run: .venv/bin/python benchmarks/traffic_switch.py [rounds]   (a benchmark, not a test)
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "local_cluster"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import local_cluster  # noqa: E402
from kubernetes import client, config  # noqa: E402
from objects import http_route  # noqa: E402
from traffic_cases import two_versions  # noqa: E402

KINDS = ("ping", "traffic_switch", "kubernetes.core.k8s")


def tasks(namespace, rounds):
    """Interleaved so the three kinds meet the same machine load."""
    plays = []
    for index in range(rounds):
        weight = 10 + 10 * (index % 2)  # alternates, so every switch is a real change
        plays.append({"name": "ping", "ansible.builtin.ping": {}})
        plays.append({"name": "traffic_switch", "terragonlabs.progressive_delivery.traffic_switch": {
            "router": "gateway_api", "namespace": namespace, "route": "web", "stable": "web",
            "canary": "web-canary", "weight": weight}})
        route = http_route("web", "web")
        route["metadata"]["namespace"] = namespace
        route["spec"]["rules"][0]["backendRefs"] = [
            {"name": "web", "port": 80, "weight": 100 - weight - 5},  # other weights than the switch's,
            {"name": "web-canary", "port": 80, "weight": weight + 5}]  # so this task changes them too
        plays.append({"name": "kubernetes.core.k8s", "kubernetes.core.k8s": {"state": "present", "definition": route}})
    return [{"hosts": "localhost", "gather_facts": False, "tasks": plays}]


def seconds(duration):
    start, end = (datetime.fromisoformat(duration[key].replace("Z", "+00:00")) for key in ("start", "end"))
    return (end - start).total_seconds()


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    local_cluster.up()
    kubeconfig = local_cluster.cluster_info()["kubeconfig"]
    api_client = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api_client)
    namespace = "bench-%s" % uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        two_versions(api_client, namespace)
        client.CustomObjectsApi(api_client).create_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", namespace, "httproutes", http_route("web", "web"))
        with tempfile.TemporaryDirectory() as directory:
            playbook = Path(directory) / "bench.yml"
            playbook.write_text(json.dumps(tasks(namespace, rounds)))
            env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), K8S_AUTH_KUBECONFIG=kubeconfig,
                       ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
            started = time.monotonic()
            completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)],
                                       cwd=REPO, env=env, capture_output=True, text=True, check=False)
            elapsed = time.monotonic() - started
        if completed.returncode != 0:
            sys.exit("the benchmark playbook failed:\n%s\n%s" % (completed.stdout[-3000:], completed.stderr[-3000:]))
        times = {kind: [] for kind in KINDS}
        for task in json.loads(completed.stdout)["plays"][0]["tasks"]:
            result = task["hosts"]["localhost"]
            if task["task"]["name"] == "traffic_switch":
                assert result["changed"] and result["verified"], result
            times[task["task"]["name"]].append(seconds(task["task"]["duration"]))
    finally:
        core.delete_namespace(namespace)
    median = {kind: statistics.median(values) for kind, values in times.items()}
    print("median wall time of one task over %d rounds (playbook %.1fs):" % (rounds, elapsed))
    for kind in KINDS:
        print("  %-20s %6.3fs" % (kind, median[kind]))
    print("traffic_switch / ping                 %.2fx (goal: at most 1.5x)"
          % (median["traffic_switch"] / median["ping"]))
    print("traffic_switch / kubernetes.core.k8s  %.2fx (goal: at most 1.0x)"
          % (median["traffic_switch"] / median["kubernetes.core.k8s"]))


if __name__ == "__main__":
    main()
