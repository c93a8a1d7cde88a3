"""Least privilege: the deployer ServiceAccount that playbooks/provision.yml creates is all a release
needs. Playbooks run with a kubeconfig holding only that account's token (no client certificate);
taking one rule away makes the run fail naming the refused verb and resource."""

import json

import pytest
import yaml
from kubernetes import client

from conftest import run_playbook

APP = "modelcard-generator"
DEPLOYER = "progressive-delivery-deployer"
# Gates measure once after 6 s and nothing waits after promotion (as test_blue_green.py).
FAST = {"pd_gate_count": 1, "pd_gate_initial_delay": 6, "pd_scale_down_delay_seconds": 0}


def deployer_kubeconfig(api_client, cluster, namespace, directory):
    """A kubeconfig with a fresh token of the deployer (TokenRequest API) and the cluster's CA only."""
    token = client.CoreV1Api(api_client).create_namespaced_service_account_token(
        DEPLOYER, namespace, {"spec": {"expirationSeconds": 3600}}).status.token
    path = directory / "deployer.kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "deployer",
        "clusters": [{"name": "local", "cluster": {"server": cluster["api_server"],
                                                   "certificate-authority": api_client.configuration.ssl_ca_cert}}],
        "users": [{"name": "deployer", "user": {"token": token}}],
        "contexts": [{"name": "deployer", "context": {"cluster": "local", "user": "deployer",
                                                      "namespace": namespace}}]}))
    path.chmod(0o600)
    return str(path)


def as_deployer(cluster, kubeconfig, namespace, playbook, check=True, **extra):
    """Runs a playbook whose every credential (module_defaults and K8S_AUTH_KUBECONFIG) is the deployer's."""
    variables = dict(FAST, pd_namespace=namespace, pd_kubeconfig=kubeconfig, pd_context="deployer", **extra)
    return run_playbook(dict(cluster, kubeconfig=kubeconfig), playbook, "-i", "inventories/local",
                        "-e", json.dumps(variables), check=check)


def provision(cluster, namespace, tmp_path, api_client, *extra):
    run_playbook(cluster, "provision.yml", "-i", "inventories/local", "-e", f"pd_namespace={namespace}", *extra)
    return deployer_kubeconfig(api_client, cluster, namespace, tmp_path)


def serving(api_client, namespace):
    color = client.CoreV1Api(api_client).read_namespaced_service(APP, namespace).spec.selector["terragonlabs.io/color"]
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(f"{APP}-{color}", namespace)
    return color, deployment.metadata.labels["app.kubernetes.io/version"]


def phase(api_client, namespace):
    data = client.CoreV1Api(api_client).read_namespaced_config_map(f"{APP}-release", namespace).data
    return json.loads(data["release.json"])["phase"]


@pytest.mark.timeout(3600)  # five playbook runs: 10 minutes on a quiet machine, 30 on a loaded one
def test_the_deployer_alone_releases_promotes_rolls_back_and_reports(
        api_client, cluster, namespace, tmp_path):
    # The application's Secret, copied with each release: its deployer may read Secrets.
    config = {"pd_app_config": [{"kind": "Secret", "name": "credentials"}]}
    kubeconfig = provision(cluster, namespace, tmp_path, api_client, "-e", json.dumps(config))
    assert "client-certificate" not in open(kubeconfig).read()
    client.CoreV1Api(api_client).create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="credentials"), string_data={"TOKEN": "t"}))

    as_deployer(cluster, kubeconfig, namespace, "blue_green.yml", release_version="1.0.0", **config)
    # Through the pre-promotion gate and its smoke test, then a pause, then a later run promotes.
    as_deployer(cluster, kubeconfig, namespace, "blue_green.yml", release_version="1.1.0", auto_promote=False,
                **config)
    assert phase(api_client, namespace) == "paused"
    as_deployer(cluster, kubeconfig, namespace, "promote.yml", **config)
    assert serving(api_client, namespace) == ("green", "1.1.0")

    as_deployer(cluster, kubeconfig, namespace, "rollback.yml", **config)
    assert serving(api_client, namespace) == ("blue", "1.0.0")
    status = as_deployer(cluster, kubeconfig, namespace, "status.yml")
    assert "phase: rolled_back" in status.stdout


def test_without_one_rule_a_release_stops_at_once_naming_the_refused_verb_and_resource(
        api_client, cluster, namespace, tmp_path):
    kubeconfig = provision(cluster, namespace, tmp_path, api_client)
    # Take away one rule the release needs first (creating its lock): the run must say what was refused.
    rbac = client.RbacAuthorizationV1Api(api_client)
    role = rbac.read_namespaced_role(DEPLOYER, namespace)
    for rule in role.rules:
        if rule.resources == ["leases"]:
            rule.verbs.remove("create")
    rbac.replace_namespaced_role(DEPLOYER, namespace, role)
    refused = as_deployer(cluster, kubeconfig, namespace, "blue_green.yml", check=False, release_version="1.0.0")
    assert refused.returncode != 0
    assert f"forbidden: create leases.coordination.k8s.io in {namespace}" in refused.stdout, refused.stdout
    assert not client.AppsV1Api(api_client).list_namespaced_deployment(namespace).items  # nothing deployed
