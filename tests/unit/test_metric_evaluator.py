"""The metric gate's evaluator: a truth table of conditions, policies, limits and scheduling."""

import math

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.evaluator import (
    ERROR, FAILED, INCONCLUSIVE, STOPPED, SUCCESSFUL, Condition, Gate, Metric, assess, worst)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.gate import build_gate
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError, ProviderError, Sample)

NAN = float("nan")


class FakeClock:
    """Time that moves only when the gate sleeps, so schedules are exact."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Scripted:
    """A provider answering a script of values (lists of floats) or ProviderErrors."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0

    def fetch(self):
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        if isinstance(answer, ProviderError):
            raise answer
        return [Sample(v, {"series": str(i)}) for i, v in enumerate(answer)]


def run_timed(*metrics, **kwargs):
    """The gate's result and the fake clock it ran on."""
    clock = FakeClock()
    gate = Gate(list(metrics), clock=clock.clock, sleep=clock.sleep, now=clock.clock, **kwargs)
    return gate.run(), clock


def run(*metrics, **kwargs):
    return run_timed(*metrics, **kwargs)[0]


def at_least(value):
    return Condition("success", minimum=value)


@pytest.mark.parametrize("success, failure, value, phase", [
    (None, None, 1.0, INCONCLUSIVE),                          # no condition: Inconclusive, not Successful
    (at_least(0.95), None, 0.99, SUCCESSFUL),
    (at_least(0.95), None, 0.90, FAILED),                     # failure = not success
    (None, Condition("failure", maximum=0.5), 0.4, FAILED),
    (None, Condition("failure", maximum=0.5), 0.6, SUCCESSFUL),  # success = not failure
    (at_least(0.5), Condition("failure", minimum=0.8), 0.9, FAILED),  # failure wins when both hold
    (at_least(0.95), Condition("failure", maximum=0.5), 0.7, INCONCLUSIVE),  # neither holds
    (at_least(0.95), Condition("failure", maximum=0.5), 0.97, SUCCESSFUL),
    (Condition("success", 1, 2), None, 2.0, SUCCESSFUL),      # bounds are inclusive
    (Condition("success", 1, 2), None, 2.0000001, FAILED),
    (Condition("success", expression="result < 2 and labels.series == '0'"), None, 1.0, SUCCESSFUL),
    (Condition("success", minimum=0, expression="result < 2"), None, 3.0, FAILED),  # both must hold
    (Condition("success", maximum=2.0), None, float("inf"), FAILED),
])
def test_assess_truth_table(success, failure, value, phase):
    assert assess(Sample(value, {"series": "0"}), success, failure) == phase


def test_worst_verdict_order():
    assert worst([SUCCESSFUL, INCONCLUSIVE]) == INCONCLUSIVE
    assert worst([INCONCLUSIVE, ERROR]) == ERROR
    assert worst([ERROR, FAILED, SUCCESSFUL]) == FAILED
    assert worst([]) == SUCCESSFUL


@pytest.mark.parametrize("series, values, phase, value", [
    ("first", [0.99, 0.5], SUCCESSFUL, 0.99),
    ("each", [0.99, 0.5], FAILED, 0.5),
    ("any", [0.5, 0.99], SUCCESSFUL, 0.99),
    ("min", [0.99, 0.5], FAILED, 0.5),
    ("max", [0.5, 0.99], SUCCESSFUL, 0.99),
    ("avg", [0.99, 0.97], SUCCESSFUL, 0.98),
    ("sum", [0.5, 0.5], SUCCESSFUL, 1.0),
    ("max", [NAN, 0.99], SUCCESSFUL, 0.99),   # aggregates skip NaN series
    ("each", [0.99, NAN], FAILED, "NaN"),      # NaN is on_nan (Failed by default)
])
def test_series_policies_keep_labels(series, values, phase, value):
    result = run(Metric("m", Scripted(values), success=at_least(0.95), series=series))
    measurement = result["metrics"][0]["measurements"][0]
    assert measurement["phase"] == phase
    assert measurement["value"] == pytest.approx(value) if isinstance(value, float) else measurement["value"] == value
    assert [s["labels"] for s in measurement["series"]] == [{"series": "0"}, {"series": "1"}]


