# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Kubernetes REST client on urllib3 (the kubernetes library's own transport) that
speaks JSON dicts. Importing the kubernetes library costs about a second per task; this costs a
few milliseconds, and the modules here never needed its model objects.

Every failed request raises ApiError with the status, reason and the server's JSON body.
Idempotent requests (GET, PUT, DELETE) meeting a connection error or a 429/500/502/503/504 are
retried with exponential backoff, within a bound, as the kubernetes library is configured to by
KubeModule before; writes guarded by resourceVersion stay safe to repeat.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import traceback

from urllib.parse import quote, urlencode, urlsplit

try:
    import urllib3
except ImportError:
    URLLIB3_IMPORT_ERROR = traceback.format_exc()
else:
    URLLIB3_IMPORT_ERROR = None

try:
    import certifi
except ImportError:
    certifi = None

# 500 covers etcd leader changes ("etcdserver: leader changed"), 429 and 503 the server's own
# Retry-After. Any request whose connection was refused is retried: it never reached the server.
RETRY_STATUSES = (429, 500, 502, 503, 504)
RETRY_TOTAL = 6
RETRY_BACKOFF_SECONDS = 0.25
# No request here lasts long (no watches): a connection that stops answering mid-request, as one
# cut by a restarting server or balancer may, is given up on and retried rather than waited on forever.
CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS = 15.0, 60.0
IDEMPOTENT_METHODS = ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
# The field manager of server-side apply: what this collection applies, it owns, so a field left out
# of the next apply (an annotation of the last version, say) is removed, as kubectl apply does.
FIELD_MANAGER = "terragonlabs.progressive_delivery"
USER_AGENT = "terragonlabs.progressive_delivery"


class ApiError(Exception):
    """A request the API server refused: status, reason and the body it answered (JSON text)."""

    def __init__(self, status, reason, body=None):
        super(ApiError, self).__init__("(%s) %s" % (status, reason))
        self.status = status
        self.reason = reason
        self.body = body


class RepeatedHeader(str):
    """A header name that may appear in a headers dict more than once, so that each value goes on
    its own header line, as the API server reads Impersonate-Group (urllib3 1.26 and 2.x alike)."""

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other


def retry_policy():
    """The one retry policy of every request a module sends: a restarting or overloaded API server
    costs at most RETRY_TOTAL retries, about 15 s of backoff (0, 0.5, 1, 2, 4, 8 s), then the last
    answer (an ApiError) or the connection error ends the task. A TLS failure is retried too: an
    EOF mid-handshake from a restarting server or balancer looks the same as a refused certificate."""
    return urllib3.Retry(total=RETRY_TOTAL, backoff_factor=RETRY_BACKOFF_SECONDS,
                         status_forcelist=RETRY_STATUSES, allowed_methods=IDEMPOTENT_METHODS,
                         raise_on_status=False)


def resource_path(api_version, plural, namespace=None, name=None, subresource=None):
    """/api/v1/namespaces/ns/pods/name for ("v1", "pods", "ns", "name"); /apis/<group>/... else."""
    parts = ["api" if "/" not in api_version else "apis", api_version]
    if namespace:
        parts += ["namespaces", namespace]
    parts.append(plural)
    if name:
        parts.append(name)
    if subresource:
        parts.append(subresource)
    return "/" + "/".join(quote(part, safe="/") for part in parts)


def bypasses_proxy(host_url, no_proxy):
    """True when no_proxy (comma-separated hosts, domains, CIDRs or *) covers host_url's host."""
    if not no_proxy:
        return False
    split = urlsplit(host_url)
    hostname = (split.hostname or "").lower()
    host_port = "%s:%s" % (hostname, split.port) if split.port else hostname
    for entry in (item.strip().lower() for item in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        try:
            if ipaddress.ip_address(hostname) in ipaddress.ip_network(entry, strict=False):
                return True
            continue
        except ValueError:
            pass
        domain = entry.lstrip(".")
        if hostname == domain or host_port == domain or hostname.endswith("." + domain) \
                or host_port.endswith("." + domain):
            return True
    return False


def pool_manager(connection):
    """A urllib3 pool (through the proxy unless no_proxy says otherwise) for the connection."""
    if connection.ca_cert:
        ca_certs = connection.ca_cert
    else:
        ca_certs = certifi.where() if certifi else None
    pool_args = dict(num_pools=1, maxsize=1, retries=retry_policy(),
                     timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS),
                     cert_reqs="CERT_REQUIRED" if connection.verify_ssl else "CERT_NONE",
                     ca_certs=ca_certs, cert_file=connection.client_cert, key_file=connection.client_key)
    if connection.tls_server_name:
        pool_args["server_hostname"] = connection.tls_server_name
    if connection.proxy and not bypasses_proxy(connection.host, connection.no_proxy):
        return urllib3.ProxyManager(connection.proxy, proxy_headers=connection.proxy_headers, **pool_args)
    return urllib3.PoolManager(**pool_args)


