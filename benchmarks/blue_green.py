"""Wall time of two blue-green releases (1.0.0, then 1.1.0) through playbooks/blue_green.yml with
fast gates, in a fresh namespace on the local cluster, deleted afterwards. Prints each release's
wall time and task count.

Run: .venv/bin/python benchmarks/blue_green.py   (a benchmark, not a test)
"""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "local_cluster"))

import local_cluster  # noqa: E402
from kubernetes import client, config  # noqa: E402

FAST = {"pd_gate_count": 1, "pd_gate_initial_delay": 6, "pd_scale_down_delay_seconds": 0}


def release(kubeconfig, namespace, version):
    """(wall seconds, tasks run) of one release."""
    variables = dict(FAST, pd_namespace=namespace, release_version=version)
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), K8S_AUTH_KUBECONFIG=kubeconfig,
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    started = time.monotonic()
    completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/local",
                                "playbooks/blue_green.yml", "-e", json.dumps(variables)],
                               cwd=REPO, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit("release %s failed:\n%s\n%s" % (version, completed.stdout[-3000:], completed.stderr[-3000:]))
    tasks = [task for play in json.loads(completed.stdout)["plays"] for task in play["tasks"]]
    return elapsed, len(tasks)


def main():
    local_cluster.up()
    kubeconfig = local_cluster.cluster_info()["kubeconfig"]
    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    namespace = "bench-%s" % uuid.uuid4().hex[:8]
    core.create_namespace({"metadata": {"name": namespace, "labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}})
    try:
        for version in ("1.0.0", "1.1.0"):
            elapsed, count = release(kubeconfig, namespace, version)
            print("release %s: %6.1fs wall, %d tasks" % (version, elapsed, count))
    finally:
        core.delete_namespace(namespace)


if __name__ == "__main__":
    main()