@pytest.mark.parametrize("option, phase", [(ERROR, ERROR), (FAILED, FAILED), (INCONCLUSIVE, INCONCLUSIVE),
                                           (SUCCESSFUL, SUCCESSFUL)])
def test_empty_and_nan_policies(option, phase):
    empty = run(Metric("m", Scripted([]), success=at_least(1), on_empty=option, consecutive_error_limit=0))
    assert empty["verdict"] == phase
    assert "no series" in empty["metrics"][0]["measurements"][0]["message"]
    nan = run(Metric("m", Scripted([NAN]), success=at_least(1), on_nan=option, consecutive_error_limit=0))
    assert nan["verdict"] == phase and nan["metrics"][0]["measurements"][0]["value"] == "NaN"


def test_defaults_match_argo_empty_is_error_and_nan_is_failed():
    metric = Metric("m", Scripted([]))
    assert (metric.on_empty, metric.on_nan, metric.consecutive_error_limit, metric.failure_limit,
            metric.inconclusive_limit, metric.count) == (ERROR, FAILED, 4, 0, 0, 1)


NO_REQUEST = "no request reached shop/web version 2.0 in the last 30s"


@pytest.mark.parametrize("no_data, policy, answer, phase, message", [
    # A user's query: Argo's defaults, and the result as it is.
    (None, {}, [], ERROR, "no series returned (on_empty: Error)"),
    (None, {}, [NAN], FAILED, "the value is NaN (on_nan: Failed)"),
    # A built-in template: no request in the window is an error (retried), said plainly.
    (NO_REQUEST, {}, [], ERROR, NO_REQUEST + " (on_empty: Error)"),
    (NO_REQUEST, {}, [NAN], ERROR, NO_REQUEST + " (on_nan: Error)"),
    # Policies the caller sets still decide.
    (NO_REQUEST, {"on_nan": FAILED}, [NAN], FAILED, NO_REQUEST + " (on_nan: Failed)"),
    (NO_REQUEST, {"on_empty": INCONCLUSIVE}, [], INCONCLUSIVE, NO_REQUEST + " (on_empty: Inconclusive)"),
    (None, {"on_nan": ERROR}, [NAN], ERROR, "the value is NaN (on_nan: Error)"),
])
def test_a_result_without_a_value_is_named_by_what_it_means(no_data, policy, answer, phase, message):
    result = run(Metric("m", Scripted(answer), success=at_least(0.95), consecutive_error_limit=0, no_data=no_data,
                        **policy))
    measurement = result["metrics"][0]["measurements"][0]
    assert (measurement["phase"], measurement["message"]) == (phase, message)
    assert "NaN" not in measurement["message"] or no_data is None


@pytest.mark.parametrize("answers, verdict, measurements, sleeps, message", [
    # The first windows hold no request yet: measured again at the interval, not counted.
    ([[], [NAN], [0.99]], SUCCESSFUL, [ERROR, ERROR, SUCCESSFUL], [2, 2],
     "all 1 measurements taken; the last measured 0.99 (success: min 0.95)"),
    # Requests arrive and fail: the first real value decides.
    ([[NAN], [0.5]], FAILED, [ERROR, FAILED], [2],
     "1 failed measurements, more than failure_limit 0: measured 0.5 (success: min 0.95)"),
    # No request ever: Error once the consecutive errors exceed the limit (fail-safe).
    ([[NAN]], ERROR, [ERROR] * 5, [2] * 4,
     "5 consecutive errors, more than consecutive_error_limit 4; last: " + NO_REQUEST + " (on_nan: Error)"),
])
def test_a_template_gate_waits_for_the_first_request_up_to_its_error_limit(answers, verdict, measurements, sleeps,
                                                                           message):
    provider = Scripted(*answers)
    result, clock = run_timed(Metric("m", provider, success=at_least(0.95), interval=2, count=1, no_data=NO_REQUEST))
    metric = result["metrics"][0]
    assert (result["verdict"], [m["phase"] for m in metric["measurements"]]) == (verdict, measurements)
    assert clock.sleeps == sleeps and metric["message"] == message
    assert metric["counts"]["error"] == measurements.count(ERROR)


