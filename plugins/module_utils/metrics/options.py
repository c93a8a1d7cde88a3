# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of a gate's metrics and of its Prometheus, shared by metric_gate and the release
engine's analyses (paired with metric_gate's documentation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.evaluator import (
    PHASES,
    SERIES_POLICIES,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.http_probe import (
    STATISTICS,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.templates import TEMPLATES


def endpoint_options(**extra):
    options = dict(
        url=dict(type="str", required=True),
        method=dict(type="str", default="GET"),
        headers=dict(type="dict"),
        secret_headers=dict(type="dict", no_log=True),
        timeout=dict(type="float", default=10.0),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
    )
    options.update(extra)
    return options


def condition_options():
    return dict(type="dict", options=dict(min=dict(type="float"), max=dict(type="float"),
                                          expression=dict(type="str")))


METRICS_OPTION = dict(type="list", elements="dict", required=True, options=dict(
    name=dict(type="str", required=True),
    provider=dict(type="str", choices=["prometheus", "web", "http_probe", "compare"], default="prometheus"),
    query=dict(type="str"),
    query_range=dict(type="dict", options=dict(duration=dict(type="float", required=True),
                                               step=dict(type="float", required=True))),
    template=dict(type="str", choices=list(TEMPLATES)),
    template_args=dict(type="dict", options=dict(namespace=dict(type="str"), service=dict(type="str"),
                                                 version=dict(type="str"),
                                                 window=dict(type="str", default="1m"))),
    web=dict(type="dict", options=endpoint_options(body=dict(type="raw"),
                                                   jmespath=dict(type="str", required=True))),
    http_probe=dict(type="dict", options=endpoint_options(
        body=dict(type="str"), requests=dict(type="int", default=20), concurrency=dict(type="int", default=4),
        success_statuses=dict(type="list", elements="int"),
        statistic=dict(type="str", choices=list(STATISTICS), default="success_rate"))),
    compare=dict(type="dict", options=dict(
        window=dict(type="float", default=300.0), step=dict(type="float", default=10.0),
        alpha=dict(type="float", default=0.05),
        pass_threshold=dict(type="float", default=95.0, no_log=False),
        marginal_threshold=dict(type="float", default=75.0),
        metrics=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            canary_query=dict(type="str", required=True),
            baseline_query=dict(type="str", required=True),
            direction=dict(type="str", choices=["increase", "decrease", "either"], default="increase"),
            critical=dict(type="bool", default=False),
            weight=dict(type="float", default=1.0),
            allowed_increase=dict(type="float", default=1.0),
            allowed_decrease=dict(type="float", default=1.0))))),
    success=condition_options(),
    failure=condition_options(),
    interval=dict(type="float"),
    count=dict(type="int"),
    initial_delay=dict(type="float", default=0.0),
    failure_limit=dict(type="int", default=0),
    inconclusive_limit=dict(type="int", default=0),
    consecutive_error_limit=dict(type="int", default=4),
    consecutive_success_limit=dict(type="int"),
    error_retry_interval=dict(type="float"),
    dry_run=dict(type="bool", default=False),
    series=dict(type="str", choices=list(SERIES_POLICIES), default="first"),
    on_empty=dict(type="str", choices=list(PHASES), default="Error"),
    # Failed, or Error for a built-in template (Metric decides): NaN there means no request yet.
    on_nan=dict(type="str", choices=list(PHASES)),
))

PROMETHEUS_OPTION = dict(type="dict", options=dict(
    url=dict(type="str", required=True),
    headers=dict(type="dict"),
    secret_headers=dict(type="dict", no_log=True),
    bearer_token=dict(type="str", no_log=True),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    timeout=dict(type="float", default=10.0),
))
