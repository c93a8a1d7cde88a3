"""The local cluster behaves like a real one: rollouts, failing versions, router CRD schemas,
Prometheus and the traffic simulator."""

import copy
import json
import math
import urllib.error
import urllib.request

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import prometheus_query, wait_for
from objects import APP, VERSION, deployment, rolled_out, service


def test_deployment_rolls_out_on_simulated_nodes(api_client, namespace):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("web", "web", "1.0"))
    done = wait_for(lambda: rolled_out(apps, namespace, "web", 3), 60, "web to roll out")

    conditions = {c.type: c for c in done.status.conditions}
    assert conditions["Available"].status == "True"
    assert conditions["Progressing"].reason == "NewReplicaSetAvailable"
    replica_sets = apps.list_namespaced_replica_set(namespace).items
    assert len(replica_sets) == 1 and replica_sets[0].status.ready_replicas == 3
    pods = core.list_namespaced_pod(namespace).items
    assert {p.spec.node_name for p in pods} <= {"kwok-node-0", "kwok-node-1", "kwok-node-2"}
    assert all(p.status.pod_ip for p in pods)

    # A new version rolls out as a real rolling update: a second ReplicaSet replaces the first.
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "ghcr.io/terragonlabs/web:1.1"}]}}}})
    wait_for(lambda: rolled_out(apps, namespace, "web", 3), 60, "web 1.1 to roll out")
    replica_sets = {rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs
                    for rs in apps.list_namespaced_replica_set(namespace).items}
    assert replica_sets["2"].status.ready_replicas == 3 and replica_sets["1"].spec.replicas == 0


def test_bad_version_reaches_progress_deadline_exceeded(api_client, namespace):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment(
        "bad", "bad", "6.6.6", replicas=2, progress_deadline=5,
        annotations={"simulator.terragonlabs.io/ready": "false"}))

    def deadline_exceeded():
        status = apps.read_namespaced_deployment_status("bad", namespace).status
        return any(c.type == "Progressing" and c.reason == "ProgressDeadlineExceeded"
                   for c in status.conditions or [])

    wait_for(deadline_exceeded, 60, "ProgressDeadlineExceeded")
    pods = core.list_namespaced_pod(namespace).items
    assert len(pods) == 2
    for pod in pods:
        assert pod.status.phase == "Running"
        assert not pod.status.container_statuses[0].ready
        assert pod.status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff"


VIRTUAL_SERVICE = {
    "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
    "metadata": {"name": "web"},
    "spec": {"hosts": ["web"], "http": [{"route": [
        {"destination": {"host": "web"}, "weight": 90},
        {"destination": {"host": "web-canary"}, "weight": 10}]}]},
}
HTTP_ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
    "metadata": {"name": "web"},
    "spec": {"rules": [{"backendRefs": [
        {"name": "web", "port": 80, "weight": 90},
        {"name": "web-canary", "port": 80, "weight": 10}]}]},
}
OPENSHIFT_ROUTE = {
    "apiVersion": "route.openshift.io/v1", "kind": "Route",
    "metadata": {"name": "web"},
    "spec": {"to": {"kind": "Service", "name": "web", "weight": 90},
             "alternateBackends": [{"kind": "Service", "name": "web-canary", "weight": 10}]},
}
# Each router: example object, (group, version, plural), how to set the canary weight, and an
# in-type weight its schema rejects by range (Istio's schema has no range: its webhook checks it).
ROUTERS = {
    "istio": (VIRTUAL_SERVICE, ("networking.istio.io", "v1", "virtualservices"),
              lambda o, w: o["spec"]["http"][0]["route"][1].update(weight=w), None),
    "gateway_api": (HTTP_ROUTE, ("gateway.networking.k8s.io", "v1", "httproutes"),
                    lambda o, w: o["spec"]["rules"][0]["backendRefs"][1].update(weight=w), -1),
    "openshift_route": (OPENSHIFT_ROUTE, ("route.openshift.io", "v1", "routes"),
                        lambda o, w: o["spec"]["alternateBackends"][0].update(weight=w), 257),
}