@pytest.mark.parametrize("template, args, no_data", [
    ("app_success_rate", {"namespace": "shop", "service": "web", "version": "2.0", "window": "30s"},
     "no request reached shop/web version 2.0 in the last 30s"),
    ("istio_latency_p99", {"namespace": "shop", "service": "web-canary"},
     "no request reached shop/web-canary in the last 1m"),
    ("nginx_success_rate", {"namespace": "shop", "service": "web-canary", "window": "10s"},
     "no request reached shop/web-canary in the last 10s"),
])
def test_a_template_names_the_service_version_and_window_no_request_reached(template, args, no_data):
    metric = build_gate({"prometheus": PROMETHEUS, "metrics": [
        {"name": "m", "template": template, "template_args": args}]}).metrics[0]
    assert (metric.no_data, metric.on_empty, metric.on_nan) == (no_data, ERROR, ERROR)
    told = build_gate({"prometheus": PROMETHEUS, "metrics": [
        {"name": "m", "template": template, "template_args": args, "on_nan": FAILED}]}).metrics[0]
    assert told.on_nan == FAILED
    own = build_gate({"prometheus": PROMETHEUS, "metrics": [{"name": "m", "query": "up"}]}).metrics[0]
    assert (own.no_data, own.on_nan) == (None, FAILED)


def test_count_interval_and_initial_delay_schedule():
    provider = Scripted([1.0])
    result, clock = run_timed(Metric("m", provider, success=at_least(1), interval=5, count=3, initial_delay=2))
    assert result["verdict"] == SUCCESSFUL and provider.calls == 3
    assert clock.sleeps == [2, 5, 5]
    assert result["metrics"][0]["counts"] == {"successful": 3, "failed": 0, "inconclusive": 0, "error": 0}


def test_failure_limit_allows_that_many_failures():
    provider = Scripted([0.5], [0.5], [1.0])
    result = run(Metric("m", provider, success=at_least(1), interval=1, count=3, failure_limit=1))
    assert result["verdict"] == FAILED and provider.calls == 2  # stops once decided
    assert "2 failed measurements, more than failure_limit 1" in result["metrics"][0]["message"]
    provider = Scripted([0.5], [1.0], [1.0])
    assert run(Metric("m", provider, success=at_least(1), interval=1, count=3, failure_limit=1))["verdict"] == SUCCESSFUL


def test_inconclusive_limit():
    both = dict(success=at_least(0.9), failure=Condition("failure", maximum=0.1))
    result = run(Metric("m", Scripted([0.5]), interval=1, count=3, inconclusive_limit=1, **both))
    assert result["verdict"] == INCONCLUSIVE and result["metrics"][0]["counts"]["inconclusive"] == 2


@pytest.mark.parametrize("schedule, retried_after", [
    ({"interval": 2, "count": 3}, 2),  # at the interval, as Argo Rollouts measures again after an error
    ({"interval": 2, "count": 3, "error_retry_interval": 5}, 5),
    ({}, 10),  # one measurement, no interval: Argo Rollouts' DefaultErrorRetryInterval
])
def test_an_error_is_measured_again_after_error_retry_interval(schedule, retried_after):
    assert Metric("m", Scripted([1.0]), success=at_least(1), **schedule).error_retry_interval == retried_after


def test_errors_are_retried_not_counted_and_limited():
    provider = Scripted(ProviderError("down"), ProviderError("down"), [1.0], [1.0])
    result, clock = run_timed(Metric("m", provider, success=at_least(1), interval=1, count=2, error_retry_interval=3))
    assert result["verdict"] == SUCCESSFUL and provider.calls == 4
    assert clock.sleeps == [3, 3, 1]
    assert result["metrics"][0]["counts"] == {"successful": 2, "failed": 0, "inconclusive": 0, "error": 2}

    provider = Scripted(ProviderError("connection refused"))
    result = run(Metric("m", provider, success=at_least(1)))
    assert result["verdict"] == ERROR and provider.calls == 5  # consecutive_error_limit 4: the 5th error decides
    assert "connection refused" in result["message"]


