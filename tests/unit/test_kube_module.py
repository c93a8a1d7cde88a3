"""The module base: its retry policy, its API error messages and which failures it reports how."""

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.testing import patch_module_args

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import kube_client
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import (
    ApiError,
    KubeClient,
    retry_policy,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_config import Connection
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    KubeModule,
    ModuleFailure,
    api_error_message,
)


def backoffs_until_given_up(policy, method, **failure):
    """The sleeps a request meets before the policy gives up, failing the same way each time."""
    sleeps = []
    while True:
        try:
            policy = policy.increment(method=method, url="/api", **failure)
        except urllib3.exceptions.MaxRetryError:
            return sleeps
        sleeps.append(policy.get_backoff_time())


def test_a_refused_connection_is_retried_for_every_method_within_a_bound():
    refused = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    for method in ("GET", "PUT", "POST", "PATCH", "DELETE"):
        sleeps = backoffs_until_given_up(retry_policy(), method, error=refused)
        assert len(sleeps) == kube_client.RETRY_TOTAL
        assert sleeps == [0, 0.5, 1, 2, 4, 8] and sum(sleeps) <= 16


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_answers_are_retried_for_idempotent_requests_only(status):
    policy = retry_policy()
    for method in ("GET", "PUT", "DELETE"):
        assert policy.is_retry(method, status)
    for method in ("POST", "PATCH"):  # a create or patch may have been applied before the error
        assert not policy.is_retry(method, status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422])
def test_answers_that_would_not_change_are_not_retried(status):
    assert not retry_policy().is_retry("GET", status)


def test_a_reset_read_is_retried_for_a_get_but_not_for_a_post():
    reset = urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    assert len(backoffs_until_given_up(retry_policy(), "GET", error=reset)) == kube_client.RETRY_TOTAL
    with pytest.raises(urllib3.exceptions.ProtocolError):
        retry_policy().increment(method="POST", url="/api", error=reset)


class FlakyApiServer:
    """Answers 503 (then 500, as an etcd leader change) before a namespace, counting requests."""

    def __init__(self, failures):
        self.failures = list(failures)
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests += 1
                status = server.failures.pop(0) if server.failures else 200
                body = json.dumps({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "shop"}}
                                  if status == 200 else
                                  {"kind": "Status", "message": "etcdserver: leader changed", "code": status})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.http.server_address[1]

    def close(self):
        self.http.shutdown()
        self.http.server_close()


def read_namespace(url, name):
    return KubeClient(Connection(url)).get("v1", "namespaces", None, name)


