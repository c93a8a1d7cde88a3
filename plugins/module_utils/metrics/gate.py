# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builds a Gate from the metric_gate module's parameters, checking everything before any query."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics import templates
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.evaluator import (
    Condition,
    Gate,
    Metric,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.http import Endpoint
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.compare import (
    ComparedMetric,
    CompareProvider,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.http_probe import (
    HttpProbeProvider,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.prometheus import (
    PrometheusClient,
    PrometheusProvider,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.web import (
    WebProvider,
)

PROVIDERS = ("prometheus", "web", "http_probe", "compare")
ENDPOINT_OPTIONS = ("url", "headers", "secret_headers", "validate_certs", "ca_path", "timeout")
SCHEDULE_OPTIONS = ("interval", "count", "initial_delay", "failure_limit", "inconclusive_limit",
                    "consecutive_error_limit", "consecutive_success_limit", "error_retry_interval",
                    "dry_run", "series", "on_empty", "on_nan")


def endpoint(path, options, credentials=()):
    settings = dict((key, options.get(key)) for key in ENDPOINT_OPTIONS + tuple(credentials))
    if settings["validate_certs"] is None:
        settings["validate_certs"] = True
    if settings["timeout"] is None:
        settings["timeout"] = 10.0
    return Endpoint(path, **settings)


def _prometheus_client(path, params, cache):
    if "client" not in cache:
        settings = params.get("prometheus") or {}
        if not settings.get("url"):
            raise GateConfigError("prometheus.url is required by %s" % path)
        cache["client"] = PrometheusClient(endpoint("prometheus", settings, (
            "bearer_token", "username", "password")))
    return cache["client"]


def _options(path, spec, name):
    options = spec.get(name)
    if not options:
        raise GateConfigError("%s.%s is required by provider %s" % (path, name, spec["provider"]))
    return options


def provider(path, spec, params, cache):
    kind = spec.get("provider") or "prometheus"
    if kind not in PROVIDERS:
        raise GateConfigError("%s.provider must be one of %s, got %s" % (path, ", ".join(PROVIDERS), kind))
    for other in ("web", "http_probe", "compare"):
        if other != kind and spec.get(other):
            raise GateConfigError("%s.%s is set but the provider is %s" % (path, other, kind))
    if kind != "prometheus" and (spec.get("query") or spec.get("template") or spec.get("query_range")):
        raise GateConfigError("%s: query, query_range and template belong to the prometheus provider, "
                              "not %s" % (path, kind))
    if kind == "prometheus":
        return PrometheusProvider(path, _prometheus_client(path, params, cache), spec.get("query"),
                                  spec.get("query_range"))
    if kind == "web":
        options = _options(path, spec, "web")
        return WebProvider("%s.web" % path, endpoint("%s.web" % path, options), options.get("jmespath"),
                           options.get("method") or "GET", options.get("body"))
    if kind == "http_probe":
        options = _options(path, spec, "http_probe")
        return HttpProbeProvider("%s.http_probe" % path, endpoint("%s.http_probe" % path, options),
                                 options.get("method") or "GET", options.get("body"),
                                 options.get("requests") or 20, options.get("concurrency") or 4,
                                 options.get("success_statuses"), options.get("statistic") or "success_rate")
    options = _options(path, spec, "compare")
    compared = [ComparedMetric("%s.compare.metrics[%d]" % (path, index), **item)
                for index, item in enumerate(options.get("metrics") or [])]
    settings = dict((key, options[key]) for key in ("window", "step", "alpha", "pass_threshold",
                                                    "marginal_threshold") if options.get(key) is not None)
    return CompareProvider("%s.compare" % path, _prometheus_client(path, params, cache), compared, **settings)


def condition(path, spec):
    if not spec:
        return None
    return Condition(path, spec.get("min"), spec.get("max"), spec.get("expression"))


def metric(index, spec, params, cache):
    path = "metrics[%d]" % index
    spec = dict(spec)
    no_data = None
    if spec.get("template"):
        if spec.get("query"):
            raise GateConfigError("%s: give either template or query, not both" % path)
        spec["query"], success, no_data = templates.render(path, spec["template"], spec.get("template_args"))
        if not spec.get("success") and not spec.get("failure"):
            spec["success"] = success
    elif spec.get("template_args"):
        raise GateConfigError("%s.template_args needs template" % path)
    source = provider(path, spec, params, cache)
    success, failure = spec.get("success"), spec.get("failure")
    if spec.get("provider") == "compare" and not success and not failure:
        # Kayenta's judgement: Pass succeeds, Fail fails, Marginal is inconclusive.
        success, failure = {"expression": "details.judgement == 'Pass'"}, {"expression": "details.judgement == 'Fail'"}
    schedule = dict((key, spec[key]) for key in SCHEDULE_OPTIONS if spec.get(key) is not None)
    return Metric(spec["name"], source, condition("%s.success" % path, success),
                  condition("%s.failure" % path, failure), path=path,
                  until_deadline=params.get("max_duration") is not None, no_data=no_data, **schedule)


def build_gate(params, **timing):
    """A Gate for the module's parameters; raises GateConfigError naming the parameter."""
    cache = {}
    metrics = [metric(index, spec, params, cache) for index, spec in enumerate(params.get("metrics") or [])]
    return Gate(metrics, max_duration=params.get("max_duration"), **timing)
