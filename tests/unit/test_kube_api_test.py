"""The kube_api_unavailable test: which failed kubernetes.core results the roles retry."""

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.test.kube_api import kube_api_unavailable

REFUSED = ("Task failed: Module failed: HTTPSConnectionPool(host='127.0.0.1', port=26443): Max retries exceeded "
           "with url: /version (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at "
           "0x7faab976d710>: Failed to establish a new connection: [Errno 111] Connection refused')): "
           "<urllib3.connection.HTTPSConnection object at 0x7faab976d710>: Failed to establish a new connection: "
           "[Errno 111] Connection refused")


# A module that died of an exception, as until sees it from ansible-core 2.19 (kubernetes.core does
# so on a refused connection): the error is not shown to conditionals, only that there was one.
CRASHED = {"failed": True, "exception": "(traceback unavailable)", "_ansible_parsed": True, "changed": False}


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
    CRASHED,
    {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
     "module_stderr": "Traceback ...\nurllib3.exceptions.MaxRetryError: HTTPSConnectionPool(host='api', port=6443): "
                      "Max retries exceeded with url: /version (Caused by ProtocolError('Connection aborted.'))"},
    {"failed": True, "msg": "Failed to patch object: b'<html>502 Bad Gateway</html>'", "reason": "Bad Gateway"},
    {"failed": True, "msg": "Failed to get client due to HTTPSConnectionPool(host='api', port=6443): Max retries "
                            "exceeded with url: /version (Caused by NameResolutionError(\"Failed to resolve 'api' "
                            "([Errno -3] Temporary failure in name resolution)\"))"},
], ids=["refused", "dropped", "timeout", "tls-eof", "503", "500", "429", "504-heading", "our-module-500",
        "crashed-2.19", "crashed-2.18", "502-html", "dns-for-now"])
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
    {"failed": True, "msg": "Failed to get client due to HTTPSConnectionPool(host='api', port=6443): Max retries "
                            "exceeded with url: /version (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
                            "CERTIFICATE_VERIFY_FAILED] certificate verify failed')))"},
    {"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
     "module_stderr": "urllib3.exceptions.MaxRetryError: HTTPSConnectionPool(host='nowhere', port=6443): Max retries "
                      "exceeded with url: /version (Caused by NameResolutionError(\"Failed to resolve 'nowhere' "
                      "([Errno -2] Name or service not known)\"))"},
    "not a result",
], ids=["ok", "not-failed", "403", "422", "409", "404", "unknown-kind", "our-module-403", "wait-timed-out",
        "untrusted-certificate", "unknown-host-2.18", "not-a-dict"])
def test_a_refusal_or_a_success_is_not_retried(result):
    assert not kube_api_unavailable(result)