def test_the_api_client_rides_out_a_restarting_server(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    server = FlakyApiServer([503, 503, 500])
    try:
        assert read_namespace(server.url, "shop")["metadata"]["name"] == "shop"
        assert server.requests == 4
    finally:
        server.close()


def test_the_api_client_gives_up_after_the_bound_with_the_last_answer(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    server = FlakyApiServer([500] * 20)
    try:
        with pytest.raises(ApiError) as raised:
            read_namespace(server.url, "shop")
        assert raised.value.status == 500 and server.requests == kube_client.RETRY_TOTAL + 1
        assert api_error_message(raised.value) == "etcdserver: leader changed (HTTP 500 Internal Server Error)"
    finally:
        server.close()


def test_a_server_that_never_answers_ends_in_a_connection_error(monkeypatch):
    sleeps = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        read_namespace("http://127.0.0.1:%d" % port, "shop")
    assert sum(sleeps) == 15.5


def forbidden(message, status=403):
    return ApiError(status, "Forbidden", json.dumps(
        {"kind": "Status", "message": message, "reason": "Forbidden", "code": status}))


def test_an_rbac_refusal_names_verb_resource_and_namespace():
    message = api_error_message(forbidden(
        'services "web" is forbidden: User "system:serviceaccount:shop:deployer" cannot patch resource '
        '"services" in API group "" in the namespace "shop"'))
    assert message.startswith("forbidden: patch services in shop: services \"web\" is forbidden")
    assert message.endswith("(HTTP 403 Forbidden)")
    message = api_error_message(forbidden(
        'leases.coordination.k8s.io "web-release-lock" is forbidden: User "x" cannot update resource '
        '"leases" in API group "coordination.k8s.io" in the namespace "shop"'))
    assert message.startswith("forbidden: update leases.coordination.k8s.io in shop: ")
    message = api_error_message(forbidden(
        'namespaces is forbidden: User "x" cannot list resource "namespaces" in API group "" at the cluster scope'))
    assert message.startswith("forbidden: list namespaces in the cluster scope: ")


def test_other_refusals_keep_the_server_message():
    assert api_error_message(forbidden("admission webhook denied the request", status=403)) == \
        "admission webhook denied the request (HTTP 403 Forbidden)"
    assert api_error_message(ApiError(502, "Bad Gateway")) == "HTTP 502 Bad Gateway"


def run_module(main, capsys, **params):
    """The result a KubeModule with main reports, as the JSON it prints."""
    with patch_module_args(params), pytest.raises(SystemExit):
        KubeModule(argument_spec={}).run(main)
    return json.loads(capsys.readouterr().out)


def test_a_task_that_reaches_the_api_server_reports_its_connection_errors(capsys):
    def main(module):
        module.client  # builds the client, as every call to the API server does
        raise urllib3.exceptions.MaxRetryError(None, "/api", "Connection refused")

    result = run_module(main, capsys, host="http://127.0.0.1:1", api_key="t0k")
    assert result["failed"] and result["msg"].startswith("cannot reach the Kubernetes API server: ")


def test_connection_settings_that_cannot_be_loaded_are_reported_as_such(capsys):
    def main(module):
        return {"changed": False, "client": str(module.client)}

    result = run_module(main, capsys, kubeconfig="/nonexistent/kubeconfig")
    # (the path itself is masked: kubernetes.core marks kubeconfig no_log, as it may be inline content)
    assert result["failed"] and result["msg"].startswith(
        "cannot load the Kubernetes connection settings: no kubeconfig found at ")


def test_a_task_that_never_reaches_the_api_server_does_not_blame_it(capsys):
    def main(module):
        raise OSError("the probe's own socket failed")

    with pytest.raises(OSError):
        with patch_module_args({}):
            KubeModule(argument_spec={}).run(main)


def test_a_task_that_never_reaches_the_api_server_does_not_load_its_client():
    """metric_gate pays for urllib3 and PyYAML only if it talks to the API server, which it never does."""
    loaded = subprocess.run([sys.executable, "-c", (
        "import sys\n"
        "import ansible_collections.terragonlabs.progressive_delivery.plugins.modules.metric_gate\n"
        "print(sorted(name for name in ('urllib3', 'yaml', 'kubernetes') if name in sys.modules))")],
        capture_output=True, text=True, check=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))).stdout
    assert loaded.strip() == "[]"


def in_process(params, argument_spec=None, **constraints):
    """A KubeModule as the release action plugin builds one inside ansible's worker process."""
    return KubeModule(argument_spec=argument_spec or {}, controller=dict(params=params, check_mode=False, diff=False),
                      **constraints)


def test_work_run_in_process_reports_what_the_module_reports(capsys):
    def main(module):
        return {"changed": False, "client": str(module.client)}

    printed = run_module(main, capsys, kubeconfig="/nonexistent/kubeconfig")
    printed.pop("invocation", None)
    module = in_process({"kubeconfig": "/nonexistent/kubeconfig"})
    assert remove_values(module.outcome(main), module.ansible.no_log_values) == printed


@pytest.mark.parametrize("params, refusal", [
    ({}, "missing required arguments: app"),
    ({"app": "web", "replicas": "three"}, "argument 'replicas' is of type str and we were unable to convert to int"),
    ({"app": "web", "colour": "blue"}, "Unsupported parameters"),
    ({"app": "web", "strategy": "canary"}, "strategy is canary but all of the following are missing: canary"),
])
def test_arguments_given_in_process_are_refused_as_the_module_refuses_them(params, refusal):
    spec = {"app": {"type": "str", "required": True}, "replicas": {"type": "int"}, "strategy": {"type": "str"},
            "canary": {"type": "dict"}}
    with pytest.raises(ModuleFailure, match=refusal):
        in_process(params, spec, required_if=[("strategy", "canary", ["canary"])])


def test_work_run_in_process_keeps_its_warnings_and_check_mode():
    module = KubeModule(argument_spec={}, controller=dict(params={}, check_mode=True, diff=False))
    module.warn("a notification failed")
    assert module.ansible.warnings == ["a notification failed"] and module.check_mode and module.dry_run == "All"
