"""Simulated user traffic for every application in the local cluster, exported as Prometheus metrics.

Once a second the simulator reads, per application, where a real router would send requests and
which pods could serve them, then counts those requests per version in the shapes real services
and meshes export:

- the application's own `http_requests_total` and `http_request_duration_seconds` histogram,
  per pod (what a plain application exports);
- `istio_requests_total` and `istio_request_duration_milliseconds` (reporter="destination") when
  the traffic enters through a VirtualService;
- `nginx_ingress_controller_requests` and `nginx_ingress_controller_request_duration_seconds`
  when it enters through an NGINX Ingress (with canary Ingresses);
- `simulator_requests_total` and `simulator_backend_weight`: the client's view, which also counts
  requests that found no ready pod (code 503).

An application is the set of pods labelled `app.kubernetes.io/name: <app>`. Its entry is the
Service named `<app>`: traffic goes through the first VirtualService, HTTPRoute, Ingress or
OpenShift Route (by name) that references that Service, or straight to the Service when none does.
Pods pick their behaviour up from pod-template annotations:

    simulator.terragonlabs.io/error-rate: "0.2"        fraction of requests answered with 500
    simulator.terragonlabs.io/latency-ms: "1500"       median latency (log-normal, sigma 0.25)
    simulator.terragonlabs.io/bad-after-seconds: "20"  the two above apply only from 20 s after the
                                                       pod started (a version that degrades later)

and the entry Service may set `simulator.terragonlabs.io/requests-per-second` (default 20). Any
other Service with that annotation (a blue-green preview, say) receives that many requests
directly, as test clients would send them.

Simulated traffic counts are exact expectations, not random draws, so rates and ratios are
reproducible. Real requests can be sent too: `GET|POST /services/<namespace>/<service>/<path>` on
the simulator's port is answered as that Service's ready pods would answer it (status, latency),
round robin, and counted like the rest: what smoke tests and HTTP probes call.
"""

import argparse
import datetime
import json
import logging
import math
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kubernetes import config
from kubernetes.client.rest import ApiException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    REGISTRY, CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, UnknownMetricFamily)

ANNOTATION_PREFIX = "simulator.terragonlabs.io/"
APP_LABEL = "app.kubernetes.io/name"
VERSION_LABELS = ("app.kubernetes.io/version", "version")
DEFAULT_RPS = 20.0
DEFAULT_LATENCY_MS = 50.0
LATENCY_SIGMA = 0.25
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
NGINX_CANARY = "nginx.ingress.kubernetes.io/canary"
NGINX_CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
NGINX_CANARY_TOTAL = "nginx.ingress.kubernetes.io/canary-weight-total"

log = logging.getLogger("traffic-simulator")


@dataclass(frozen=True)
class Backend:
    """Where a share of an application's requests goes: a Service, narrowed by subset labels."""
    service: str
    subset_labels: tuple = ()
    via: str = "service"          # service, istio, gateway_api, nginx, openshift_route
    ingress: str = ""             # the Ingress that served it (NGINX metrics)
    canary: bool = False


@dataclass
class Series:
    """A histogram of requests and their latency: one per pod, service and status code."""
    count: float = 0.0
    total: float = 0.0
    buckets: list = field(default_factory=lambda: [0.0] * len(BUCKETS))

    def add(self, requests, median_seconds):
        self.count += requests
        # The mean of a log-normal with this median; each bucket gets its exact CDF share.
        self.total += requests * median_seconds * math.exp(LATENCY_SIGMA ** 2 / 2)
        for i, bound in enumerate(BUCKETS):
            z = (math.log(bound) - math.log(median_seconds)) / LATENCY_SIGMA
            self.buckets[i] += requests * 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _float_annotation(annotations, name, default):
    try:
        return float((annotations or {}).get(ANNOTATION_PREFIX + name, default))
    except (TypeError, ValueError):
        return default


def _meta(obj, field_name, default=None):
    return obj["metadata"].get(field_name) or default


