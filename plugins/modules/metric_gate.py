#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: metric_gate
short_description: Decide a release's promotion from metrics measured over time
version_added: 0.1.0
description:
  - Measures one or more metrics, each several times on its own schedule, and returns a verdict -
    V(Successful), V(Failed), V(Inconclusive) or V(Error) - with every measurement. Fails the task
    unless the verdict is V(Successful) or O(fail_on_verdict=false).
  - Providers only fetch values - V(prometheus) (instant or range PromQL), V(web) (any JSON
    endpoint and a JMESPath), V(http_probe) (a bounded burst of real requests; success rate and
    latency percentiles) and V(compare) (a Kayenta-style judge of canary against baseline). One
    evaluator decides, with the semantics of Argo Rollouts' analysis - O(metrics[].interval),
    O(metrics[].count), O(metrics[].initial_delay), failure, inconclusive and consecutive-error
    limits with Argo's defaults (0, 0, 4), provider errors retried and never counted as
    measurements, dry-run metrics.
  - A measurement is V(Failed) when the failure condition holds (failure wins over success);
    when only one condition is given, the other is its negation; both given and neither holding is
    V(Inconclusive); a metric without conditions is V(Inconclusive).
  - The verdict is the worst of the metrics' verdicts (V(Successful) < V(Inconclusive) <
    V(Error) < V(Failed)); once a metric that is not a dry run is V(Failed), V(Error) or
    V(Inconclusive), measuring stops.
  - A Prometheus that is down, slow, answers 5xx, non-JSON or a string result gives V(Error) with
    the reason, never V(Successful). A query Prometheus rejects as bad (HTTP 400) is V(Error) at
    once, without retries. Bad input (an unrendered template, a count without interval, a range
    with min above max, a malformed expression or JMESPath) fails before any query.
  - Built-in templates give the PromQL of the common gates (O(metrics[].template)).
  - Reads only; never reports C(changed). Check mode measures as a normal run.
  - Accepts kubernetes.core's connection options so that C(module_defaults) for this collection's
    action group apply to it; it does not contact the Kubernetes API.
author:
  - Terragon Labs (@terragonlabs)
