"""The cluster tool's own contract, on a second instance with its own ports and directory so the
shared session cluster is left alone."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from conftest import REPO

TOOL = REPO / "tools" / "local_cluster" / "local_cluster.py"
OFFSET = 100
PORT_VARIABLES = {
    "PD_ETCD_PORT": 23790, "PD_ETCD_PEER_PORT": 23800, "PD_APISERVER_PORT": 26443,
    "PD_CONTROLLER_MANAGER_PORT": 26257, "PD_SCHEDULER_PORT": 26259, "PD_KWOK_PORT": 26247,
    "PD_PROMETHEUS_PORT": 29090, "PD_SIMULATOR_PORT": 29100, "PD_ALERTMANAGER_PORT": 29093, "PD_RULEBOOK_PORT": 29500,
}


def run(env, command):
    return subprocess.run([sys.executable, str(TOOL), command], env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def recorded_pids(cluster_dir):
    return [json.loads(p.read_text())["pid"] for p in (cluster_dir / "run").glob("*.pid")]


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_up_twice_down_and_up_again(tmp_path):
    cluster_dir = tmp_path / "cluster"
    env = dict(os.environ, PD_CLUSTER_DIR=str(cluster_dir),
               **{name: str(port + OFFSET) for name, port in PORT_VARIABLES.items()})
    try:
        # A port in use: a plain error naming it, and nothing left running.
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", PORT_VARIABLES["PD_APISERVER_PORT"] + OFFSET))
            blocker.listen()
            refused = run(env, "up")
        assert refused.returncode == 1
        assert f"{PORT_VARIABLES['PD_APISERVER_PORT'] + OFFSET} (kube-apiserver)" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert not cluster_dir.exists() or not list((cluster_dir / "run").glob("*.pid"))

        first = run(env, "up")
        assert first.returncode == 0, first.stdout + first.stderr
        pids = recorded_pids(cluster_dir)
        assert len(pids) == 10 and all(alive(pid) for pid in pids)

        second = run(env, "up")
        assert second.returncode == 0 and "already running" in second.stdout
        assert recorded_pids(cluster_dir) == pids

        status = run(env, "status")
        assert status.returncode == 0 and "kubeconfig" in status.stdout

        stopped = run(env, "down")
        assert stopped.returncode == 0, stopped.stderr
        assert not any(alive(pid) for pid in pids)
        assert not cluster_dir.exists()

        again = run(env, "up")
        assert again.returncode == 0, again.stdout + again.stderr
        assert not set(recorded_pids(cluster_dir)) & set(pids)
    finally:
        run(env, "down")