def _behaviour(pod, now=None):
    """(error rate, median latency in seconds) a pod's annotations ask for at now (a UTC datetime):
    healthy defaults until bad-after-seconds have passed since the pod started, when that is set."""
    annotations = _meta(pod, "annotations", {})
    bad_after = _float_annotation(annotations, "bad-after-seconds", 0.0)
    started = pod.get("status", {}).get("startTime")
    if bad_after > 0 and started:
        now = now or datetime.datetime.now(datetime.timezone.utc)
        age = now - datetime.datetime.fromisoformat(started.replace("Z", "+00:00"))
        if age.total_seconds() < bad_after:
            return 0.0, DEFAULT_LATENCY_MS / 1000.0
    error_rate = min(max(_float_annotation(annotations, "error-rate", 0.0), 0.0), 1.0)
    return error_rate, _float_annotation(annotations, "latency-ms", DEFAULT_LATENCY_MS) / 1000.0


def _ready(pod):
    status = pod.get("status", {})
    if _meta(pod, "deletionTimestamp") or status.get("phase") != "Running":
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def _version(pod):
    labels = _meta(pod, "labels", {})
    for key in VERSION_LABELS:
        if labels.get(key):
            return labels[key]
    return labels.get("pod-template-hash", "unknown")


def _workload(pod):
    """The Deployment's name, as Istio reports destination_workload."""
    labels = _meta(pod, "labels", {})
    for owner in _meta(pod, "ownerReferences", []):
        if owner["kind"] == "ReplicaSet" and labels.get("pod-template-hash"):
            return owner["name"][: -len(labels["pod-template-hash"]) - 1]
        return owner["name"]
    return pod["metadata"]["name"]


def _selector(service):
    return service.get("spec", {}).get("selector") or {}


def _selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def split_virtual_service(vs, entry, destination_rules):
    """The default (unmatched) HTTP route of a VirtualService that sends traffic to entry."""
    hosts = {entry, f"{entry}.{vs['metadata']['namespace']}.svc.cluster.local"}
    for http in vs.get("spec", {}).get("http", []):
        if http.get("match"):
            continue  # simulated requests carry no headers, so header routes never match
        routes = http.get("route", [])
        if not any(r.get("destination", {}).get("host") in hosts for r in routes):
            continue
        split = []
        for route in routes:
            destination = route["destination"]
            service = destination["host"].split(".")[0]
            subset = ()
            if destination.get("subset"):
                subset = tuple(sorted(destination_rules.get((service, destination["subset"]), {}).items()))
            weight = route.get("weight", 100 if len(routes) == 1 else 0)
            split.append((Backend(service, subset, via="istio"), weight))
        return split
    return None


def split_http_route(route, entry):
    for rule in route.get("spec", {}).get("rules", []):
        matches = rule.get("matches", [])
        if any(m.get("headers") or m.get("queryParams") for m in matches):
            continue
        refs = [r for r in rule.get("backendRefs", []) if r.get("kind", "Service") == "Service"]
        if any(r["name"] == entry for r in refs):
            return [(Backend(r["name"], via="gateway_api"), r.get("weight", 1)) for r in refs]
    return None


def _ingress_services(ingress):
    services = []
    spec = ingress.get("spec", {})
    if (spec.get("defaultBackend") or {}).get("service"):
        services.append(spec["defaultBackend"]["service"]["name"])
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths", []):
            if path["backend"].get("service"):
                services.append(path["backend"]["service"]["name"])
    return services


def _hosts(ingress):
    return {rule.get("host") for rule in ingress.get("spec", {}).get("rules") or []}


def split_nginx(stable, canaries):
    """The stable Ingress gets what its canary Ingresses (same hosts) leave."""
    stable_service = _ingress_services(stable)[0]
    hosts = _hosts(stable)
    split, canary_share = [], 0.0
    for canary in canaries:
        annotations = _meta(canary, "annotations", {})
        if hosts and not hosts & _hosts(canary):
            continue
        total = float(annotations.get(NGINX_CANARY_TOTAL, 100))
        share = min(max(float(annotations.get(NGINX_CANARY_WEIGHT, 0)) / total, 0.0), 1.0 - canary_share)
        canary_share += share
        split.append((Backend(_ingress_services(canary)[0], via="nginx",
                              ingress=canary["metadata"]["name"], canary=True), share))
    split.insert(0, (Backend(stable_service, via="nginx", ingress=stable["metadata"]["name"]),
                     1.0 - canary_share))
    return split