options:
  metrics:
    description: The metrics to measure.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the metric, unique in the gate.
        type: str
        required: true
      provider:
        description: Where values come from.
        type: str
        choices: [prometheus, web, http_probe, compare]
        default: prometheus
      query:
        description: PromQL of a V(prometheus) metric. Give this or O(metrics[].template).
        type: str
      query_range:
        description:
          - Makes the query a range query over the last O(metrics[].query_range.duration) seconds;
            every point of every series is a value for O(metrics[].series).
        type: dict
        suboptions:
          duration:
            description: Seconds before now that the range starts.
            type: float
            required: true
          step:
            description: Seconds between points.
            type: float
            required: true
      template:
        description:
          - A built-in query for a V(prometheus) metric, with its default success condition
            (used when neither O(metrics[].success) nor O(metrics[].failure) is given).
          - V(app_success_rate), V(istio_success_rate), V(nginx_success_rate) - the share of
            requests not answering 5xx over the window; success when at least 0.95.
          - V(app_latency_p99), V(istio_latency_p99), V(nginx_latency_p99) - p99 latency in
            seconds from the latency histogram; success when at most 2.
          - A window in which no request reached the service (and version) has no value to judge
            (an empty result, or NaN); the measurement is then V(Error), reported as "no request
            reached <namespace>/<service> version <version> in the last <window>", measured again
            after O(metrics[].error_retry_interval) and not counted, so the gate waits for
            traffic up to O(metrics[].consecutive_error_limit) errors in a row and then ends
            V(Error). O(metrics[].on_empty) and O(metrics[].on_nan) change this.
          - V(app) reads C(http_requests_total) and C(http_request_duration_seconds) (labels
            C(namespace), C(service), C(version), C(status)); V(istio) reads
            C(istio_requests_total) and C(istio_request_duration_milliseconds) with
            C(reporter="destination"); V(nginx) reads ingress-nginx's
            C(nginx_ingress_controller_requests) and its duration histogram.
        type: str
        choices: [app_success_rate, app_latency_p99, istio_success_rate, istio_latency_p99,
                  nginx_success_rate, nginx_latency_p99]
      template_args:
        description: Arguments of O(metrics[].template).
        type: dict
        suboptions:
          namespace:
            description: Namespace of the service.
            type: str
          service:
            description: Name of the Service receiving the traffic.
            type: str
          version:
            description:
              - Version to select (C(version) or C(destination_version) label). Not available for
                the V(nginx) templates; name the version's Service instead.
            type: str
          window:
            description: PromQL range of the rate, such as V(1m) or V(30s).
            type: str
            default: 1m
      web:
        description: The request of a V(web) metric.
        type: dict
        suboptions:
          url:
            description: URL to request.
            type: str
            required: true
          method:
            description: HTTP method.
            type: str
            default: GET
          headers:
            description: Request headers, reported as given.
            type: dict
          secret_headers:
            description: Request headers never logged nor reported, for credentials.
            type: dict
          body:
            description: Request body; a dict or a list is sent as JSON.
            type: raw
          timeout:
            description: Seconds to wait for the answer.
            type: float
            default: 10
          validate_certs:
            description: Verify the server's TLS certificate.
            type: bool
            default: true
          ca_path:
            description: PEM file of the certificate authorities to trust.
            type: path
          jmespath:
            description:
              - JMESPath of the value in the JSON answer. A number or numeric string is one
                series; a list of numbers is one series per element (label C(index)); null is
                an empty result (O(metrics[].on_empty)).
            type: str
            required: true
      http_probe:
        description:
          - The requests of an V(http_probe) metric. Every request counts, a refused connection
            or an unexpected status as unsuccessful; the latency of every request is measured.
        type: dict
        suboptions:
          url:
            description: URL to request.
            type: str
            required: true
          method:
            description: HTTP method.
            type: str
            default: GET
          headers:
            description: Request headers, reported as given.
            type: dict
          secret_headers:
            description: Request headers never logged nor reported, for credentials.
            type: dict
          body:
            description: Request body.
            type: str
          timeout:
            description: Seconds to wait for each answer.
            type: float
            default: 10
          validate_certs:
            description: Verify the server's TLS certificate.
            type: bool
            default: true
          ca_path:
            description: PEM file of the certificate authorities to trust.
            type: path
          requests:
            description: Number of requests of one measurement.
            type: int
            default: 20
          concurrency:
            description: Requests in flight at once.
            type: int
            default: 4
          success_statuses:
            description: HTTP statuses that count as successful; by default 200 to 399.
            type: list
            elements: int
          statistic:
            description:
              - The statistic that is the measurement's value (latencies in seconds). All of them
                are in the measurement's C(details), for O(metrics[].success.expression).
            type: str
            choices: [success_rate, error_rate, p50, p95, p99, mean]
            default: success_rate
      compare:
        description:
          - The comparison of a V(compare) metric. Each compared metric is a pair of range
            queries sampled over the same window; a two-sided Mann-Whitney U test at level
            O(metrics[].compare.alpha), the Hodges-Lehmann shift and the ratio of means classify
            it V(High), V(Low), V(Pass) or V(NoData).
          - The measurement's value is the score (0 to 100), the weighted share of metrics that did
            not move in their bad direction, 0 when a critical metric fails. Without conditions,
            a score of at least O(metrics[].compare.pass_threshold) is V(Successful), below
            O(metrics[].compare.marginal_threshold) V(Failed), in between V(Inconclusive).
        type: dict
        suboptions:
          window:
            description: Seconds of samples, ending now.
            type: float
            default: 300
          step:
            description: Seconds between samples.
            type: float
            default: 10
          alpha:
            description: Significance level of the test.
            type: float
            default: 0.05
          pass_threshold:
            description: Lowest score that passes.
            type: float
            default: 95
          marginal_threshold:
            description: Lowest score that is marginal rather than failing.
            type: float
            default: 75
          metrics:
            description: The compared metrics.
            type: list
            elements: dict
            required: true
            suboptions:
              name:
                description: Name of the compared metric.
                type: str
                required: true
              canary_query:
                description: PromQL of the canary's values.
                type: str
                required: true
              baseline_query:
                description: PromQL of the baseline's values.
                type: str
                required: true
              direction:
                description: Which change is bad.
                type: str
                choices: [increase, decrease, either]
                default: increase
              critical:
                description: A failure of this metric (or no data for it) fails the whole comparison.
                type: bool
                default: false
              weight:
                description: Weight of the metric in the score.
                type: float
                default: 1
              allowed_increase:
                description: Ratio of canary mean to baseline mean tolerated before V(High), such as V(1.1).
                type: float
                default: 1
              allowed_decrease:
                description: Ratio of canary mean to baseline mean tolerated before V(Low), such as V(0.9).
                type: float
                default: 1
      success:
        description: Condition of a successful measurement.
        type: dict
        suboptions:
          min:
            description: Lowest value that satisfies the condition (inclusive).
            type: float
          max:
            description: Highest value that satisfies the condition (inclusive).
            type: float
          expression:
            description:
              - A Jinja2 expression (without braces) evaluated in Jinja2's sandbox over C(result)
                (the value), C(labels) (its series' labels) and C(details) (the provider's
                details). Never Python C(eval). With min or max, both must hold.
            type: str
      failure:
        description: Condition of a failed measurement; same form as O(metrics[].success).
        type: dict
        suboptions:
          min:
            description: Lowest value that satisfies the condition (inclusive).
            type: float
          max:
            description: Highest value that satisfies the condition (inclusive).
            type: float
          expression:
            description: A sandboxed Jinja2 expression, as in O(metrics[].success.expression).
            type: str
      interval:
        description:
          - Seconds to wait after a measurement before the next. Without O(metrics[].count), the
            metric is measured until O(max_duration), which is then required.
        type: float
      count:
        description:
          - Number of measurements (errors do not count). Defaults to 1 without an interval; more
            than 1 needs O(metrics[].interval).
        type: int
      initial_delay:
        description: Seconds to wait before the first measurement.
        type: float
        default: 0
      failure_limit:
        description: The metric fails when more measurements than this have failed.
        type: int
        default: 0
      inconclusive_limit:
        description: The metric is inconclusive when more measurements than this are inconclusive.
        type: int
        default: 0
      consecutive_error_limit:
        description: The metric is in error when more provider errors than this come in a row.
        type: int
        default: 4
      consecutive_success_limit:
        description: Succeed early after this many successful measurements in a row.
        type: int
      error_retry_interval:
        description:
          - Seconds to wait after an error measurement (a provider error, or an empty or NaN result
            that is V(Error)) before measuring again.
          - By default the metric's O(metrics[].interval), as Argo Rollouts does, or 10 when it has none.
        type: float
      dry_run:
        description: Measure and report, but never let this metric decide the gate.
        type: bool
        default: false
      series:
        description:
          - How a result with several series (or range points) is judged - V(first) series only,
            V(each) series must pass (the worst decides), V(any) series passing is enough (the
            best decides), or one value aggregated by V(min), V(max), V(avg) or V(sum) (NaN
            series are skipped). Every series and its labels are kept in the report.
        type: str
        choices: [first, each, any, min, max, avg, sum]
        default: first
      on_empty:
        description:
          - Phase of a measurement whose result has no series (for example no traffic yet, or a
            misspelt metric). V(Error) is retried like any provider error.
        type: str
        choices: [Successful, Failed, Inconclusive, Error]
        default: Error
      on_nan:
        description:
          - Phase of a measurement whose value is NaN (for example 0/0 when there was no traffic).
          - Defaults to V(Failed), as in Argo Rollouts, and to V(Error) (retried like any provider
            error) for a O(metrics[].template), whose NaN means that no request reached the
            version in the window.
        type: str
        choices: [Successful, Failed, Inconclusive, Error]
  max_duration:
    description:
      - Seconds after which measuring stops. A metric still measuring is then V(Error) if its last
        tries were errors, V(Inconclusive) if it has not taken its O(metrics[].count) measurements,
        otherwise judged on what it measured.
    type: float
  fail_on_verdict:
    description: Fail the task when the verdict is not V(Successful). With V(false), read RV(verdict).
    type: bool
    default: true
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.metrics.prometheus
  - terragonlabs.progressive_delivery.workload.keep_lock
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode measures as a normal run.
  diff_mode:
    support: none
    description: Changes nothing, so there is no difference to show.