def test_a_fatal_error_is_not_retried():
    provider = Scripted(ProviderError("bad query", fatal=True))
    result = run(Metric("m", provider, success=at_least(1), count=3, interval=1))
    assert result["verdict"] == ERROR and provider.calls == 1 and "not retried" in result["message"]


def test_consecutive_success_limit_ends_early():
    provider = Scripted([1.0])
    result = run(Metric("m", provider, success=at_least(1), interval=1, count=10, consecutive_success_limit=2))
    assert result["verdict"] == SUCCESSFUL and provider.calls == 2


def test_dry_run_metrics_never_decide():
    result = run(Metric("real", Scripted([1.0]), success=at_least(1)),
                 Metric("dry", Scripted([0.0]), success=at_least(1), dry_run=True))
    assert result["verdict"] == SUCCESSFUL
    assert [m["verdict"] for m in result["metrics"]] == [SUCCESSFUL, FAILED]
    assert result["metrics"][1]["dry_run"] is True


def test_worst_metric_wins_and_measuring_stops_once_decided():
    slow = Scripted([1.0])
    result = run(Metric("slow", slow, success=at_least(1), interval=10, count=5),
                 Metric("bad", Scripted([0.0]), success=at_least(1), initial_delay=15))
    assert result["verdict"] == FAILED
    assert [m["verdict"] for m in result["metrics"]] == [STOPPED, FAILED]
    assert slow.calls == 2  # at 0 and 10; the gate was decided at 15


def test_max_duration_bounds_an_interval_without_count():
    provider = Scripted([1.0])
    result, clock = run_timed(Metric("m", provider, success=at_least(1), interval=10, until_deadline=True),
                              max_duration=35)
    assert result["verdict"] == SUCCESSFUL and provider.calls == 4 and clock.now - 1000 == 30
    errors = Scripted([1.0], ProviderError("timed out"))
    result = run(Metric("m", errors, success=at_least(1), interval=10, until_deadline=True), max_duration=15)
    assert result["verdict"] == ERROR  # never Successful when measuring ended in errors


def test_max_duration_before_the_count_is_reached_is_inconclusive():
    result = run(Metric("m", Scripted([1.0]), success=at_least(1), interval=10, count=5), max_duration=25)
    assert result["verdict"] == INCONCLUSIVE
    assert result["metrics"][0]["message"] == "max_duration 25s reached after 3 of 5 measurements"


def test_an_expression_that_cannot_be_evaluated_is_an_error():
    metric = Metric("m", Scripted([1.0]), success=Condition("s", expression="result.nothing > 1"),
                    consecutive_error_limit=0)
    result = run(metric)
    assert result["verdict"] == ERROR and "cannot evaluate" in result["message"]


def test_expressions_are_sandboxed():
    condition = Condition("s", expression="result.__class__.__mro__[1].__subclasses__()")
    result = run(Metric("m", Scripted([1.0]), success=condition, consecutive_error_limit=0))
    assert result["verdict"] == ERROR