def split_openshift_route(route):
    spec = route.get("spec", {})
    targets = [spec.get("to", {})] + spec.get("alternateBackends", [])
    return [(Backend(t["name"], via="openshift_route"), t.get("weight", 100)) for t in targets]


class Simulator:
    def __init__(self, api_client):
        self.api_client = api_client
        self.lock = threading.Lock()
        self.app_series = defaultdict(Series)     # (ns, app, service, version, pod, code)
        self.istio_series = defaultdict(Series)   # (ns, service, workload, version, app, code)
        self.nginx_series = defaultdict(Series)   # (ns, ingress, service, canary, code)
        self.client_requests = defaultdict(float)  # (ns, app, service, version, code)
        self.weights = {}                          # (ns, app, service, version) -> share
        self.state = None                          # the last snapshot, for serve_one
        self.next_pod = defaultdict(int)           # round robin per Service
        self.random = random.Random(0)

    def _list(self, path):
        """The items of a list across namespaces, as plain JSON: the client's typed models cost 50
        times as much to build, which with a hundred pods read every second took a core."""
        try:
            response = self.api_client.call_api(path, "GET", auth_settings=["BearerToken"],
                                                _preload_content=False, _return_http_data_only=True)
        except ApiException as error:
            if error.status == 404:  # CRD not installed: that router does not exist here
                return []
            raise
        return json.loads(response.data)["items"]

    @staticmethod
    def _by_namespace(items, identity):
        """Groups objects by namespace, each group sorted by name so choices are stable."""
        grouped = defaultdict(list)
        for item in sorted(items, key=identity):
            grouped[identity(item)[0]].append(item)
        return grouped

    def snapshot(self):
        """Reads everything the split depends on, once per tick."""
        def meta(obj):
            return obj["metadata"]["namespace"], obj["metadata"]["name"]

        return {kind: self._by_namespace(self._list(path), meta) for kind, path in (
            ("pods", "/api/v1/pods"),
            ("services", "/api/v1/services"),
            ("ingresses", "/apis/networking.k8s.io/v1/ingresses"),
            ("virtualservices", "/apis/networking.istio.io/v1/virtualservices"),
            ("destinationrules", "/apis/networking.istio.io/v1/destinationrules"),
            ("httproutes", "/apis/gateway.networking.k8s.io/v1/httproutes"),
            ("routes", "/apis/route.openshift.io/v1/routes"))}

    def split_for(self, state, namespace, entry):
        """[(Backend, share)] for requests to the application whose entry Service is `entry`."""
        rules = {}
        for dr in state["destinationrules"][namespace]:
            service = dr["spec"].get("host", "").split(".")[0]
            for subset in dr["spec"].get("subsets", []):
                rules[(service, subset["name"])] = subset.get("labels", {})
        candidates = []
        for vs in state["virtualservices"][namespace]:
            candidates.append(split_virtual_service(vs, entry, rules))
        for route in state["httproutes"][namespace]:
            candidates.append(split_http_route(route, entry))
        ingresses = [i for i in state["ingresses"][namespace] if _ingress_services(i)]
        canaries = [i for i in ingresses if _meta(i, "annotations", {}).get(NGINX_CANARY) == "true"]
        for ingress in ingresses:
            if ingress not in canaries and _ingress_services(ingress)[0] == entry:
                candidates.append(split_nginx(ingress, canaries))
        for route in state["routes"][namespace]:
            if route.get("spec", {}).get("to", {}).get("name") == entry:
                candidates.append(split_openshift_route(route))
        split = next((c for c in candidates if c), None) or [(Backend(entry), 1.0)]
        total = sum(weight for _backend, weight in split)
        return [(backend, (weight / total) if total else 0.0) for backend, weight in split]

    def tick(self, seconds):
        state = self.snapshot()
        live = set()
        with self.lock:
            self.state = state
            self.weights = {}
            for namespace, services in state["services"].items():
                pods = state["pods"][namespace]
                apps = {_meta(p, "labels", {}).get(APP_LABEL) for p in pods} - {None}
                for service in services:
                    name, annotations = service["metadata"]["name"], _meta(service, "annotations", {})
                    if name in apps:
                        app, split = name, self.split_for(state, namespace, name)
                    elif ANNOTATION_PREFIX + "requests-per-second" in annotations:
                        # Test clients calling this Service directly (a preview, say).
                        app = _selector(service).get(APP_LABEL, name)
                        split = [(Backend(name), 1.0)]
                    else:
                        continue
                    rps = _float_annotation(annotations, "requests-per-second", DEFAULT_RPS)
                    live |= self._serve(state, namespace, app, split, rps * seconds)
            self._forget_gone_pods(live)

    @staticmethod
    def _ready_pods(state, namespace, backend):
        service = next((s for s in state["services"][namespace] if s["metadata"]["name"] == backend.service), None)
        selector = dict(_selector(service)) if service else {}
        selector.update(dict(backend.subset_labels))
        return [p for p in state["pods"][namespace] if _selects(selector, _meta(p, "labels", {})) and _ready(p)]

    def _serve(self, state, namespace, app, split, requests):
        served = set()
        for backend, share in split:
            ready = self._ready_pods(state, namespace, backend)
            if not ready:
                self.client_requests[(namespace, app, backend.service, "none", "503")] += requests * share
                self.weights[(namespace, app, backend.service, "none")] = share
                continue
            for pod in ready:
                served.add((namespace, pod["metadata"]["name"]))
                self._record(namespace, app, backend, pod, requests * share / len(ready), share / len(ready))
        return served

    def fresh_namespace(self, namespace):
        """The Services and pods of one namespace as they are now. A real Service reaches a pod as
        soon as it is ready; the last tick's view may be a second or more old."""
        return {kind: {namespace: sorted(self._list("/api/v1/namespaces/%s/%s" % (namespace, kind)),
                                         key=lambda item: item["metadata"]["name"])}
                for kind in ("services", "pods")}

    def serve_one(self, namespace, service):
        """One real request to a Service, answered as its pods would: (HTTP status, body, delay)."""
        backend = Backend(service)
        with self.lock:
            state = self.state
        if state is None:
            return 503, {"error": "the simulator has not read the cluster yet"}, 0.0
        if not self._ready_pods(state, namespace, backend):
            state = self.fresh_namespace(namespace)
        with self.lock:
            svc = next((s for s in state["services"][namespace] if s["metadata"]["name"] == service), None)
            if svc is None:
                return 404, {"error": "no service %s/%s" % (namespace, service)}, 0.0
            app = _selector(svc).get(APP_LABEL, service)
            ready = self._ready_pods(state, namespace, backend)
            if not ready:
                self.client_requests[(namespace, app, service, "none", "503")] += 1
                return 503, {"error": "no ready endpoints"}, 0.0
            pod = ready[self.next_pod[(namespace, service)] % len(ready)]
            self.next_pod[(namespace, service)] += 1
            error_rate, median = _behaviour(pod)
            latency = self.random.lognormvariate(math.log(median), LATENCY_SIGMA)
            code = "500" if self.random.random() < error_rate else "200"
            self._count(namespace, app, backend, pod, code, 1.0, latency)
        return int(code), {"pod": pod["metadata"]["name"], "version": _version(pod)}, latency

    def _record(self, namespace, app, backend, pod, requests, share):
        error_rate, median = _behaviour(pod)
        weight_key = (namespace, app, backend.service, _version(pod))
        self.weights[weight_key] = self.weights.get(weight_key, 0.0) + share
        self._count(namespace, app, backend, pod, "200", requests * (1 - error_rate), median)
        if error_rate > 0:
            self._count(namespace, app, backend, pod, "500", requests * error_rate, median)

    def _count(self, namespace, app, backend, pod, code, requests, median):
        version, name = _version(pod), pod["metadata"]["name"]
        self.client_requests[(namespace, app, backend.service, version, code)] += requests
        self.app_series[(namespace, app, backend.service, version, name, code)].add(requests, median)
        if backend.via == "istio":
            self.istio_series[(namespace, backend.service, _workload(pod), version, app, code)].add(
                requests, median)
        elif backend.via == "nginx":
            self.nginx_series[(namespace, backend.ingress, backend.service,
                               backend.service if backend.canary else "", code)].add(requests, median)

    def _forget_gone_pods(self, live):
        """Series of pods that no longer serve disappear, as they do when a real pod goes away."""
        for key in [k for k in self.app_series if (k[0], k[4]) not in live]:
            del self.app_series[key]

    # --- exposition ----------------------------------------------------------------------------

    def collect(self):
        with self.lock:
            yield from self._histograms(
                "http_request_duration_seconds", "http_requests_total",
                ["namespace", "app", "service", "version", "pod", "status"], self.app_series, 1.0,
                extra={"method": "GET"})
            yield from self._histograms(
                "istio_request_duration_milliseconds", "istio_requests_total",
                ["destination_service_namespace", "destination_service_name", "destination_workload",
                 "destination_version", "destination_app", "response_code"], self.istio_series, 1000.0,
                extra={"reporter": "destination", "source_workload": "istio-ingressgateway"})
            yield from self._histograms(
                "nginx_ingress_controller_request_duration_seconds",
                "nginx_ingress_controller_requests",
                ["namespace", "ingress", "service", "canary", "status"], self.nginx_series, 1.0)
            requests = CounterMetricFamily("simulator_requests", "Requests the simulated clients sent",
                                           labels=["namespace", "app", "service", "version", "code"])
            for key, value in self.client_requests.items():
                requests.add_metric(list(key), value)
            yield requests
            weights = GaugeMetricFamily("simulator_backend_weight",
                                        "Share of the application's requests each version receives",
                                        labels=["namespace", "app", "service", "version"])
            for key, value in self.weights.items():
                weights.add_metric(list(key), value)
            yield weights

    @staticmethod
    def _histograms(histogram_name, counter_name, labels, series, scale, extra=None):
        extra = extra or {}
        names = list(extra) + labels
        histogram = HistogramMetricFamily(histogram_name, "Request latency", labels=names)
        if counter_name.endswith("_total"):
            counter = CounterMetricFamily(counter_name.removesuffix("_total"), "Requests served", labels=names)
        else:
            # ingress-nginx's counter has no _total suffix, which prometheus_client would add to a
            # counter; exported untyped, it keeps the name real dashboards and alerts query.
            counter = UnknownMetricFamily(counter_name, "Requests served", labels=names)
        for key, s in series.items():
            values = list(extra.values()) + list(key)
            buckets = [(_format_bound(b * scale), c) for b, c in zip(BUCKETS, s.buckets)]
            buckets.append(("+Inf", s.count))
            histogram.add_metric(values, buckets, s.total * scale)
            counter.add_metric(values, s.count)
        yield histogram
        yield counter


