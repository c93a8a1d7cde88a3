# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Tests on task results: whether a kubernetes.core task failed for a reason worth retrying."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The same answers kube_client retries: etcd leader changes (500), overload and the server's own
# Retry-After (429, 503), and a balancer in front of a restarting server (502, 504).
RETRY_STATUSES = (429, 500, 502, 503, 504)
# kubernetes.core gives no status for a request that never got an answer, only the text of the
# urllib3 or ssl error: a refused or reset connection, a timeout, a TLS handshake cut short. (Only
# urllib3's own timeouts: a wait that timed out is no reason to wait again.)
UNANSWERED = re.compile(
    r"Max retries exceeded|Connection refused|Connection reset|Connection aborted|RemoteDisconnected"
    r"|Failed to establish a new connection|timed out\. \((read|connect) timeout"
    r"|EOF occurred in violation of protocol"
    r"|UNEXPECTED_EOF_WHILE_READING")
# An answered request: kubernetes.core passes on the ApiException's reason, and its message quotes
# the Status the server sent ("code":503), the exception's own "(503)" heading, or a balancer's page.
ANSWERED_STATUS = re.compile(r'"code"\s*:\s*(\d{3})|^\((\d{3})\)|[\s:]\((\d{3})\)\s*Reason:', re.MULTILINE)
RETRY_REASONS = re.compile(r"Too Many Requests|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout")
# Failures that no retry mends, though urllib3 words them as "Max retries exceeded" too.
# (Not every name-resolution failure: "Temporary failure in name resolution" may pass.) A module that
# crashed shows until none of this from ansible-core 2.19, so there these are retried like the rest.
LASTING = re.compile(r"CERTIFICATE_VERIFY_FAILED|SSLCertVerificationError"
                     r"|Name or service not known|nodename nor servname")


def failure_text(result):
    """Everything a failed result says about its failure; before ansible-core 2.19 the error of a
    module that crashed is only in module_stderr."""
    return "\n".join(str(result[key]) for key in ("msg", "reason", "module_stderr", "module_stdout") if result.get(key))


def kube_api_unavailable(result):
    """True for a failed result whose request never got an answer from the API server, or got one
    of the answers a restarting or overloaded server gives; False for a success or any refusal
    (RBAC, validation, a conflict, a missing object), which a retry would only repeat."""
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    if result.get("status") in RETRY_STATUSES or result.get("error") in RETRY_STATUSES:
        return True
    if result.get("exception") and not result.get("msg"):
        # A module that died of an exception, as kubernetes.core does on a refused connection (its
        # error handler cannot serialise urllib3's exception): from ansible-core 2.19 until sees no
        # word of why, only "exception" (the message comes after the task). A crash for another
        # reason costs the retries' wait, then fails with its own message.
        return True
    text = failure_text(result)
    if LASTING.search(text):
        return False
    if UNANSWERED.search(text):
        return True
    statuses = [int(code) for match in ANSWERED_STATUS.findall(text) for code in match if code]
    if statuses:
        return all(status in RETRY_STATUSES for status in statuses)
    return bool(RETRY_REASONS.search(str(result.get("reason", ""))))


class TestModule(object):
    def tests(self):
        return {"kube_api_unavailable": kube_api_unavailable}
