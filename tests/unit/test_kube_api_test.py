"""The kube_api_unavailable test: which failed kubernetes.core results the roles retry."""

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.test.kube_api import kube_api_unavailable

REFUSED = ("Task failed: Module failed: HTTPSConnectionPool(host='127.0.0.1', port=26443): Max retries exceeded "
           "with url: /version (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at "
           "0x7faab976d710>: Failed to establish a new connection: [Errno 111] Connection refused')): "
           "<urllib3.connection.HTTPSConnection object at 0x7faab976d710>: Failed to establish a new connection: "
           "[Errno 111] Connection refused")


def status_body(code, reason):
    return ('Failed to patch object: b\'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
            '"message":"...","reason":"%s","code":%d}\\n\'' % (reason, code))


@pytest.mark.parametrize("result", [
    {"failed": True, "msg": REFUSED},
    {"failed": True, "msg": "Failed to get client due to ('Connection aborted.', RemoteDisconnected("
                            "'Remote end closed connection without response'))"},
    {"failed": True, "msg": "Task failed: Module failed: HTTPSConnectionPool(host='127.0.0.1', port=26443): Read "
                            "timed out. (read timeout=None)"},
    {"failed": True, "msg": "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)"},
    {"failed": True, "msg": status_body(503, "ServiceUnavailable"), "reason": "Service Unavailable"},
    {"failed": True, "msg": status_body(500, "InternalError"), "reason": "Internal Server Error"},
    {"failed": True, "msg": status_body(429, "TooManyRequests"), "reason": "Too Many Requests"},
    {"failed": True, "msg": "(504)\nReason: Gateway Timeout\nHTTP response headers: ..."},
    {"failed": True, "msg": "the Kubernetes API refused a request: etcdserver: leader changed (HTTP 500 ...)",
     "status": 500},
], ids=["refused", "dropped", "timeout", "tls-eof", "503", "500", "429", "504-heading", "our-module-500"])
def test_an_api_server_that_is_away_or_overloaded_is_worth_retrying(result):
    assert kube_api_unavailable(result)


@pytest.mark.parametrize("result", [
    {"changed": True},
    {"failed": False, "msg": REFUSED},
    {"failed": True, "msg": status_body(403, "Forbidden"), "reason": "Forbidden"},
    {"failed": True, "msg": status_body(422, "Invalid"), "reason": "Unprocessable Entity"},
    {"failed": True, "msg": status_body(409, "Conflict"), "reason": "Conflict"},
    {"failed": True, "msg": status_body(404, "NotFound"), "reason": "Not Found"},
    {"failed": True, "msg": "Failed to find exact match for apps/v1.Deploymnt by [kind, name, singularName, "
                            "shortNames]"},
    {"failed": True, "msg": "the Kubernetes API refused a request: forbidden: patch services in shop (HTTP 403)",
     "status": 403},
    {"failed": True, "msg": "Resource apply timed out"},
    "not a result",
], ids=["ok", "not-failed", "403", "422", "409", "404", "unknown-kind", "our-module-403", "wait-timed-out",
        "not-a-dict"])
def test_a_refusal_or_a_success_is_not_retried(result):
    assert not kube_api_unavailable(result)
