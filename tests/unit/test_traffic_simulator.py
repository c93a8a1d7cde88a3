"""The simulator's reading of each router's split, and its latency histogram."""

import datetime
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "local_cluster"))

import traffic_simulator as sim  # noqa: E402


def shares(split):
    return [(b.service, dict(b.subset_labels), w) for b, w in split]


def test_virtual_service_default_route_with_subsets():
    vs = {"metadata": {"namespace": "ns"}, "spec": {"http": [
        {"match": [{"headers": {"x-canary": {"exact": "1"}}}],
         "route": [{"destination": {"host": "web", "subset": "canary"}}]},
        {"route": [{"destination": {"host": "web.ns.svc.cluster.local", "subset": "stable"}, "weight": 80},
                   {"destination": {"host": "web", "subset": "canary"}, "weight": 20}]}]}}
    rules = {("web", "stable"): {"version": "1"}, ("web", "canary"): {"version": "2"}}
    assert shares(sim.split_virtual_service(vs, "web", rules)) == [
        ("web", {"version": "1"}, 80), ("web", {"version": "2"}, 20)]


def test_virtual_service_for_another_host_is_ignored():
    vs = {"metadata": {"namespace": "ns"},
          "spec": {"http": [{"route": [{"destination": {"host": "other"}}]}]}}
    assert sim.split_virtual_service(vs, "web", {}) is None


def test_single_destination_gets_everything():
    vs = {"metadata": {"namespace": "ns"}, "spec": {"http": [{"route": [{"destination": {"host": "web"}}]}]}}
    assert shares(sim.split_virtual_service(vs, "web", {})) == [("web", {}, 100)]


def test_http_route_weights_default_to_one_and_header_rules_are_skipped():
    route = {"spec": {"rules": [
        {"matches": [{"headers": [{"name": "x-canary", "value": "1"}]}],
         "backendRefs": [{"name": "web-canary"}]},
        {"backendRefs": [{"name": "web"}, {"name": "web-canary", "weight": 3}]}]}}
    assert shares(sim.split_http_route(route, "web")) == [("web", {}, 1), ("web-canary", {}, 3)]


def ingress(name, service, annotations=None, host="web.example.com"):
    return {"metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"rules": [{"host": host, "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service}}}]}}]}}


def test_nginx_canary_ingress_takes_its_weight_from_the_stable_one():
    canary = ingress("web-canary", "web-canary", {sim.NGINX_CANARY: "true", sim.NGINX_CANARY_WEIGHT: "20"})
    split = sim.split_nginx(ingress("web", "web"), [canary])
    assert [(b.service, b.canary, round(w, 3)) for b, w in split] == [
        ("web", False, 0.8), ("web-canary", True, 0.2)]


def test_nginx_canary_weight_total_and_other_hosts():
    canary = ingress("web-canary", "web-canary", {sim.NGINX_CANARY: "true", sim.NGINX_CANARY_WEIGHT: "50",
                                                  sim.NGINX_CANARY_TOTAL: "200"})
    elsewhere = ingress("api-canary", "api-canary", {sim.NGINX_CANARY: "true",
                                                     sim.NGINX_CANARY_WEIGHT: "90"}, host="api.example.com")
    split = sim.split_nginx(ingress("web", "web"), [canary, elsewhere])
    assert [(b.service, w) for b, w in split] == [("web", 0.75), ("web-canary", 0.25)]


def test_openshift_route_alternate_backends():
    route = {"spec": {"to": {"name": "web", "weight": 3}, "alternateBackends": [{"name": "web-canary", "weight": 1}]}}
    assert shares(sim.split_openshift_route(route)) == [("web", {}, 3), ("web-canary", {}, 1)]


def test_latency_histogram_is_cumulative_and_centred_on_the_median():
    series = sim.Series()
    series.add(1000, 0.05)
    assert series.count == 1000
    assert series.buckets == sorted(series.buckets)
    assert series.buckets[sim.BUCKETS.index(0.05)] == pytest.approx(500)
    assert series.buckets[-1] == pytest.approx(1000)
    assert series.total / series.count == pytest.approx(0.05 * 1.0317, rel=1e-3)


