# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP for providers: one request, transport failures turned into ProviderError, and credentials
kept out of every message.

Requests go through the standard library's urllib.request rather than ansible.module_utils.urls:
importing the latter loads the cryptography package (for GSSAPI channel binding, never used here),
which cost metric_gate about 50 ms a task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import ssl
from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlsplit, urlunsplit
from urllib.request import HTTPSHandler, Request, build_opener

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
    ProviderError,
    require_positive,
    require_rendered,
)


USER_AGENT = "terragonlabs.progressive_delivery"


def public_url(url):
    """The URL without user:password@, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


class Endpoint(object):
    """Where and how to send requests: URL, headers (secret ones never reported), TLS, auth, timeout."""

    def __init__(self, path, url, headers=None, secret_headers=None, bearer_token=None, username=None,
                 password=None, validate_certs=True, ca_path=None, timeout=10.0):
        if not url:
            raise GateConfigError("%s.url is required" % path)
        require_rendered("%s.url" % path, url)
        if urlsplit(url).scheme not in ("http", "https"):
            raise GateConfigError("%s.url must be an http:// or https:// URL, got %s" % (path, public_url(url)))
        require_positive("%s.timeout" % path, timeout)
        if (username is None) != (password is None):
            raise GateConfigError("%s.username and %s.password go together" % (path, path))
        if bearer_token and username is not None:
            raise GateConfigError("%s: use bearer_token or username/password, not both" % path)
        split = urlsplit(url)
        if split.username is not None and username is None and not bearer_token:
            # user:password@ in the URL: sent as basic auth, as ansible.builtin.uri does
            username, password = unquote(split.username), unquote(split.password or "")
        self.url, self.timeout = public_url(url), timeout
        self.headers = {"User-Agent": USER_AGENT}
        self.headers.update(headers or {})
        for name, value in (headers or {}).items():
            require_rendered("%s.headers.%s" % (path, name), value)
        self.headers.update(secret_headers or {})
        if bearer_token:
            self.headers["Authorization"] = "Bearer %s" % bearer_token
        if username is not None:
            credentials = ("%s:%s" % (username, password)).encode("utf-8")
            self.headers["Authorization"] = "Basic %s" % base64.b64encode(credentials).decode("ascii")
        self.validate_certs, self.ca_path = validate_certs, ca_path
        self._opener = None

    def opener(self):
        """One opener per endpoint (proxies from the environment, redirects followed). An https
        endpoint, or one whose TLS options would matter after a redirect to https, gets one TLS
        context for all its requests; a plain http one with default TLS options gets none:
        building a context loads the CA bundle, which costs more than a request."""
        if self._opener is None:
            if urlsplit(self.url).scheme != "https" and self.validate_certs and not self.ca_path:
                # the default context, should a redirect lead to https, is the one asked for
                self._opener = build_opener()
            else:
                context = ssl.create_default_context(cafile=self.ca_path)
                if not self.validate_certs:
                    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
                self._opener = build_opener(HTTPSHandler(context=context))
        return self._opener

    def send(self, url=None, method="GET", body=None, headers=None):
        """(status, body bytes) of one request; HTTP error statuses are returned, not raised.
        Transport failures (refused, timeout, TLS) raise ProviderError."""
        target = url or self.url
        if isinstance(body, str):
            body = body.encode("utf-8")
        request = Request(target, data=body, headers=dict(self.headers, **(headers or {})), method=method)
        try:
            with self.opener().open(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except HTTPError as error:
            with error:
                return error.code, error.read() if error.fp else b""
        except (URLError, HTTPException, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            raise ProviderError("%s %s failed: %s" % (method, public_url(target), reason))


def parse_json(status, body, what):
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ProviderError("%s answered HTTP %s with a body that is not JSON: %r" % (
            what, status, body[:200]))