class KubeClient(object):
    """get/list/create/replace/patch/delete of API objects as JSON dicts, on one connection.

    Objects are addressed as the API addresses them: api_version ("v1", "apps/v1",
    "gateway.networking.k8s.io/v1"), plural ("deployments"), namespace and name. dry_run is the
    API's dryRun value ("All") or None.
    """

    def __init__(self, connection):
        self.connection = connection
        self.pool = pool_manager(connection)
        self.headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if connection.authorization:
            self.headers["Authorization"] = connection.authorization
        if connection.impersonate_user:
            self.headers["Impersonate-User"] = connection.impersonate_user
        for group in connection.impersonate_groups:
            self.headers[RepeatedHeader("Impersonate-Group")] = group

    def request(self, method, path, query=None, body=None, content_type="application/json"):
        """The decoded JSON answer to one request; ApiError when the server refuses it."""
        url = self.connection.host + path
        query = [(key, value) for key, value in (query or []) if value is not None]
        if query:
            url += "?" + urlencode(query)
        headers = dict(self.headers)
        payload = None
        if body is not None:
            headers["Content-Type"] = content_type
            payload = json.dumps(body).encode("utf-8")
        response = self.pool.request(method, url, body=payload, headers=headers)
        text = response.data.decode("utf-8", "replace")
        if not 200 <= response.status <= 299:
            raise ApiError(response.status, response.reason, text)
        return json.loads(text) if text else {}

    def get(self, api_version, plural, namespace, name):
        return self.request("GET", resource_path(api_version, plural, namespace, name))

    def list(self, api_version, plural, namespace=None, label_selector=None, field_selector=None):
        """The List object (its "items" are the objects)."""
        return self.request("GET", resource_path(api_version, plural, namespace), query=[
            ("labelSelector", label_selector), ("fieldSelector", field_selector)])

    def create(self, api_version, plural, namespace, body, dry_run=None):
        return self.request("POST", resource_path(api_version, plural, namespace),
                            query=[("dryRun", dry_run)], body=body)

    def replace(self, api_version, plural, namespace, name, body, dry_run=None):
        return self.request("PUT", resource_path(api_version, plural, namespace, name),
                            query=[("dryRun", dry_run)], body=body)

    def patch(self, api_version, plural, namespace, name, patch, patch_type="merge", dry_run=None):
        """patch_type: merge (RFC 7386), strategic (Kubernetes' strategic merge) or json (RFC 6902)."""
        return self.request("PATCH", resource_path(api_version, plural, namespace, name),
                            query=[("dryRun", dry_run)], body=patch, content_type=PATCH_TYPES[patch_type])

    def apply(self, api_version, plural, namespace, name, body, dry_run=None):
        """Server-side apply of body (a whole object), taking over fields another manager set."""
        return self.request("PATCH", resource_path(api_version, plural, namespace, name),
                            query=[("dryRun", dry_run), ("fieldManager", FIELD_MANAGER), ("force", "true")],
                            body=body, content_type=PATCH_TYPES["apply"])

    def delete(self, api_version, plural, namespace, name, dry_run=None, propagation_policy=None,
               resource_version=None):
        """Deletes with DeleteOptions; resource_version makes it a precondition (409 if changed)."""
        options = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if dry_run:
            options["dryRun"] = [dry_run]
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        # With a body, the API server reads the options from it alone, dryRun included.
        return self.request("DELETE", resource_path(api_version, plural, namespace, name), body=options)
