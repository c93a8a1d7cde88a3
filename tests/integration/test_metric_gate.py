"""metric_gate against the real Prometheus of the local cluster, and a local stub server for the
faults and TLS that a healthy Prometheus does not produce on demand."""

import json
import time

import pytest

from conftest import run_module
from stub_http import Stub, prometheus_vector

FAST_RETRY = {"error_retry_interval": 0.2}


def answer(status, body, delay=0):
    """A stub route that always answers the same, after an optional delay."""
    def route(stub, handler, request_body):
        time.sleep(delay)
        return status, body
    return route


def gate(cluster, *metrics, check=False, **options):
    args = dict({"prometheus": {"url": cluster["prometheus_url"]}, "metrics": list(metrics)}, **options)
    return run_module(cluster, "metric_gate", args, check=check)


def only_metric(result):
    assert len(result["metrics"]) == 1, result
    return result["metrics"][0]


def test_a_value_in_range_succeeds_in_check_mode_too(cluster):
    metric = {"name": "success-rate", "query": "vector(0.99)", "success": {"min": 0.95}}
    for check in (False, True):
        result = gate(cluster, metric, check=check)
        assert not result.get("failed"), result
        assert result["verdict"] == "Successful" and result["changed"] is False
        measurement = only_metric(result)["measurements"][0]
        assert measurement["value"] == 0.99 and measurement["phase"] == "Successful"
        assert measurement["started_at"].endswith("Z")


def test_a_value_out_of_range_fails_the_task_unless_told_not_to(cluster):
    metric = {"name": "success-rate", "query": "vector(0.5)", "success": {"min": 0.95}}
    result = gate(cluster, metric)
    assert result["failed"] and result["verdict"] == "Failed"
    assert result["msg"] == ("metric gate Failed: success-rate: 1 failed measurements, more than failure_limit 0: "
                             "measured 0.5 (success: min 0.95)")
    result = gate(cluster, metric, fail_on_verdict=False)
    assert not result.get("failed") and result["verdict"] == "Failed" and result["changed"] is False


def test_nan_follows_on_nan_and_infinity_is_a_value(cluster):
    nan = gate(cluster, {"name": "nan", "query": "0/0", "success": {"min": 0.95}}, fail_on_verdict=False)
    assert nan["verdict"] == "Failed"
    assert only_metric(nan)["measurements"][0]["value"] == "NaN"
    assert "NaN (on_nan: Failed)" in only_metric(nan)["measurements"][0]["message"]
    told = gate(cluster, {"name": "nan", "query": "0/0", "success": {"min": 0.95}, "on_nan": "Inconclusive"},
                fail_on_verdict=False)
    assert told["verdict"] == "Inconclusive"
    infinite = gate(cluster, {"name": "inf", "query": "vector(1)/0", "success": {"max": 2}}, fail_on_verdict=False)
    assert infinite["verdict"] == "Failed" and only_metric(infinite)["measurements"][0]["value"] == "+Inf"


def test_an_absent_metric_is_an_error_retried_then_reported_or_the_on_empty_phase(cluster):
    absent = {"name": "absent", "query": "metric_gate_test_nonexistent_metric", "success": {"min": 1},
              "consecutive_error_limit": 2, **FAST_RETRY}
    result = gate(cluster, absent, fail_on_verdict=False)
    assert result["verdict"] == "Error"
    assert only_metric(result)["counts"]["error"] == 3  # the limit 2 is exceeded by the third
    assert "no series returned (on_empty: Error)" in result["message"]
    result = gate(cluster, dict(absent, on_empty="Inconclusive"), fail_on_verdict=False)
    assert result["verdict"] == "Inconclusive"


TWO_SERIES = ('label_replace(vector(0.9), "pod", "a", "", "") or '
              'label_replace(vector(0.99), "pod", "b", "", "")')


