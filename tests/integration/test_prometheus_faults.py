"""Prometheus failing mid-analysis: a proxy in front of the real Prometheus turns, after the first
measurement (or before the gate), into connection refused, a server slower than the timeout, HTTP
500s or empty results. The gate ends Error or Inconclusive as its policy says, never Successful, and
a blue-green release whose gate meets the fault aborts with traffic on the old color."""

import json

import pytest
from kubernetes import client

from conftest import prometheus_query, run_playbook
from in_process import run_in_process
from prometheus_proxy import EMPTY, SERVER_ERROR, SLOW, STOPPED, PrometheusProxy

APP = "modelcard-generator"


@pytest.fixture()
def prometheus(cluster):
    proxy = PrometheusProxy(cluster["prometheus_url"], slow_seconds=3)
    yield proxy
    proxy.close()


def gate(prometheus, **policy):
    metric = dict({"name": "scrapes", "query": "sum(up)", "success": {"min": 1}, "count": 3, "interval": 0.5,
                   "consecutive_error_limit": 0}, **policy)
    return run_in_process("metric_gate", {"prometheus": {"url": prometheus.url, "timeout": 1},
                                          "metrics": [metric], "fail_on_verdict": False})


@pytest.mark.parametrize("fault, healthy, policy, verdict, why", [
    (STOPPED, 1, {}, "Error", "Connection refused"),
    (STOPPED, 0, {}, "Error", "Connection refused"),
    (SLOW, 1, {}, "Error", "timed out"),
    (SERVER_ERROR, 1, {}, "Error", "HTTP 500"),
    (EMPTY, 1, {}, "Error", "no series returned"),
    (EMPTY, 1, {"on_empty": "Inconclusive"}, "Inconclusive", "no series returned"),
])
def test_the_gate_ends_by_policy_when_prometheus_fails(prometheus, fault, healthy, policy, verdict, why):
    prometheus.fault_after(healthy, fault)
    result = gate(prometheus, **policy)
    assert result["verdict"] == verdict, result
    measurements = result["metrics"][0]["measurements"]
    assert [m["phase"] for m in measurements[:healthy]] == ["Successful"] * healthy
    assert why in measurements[healthy]["message"]


def test_errors_within_the_limit_are_retried_and_the_gate_recovers(prometheus):
    prometheus.fault_after(1, SERVER_ERROR)
    first = gate(prometheus, consecutive_error_limit=3, error_retry_interval=0.2, count=2)
    assert first["verdict"] == "Error"  # 500s never stop: four errors in a row
    prometheus.fault_after(None, SERVER_ERROR)
    assert gate(prometheus, consecutive_error_limit=3, error_retry_interval=0.2, count=2)["verdict"] == "Successful"


@pytest.mark.timeout(1200)  # two releases on a shared machine
def test_a_release_whose_gate_loses_prometheus_aborts_to_the_old_color(api_client, cluster, namespace, prometheus):
    base = {"pd_namespace": namespace, "pd_scale_down_delay_seconds": 0, "pd_gate_templates": []}
    run_playbook(cluster, "blue_green.yml", "-i", "inventories/local", "-e",
                 json.dumps(dict(base, release_version="1.0.0")))
    # The source check (query 1) and the first measurement (query 2) are answered; then nothing listens.
    prometheus.fault_after(2, STOPPED)
    success_rate = {"name": "success-rate", "template": "app_success_rate", "interval": 1, "count": 3,
                    "initial_delay": 6, "consecutive_error_limit": 0,
                    "template_args": {"namespace": namespace, "service": f"{APP}-preview", "version": "1.1.0",
                                      "window": "10s"}}
    failed = run_playbook(cluster, "blue_green.yml", "-i", "inventories/local", "-e", json.dumps(dict(
        base, release_version="1.1.0", pd_prometheus={"url": prometheus.url, "timeout": 2},
        blue_green_pre_promotion_metrics=[success_rate])), check=False)
    assert failed.returncode != 0
    assert "the pre-promotion gate ended Error" in failed.stdout and "Connection refused" in failed.stdout

    core = client.CoreV1Api(api_client)
    assert core.read_namespaced_service(APP, namespace).spec.selector["terragonlabs.io/color"] == "blue"
    assert client.AppsV1Api(api_client).read_namespaced_deployment(f"{APP}-green", namespace).spec.replicas == 0
    record = json.loads(core.read_namespaced_config_map(f"{APP}-release", namespace).data["release.json"])
    assert (record["version"], record["phase"], record["gate"]["verdict"]) == ("1.1.0", "aborted", "Error")
    served = prometheus_query(cluster["prometheus_url"], f'sum(simulator_requests_total{{namespace="{namespace}",'
                                                         f'service="{APP}",version="1.1.0"}})')
    assert not served or served[0][1] == 0  # users never reached the new version