def _format_bound(bound):
    return repr(float(bound))


def make_handler(simulator):
    class Handler(BaseHTTPRequestHandler):
        """/metrics for Prometheus; /services/<namespace>/<service>/... answers as that Service would."""

        def do_GET(self):  # noqa: N802 (http.server's naming)
            parts = self.path.split("?")[0].strip("/").split("/")
            if parts == ["metrics"]:
                self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif len(parts) >= 3 and parts[0] == "services":
                status, body, delay = simulator.serve_one(parts[1], parts[2])
                time.sleep(delay)
                self._send(status, json.dumps(body).encode(), "application/json")
            else:
                self._send(404, b"not found\n", "text/plain")

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.do_GET()

        def _send(self, status, body, content_type):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            """Requests are counted in the metrics; logging each would flood the log."""

    return Handler


def main():
    parser = argparse.ArgumentParser(description="Simulated traffic for the local cluster")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--listen", default="127.0.0.1:29100")
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    simulator = Simulator(config.new_client_from_config(config_file=args.kubeconfig))
    REGISTRY.register(simulator)
    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), make_handler(simulator))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log.info("serving metrics on http://%s/metrics and requests on http://%s/services/", args.listen, args.listen)
    last = time.monotonic()
    while True:
        time.sleep(args.interval)
        now = time.monotonic()
        try:
            simulator.tick(now - last)
        except Exception:  # a transient API error must not end the simulation
            log.exception("tick failed")
        last = now


if __name__ == "__main__":
    main()
