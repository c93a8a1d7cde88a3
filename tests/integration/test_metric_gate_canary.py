"""metric_gate end to end: simulated users' traffic split between a stable version and a canary,
measured by the real Prometheus, judged by the built-in templates and the canary judge."""

import threading
from contextlib import closing

import pytest
from kubernetes import client

from conftest import prometheus_query, run_module, wait_for
from in_process import run_in_process
from objects import APP, VERSION, deployment, rolled_out, service
from prometheus_proxy import PrometheusProxy

BAD = {"simulator.terragonlabs.io/error-rate": "0.5"}
REQUESTS_PER_SECOND = "simulator.terragonlabs.io/requests-per-second"
# The first rates need two scrapes after traffic starts: until then a window holds no series
# (empty) or one whose counter has not moved yet (0/0, NaN). Retry both meanwhile.
WAIT_FOR_DATA = {"on_empty": "Error", "on_nan": "Error", "error_retry_interval": 1,
                 "consecutive_error_limit": 40, "count": 2, "interval": 2}


def virtual_service(name, stable, canary):
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name},
            "spec": {"hosts": [stable], "http": [{"name": "primary", "route": [
                {"destination": {"host": stable}, "weight": 50},
                {"destination": {"host": canary}, "weight": 50}]}]}}


def nginx_ingresses(stable, canary):
    def ingress(name, backend, annotations):
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": name, "annotations": annotations},
                "spec": {"ingressClassName": "nginx", "rules": [{"host": "shop.example", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix",
                     "backend": {"service": {"name": backend, "port": {"number": 80}}}}]}}]}}
    return [ingress(stable, stable, {}),
            ingress(canary, canary, {"nginx.ingress.kubernetes.io/canary": "true",
                                     "nginx.ingress.kubernetes.io/canary-weight": "50"})]


def release(api_client, namespace, canary_annotations, router):
    """Stable 1.0 behind Service shop, canary 2.0 behind shop-canary, half the traffic each."""
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    custom, networking = client.CustomObjectsApi(api_client), client.NetworkingV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("shop", "shop", "1.0", replicas=2))
    apps.create_namespaced_deployment(namespace, deployment("shop-canary", "shop", "2.0", replicas=2,
                                                            annotations=canary_annotations))
    core.create_namespaced_service(namespace, service("shop", {APP: "shop", VERSION: "1.0"}))
    core.create_namespaced_service(namespace, service("shop-canary", {APP: "shop", VERSION: "2.0"}))
    if router == "istio":
        custom.create_namespaced_custom_object("networking.istio.io", "v1", namespace, "virtualservices",
                                               virtual_service("shop", "shop", "shop-canary"))
    else:
        for body in nginx_ingresses("shop", "shop-canary"):
            networking.create_namespaced_ingress(namespace, body)
    for name in ("shop", "shop-canary"):
        wait_for(lambda name=name: rolled_out(apps, namespace, name, 2), 60, "%s to roll out" % name)


def canary_gate(cluster, namespace, template_source):
    """The gate a canary release runs."""
    args = {"namespace": namespace, "service": "shop-canary", "window": "10s"}
    if template_source != "nginx":
        args["version"] = "2.0"
    errors = ('(sum(rate(http_requests_total{namespace="%s",service="%s",status=~"5.."}[5s])) or vector(0))'
              ' / sum(rate(http_requests_total{namespace="%s",service="%s"}[5s]))')
    return run_module(cluster, "metric_gate", {
        "prometheus": {"url": cluster["prometheus_url"]}, "fail_on_verdict": False, "max_duration": 120,
        "metrics": [
            dict({"name": "success-rate", "template": "%s_success_rate" % template_source,
                  "template_args": args}, **WAIT_FOR_DATA),
            dict({"name": "latency", "template": "%s_latency_p99" % template_source,
                  "template_args": args}, **WAIT_FOR_DATA),
            dict({"name": "plain-success-rate", "template": "app_success_rate",
                  "template_args": {"namespace": namespace, "service": "shop-canary", "window": "10s"}},
                 **WAIT_FOR_DATA),
            dict({"name": "judge", "provider": "compare", "initial_delay": 8, "compare": {
                "window": 15, "step": 1, "metrics": [{
                    "name": "error-ratio", "critical": True,
                    "canary_query": errors % (namespace, "shop-canary", namespace, "shop-canary"),
                    "baseline_query": errors % (namespace, "shop", namespace, "shop")}]}},
                 **dict(WAIT_FOR_DATA, count=1, interval=None)),
        ]})


@pytest.mark.parametrize("router", ["istio", "nginx"])
def test_a_bad_canary_fails_the_success_rate_gate(api_client, cluster, namespace, router):
    release(api_client, namespace, BAD, router)
    result = canary_gate(cluster, namespace, router)
    assert result["verdict"] == "Failed", result
    verdicts = {m["name"]: m for m in result["metrics"]}
    failed = [name for name, m in verdicts.items() if m["verdict"] == "Failed"]
    assert failed and set(failed) <= {"success-rate", "plain-success-rate", "judge"}
    success_rate = verdicts["success-rate"]
    if success_rate["verdict"] == "Failed":
        values = [m["value"] for m in success_rate["measurements"] if m["phase"] == "Failed"]
        assert values and values[0] == pytest.approx(0.5, abs=0.05), success_rate["measurements"]