@pytest.mark.parametrize("router", sorted(ROUTERS))
def test_router_crd_accepts_a_valid_weight_and_rejects_a_wrong_one(api_client, namespace, router):
    body, (group, version, plural), set_weight, out_of_range = ROUTERS[router]
    custom = client.CustomObjectsApi(api_client)
    created = custom.create_namespaced_custom_object(group, version, namespace, plural,
                                                     copy.deepcopy(body))
    assert created["metadata"]["uid"]

    for bad_weight in [w for w in ("ten", out_of_range) if w is not None]:
        wrong = copy.deepcopy(body)
        wrong["metadata"]["name"] = "wrong"
        set_weight(wrong, bad_weight)
        with pytest.raises(ApiException) as raised:
            custom.create_namespaced_custom_object(group, version, namespace, plural, wrong)
        assert raised.value.status == 422, raised.value.body
        assert "weight" in raised.value.body


def test_prometheus_answers_queries(cluster):
    assert prometheus_query(cluster["prometheus_url"], "vector(1)")[0][1] == 1.0
    up = wait_for(lambda: prometheus_query(cluster["prometheus_url"], 'up{job="traffic-simulator"}'),
                  30, "the simulator to be scraped")
    assert up[0][1] == 1.0


def _weights(cluster, namespace, app):
    result = prometheus_query(
        cluster["prometheus_url"],
        f'simulator_backend_weight{{namespace="{namespace}",app="{app}"}}')
    return {labels["version"]: round(value, 3) for labels, value in result}


def _request_rate(cluster, namespace, app, version):
    result = prometheus_query(
        cluster["prometheus_url"],
        f'sum(rate(http_requests_total{{namespace="{namespace}",app="{app}",version="{version}"}}[5s]))')
    return result[0][1] if result else 0.0


def test_simulator_follows_the_traffic_split(api_client, cluster, namespace):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    for name, version in (("web", "1.0"), ("web-canary", "1.1")):
        apps.create_namespaced_deployment(namespace, deployment(name, "web", version, replicas=2))
        core.create_namespaced_service(namespace, service(name, {APP: "web", VERSION: version}))
    for name in ("web", "web-canary"):
        wait_for(lambda n=name: rolled_out(apps, namespace, n, 2), 60, f"{name} to roll out")

    # Straight to the Service named after the application: all to 1.0.
    wait_for(lambda: _weights(cluster, namespace, "web") == {"1.0": 1.0}, 30, "all traffic on 1.0")
    wait_for(lambda: _request_rate(cluster, namespace, "web", "1.0") > 10, 30, "1.0 serving requests")

    route = copy.deepcopy(HTTP_ROUTE)
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = 75
    route["spec"]["rules"][0]["backendRefs"][1]["weight"] = 25
    custom.create_namespaced_custom_object("gateway.networking.k8s.io", "v1", namespace,
                                           "httproutes", route)
    wait_for(lambda: _weights(cluster, namespace, "web") == {"1.0": 0.75, "1.1": 0.25}, 30,
             "a 75/25 split")
    wait_for(lambda: _request_rate(cluster, namespace, "web", "1.1") > 2, 30, "1.1 serving requests")

    # Blue-green: with no route, switching the Service's selector moves all traffic.
    custom.delete_namespaced_custom_object("gateway.networking.k8s.io", "v1", namespace,
                                           "httproutes", "web")
    core.patch_namespaced_service("web", namespace, {"spec": {"selector": {VERSION: "1.1"}}})
    wait_for(lambda: _weights(cluster, namespace, "web") == {"1.1": 1.0}, 30, "all traffic on 1.1")