requirements:
  - jinja2 (for expressions)
  - jmespath (for the web provider)
"""

EXAMPLES = r"""
- name: Gate the canary on its success rate and p99 latency, measured 5 times a minute apart
  terragonlabs.progressive_delivery.metric_gate:
    prometheus:
      url: http://prometheus.monitoring:9090
    metrics:
      - name: success-rate
        template: istio_success_rate
        template_args: {namespace: modelcard, service: modelcard-generator, version: "1.1.0"}
        interval: 60
        count: 5
      - name: latency
        template: istio_latency_p99
        template_args: {namespace: modelcard, service: modelcard-generator, version: "1.1.0"}
        interval: 60
        count: 5
        failure_limit: 1

- name: Smoke-test the preview service before switching, without failing the play
  terragonlabs.progressive_delivery.metric_gate:
    metrics:
      - name: smoke
        provider: http_probe
        http_probe:
          url: https://modelcard-preview.example.com/health
          requests: 50
          concurrency: 5
          ca_path: /etc/pki/modelcard-ca.pem
        success:
          expression: "result >= 0.99 and details.p99 < 0.5"
    fail_on_verdict: false
  register: smoke

- name: Judge the canary against the baseline, Kayenta style
  terragonlabs.progressive_delivery.metric_gate:
    prometheus:
      url: https://prometheus.example.com
      bearer_token: "{{ prometheus_token }}"
    metrics:
      - name: canary-analysis
        provider: compare
        compare:
          window: 600
          step: 15
          metrics:
            - name: errors
              canary_query: sum(rate(http_requests_total{version="canary",status=~"5.."}[1m]))
              baseline_query: sum(rate(http_requests_total{version="baseline",status=~"5.."}[1m]))
              critical: true
            - name: latency
              canary_query: histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{version="canary"}[1m])))
              baseline_query: histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{version="baseline"}[1m])))
              allowed_increase: 1.1

