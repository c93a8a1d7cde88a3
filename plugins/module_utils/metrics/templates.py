# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Built-in PromQL for the common gates, so users need not write it.

Request success rate and p99 latency for Istio (istio_requests_total, reporter="destination"),
ingress-nginx (nginx_ingress_controller_requests) and a plain application exporting
http_requests_total and the http_request_duration_seconds histogram. Thresholds are those of the
release strategy: more than 5% of requests answering 5xx fails, a p99 above 2 s fails.

Each query has a value exactly when requests reached the version in the window: no series is
empty, series that did not move are NaN (0/0), and a version answering only 5xx measures 0, not
empty.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
    require_rendered,
)

SUCCESS_RATE_MIN = 0.95
LATENCY_P99_MAX_SECONDS = 2.0
DEFAULT_WINDOW = "1m"
WINDOW = re.compile(r"^[0-9]+(ms|s|m|h|d)$")

# For each source: the request counter, the latency histogram's buckets and its unit in seconds,
# the label names of namespace, service, version and status code, and fixed matchers.
SOURCES = {
    "app": {"requests": "http_requests_total", "buckets": "http_request_duration_seconds_bucket",
            "seconds_per_unit": 1, "namespace": "namespace", "service": "service",
            "version": "version", "status": "status", "fixed": ""},
    "istio": {"requests": "istio_requests_total", "buckets": "istio_request_duration_milliseconds_bucket",
              "seconds_per_unit": 1000, "namespace": "destination_service_namespace",
              "service": "destination_service_name", "version": "destination_version",
              "status": "response_code", "fixed": 'reporter="destination",'},
    # ingress-nginx has no version label: the canary is told apart by its Service.
    "nginx": {"requests": "nginx_ingress_controller_requests",
              "buckets": "nginx_ingress_controller_request_duration_seconds_bucket",
              "seconds_per_unit": 1, "namespace": "namespace", "service": "service",
              "version": None, "status": "status", "fixed": ""},
}
TEMPLATES = tuple("%s_%s" % (source, kind) for source in sorted(SOURCES) for kind in ("success_rate", "latency_p99"))


def _quote(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def render(path, name, args):
    """(query, success condition dict, what an empty or NaN result means) of a built-in template
    with its arguments."""
    if name not in TEMPLATES:
        raise GateConfigError("%s.template must be one of %s, got %s" % (path, ", ".join(TEMPLATES), name))
    source, kind = name.split("_", 1)
    spec = SOURCES[source]
    args = dict(args or {})
    for key, value in args.items():
        require_rendered("%s.template_args.%s" % (path, key), value)
    for key in ("namespace", "service"):
        if not args.get(key):
            raise GateConfigError("%s.template_args.%s is required by template %s" % (path, key, name))
    window = args.get("window") or DEFAULT_WINDOW
    if not WINDOW.match(window):
        raise GateConfigError("%s.template_args.window must be a PromQL duration such as 1m or 30s, got %s"
                              % (path, window))
    matchers = spec["fixed"] + "%s=%s,%s=%s" % (spec["namespace"], _quote(args["namespace"]),
                                                spec["service"], _quote(args["service"]))
    if args.get("version"):
        if spec["version"] is None:
            raise GateConfigError("%s.template_args.version cannot be used with %s: ingress-nginx exports no "
                                  "version label; name the version's Service instead" % (path, name))
        matchers += ",%s=%s" % (spec["version"], _quote(args["version"]))
    no_data = "no request reached %s/%s%s in the last %s" % (
        args["namespace"], args["service"], " version %s" % args["version"] if args.get("version") else "", window)
    if kind == "success_rate":
        # The 5xx share is counted (0 when there is no 5xx series): counting the other answers would
        # leave a version that answers only 5xx with no series, as if no request had reached it.
        query = '1 - (sum(rate(%s{%s,%s=~"5.."}[%s])) or vector(0)) / sum(rate(%s{%s}[%s]))' % (
            spec["requests"], matchers, spec["status"], window, spec["requests"], matchers, window)
        return query, {"min": SUCCESS_RATE_MIN}, no_data
    query = "histogram_quantile(0.99, sum by (le) (rate(%s{%s}[%s])))" % (spec["buckets"], matchers, window)
    if spec["seconds_per_unit"] != 1:
        query += " / %d" % spec["seconds_per_unit"]
    return query, {"max": LATENCY_P99_MAX_SECONDS}, no_data