@pytest.mark.parametrize("kwargs, message", [
    (dict(count=3), "metrics[0].count is 3 but no interval"),
    (dict(interval=5), "metrics[0].interval without count"),
    (dict(series="median"), "metrics[0].series must be one of"),
    (dict(on_nan="ignore"), "metrics[0].on_nan must be one of"),
    (dict(interval=0, count=2), "metrics[0].interval must be more than 0"),
    (dict(failure_limit=-1), "metrics[0].failure_limit must be 0 or more"),
])
def test_bad_schedule_is_rejected(kwargs, message):
    with pytest.raises(GateConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Metric("m", Scripted([1.0]), path="metrics[0]", **kwargs)


def test_bad_conditions_are_rejected():
    with pytest.raises(GateConfigError, match="min 2.0 greater than max 1.0"):
        Condition("metrics[0].success", 2.0, 1.0)
    with pytest.raises(GateConfigError, match=r"metrics\[0\].success.expression is not a valid expression"):
        Condition("metrics[0].success", expression="result >")
    with pytest.raises(GateConfigError, match="unrendered template"):
        Condition("metrics[0].success", expression="result > {{ threshold }}")


PROMETHEUS = {"url": "http://127.0.0.1:9"}


@pytest.mark.parametrize("metric, message", [
    ({"name": "m", "query": "up{job=\"{{ job }}\"}"}, r"metrics\[0\].query looks like an unrendered template"),
    ({"name": "m", "provider": "graphite", "query": "x"}, r"metrics\[0\].provider must be one of"),
    ({"name": "m", "query": "x", "success": {"min": 3, "max": 1}}, "min 3 greater than max 1"),
    ({"name": "m", "provider": "web", "web": {"url": "http://x", "jmespath": "a[?"}},
     r"metrics\[0\].web.jmespath is not a valid JMESPath"),
    ({"name": "m", "template": "app_success_rate", "template_args": {"namespace": "n"}},
     r"template_args.service is required"),
    ({"name": "m", "template": "nginx_success_rate",
      "template_args": {"namespace": "n", "service": "s", "version": "2"}}, "ingress-nginx exports no version"),
    ({"name": "m", "provider": "web", "query": "x", "web": {"url": "http://x", "jmespath": "a"}},
     "belong to the prometheus provider"),
    ({"name": "m", "provider": "http_probe"}, r"metrics\[0\].http_probe is required"),
    ({"name": "m", "provider": "web", "web": {"url": "ftp://x", "jmespath": "a"}}, "must be an http"),
])
def test_build_gate_rejects_bad_input_before_any_query(metric, message):
    with pytest.raises(GateConfigError, match=message):
        build_gate({"prometheus": PROMETHEUS, "metrics": [metric]})


def test_build_gate_needs_a_prometheus_url_and_unique_names():
    with pytest.raises(GateConfigError, match=r"prometheus.url is required by metrics\[0\]"):
        build_gate({"metrics": [{"name": "m", "query": "up"}]})
    with pytest.raises(GateConfigError, match="repeated: m"):
        build_gate({"prometheus": PROMETHEUS, "metrics": [{"name": "m", "query": "up"}] * 2})


def test_templates_render_with_escaped_labels_and_seed_thresholds():
    gate = build_gate({"prometheus": PROMETHEUS, "metrics": [
        {"name": "sr", "template": "istio_success_rate",
         "template_args": {"namespace": "shop", "service": 'web"x', "version": "2.0", "window": "30s"}},
        {"name": "p99", "template": "app_latency_p99", "template_args": {"namespace": "shop", "service": "web"}}]})
    rate, latency = gate.metrics
    assert rate.provider.query == (
        '1 - (sum(rate(istio_requests_total{reporter="destination",destination_service_namespace="shop",'
        'destination_service_name="web\\"x",destination_version="2.0",response_code=~"5.."}[30s])) or vector(0)) / '
        'sum(rate(istio_requests_total{reporter="destination",destination_service_namespace="shop",'
        'destination_service_name="web\\"x",destination_version="2.0"}[30s]))')
    assert rate.success.minimum == 0.95 and latency.success.maximum == 2.0
    assert latency.provider.query == ('histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket'
                                      '{namespace="shop",service="web"}[1m])))')
    assert math.isclose(rate.success.minimum, 0.95)


@pytest.mark.parametrize("values, conditions, message", [
    ([[0.47]], dict(success=at_least(0.95)),
     "1 failed measurements, more than failure_limit 0: measured 0.47 (success: min 0.95)"),
    ([[0.99]], dict(success=at_least(0.95)), "all 1 measurements taken; the last measured 0.99 (success: min 0.95)"),
    ([[2.5]], dict(failure=Condition("failure", maximum=3, expression="result > 2")),
     "1 failed measurements, more than failure_limit 0: measured 2.5 (failure: max 3 and result > 2)"),
    ([[0.5]], dict(success=at_least(0.9), failure=Condition("failure", maximum=0.1)),
     "1 inconclusive measurements, more than inconclusive_limit 0: measured 0.5 (success: min 0.9; failure: max 0.1)"),
])
def test_a_verdict_names_the_value_measured_and_the_condition(values, conditions, message):
    result = run(Metric("m", Scripted(*values), **conditions))
    assert result["metrics"][0]["message"] == message
    assert result["message"].endswith("m: " + message)
