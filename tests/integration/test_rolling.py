"""Rolling updates through playbooks/rolling.yml: gated, and undone when they fail."""

import json

from kubernetes import client

from conftest import run_playbook

APP = "modelcard-generator"
FAST = {"pd_gate_count": 1, "pd_gate_initial_delay": 6}


def roll(cluster, namespace, version, check=True, **extra):
    variables = dict(FAST, pd_namespace=namespace, release_version=version, **extra)
    return run_playbook(cluster, "rolling.yml", "-i", "inventories/local", "-e", json.dumps(variables), check=check)


def running(api_client, namespace):
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(APP, namespace)
    return deployment.spec.template.spec.containers[0].image.rsplit(":", 1)[1], deployment.status.ready_replicas


def phase(api_client, namespace):
    data = client.CoreV1Api(api_client).read_namespaced_config_map(f"{APP}-release", namespace).data
    return json.loads(data["release.json"])["phase"]


def test_rolling_updates_are_gated_and_undone_when_they_fail(api_client, cluster, namespace):
    roll(cluster, namespace, "1.0.0")
    assert running(api_client, namespace) == ("1.0.0", 3)
    assert phase(api_client, namespace) == "promoted"

    stuck = roll(cluster, namespace, "1.3.0", check=False, pd_progress_deadline_seconds=5,
                 pd_pod_annotations_by_version={"1.3.0": {"simulator.terragonlabs.io/ready": "false"}})
    assert stuck.returncode != 0
    assert "exceeded its progress deadline" in stuck.stdout and "undone to revision 1" in stuck.stdout
    assert running(api_client, namespace) == ("1.0.0", 3)
    assert phase(api_client, namespace) == "rolled_back"

    bad = roll(cluster, namespace, "1.2.0", check=False)  # the inventory's simulated 30% errors
    assert bad.returncode != 0 and "the post-update gate ended Failed" in bad.stdout
    assert running(api_client, namespace) == ("1.0.0", 3)
    assert phase(api_client, namespace) == "rolled_back"

    roll(cluster, namespace, "1.1.0")
    assert running(api_client, namespace) == ("1.1.0", 3)
    assert phase(api_client, namespace) == "promoted"
