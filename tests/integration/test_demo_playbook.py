"""The README's main job, run as a user runs it."""

import json

from kubernetes import client

from conftest import run_playbook


def test_the_demo_promotes_a_healthy_release_and_rolls_back_a_bad_one(api_client, cluster):
    namespace = "modelcard-local"
    result = run_playbook(cluster, "demo.yml", "-i", "inventories/local")
    assert "1.1.0 promoted" in result.stdout
    assert "1.2.0 was rolled back: the pre-promotion gate ended Failed" in result.stdout
    assert "All traffic is on modelcard-generator 1.1.0" in result.stdout

    core = client.CoreV1Api(api_client)
    assert core.read_namespace(namespace).metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    color = core.read_namespaced_service("modelcard-generator", namespace).spec.selector["terragonlabs.io/color"]
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(f"modelcard-generator-{color}", namespace)
    assert deployment.metadata.labels["app.kubernetes.io/version"] == "1.1.0"
    assert deployment.status.ready_replicas == 3
    record = json.loads(core.read_namespaced_config_map("modelcard-generator-release", namespace).data["release.json"])
    assert (record["version"], record["phase"]) == ("1.2.0", "aborted")