@pytest.mark.parametrize("series, verdict, value", [
    ("first", "Failed", 0.9), ("each", "Failed", 0.9), ("any", "Successful", 0.99),
    ("min", "Failed", 0.9), ("max", "Successful", 0.99), ("avg", "Successful", 0.945),
])
def test_several_series_follow_the_series_policy_and_keep_labels(cluster, series, verdict, value):
    result = gate(cluster, {"name": "pods", "query": TWO_SERIES, "series": series, "success": {"min": 0.94}},
                  fail_on_verdict=False)
    measurement = only_metric(result)["measurements"][0]
    assert result["verdict"] == verdict
    assert measurement["value"] == pytest.approx(value)
    assert sorted(s["labels"]["pod"] for s in measurement["series"]) == ["a", "b"]


def test_a_bad_query_is_an_error_at_once_not_retried(cluster):
    result = gate(cluster, {"name": "bad", "query": "foo((", "success": {"min": 1}, "count": 3, "interval": 1})
    assert result["failed"] and result["verdict"] == "Error"
    assert only_metric(result)["counts"]["error"] == 1
    assert "Prometheus rejected the query 'foo(('" in result["msg"] and "(not retried)" in result["msg"]


def test_a_string_result_is_an_error_never_successful(cluster):
    result = gate(cluster, {"name": "text", "query": '"up"', "success": {"expression": "true"},
                            "consecutive_error_limit": 0}, fail_on_verdict=False)
    assert result["verdict"] == "Error" and "string result, not a number" in result["message"]


def test_range_queries_scalars_and_expressions(cluster):
    result = gate(cluster,
                  {"name": "range", "query": "vector(2)", "query_range": {"duration": 5, "step": 1},
                   "series": "each", "success": {"min": 2, "max": 2}},
                  {"name": "scalar", "query": "3", "success": {"expression": "result == 3"}},
                  {"name": "labels", "query": TWO_SERIES, "series": "each",
                   "success": {"expression": "result > 0.95 or labels.pod == 'a'"}})
    assert not result.get("failed"), result
    points = result["metrics"][0]["measurements"][0]["series"]
    assert len(points) == 6 and all(p["value"] == 2.0 and p["time"] for p in points)


def test_count_interval_initial_delay_and_worst_verdict(cluster):
    started = time.monotonic()
    result = gate(cluster,
                  {"name": "good", "query": "vector(1)", "success": {"min": 1}, "count": 3, "interval": 1},
                  {"name": "dry", "query": "vector(0)", "success": {"min": 1}, "dry_run": True},
                  {"name": "flaky", "query": "vector(0.5)", "success": {"min": 1}, "initial_delay": 1.5,
                   "failure_limit": 1, "count": 3, "interval": 1})
    assert result["failed"] and result["verdict"] == "Failed"
    good, dry, flaky = result["metrics"]
    assert dry["verdict"] == "Failed" and dry["dry_run"]  # measured, but never decides
    assert flaky["counts"]["failed"] == 2 and good["verdict"] in ("Successful", "Stopped")
    assert 2.5 <= result["duration"] < time.monotonic() - started


@pytest.mark.parametrize("metric, message", [
    # What a value Ansible does not template (for example one marked !unsafe) can carry.
    ({"query": "up{job=\"{% raw %}{{ job }}{% endraw %}\"}"}, "metrics[0].query looks like an unrendered template"),
    ({"query": "up", "count": 3}, "metrics[0].count is 3 but no interval is set"),
    ({"query": "up", "success": {"min": 2, "max": 1}}, "metrics[0].success has min 2.0 greater than max 1.0"),
    ({"provider": "web", "web": {"url": "http://127.0.0.1:1/", "jmespath": "data[?"}},
     "metrics[0].web.jmespath is not a valid JMESPath expression"),
    ({"query": "up", "success": {"expression": "result >"}}, "metrics[0].success.expression is not a valid"),
    ({"provider": "kayenta", "query": "up"}, "value of provider must be one of"),
])
def test_bad_input_fails_before_any_query(cluster, metric, message):
    stub = Stub({"/": answer(200, prometheus_vector(1))})
    try:
        result = run_module(cluster, "metric_gate", {"prometheus": {"url": stub.url},
                                                     "metrics": [dict({"name": "m"}, **metric)]})
    finally:
        stub.close()
    assert result["failed"] and message in result["msg"], result
    assert stub.requests == []