def pod(name, app, version, ready=True, deleting=False, annotations=None):
    metadata = {"namespace": "ns", "name": name, "annotations": annotations or {},
                "labels": {sim.APP_LABEL: app, "app.kubernetes.io/version": version, "pod-template-hash": "abc"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": f"{app}-{version}-abc"}]}
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-27T00:00:00Z"
    return {"metadata": metadata, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def test_a_tick_serves_ready_pods_as_the_api_lists_them():
    simulator = sim.Simulator(api_client=None)
    failing = {sim.ANNOTATION_PREFIX + "error-rate": "0.5"}
    pods = [pod("web-1", "web", "1.0"), pod("web-2", "web", "1.1", annotations=failing),
            pod("web-3", "web", "1.1", ready=False), pod("web-4", "web", "1.1", deleting=True)]
    services = [{"metadata": {"namespace": "ns", "name": "web",
                              "annotations": {sim.ANNOTATION_PREFIX + "requests-per-second": "10"}},
                 "spec": {"selector": {sim.APP_LABEL: "web"}}}]
    listed = {"pods": pods, "services": services}
    simulator.snapshot = lambda: {kind: sim.defaultdict(list, {"ns": listed.get(kind, [])}) for kind in (
        "pods", "services", "ingresses", "virtualservices", "destinationrules", "httproutes", "routes")}
    simulator.fresh_namespace = lambda namespace: {kind: {namespace: listed.get(kind, [])} for kind in ("pods", "services")}
    simulator.tick(2.0)
    requests = dict(simulator.client_requests)
    assert requests == {("ns", "web", "web", "1.0", "200"): 10.0, ("ns", "web", "web", "1.1", "200"): 5.0,
                        ("ns", "web", "web", "1.1", "500"): 5.0}
    assert {key[4] for key in simulator.app_series} == {"web-1", "web-2"}
    assert simulator.serve_one("ns", "missing")[0] == 404
    assert simulator.serve_one("ns", "web")[1]["pod"] in {"web-1", "web-2"}


def test_a_request_to_a_service_whose_pods_became_ready_since_the_last_tick_reaches_them():
    """A real Service reaches a pod once it is ready; a gate's first request must not meet the
    simulator's older view."""
    simulator = sim.Simulator(api_client=None)
    services = [{"metadata": {"namespace": "ns", "name": "web-preview"}, "spec": {"selector": {sim.APP_LABEL: "web"}}}]
    listed = {"pods": [pod("web-1", "web", "1.1", ready=False)], "services": services}
    simulator.snapshot = lambda: {kind: sim.defaultdict(list, {"ns": list(listed.get(kind, []))}) for kind in (
        "pods", "services", "ingresses", "virtualservices", "destinationrules", "httproutes", "routes")}
    simulator.fresh_namespace = lambda namespace: {kind: {namespace: listed.get(kind, [])} for kind in ("pods", "services")}
    simulator.tick(1.0)
    listed["pods"] = [pod("web-1", "web", "1.1")]
    assert simulator.serve_one("ns", "web-preview")[1]["pod"] == "web-1"


@pytest.mark.parametrize("annotations, age, expected", [
    ({"error-rate": "0.4"}, 1, (0.4, 0.05)),
    ({"error-rate": "0.4", "latency-ms": "900", "bad-after-seconds": "20"}, 19, (0.0, 0.05)),
    ({"error-rate": "0.4", "latency-ms": "900", "bad-after-seconds": "20"}, 20, (0.4, 0.9)),
    ({"error-rate": "0.4", "bad-after-seconds": "oops"}, 1, (0.4, 0.05)),
])
def test_a_version_can_turn_bad_some_seconds_after_its_pods_start(annotations, age, expected):
    started = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    pod = {"metadata": {"annotations": {sim.ANNOTATION_PREFIX + k: v for k, v in annotations.items()}},
           "status": {"startTime": "2026-01-01T00:00:00Z"}}
    assert sim._behaviour(pod, started + datetime.timedelta(seconds=age)) == expected
