"""The environment role, through playbooks/provision.yml, on the real API server."""

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import run_playbook


def provision(cluster, namespace, *extra):
    return run_playbook(cluster, "provision.yml", "-i", "inventories/local",
                        "-e", f"pd_namespace={namespace}", *extra)


def test_provision_creates_a_restricted_least_privilege_namespace(api_client, cluster, namespace):
    first = provision(cluster, namespace, "-e", "pd_monitoring_enabled=true")
    assert "failed=0" in first.stdout

    core = client.CoreV1Api(api_client)
    labels = core.read_namespace(namespace).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["terragonlabs.io/environment"] == "local"
    quota = core.read_namespaced_resource_quota("environment-quota", namespace)
    assert quota.spec.hard["pods"] == "40"
    limits = core.read_namespaced_limit_range("container-defaults", namespace).spec.limits[0]
    assert limits.default_request == {"cpu": "100m", "memory": "256Mi"}
    policies = {p.metadata.name for p in
                client.NetworkingV1Api(api_client).list_namespaced_network_policy(namespace).items}
    assert policies == {"default-deny", "modelcard-generator-ingress", "allow-dns"}

    rule = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
        "monitoring.coreos.com", "v1", namespace, "prometheusrules", "modelcard-generator-release-alerts")
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert set(alerts) == {"DeploymentReplicasMismatch", "HighPodRestartRate", "HighErrorRate", "HighLatency"}
    assert alerts["HighErrorRate"]["expr"].endswith("> 0.05")
    assert alerts["HighLatency"]["expr"].endswith("> 2")
    dashboard = core.read_namespaced_config_map("modelcard-generator-dashboard", namespace)
    assert dashboard.metadata.labels["grafana_dashboard"] == "1"

    again = provision(cluster, namespace, "-e", "pd_monitoring_enabled=true")
    assert "changed=0" in again.stdout


def test_the_deployer_identity_can_release_but_not_read_secrets(api_client, cluster, namespace):
    provision(cluster, namespace)
    token = client.CoreV1Api(api_client).create_namespaced_service_account_token(
        "progressive-delivery-deployer", namespace,
        {"spec": {"expirationSeconds": 600}}).status.token
    configuration = client.Configuration()
    configuration.host = cluster["api_server"]
    configuration.ssl_ca_cert = api_client.configuration.ssl_ca_cert
    configuration.api_key = {"authorization": "Bearer " + token}
    deployer = client.ApiClient(configuration)

    client.AppsV1Api(deployer).list_namespaced_deployment(namespace)
    client.CoordinationV1Api(deployer).list_namespaced_lease(namespace)
    for forbidden in (lambda: client.CoreV1Api(deployer).list_namespaced_secret(namespace),
                      lambda: client.AppsV1Api(deployer).list_namespaced_deployment("default")):
        with pytest.raises(ApiException) as raised:
            forbidden()
        assert raised.value.status == 403
