# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP for providers: one request, transport failures turned into ProviderError, and credentials
kept out of every message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.six.moves.http_client import HTTPException
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlsplit, urlunsplit
from ansible.module_utils.urls import Request, SSLValidationError, make_context

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
    ProviderError,
    require_positive,
    require_rendered,
)


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
        self.url, self.timeout = url, timeout
        self.headers = dict(headers or {})
        for name, value in (headers or {}).items():
            require_rendered("%s.headers.%s" % (path, name), value)
        self.headers.update(secret_headers or {})
        if bearer_token:
            self.headers["Authorization"] = "Bearer %s" % bearer_token
        self.username, self.password = username, password
        self.validate_certs, self.ca_path = validate_certs, ca_path
        self._request = Request()
        self._context = None

    def _tls_context(self):
        """One TLS context per endpoint: Request.open would build one (loading the system's CA
        bundle) for every request, even a plain http one, which costs far more than the request."""
        if self._context is None:
            self._context = make_context(cafile=self.ca_path, validate_certs=self.validate_certs)
        return self._context

    def send(self, url=None, method="GET", body=None, headers=None):
        """(status, body bytes) of one request; HTTP error statuses are returned, not raised.
        Transport failures (refused, timeout, TLS) raise ProviderError."""
        target = url or self.url
        all_headers = dict(self.headers, **(headers or {}))
        try:
            response = self._request.open(method, target, data=body, headers=all_headers,
                                          validate_certs=self.validate_certs, ca_path=self.ca_path,
                                          context=self._tls_context(),
                                          url_username=self.username, url_password=self.password,
                                          force_basic_auth=self.username is not None, timeout=self.timeout)
            return response.getcode(), response.read()
        except HTTPError as error:
            return error.code, error.read() if error.fp else b""
        except (URLError, SSLValidationError, HTTPException, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            raise ProviderError("%s %s failed: %s" % (method, public_url(target), reason))


def parse_json(status, body, what):
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ProviderError("%s answered HTTP %s with a body that is not JSON: %r" % (
            what, status, body[:200]))
