"""Figures for the release lifecycle modules (a script, not a test): prints the cost of one task
of release_lock, release_record, release_info and rollout_undo against the local cluster, next
to ansible.builtin.ping (the floor of any task), each measured as the wall time of a playbook of N
such tasks divided by N, after subtracting an empty playbook's start-up.

Usage: .venv/bin/python benchmarks/release_lifecycle.py [--tasks N]
The local cluster must be running (make cluster-up).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "local_cluster"))

import local_cluster  # noqa: E402
from kubernetes import client, config  # noqa: E402

COLLECTION = "terragonlabs.progressive_delivery."


def deployment(namespace):
    labels = {"app.kubernetes.io/name": "bench"}
    return {"metadata": {"name": "bench", "namespace": namespace},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "bench:1"}]}}}}


def playbook(tasks):
    return [{"name": "bench", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]


def run(path, kubeconfig):
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), K8S_AUTH_KUBECONFIG=kubeconfig)
    started = time.perf_counter()
    completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), path], cwd=REPO,
                               env=env, capture_output=True, text=True, check=False)
    if completed.returncode:
        raise SystemExit("benchmark playbook failed:\n%s" % completed.stdout[-3000:])
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10)
    args = parser.parse_args()
    info = local_cluster.cluster_info()
    api = config.new_client_from_config(config_file=info["kubeconfig"])
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    namespace = "bench-%s" % uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        apps.create_namespaced_deployment(namespace, deployment(namespace))
        apps.patch_namespaced_deployment("bench", namespace, {"spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": "bench:2"}]}}}})
        time.sleep(2)  # the controller writes both ReplicaSets
        common = {"app": "bench", "namespace": namespace}
        n = args.tasks
        cases = {
            "ansible.builtin.ping": [{"ansible.builtin.ping": {}}] * n,
            "release_lock (take, then keep)": [{COLLECTION + "release_lock": dict(common, holder="bench")}] * n,
            "release_record (alternating step)": [
                {COLLECTION + "release_record": dict(common, release_id="r1", step=str(i % 2))} for i in range(n)],
            "release_info": [{COLLECTION + "release_info": common}] * n,
            "rollout_undo (alternating revisions)": [
                {COLLECTION + "rollout_undo": {"name": "bench", "namespace": namespace}}] * n,
        }
        with tempfile.TemporaryDirectory() as scratch:
            empty = os.path.join(scratch, "empty.yml")
            Path(empty).write_text(json.dumps(playbook([])))
            baseline = min(run(empty, info["kubeconfig"]), run(empty, info["kubeconfig"]))
            print("empty playbook: %.2fs" % baseline)
            for label, tasks in cases.items():
                path = os.path.join(scratch, "bench.yml")
                Path(path).write_text(json.dumps(playbook([dict(t, name="t%d" % i) for i, t in enumerate(tasks)])))
                per_task = (run(path, info["kubeconfig"]) - baseline) / n
                print("%-40s %6.0f ms per task (%d tasks)" % (label, per_task * 1000, n))
    finally:
        core.delete_namespace(namespace)


if __name__ == "__main__":
    main()
