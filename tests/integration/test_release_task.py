"""The release task where it runs: on the controller (a local connection) it calls the engine inside
ansible's worker process, with no module packaged per step; on any other connection each call is the
release module, run on the host. Both show every step as it ends."""

import json
import re

from conftest import REPO, run_playbook

APP = "modelcard-generator"
STEPS = [{"set_weight": 50}]
FAST = {"pd_canary_router": "replicas", "pd_canary_steps": STEPS, "pd_canary_background_analysis": {},
        "pd_gate_templates": []}


def release(cluster, namespace, version, **extra):
    """Runs canary.yml; returns its output and how many times it ran the release module (-vvv names
    each module file it packages)."""
    env = {"ANSIBLE_CONNECTION_PLUGINS": str(REPO / "tests" / "integration" / "connection_plugins")}
    run = run_playbook(cluster, "canary.yml", "-vvv", "-i", "inventories/local", "-e", json.dumps(dict(
        FAST, pd_namespace=namespace, release_version=version, **extra)), env=env)
    return run, len(re.findall(r"Using module file .*/plugins/modules/release\.py", run.stdout))


def test_the_release_runs_in_process_on_the_controller_and_as_a_module_elsewhere(cluster, namespace):
    first, modules = release(cluster, namespace, "1.0.0")
    assert modules == 0
    assert f"{APP}: released {APP} 1.0.0 as its first version" in first.stderr

    second, modules = release(cluster, namespace, "1.1.0", ansible_connection="local_as_remote")
    shown = [line for line in second.stderr.splitlines() if line.startswith(f"{APP}: ")]
    assert shown == [f"{APP}: started 1.1.0 beside 1.0.0: the canary is up, from step 0",
                     f"{APP}: step 0: 50% of traffic to the canary, 2 of 3 replicas",
                     f"{APP}: promoted {APP} 1.1.0"], second.stderr
    assert modules == len(shown)