- name: Read a value from any JSON endpoint
  terragonlabs.progressive_delivery.metric_gate:
    metrics:
      - name: queue-depth
        provider: web
        web:
          url: https://status.example.com/api/queue
          secret_headers:
            Authorization: "Bearer {{ status_token }}"
          jmespath: queues[?name=='modelcards'].depth | [0]
        success:
          max: 100
"""

RETURN = r"""
verdict:
  description: The gate's verdict, the worst of its metrics that are not dry runs.
  returned: always
  type: str
  sample: Successful
message:
  description: The verdict and why each deciding metric reached it.
  returned: always
  type: str
  sample: "Failed: success-rate: 1 failed measurements, more than failure_limit 0"
duration:
  description: Seconds spent measuring.
  returned: always
  type: float
  sample: 62.5
metrics:
  description: Every metric, its verdict and every measurement.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the metric.
      type: str
    verdict:
      description:
        - V(Successful), V(Failed), V(Inconclusive), V(Error), or V(Stopped) when another metric
          decided the gate first.
      type: str
    message:
      description: Why the metric reached its verdict.
      type: str
    dry_run:
      description: Whether the metric was a dry run.
      type: bool
    counts:
      description: Measurements per phase.
      type: dict
      sample: {successful: 4, failed: 1, inconclusive: 0, error: 2}
    measurements:
      description: Every measurement, in order.
      type: list
      elements: dict
      contains:
        phase:
          description: V(Successful), V(Failed), V(Inconclusive) or V(Error).
          type: str
        value:
          description:
            - The value judged (the decisive series' value under O(metrics[].series)); NaN and
              infinities as the strings V(NaN), V(+Inf), V(-Inf); null after an error or empty result.
          type: raw
        series:
          description: Every series returned, with its C(labels), C(value) and, for range queries, C(time).
          type: list
          elements: dict
        details:
          description: The provider's details, such as every statistic of an C(http_probe) or the judge's classifications.
          type: dict
          returned: for http_probe and compare metrics
        message:
          description: The reason of an error, or of an empty or NaN result.
          type: str
          returned: when there is one
        started_at:
          description: When the measurement started (UTC, ISO 8601).
          type: str
        finished_at:
          description: When the measurement finished (UTC, ISO 8601).
          type: str
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.evaluator import SUCCESSFUL
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.gate import build_gate
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.options import (
    METRICS_OPTION,
    PROMETHEUS_OPTION,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.lock_keeper import (
    KEEP_LOCK_OPTIONS,
    lock_keeper,
)


ARGUMENT_SPEC = dict(
    metrics=METRICS_OPTION,
    prometheus=PROMETHEUS_OPTION,
    max_duration=dict(type="float"),
    fail_on_verdict=dict(type="bool", default=True),
    **KEEP_LOCK_OPTIONS
)


def run_gate(module):
    keeper = lock_keeper(module)
    try:
        gate = build_gate(module.params, **({"sleep": keeper.sleep} if keeper else {}))
    except GateConfigError as error:
        module.fail(str(error))
    result = dict(gate.run(), changed=False)
    if result["verdict"] != SUCCESSFUL and module.params["fail_on_verdict"]:
        module.fail("metric gate %s" % result["message"], **result)
    return result


def main():
    KubeModule(argument_spec=ARGUMENT_SPEC).run(run_gate)


if __name__ == "__main__":
    main()
