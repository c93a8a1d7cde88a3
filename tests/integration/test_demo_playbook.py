"""The README's main job, run as a user runs it."""

from kubernetes import client

from conftest import run_playbook


def test_demo_deploys_the_model_card_generator_and_waits_until_ready(api_client, cluster):
    result = run_playbook(cluster, "demo.yml", "-i", "inventories/local")
    assert "modelcard-generator 1.0.0 is running in modelcard-local" in result.stdout

    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(
        "modelcard-generator", "modelcard-local")
    assert deployment.status.ready_replicas == deployment.spec.replicas == 3
    namespace = client.CoreV1Api(api_client).read_namespace("modelcard-local")
    assert namespace.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"

    again = run_playbook(cluster, "demo.yml", "-i", "inventories/local")
    assert "changed=0" in again.stdout
