# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus: instant and range queries through the HTTP API (/api/v1/query, /api/v1/query_range)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.six.moves.urllib.parse import urlencode

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.http import parse_json
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
    ProviderError,
    Sample,
    require_positive,
    require_rendered,
    to_float,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class PrometheusClient(object):
    """Queries one Prometheus server and returns the API's data, or raises ProviderError.

    A 400 (bad_data: the query itself is wrong) is fatal and never retried; other failures
    (unreachable, slow, 5xx, 422, non-JSON, status error) are ordinary errors, retried.
    """

    def __init__(self, endpoint, clock=time.time):
        self.endpoint, self.clock = endpoint, clock

    def query(self, query, duration=None, step=None):
        params = {"query": query, "timeout": "%dms" % max(1, int(self.endpoint.timeout * 1000))}
        if duration is None:
            api = "/api/v1/query"
        else:
            # Aligned to the step, so queries made moments apart (canary and baseline) read the
            # same points in time.
            end = self.clock() // step * step
            api = "/api/v1/query_range"
            params.update(start="%.3f" % (end - duration), end="%.3f" % end, step="%g" % step)
        url = self.endpoint.url.rstrip("/") + api
        status, body = self.endpoint.send(url, method="POST", body=urlencode(params), headers=FORM)
        what = "Prometheus"
        payload = parse_json(status, body, what)
        if not isinstance(payload, dict):
            raise ProviderError("Prometheus answered HTTP %s with JSON that is not an API response" % status)
        if status == 400:
            raise ProviderError("Prometheus rejected the query %r: %s" % (query, payload.get("error")), fatal=True)
        if status >= 300 or payload.get("status") != "success":
            raise ProviderError("Prometheus answered HTTP %s (%s): %s" % (
                status, payload.get("errorType", "no errorType"), payload.get("error", "no error message")))
        data = payload.get("data")
        if not isinstance(data, dict):
            raise ProviderError("Prometheus answered without data")
        return data


def samples_of(data):
    """Samples of every result type; a string result is an error, never a number."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "vector":
        return [Sample(to_float(item["value"][1], "the value of %s" % item.get("metric")), item.get("metric") or {})
                for item in result]
    if kind == "scalar":
        return [Sample(to_float(result[1], "the scalar result"))]
    if kind == "matrix":
        return [Sample(to_float(value, "a value of %s" % item.get("metric")), item.get("metric") or {}, time=float(at))
                for item in result for at, value in item["values"]]
    raise ProviderError("Prometheus returned a %s result, not a number" % kind)


class PrometheusProvider(object):
    """One PromQL query, instant or over a range (duration and step, in seconds)."""

    def __init__(self, path, client, query, query_range=None):
        if not query:
            raise GateConfigError("%s.query is required for the prometheus provider" % path)
        self.query = require_rendered("%s.query" % path, query)
        self.client = client
        self.duration = self.step = None
        if query_range:
            self.duration = require_positive("%s.query_range.duration" % path, query_range.get("duration"))
            self.step = require_positive("%s.query_range.step" % path, query_range.get("step"))
            if self.duration is None or self.step is None:
                raise GateConfigError("%s.query_range needs duration and step" % path)

    def fetch(self):
        return samples_of(self.client.query(self.query, self.duration, self.step))