def test_simulator_counts_errors_of_a_bad_version_only_while_it_gets_traffic(
        api_client, cluster, namespace):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    apps.create_namespaced_deployment(namespace, deployment("web", "web", "1.0", replicas=1))
    apps.create_namespaced_deployment(namespace, deployment(
        "web-canary", "web", "1.1", replicas=1,
        annotations={"simulator.terragonlabs.io/error-rate": "0.5"}))
    core.create_namespaced_service(namespace, service("web", {APP: "web", VERSION: "1.0"}))
    core.create_namespaced_service(namespace, service("web-canary", {APP: "web", VERSION: "1.1"}))
    vs = copy.deepcopy(VIRTUAL_SERVICE)
    vs["spec"]["http"][0]["route"][0]["weight"], vs["spec"]["http"][0]["route"][1]["weight"] = 50, 50
    custom.create_namespaced_custom_object("networking.istio.io", "v1", namespace,
                                           "virtualservices", vs)

    error_ratio = (
        f'sum(rate(istio_requests_total{{destination_service_namespace="{namespace}",'
        f'destination_version="1.1",response_code="500"}}[5s])) / '
        f'sum(rate(istio_requests_total{{destination_service_namespace="{namespace}",'
        f'destination_version="1.1"}}[5s]))')

    def measured_ratio():
        # Until both rates have two samples the ratio is empty or 0/0 (NaN).
        result = prometheus_query(cluster["prometheus_url"], error_ratio)
        return result if result and not math.isnan(result[0][1]) else None

    ratio = wait_for(measured_ratio, 60, "istio metrics for the canary")
    assert ratio[0][1] == pytest.approx(0.5, abs=0.01)

    vs["spec"]["http"][0]["route"][0]["weight"], vs["spec"]["http"][0]["route"][1]["weight"] = 100, 0
    custom.patch_namespaced_custom_object("networking.istio.io", "v1", namespace,
                                          "virtualservices", "web", {"spec": vs["spec"]})
    canary_rate = (f'sum(rate(istio_requests_total{{destination_service_namespace="{namespace}",'
                   f'destination_version="1.1"}}[3s]))')
    wait_for(lambda: prometheus_query(cluster["prometheus_url"], canary_rate)[0][1] == 0, 30,
             "the canary to stop receiving requests")


def _call(cluster, namespace, service):
    url = f"{cluster['simulator_url']}/services/{namespace}/{service}/health"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_simulator_answers_real_requests_and_serves_test_clients(api_client, cluster, namespace):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("web", "web", "1.0", replicas=1))
    apps.create_namespaced_deployment(namespace, deployment(
        "web-preview", "web", "2.0", replicas=2,
        annotations={"simulator.terragonlabs.io/error-rate": "1"}))
    core.create_namespaced_service(namespace, service("web", {APP: "web", VERSION: "1.0"}))
    preview = service("web-preview", {APP: "web", VERSION: "2.0"})
    preview["metadata"]["annotations"] = {"simulator.terragonlabs.io/requests-per-second": "5"}
    core.create_namespaced_service(namespace, preview)
    for name, replicas in (("web", 1), ("web-preview", 2)):
        wait_for(lambda n=name, r=replicas: rolled_out(apps, namespace, n, r), 60, f"{name} to roll out")

    def answer_from_web():
        answer = _call(cluster, namespace, "web")
        # 503, then 404, until the simulator has read the cluster, then the Service.
        return answer if answer[0] not in (404, 503) else None

    status, body = wait_for(answer_from_web, 30, "the simulator to see web")
    assert status == 200 and body["version"] == "1.0"

    def both_preview_pods_answer():
        # The simulator reads the cluster once a second, so it may not know both pods yet.
        answered = [_call(cluster, namespace, "web-preview") for attempt in range(4)]
        return answered if len({body.get("pod") for status, body in answered}) == 2 else None

    answered = wait_for(both_preview_pods_answer, 30, "round robin over both ready preview pods")
    assert {status for status, body in answered} == {500}
    assert _call(cluster, namespace, "missing")[0] == 404

    preview_errors = (f'sum(rate(http_requests_total{{namespace="{namespace}",service="web-preview",'
                      f'status="500"}}[5s]))')

    def five_per_second():
        result = prometheus_query(cluster["prometheus_url"], preview_errors)
        return result and abs(result[0][1] - 5) < 0.5

    wait_for(five_per_second, 30, "5 failing requests per second from test clients to the preview")