def test_prometheus_faults_are_errors_with_the_reason(cluster):
    routes = {
        "/down503/": answer(503, {"status": "error", "errorType": "unavailable", "error": "overloaded"}),
        "/slow/": answer(200, prometheus_vector(1), delay=3),
        "/html/": answer(200, b"<html>maintenance</html>"),
        "/string/": answer(200, {"status": "success", "data": {"resultType": "string", "result": [1, "ok"]}}),
    }
    stub = Stub(routes)
    try:
        for prefix, reason in (("/down503", "Prometheus answered HTTP 503 (unavailable): overloaded"),
                               ("/slow", "timed out"),
                               ("/html", "a body that is not JSON: b'<html>maintenance</html>'"),
                               ("/string", "string result, not a number")):
            result = run_module(cluster, "metric_gate", {
                "prometheus": {"url": stub.url + prefix, "timeout": 0.5}, "fail_on_verdict": False,
                "metrics": [{"name": "m", "query": "up", "success": {"expression": "true"},
                             "consecutive_error_limit": 1, **FAST_RETRY}]})
            assert result["verdict"] == "Error", (prefix, result)
            assert reason in result["message"], (prefix, result["message"])
            assert len(stub.calls(prefix)) == 2, prefix  # retried once, then over the limit
        # Nothing listening at all.
        result = run_module(cluster, "metric_gate", {
            "prometheus": {"url": "http://127.0.0.1:9"}, "fail_on_verdict": False,
            "metrics": [{"name": "m", "query": "up", "success": {"min": 0}, "consecutive_error_limit": 0}]})
        assert result["verdict"] == "Error" and "Connection refused" in result["message"]
    finally:
        stub.close()


def test_secrets_reach_the_server_but_never_the_report(cluster):
    stub = Stub({"/": answer(200, prometheus_vector(1))})
    try:
        token = run_module(cluster, "metric_gate", {
            "prometheus": {"url": stub.url, "bearer_token": "s3cr3t-token",
                           "secret_headers": {"X-Scope-OrgID": "tenant-secret"}, "headers": {"X-Plain": "yes"}},
            "metrics": [{"name": "m", "query": "up", "success": {"min": 1}}]})
        basic = run_module(cluster, "metric_gate", {
            "prometheus": {"url": stub.url, "username": "gate", "password": "pa55-word-x"},
            "metrics": [{"name": "m", "query": "up", "success": {"min": 1}}]})
    finally:
        stub.close()
    assert not token.get("failed") and not basic.get("failed"), (token, basic)
    first, second = ({k.lower(): v for k, v in r["headers"].items()} for r in stub.requests)
    assert first["authorization"] == "Bearer s3cr3t-token"
    assert first["x-scope-orgid"] == "tenant-secret" and first["x-plain"] == "yes"
    assert second["authorization"].startswith("Basic ")
    report = json.dumps([token, basic])
    for secret in ("s3cr3t-token", "tenant-secret", "pa55-word-x"):
        assert secret not in report


def test_tls_is_verified_by_default_with_a_ca_option(cluster):
    stub = Stub({"/": answer(200, prometheus_vector(1))}, tls=True)
    metric = {"name": "m", "query": "up", "success": {"min": 1}, "consecutive_error_limit": 0}
    try:
        untrusted = run_module(cluster, "metric_gate", {"prometheus": {"url": stub.url}, "metrics": [metric],
                                                        "fail_on_verdict": False})
        trusted = run_module(cluster, "metric_gate", {"prometheus": {"url": stub.url, "ca_path": stub.ca_path},
                                                      "metrics": [metric]})
        unverified = run_module(cluster, "metric_gate", {
            "prometheus": {"url": stub.url, "validate_certs": False}, "metrics": [metric]})
    finally:
        stub.close()
    assert untrusted["verdict"] == "Error" and "CERTIFICATE_VERIFY_FAILED" in untrusted["message"]
    assert trusted["verdict"] == "Successful" and unverified["verdict"] == "Successful"