@pytest.mark.parametrize("router", ["istio", "nginx"])
def test_a_good_canary_passes(api_client, cluster, namespace, router):
    release(api_client, namespace, {}, router)
    result = canary_gate(cluster, namespace, router)
    assert not result.get("failed") and result["verdict"] == "Successful", result["message"]
    by_name = {m["name"]: m for m in result["metrics"]}
    success_rate = by_name["success-rate"]
    assert [m["value"] for m in success_rate["measurements"] if m["phase"] == "Successful"] == [1.0, 1.0]
    latency = [m["value"] for m in by_name["latency"]["measurements"] if m["phase"] == "Successful"]
    assert len(latency) == 2 and all(0 < v < 2 for v in latency)
    judged = [m for m in by_name["judge"]["measurements"] if m["phase"] == "Successful"][0]["details"]
    assert judged["judgement"] == "Pass" and judged["metrics"][0]["classification"] == "Pass"


def test_the_judge_tells_samples_that_differ_from_samples_that_match(cluster):
    """Range queries of PromQL literals: the same series for both sides, or one shifted by 20."""
    def compare(canary_query):
        return {"name": "judge-%d" % len(canary_query), "provider": "compare", "compare": {
            "window": 60, "step": 1, "metrics": [
                {"name": "m", "canary_query": canary_query, "baseline_query": "vector(time() % 10)"}]}}
    result = run_module(cluster, "metric_gate", {
        "prometheus": {"url": cluster["prometheus_url"]}, "fail_on_verdict": False,
        "metrics": [compare("vector(time() % 10)"), compare("vector(time() % 10 + 20)")]})
    same, shifted = result["metrics"]
    assert same["verdict"] == "Successful"
    assert same["measurements"][0]["details"]["metrics"][0]["p_value"] == pytest.approx(1.0, abs=0.1)
    assert shifted["verdict"] == "Failed"
    details = shifted["measurements"][0]["details"]
    assert details["score"] == 0.0 and details["metrics"][0]["classification"] == "High"
    assert details["metrics"][0]["shift"] == 20.0 and details["metrics"][0]["baseline_count"] == 61


def test_a_template_gate_whose_window_no_request_reached_waits_for_the_first_ones_and_passes(
        api_client, cluster, namespace):
    """The preview's pod is up and its counters are exported, but no request reaches it (0 per
    second): the success rate over the window is 0/0. That is no value to judge: the measurement is
    an error, measured again at the interval and not counted, and once requests arrive the gate's
    one measurement is taken and passes. A proxy in front of Prometheus tells when the gate has
    measured; requests start only then."""
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("shop-green", "shop", "2.0", replicas=1))
    preview = service("shop-preview", {APP: "shop", VERSION: "2.0"})
    preview["metadata"]["annotations"] = {REQUESTS_PER_SECOND: "0"}
    core.create_namespaced_service(namespace, preview)
    wait_for(lambda: rolled_out(apps, namespace, "shop-green", 1), 60, "shop-green to roll out")
    requests = f'sum(rate(http_requests_total{{namespace="{namespace}",service="shop-preview"}}[5s]))'
    wait_for(lambda: [value for _labels, value in prometheus_query(cluster["prometheus_url"], requests)
                      if value == 0], 60, "the preview's counters, not moving, in Prometheus")

    def send_requests_once_measured():
        wait_for(lambda: prometheus.queries >= 1, 60, "the gate's first measurement")
        core.patch_namespaced_service("shop-preview", namespace,
                                      {"metadata": {"annotations": {REQUESTS_PER_SECOND: "10"}}})

    with closing(PrometheusProxy(cluster["prometheus_url"])) as prometheus:
        sender = threading.Thread(target=send_requests_once_measured, daemon=True)
        sender.start()
        result = run_in_process("metric_gate", {"prometheus": {"url": prometheus.url}, "metrics": [{
            "name": "success-rate", "template": "app_success_rate", "interval": 1, "count": 1,
            "error_retry_interval": 1, "consecutive_error_limit": 30,
            "template_args": {"namespace": namespace, "service": "shop-preview", "version": "2.0", "window": "5s"}}]})
        sender.join()
    assert result["verdict"] == "Successful", result
    measurements = result["metrics"][0]["measurements"]
    first, last = measurements[0], measurements[-1]
    assert (first["phase"], first["value"]) == ("Error", "NaN")
    assert first["message"] == f"no request reached {namespace}/shop-preview version 2.0 in the last 5s (on_nan: Error)"
    assert {m["phase"] for m in measurements[:-1]} == {"Error"}
    assert (last["phase"], last["value"]) == ("Successful", 1.0)
    assert result["metrics"][0]["counts"] == {"successful": 1, "failed": 0, "inconclusive": 0,
                                              "error": len(measurements) - 1}
