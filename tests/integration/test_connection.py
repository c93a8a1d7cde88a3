"""Every way of connecting that kubernetes.core offers, through a real module task against the real
API server (client certificates, RBAC, TLS): kubeconfig fields inline, host with credentials, a
ServiceAccount token, impersonation, TLS server name, insecure-skip-tls-verify and an exec plugin."""

import base64
import json
import sys
from pathlib import Path

import pytest
from kubernetes import client

from conftest import run_module


def pki(cluster):
    return Path(cluster["kubeconfig"]).parent / "pki"


def server(cluster):
    return json.loads(Path(cluster["kubeconfig"]).read_text())["clusters"][0]["cluster"]["server"]


def inline(path):
    return base64.b64encode(path.read_bytes()).decode()


def kubeconfig(cluster, cluster_fields, user_fields):
    return {"apiVersion": "v1", "kind": "Config", "current-context": "here",
            "clusters": [{"name": "local", "cluster": dict({"server": server(cluster)}, **cluster_fields)}],
            "users": [{"name": "someone", "user": user_fields}],
            "contexts": [{"name": "here", "context": {"cluster": "local", "user": "someone"}}]}


def admin_certificate(cluster):
    return {"client-certificate-data": inline(pki(cluster) / "admin.crt"),
            "client-key-data": inline(pki(cluster) / "admin.key")}


def release_info(cluster, namespace, **connection):
    return run_module(cluster, "release_info", dict(app="web", namespace=namespace, **connection))


def assert_connected(result):
    assert not result.get("failed"), result.get("msg")
    assert result["exists"] is False


def test_kubeconfig_with_inline_certificates(cluster, namespace):
    config = kubeconfig(cluster, {"certificate-authority-data": inline(pki(cluster) / "ca.crt")}, admin_certificate(cluster))
    assert_connected(release_info(cluster, namespace, kubeconfig=config))


def test_host_with_client_certificate_files_ignores_the_kubeconfig(cluster, namespace):
    assert_connected(release_info(cluster, namespace, kubeconfig="/nonexistent", host=server(cluster),
                                  ca_cert=str(pki(cluster) / "ca.crt"), client_cert=str(pki(cluster) / "admin.crt"),
                                  client_key=str(pki(cluster) / "admin.key")))


def test_a_service_account_token_is_held_to_its_rbac(cluster, api_client, namespace):
    core, rbac = client.CoreV1Api(api_client), client.RbacAuthorizationV1Api(api_client)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "deployer"}})
    token = core.create_namespaced_service_account_token("deployer", namespace, {"spec": {}}).status.token
    connection = dict(host=server(cluster), api_key=token, ca_cert=str(pki(cluster) / "ca.crt"))
    refused = release_info(cluster, namespace, **connection)
    assert refused["failed"] and refused["status"] == 403
    assert 'User "system:serviceaccount:%s:deployer" cannot get resource "configmaps"' % namespace in refused["msg"]
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "read-config"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "deployer-reads-config"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-config"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": namespace}]})
    assert_connected(release_info(cluster, namespace, **connection))


def test_impersonation_sends_the_user_and_every_group(cluster, api_client, namespace):
    refused = release_info(cluster, namespace, impersonate_user="ann", impersonate_groups=["auditors", "release-team"])
    assert refused["failed"] and 'User "ann" cannot get resource "configmaps"' in refused["msg"]
    rbac = client.RbacAuthorizationV1Api(api_client)
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "read-config"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "release-team-reads-config"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-config"},
        "subjects": [{"kind": "Group", "name": "release-team", "apiGroup": "rbac.authorization.k8s.io"}]})
    assert_connected(release_info(cluster, namespace, impersonate_user="ann",
                                  impersonate_groups=["auditors", "release-team"]))


@pytest.mark.parametrize("server_name, connects", [("kubernetes.default", True), ("wrong.example", False)])
def test_tls_server_name_is_what_the_certificate_is_checked_against(cluster, namespace, server_name, connects):
    config = kubeconfig(cluster, {"certificate-authority": str(pki(cluster) / "ca.crt"), "tls-server-name": server_name},
                        admin_certificate(cluster))
    result = release_info(cluster, namespace, kubeconfig=config)
    if connects:
        assert_connected(result)
    else:
        assert result["failed"] and result["msg"].startswith("cannot reach the Kubernetes API server")
        assert "Hostname mismatch" in result["msg"]  # the name itself is masked: kubeconfig is no_log


def test_an_unknown_authority_fails_unless_verification_is_skipped(cluster, namespace):
    unverified = kubeconfig(cluster, {}, admin_certificate(cluster))
    result = release_info(cluster, namespace, kubeconfig=unverified)
    assert result["failed"] and "CERTIFICATE_VERIFY_FAILED" in result["msg"]
    skipped = kubeconfig(cluster, {"insecure-skip-tls-verify": True}, admin_certificate(cluster))
    assert_connected(release_info(cluster, namespace, kubeconfig=skipped))
    assert_connected(release_info(cluster, namespace, kubeconfig=unverified, validate_certs=False))


def test_an_exec_plugin_gets_the_credentials(cluster, namespace, tmp_path):
    plugin = tmp_path / "credentials.py"
    plugin.write_text("import json, sys\njson.dump({'apiVersion': 'client.authentication.k8s.io/v1', "
                      "'kind': 'ExecCredential', 'status': {'clientCertificateData': open(sys.argv[1]).read(), "
                      "'clientKeyData': open(sys.argv[2]).read()}}, sys.stdout)\n")
    config = kubeconfig(cluster, {"certificate-authority": str(pki(cluster) / "ca.crt")}, {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "interactiveMode": "Never",
        "args": [str(plugin), str(pki(cluster) / "admin.crt"), str(pki(cluster) / "admin.key")]}})
    assert_connected(release_info(cluster, namespace, kubeconfig=config))


def test_a_missing_context_is_named(cluster, namespace):
    result = release_info(cluster, namespace, context="nowhere")
    assert result["failed"]
    assert result["msg"] == ("cannot load the Kubernetes connection settings: "
                             "the kubeconfig has no context entry named nowhere")
