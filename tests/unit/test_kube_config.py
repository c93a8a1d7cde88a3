"""Connection settings from parameters, K8S_AUTH_* variables, kubeconfig files and the in-cluster
service account, with kubernetes.core's precedence."""

import base64
import json
import os
import stat
import sys

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import kube_config as kc

NO_PARAMS = dict.fromkeys(option[0] for option in kc.AUTH_OPTIONS)


def params(**given):
    return dict(NO_PARAMS, **given)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def kubeconfig(cluster=None, user=None, current="main", contexts=None, clusters=None, users=None):
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": clusters or [{"name": "c", "cluster": dict({"server": "https://api.example:6443/"}, **(cluster or {}))}],
        "users": users or [{"name": "u", "user": user or {}}],
        "contexts": contexts or [{"name": "main", "context": {"cluster": "c", "user": "u"}}],
    }


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """No in-cluster account and no ~/.kube/config unless a test makes them."""
    monkeypatch.setattr(kc, "SERVICE_ACCOUNT_DIR", str(tmp_path / "serviceaccount"))
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_parameters_win_over_the_environment_and_either_environment_name_counts():
    env = {"K8S_AUTH_HOST": "https://env", "K8S_AUTH_VERIFY_SSL": "no", "K8S_AUTH_SSL_CA_CERT": "/env/ca",
           "K8S_AUTH_IMPERSONATE_GROUPS": "a,,b", "K8S_AUTH_PROXY_HEADERS_USER_AGENT": "agent",
           "K8S_AUTH_PERSIST_CONFIG": "True"}
    options = kc.auth_options(params(host="https://param"), env)
    assert options == {"host": "https://param", "validate_certs": False, "ca_cert": "/env/ca",
                       "impersonate_groups": ["a", "b"], "proxy_headers": {"user_agent": "agent"},
                       "persist_config": True}
    assert kc.auth_options(params(), {"K8S_AUTH_VALIDATE_CERTS": "1"})["validate_certs"] is True
    assert kc.auth_options(params(validate_certs=False), {"K8S_AUTH_VALIDATE_CERTS": "1"})["validate_certs"] is False


def test_host_with_credentials_needs_no_kubeconfig(home):
    environ = {"KUBECONFIG": str(home / "missing")}
    with_key = kc.resolve_connection(params(host="https://api:6443/", api_key="t0k"), environ)
    assert (with_key.host, with_key.authorization, with_key.verify_ssl) == ("https://api:6443", "Bearer t0k", True)
    with_password = kc.resolve_connection(params(host="https://api", username="ann", password="pw"), environ)
    assert with_password.authorization == "Basic " + b64("ann:pw")
    with_cert = kc.resolve_connection(params(host="https://api", client_cert="/c.crt", client_key="/c.key",
                                             validate_certs=False, ca_cert="/ca.crt"), environ)
    assert (with_cert.client_cert, with_cert.client_key, with_cert.verify_ssl, with_cert.ca_cert,
            with_cert.authorization) == ("/c.crt", "/c.key", False, "/ca.crt", None)


def test_kubeconfig_files_are_relative_to_the_kubeconfig(home):
    for name in ("ca.crt", "admin.crt", "admin.key"):
        write(home / "pki" / name, name)
    write(home / "token", "file-token\n")
    path = write(home / "config", kubeconfig(
        cluster={"certificate-authority": "pki/ca.crt", "tls-server-name": "api.internal"},
        user={"client-certificate": "pki/admin.crt", "client-key": "pki/admin.key", "tokenFile": "token"}))
    connection = kc.resolve_connection(params(kubeconfig=str(path)), {})
    assert connection.host == "https://api.example:6443"
    assert connection.ca_cert == str(home / "pki" / "ca.crt")
    assert connection.client_cert == str(home / "pki" / "admin.crt")
    assert connection.client_key == str(home / "pki" / "admin.key")
    assert connection.tls_server_name == "api.internal"
    assert connection.authorization == "Bearer file-token"
    assert connection.verify_ssl is True


def test_inline_data_becomes_private_files(home):
    path = write(home / "config", kubeconfig(
        cluster={"certificate-authority-data": b64("CA"), "certificate-authority": "ignored"},
        user={"client-certificate-data": b64("CERT"), "client-key-data": b64("KEY"), "token": "inline",
              "tokenFile": "ignored"}))
    connection = kc.resolve_connection(params(kubeconfig=str(path)), {})
    for attribute, content in (("ca_cert", "CA"), ("client_cert", "CERT"), ("client_key", "KEY")):
        with open(getattr(connection, attribute)) as stream:
            assert stream.read() == content
        assert stat.S_IMODE(os.stat(getattr(connection, attribute)).st_mode) == 0o600
    assert connection.authorization == "Bearer inline"
    # Gone once the work that needed them has ended (the release task calls it in ansible's worker).
    kc.remove_private_files()
    assert not any(os.path.exists(getattr(connection, attribute)) for attribute in ("ca_cert", "client_cert", "client_key"))


def test_insecure_skip_tls_verify_username_password_and_plain_http(home):
    insecure = kc.resolve_connection(params(kubeconfig=kubeconfig(
        cluster={"insecure-skip-tls-verify": True}, user={"username": "ann", "password": "pw"})), {})
    assert insecure.verify_ssl is False and insecure.authorization == "Basic " + b64("ann:pw")
    plain = kc.resolve_connection(params(kubeconfig=kubeconfig(
        clusters=[{"name": "c", "cluster": {"server": "http://127.0.0.1:8080", "certificate-authority": "/x"}}],
        user={"client-certificate": "/missing"})), {})
    assert (plain.host, plain.ca_cert, plain.client_cert) == ("http://127.0.0.1:8080", None, None)


