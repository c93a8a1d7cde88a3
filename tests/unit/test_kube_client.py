"""The REST client against a local HTTP server that records requests and answers from a script:
paths, query parameters, headers, bodies, errors and the retry policy."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import kube_client as kcl
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_config import Connection


class Recorder(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append({"method": self.command, "path": self.path, "body": body,
                                     "headers": self.headers})
        status, payload = self.server.script.pop(0) if self.server.script else (200, {"kind": "Status"})
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.requests, httpd.script = [], []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def client_for(server, **settings):
    return kcl.KubeClient(Connection("http://127.0.0.1:%d" % server.server_address[1], **settings))


def test_paths_of_core_and_group_kinds():
    assert kcl.resource_path("v1", "configmaps", "shop", "web-release") == "/api/v1/namespaces/shop/configmaps/web-release"
    assert kcl.resource_path("apps/v1", "deployments", "shop") == "/apis/apps/v1/namespaces/shop/deployments"
    assert kcl.resource_path("v1", "namespaces", name="shop") == "/api/v1/namespaces/shop"
    assert kcl.resource_path("apps/v1", "deployments", "shop", "web", "status") == \
        "/apis/apps/v1/namespaces/shop/deployments/web/status"


def test_every_verb_sends_what_the_api_expects(server):
    client = client_for(server, authorization="Bearer t0k", impersonate_user="ann", impersonate_groups=["g1", "g2"])
    server.script = [(200, {"metadata": {"name": "web"}})]
    assert client.get("apps/v1", "deployments", "shop", "web") == {"metadata": {"name": "web"}}
    client.list("v1", "pods", "shop", label_selector="app=web,tier=front", field_selector="status.phase=Running")
    client.create("v1", "configmaps", "shop", {"metadata": {"name": "a"}}, dry_run="All")
    client.replace("gateway.networking.k8s.io/v1", "httproutes", "shop", "web", {"spec": {}})
    client.patch("apps/v1", "deployments", "shop", "web", {"spec": {"replicas": 2}}, patch_type="strategic")
    client.patch("apps/v1", "deployments", "shop", "web", [{"op": "remove", "path": "/x"}], patch_type="json")
    client.delete("coordination.k8s.io/v1", "leases", "shop", "lock", dry_run="All", resource_version="7",
                  propagation_policy="Foreground")
    get, listing, create, replace, strategic, json_patch, delete = server.requests
    assert (get["method"], get["path"], get["body"]) == ("GET", "/apis/apps/v1/namespaces/shop/deployments/web", None)
    assert listing["path"] == ("/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb%2Ctier%3Dfront"
                               "&fieldSelector=status.phase%3DRunning")
    assert (create["method"], create["path"], create["body"]) == (
        "POST", "/api/v1/namespaces/shop/configmaps?dryRun=All", {"metadata": {"name": "a"}})
    assert (replace["method"], replace["path"]) == (
        "PUT", "/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes/web")
    assert strategic["headers"]["Content-Type"] == "application/strategic-merge-patch+json"
    assert json_patch["headers"]["Content-Type"] == "application/json-patch+json"
    assert json_patch["body"] == [{"op": "remove", "path": "/x"}]
    assert (delete["method"], delete["body"]) == ("DELETE", {
        "apiVersion": "v1", "kind": "DeleteOptions", "dryRun": ["All"], "propagationPolicy": "Foreground",
        "preconditions": {"resourceVersion": "7"}})
    assert get["headers"]["Authorization"] == "Bearer t0k"
    assert get["headers"]["Impersonate-User"] == "ann"
    assert get["headers"].get_all("Impersonate-Group") == ["g1", "g2"]  # one header line per group
    assert get["headers"]["Accept"] == "application/json"


def test_a_refusal_carries_status_reason_and_the_servers_body(server):
    status = {"kind": "Status", "reason": "Conflict", "message": "the object has been modified", "code": 409}
    server.script = [(409, status)]
    with pytest.raises(kcl.ApiError) as refused:
        client_for(server).replace("v1", "configmaps", "shop", "a", {})
    assert (refused.value.status, refused.value.reason, json.loads(refused.value.body)) == (409, "Conflict", status)
    assert len(server.requests) == 1  # a conflict is the caller's to handle, never retried here


@pytest.mark.parametrize("status", kcl.RETRY_STATUSES)
def test_idempotent_requests_are_retried_on_overload_and_server_errors(server, status):
    server.script = [(status, {}), (status, {}), (200, {"items": []})]
    assert client_for(server).list("v1", "pods", "shop") == {"items": []}
    assert len(server.requests) == 3


def test_retries_are_bounded_and_end_in_the_last_answer(server):
    server.script = [(503, {"reason": "ServiceUnavailable"})] * (kcl.RETRY_TOTAL + 2)
    client = client_for(server)
    client.pool.connection_pool_kw["retries"] = kcl.retry_policy().new(backoff_factor=0)  # the bound, not the waits
    with pytest.raises(kcl.ApiError) as refused:
        client.get("v1", "pods", "shop", "p")
    assert refused.value.status == 503
    assert len(server.requests) == kcl.RETRY_TOTAL + 1


@pytest.mark.parametrize("call", [
    lambda client: client.create("v1", "configmaps", "shop", {}),
    lambda client: client.patch("v1", "configmaps", "shop", "a", {}),
])
def test_writes_that_are_not_idempotent_are_not_retried(server, call):
    server.script = [(503, {}), (200, {})]
    with pytest.raises(kcl.ApiError):
        call(client_for(server))
    assert len(server.requests) == 1


def test_connection_errors_are_retried_then_raised():
    policy = kcl.retry_policy()
    assert (policy.total, policy.backoff_factor, policy.raise_on_status) == (kcl.RETRY_TOTAL, 0.25, False)
    assert "POST" not in policy.allowed_methods and "PATCH" not in policy.allowed_methods
    refused = kcl.KubeClient(Connection("http://127.0.0.1:1"))
    refused.pool.connection_pool_kw["retries"] = kcl.urllib3.Retry(total=2, backoff_factor=0)
    with pytest.raises(kcl.urllib3.exceptions.MaxRetryError):
        refused.get("v1", "pods", "shop", "p")


@pytest.mark.parametrize("host, no_proxy, bypassed", [
    ("https://api.internal:6443", None, False),
    ("https://api.internal:6443", "*", True),
    ("https://api.internal:6443", "other, .internal", True),
    ("https://api.internal:6443", "internal", True),
    ("https://api.internal:6443", "api.internal:6443", True),
    ("https://api.internal:6443", "xinternal", False),
    ("https://10.1.2.3:6443", "10.0.0.0/8", True),
    ("https://10.1.2.3:6443", "192.168.0.0/16", False),
])
def test_no_proxy_matches_hosts_domains_and_networks(host, no_proxy, bypassed):
    assert kcl.bypasses_proxy(host, no_proxy) is bypassed


def test_the_proxy_is_used_unless_bypassed():
    proxied = kcl.pool_manager(Connection("https://api.internal", proxy="http://proxy:3128",
                                          proxy_headers={"proxy-authorization": "Basic eDp5"}))
    assert isinstance(proxied, kcl.urllib3.ProxyManager)
    assert proxied.proxy_headers == {"proxy-authorization": "Basic eDp5"}
    direct = kcl.pool_manager(Connection("https://api.internal", proxy="http://proxy:3128", no_proxy="internal"))
    assert not isinstance(direct, kcl.urllib3.ProxyManager)


def test_tls_settings_reach_the_connection_pool():
    pool = kcl.pool_manager(Connection("https://api", verify_ssl=False, ca_cert="/ca", client_cert="/c",
                                       client_key="/k", tls_server_name="api.internal"))
    settings = pool.connection_pool_kw
    assert (settings["cert_reqs"], settings["ca_certs"], settings["cert_file"], settings["key_file"],
            settings["server_hostname"]) == ("CERT_NONE", "/ca", "/c", "/k", "api.internal")


def test_a_request_that_stops_answering_is_given_up_on_and_retried():
    settings = kcl.pool_manager(Connection("https://api")).connection_pool_kw
    assert (settings["timeout"].connect_timeout, settings["timeout"].read_timeout) == (15.0, 60.0)