def test_web_provider_picks_values_with_jmespath(cluster):
    queues = {"queues": [{"name": "cards", "depth": 7}, {"name": "other", "depth": 900}]}
    stub = Stub({"/stats": answer(200, queues)})
    try:
        result = run_module(cluster, "metric_gate", {"metrics": [
            {"name": "depth", "provider": "web", "success": {"max": 100},
             "web": {"url": stub.url + "/stats", "method": "POST", "body": {"since": "5m"},
                     "headers": {"X-Team": "cards"}, "jmespath": "queues[?name=='cards'].depth | [0]"}},
            {"name": "all", "provider": "web", "series": "each", "success": {"max": 100},
             "web": {"url": stub.url + "/stats", "jmespath": "queues[].depth"}}], "fail_on_verdict": False})
    finally:
        stub.close()
    depth, every = result["metrics"]
    assert depth["verdict"] == "Successful" and depth["measurements"][0]["value"] == 7.0
    assert every["verdict"] == "Failed"
    assert every["measurements"][0]["series"][1] == {"labels": {"index": "1"}, "value": 900.0}
    assert stub.requests[0]["method"] == "POST" and json.loads(stub.requests[0]["body"]) == {"since": "5m"}
    assert {k.lower(): v for k, v in stub.requests[0]["headers"].items()}["x-team"] == "cards"


def _every_fourth_fails(stub, handler, body):
    time.sleep(0.05)
    return (500, b"boom") if handler.number % 4 == 0 else (200, b"ok")


def test_http_probe_measures_success_rate_and_latency_at_a_set_concurrency(cluster):
    stub = Stub({"/health": _every_fourth_fails})
    probe = {"url": stub.url + "/health", "requests": 40, "concurrency": 4}
    try:
        result = run_module(cluster, "metric_gate", {"fail_on_verdict": False, "metrics": [
            {"name": "smoke", "provider": "http_probe", "http_probe": probe,
             "success": {"expression": "result >= 0.7 and details.p99 < 5"}},
            {"name": "strict", "provider": "http_probe", "http_probe": dict(probe, statistic="error_rate"),
             "failure": {"min": 0.01}}]})
    finally:
        stub.close()
    smoke, strict = result["metrics"]
    details = smoke["measurements"][0]["details"]
    assert smoke["verdict"] == "Successful", smoke
    assert strict["verdict"] == "Failed"
    assert details["requests"] == 40 and details["failures"] == 10 and details["success_rate"] == 0.75
    assert 0.05 <= details["p50"] <= details["p95"] <= details["p99"] < 5
    assert details["failure_reasons"] == ["HTTP 500"]
    assert len(stub.requests) == 80 and stub.max_in_flight == 4


def test_http_probe_over_tls_counts_refused_connections_as_failures(cluster):
    stub = Stub({"/": answer(200, b"ok")}, tls=True)
    try:
        result = run_module(cluster, "metric_gate", {"metrics": [
            {"name": "tls", "provider": "http_probe", "success": {"min": 1},
             "http_probe": {"url": stub.url + "/", "requests": 5, "ca_path": stub.ca_path}},
            {"name": "down", "provider": "http_probe", "success": {"min": 1},
             "http_probe": {"url": "http://127.0.0.1:9/", "requests": 3}}], "fail_on_verdict": False})
    finally:
        stub.close()
    tls, down = result["metrics"]
    assert tls["verdict"] == "Successful" and tls["measurements"][0]["details"]["successes"] == 5
    assert down["verdict"] == "Failed" and down["measurements"][0]["value"] == 0.0
    assert "Connection refused" in down["measurements"][0]["details"]["failure_reasons"][0]