def test_context_parameter_chooses_the_cluster_and_user(home):
    config = kubeconfig(
        clusters=[{"name": "c", "cluster": {"server": "https://one"}}, {"name": "d", "cluster": {"server": "https://two"}}],
        users=[{"name": "u", "user": {"token": "one"}}, {"name": "v", "user": {"token": "two"}}],
        contexts=[{"name": "main", "context": {"cluster": "c", "user": "u"}},
                  {"name": "other", "context": {"cluster": "d", "user": "v"}}])
    path = write(home / "config", config)
    chosen = kc.resolve_connection(params(kubeconfig=str(path), context="other"), {})
    assert (chosen.host, chosen.authorization) == ("https://two", "Bearer two")
    with pytest.raises(kc.KubeConfigError, match="no context entry named nowhere"):
        kc.resolve_connection(params(kubeconfig=str(path), context="nowhere"), {})


def test_options_given_override_the_kubeconfig(home):
    path = write(home / "config", kubeconfig(cluster={"insecure-skip-tls-verify": True}, user={"token": "from-file"}))
    connection = kc.resolve_connection(
        params(kubeconfig=str(path), host="https://other/", api_key="given", validate_certs=True,
               impersonate_user="ann", proxy="http://proxy:3128", proxy_headers={"proxy_basic_auth": "p:w"}),
        {"K8S_AUTH_IMPERSONATE_GROUPS": "g1,g2", "K8S_AUTH_NO_PROXY": "example"})
    assert connection.host == "https://other" and connection.authorization == "Bearer given"
    assert connection.verify_ssl is True
    assert (connection.impersonate_user, connection.impersonate_groups) == ("ann", ["g1", "g2"])
    assert (connection.proxy, connection.no_proxy) == ("http://proxy:3128", "example")
    assert connection.proxy_headers == {"proxy-authorization": "Basic " + b64("p:w")}


def test_kubeconfig_environment_paths_merge_first_entry_wins(home):
    first = write(home / "a" / "config", kubeconfig(current="main", user={"token": "first"}))
    second = write(home / "b" / "config", kubeconfig(
        current="second", clusters=[{"name": "c", "cluster": {"server": "https://shadowed"}},
                                    {"name": "d", "cluster": {"server": "https://two"}}],
        contexts=[{"name": "second", "context": {"cluster": "c", "user": "u"}}]))
    environ = {"KUBECONFIG": "%s:%s:%s" % (first, home / "missing", second)}
    connection = kc.resolve_connection(params(), environ)
    # The last current-context wins (as kubernetes.config merges); names seen first win.
    assert (connection.host, connection.authorization) == ("https://api.example:6443", "Bearer first")


def test_default_kubeconfig_and_missing_one(home):
    with pytest.raises(kc.KubeConfigError, match="no kubeconfig found at ~/.kube/config"):
        kc.resolve_connection(params(), {})
    write(home / ".kube" / "config", kubeconfig(user={"token": "home"}))
    assert kc.resolve_connection(params(), {}).authorization == "Bearer home"


def service_account(home, token="sa-token"):
    write(home / "serviceaccount" / "token", token)
    write(home / "serviceaccount" / "ca.crt", "CA")


def test_in_cluster_comes_first_when_nothing_is_given(home):
    service_account(home)
    write(home / ".kube" / "config", kubeconfig(user={"token": "home"}))
    environ = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    connection = kc.resolve_connection(params(), environ)
    assert (connection.host, connection.authorization, connection.ca_cert) == (
        "https://[fd00::1]:443", "Bearer sa-token", str(home / "serviceaccount" / "ca.crt"))
    # A kubeconfig or context given skips the service account.
    assert kc.resolve_connection(params(context="main"), environ).authorization == "Bearer home"
    # Outside a pod (no service variables, or no token) the default kubeconfig is read.
    assert kc.resolve_connection(params(), {}).authorization == "Bearer home"
    service_account(home, token="")
    assert kc.resolve_connection(params(), environ).authorization == "Bearer home"


def test_exec_plugins_go_through_the_kubernetes_library(home):
    plugin = write(home / "plugin.py", "import json\nprint(json.dumps({'apiVersion': "
                   "'client.authentication.k8s.io/v1', 'kind': 'ExecCredential', 'status': {'token': 'from-exec'}}))\n")
    config = kubeconfig(user={"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                                       "args": [str(plugin)], "interactiveMode": "Never"}},
                        cluster={"insecure-skip-tls-verify": True})
    connection = kc.resolve_connection(params(kubeconfig=config), {})
    assert (connection.host, connection.authorization, connection.verify_ssl) == (
        "https://api.example:6443", "Bearer from-exec", False)


def test_exec_plugins_without_the_kubernetes_library_say_what_is_missing(home, monkeypatch):
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    config = kubeconfig(user={"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "x"}})
    with pytest.raises(kc.KubeConfigError, match="needs the kubernetes Python library"):
        kc.resolve_connection(params(kubeconfig=config), {})


@pytest.mark.parametrize("config, message", [
    (kubeconfig(current=""), "names no current-context; give context"),
    (kubeconfig(clusters=[{"name": "other", "cluster": {"server": "https://x"}}]), "no cluster entry named c"),
    (kubeconfig(clusters=[{"name": "c", "cluster": {}}]), "cluster c of the kubeconfig has no server"),
    (kubeconfig(cluster={"certificate-authority": "/does/not/exist"}),
     "certificate-authority file does not exist: /does/not/exist"),
])
def test_broken_kubeconfigs_are_named(home, config, message):
    with pytest.raises(kc.KubeConfigError, match=message):
        kc.resolve_connection(params(kubeconfig=config), {})


def test_the_connection_never_shows_its_credentials():
    assert "secret" not in repr(kc.Connection("https://api", authorization="Bearer secret"))
