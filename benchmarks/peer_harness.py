"""The benchmarks' pieces that need no cluster (benchmarks/peers.py and run.py use them; tests/unit tests them):
the good canary every system releases, the one query every system measures, and the cleanup of what a
run started."""

import subprocess

NEW = "1.1.0"
# The peer table's name of the good canary, which benchmarks/run.py looks up there.
GOOD_CANARY = "good canary"
PAUSE = 4


def success_rate_query(namespace, app, version=NEW, window="10s"):
    """The one query every system's canary analysis measures: the canary Service's share of non-5xx
    responses, from the simulated Istio sidecars (reporter=destination)."""
    matchers = ('reporter="destination",destination_service_namespace="%s",destination_service_name="%s-canary",'
                'destination_version="%s"' % (namespace, app, version))
    return 'sum(rate(istio_requests_total{%s,response_code!~"5.."}[%s])) / sum(rate(istio_requests_total{%s}[%s]))' % (
        matchers, window, matchers, window)


def service_success_query(namespace, service, version=NEW, window="10s"):
    """What the collection's app_success_rate template measures (the share of non-5xx responses of one
    version's pods behind a Service, from the application's own metrics), written out for the peers."""
    matchers = 'namespace="%s",service="%s",version="%s"' % (namespace, service, version)
    return 'sum(rate(http_requests_total{%s,status!~"5.."}[%s])) / sum(rate(http_requests_total{%s}[%s]))' % (
        matchers, window, matchers, window)


def canary_success_query(namespace, app, router):
    """The canary query every system measures through a router: Istio's sidecar metrics, or for a Gateway API
    HTTPRoute, which no mesh reports on, the application's own metrics of the canary Service."""
    if router == "istio":
        return success_rate_query(namespace, app)
    return service_success_query(namespace, app + "-canary")


def good_canary_steps(namespace, app, router):
    """The good canary's pd_canary_steps: 20% -> pause -> one-measurement analysis of the canary query ->
    50% -> pause -> 100%. Argo Rollouts and Flagger are given the same steps in their own forms."""
    analysis = {"metrics": [{"name": "success-rate", "query": canary_success_query(namespace, app, router),
                             "success": {"min": 0.95}}]}
    return [{"set_weight": 20}, {"pause": {"duration": PAUSE}}, {"analysis": analysis},
            {"set_weight": 50}, {"pause": {"duration": PAUSE}}, {"set_weight": 100}]


def stop_processes(processes, timeout=10):
    """Stops processes this benchmark started (SIGTERM, then SIGKILL), by their own handles; returns
    the names of those that had to be killed."""
    killed = []
    for name, process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                killed.append(name)
    return killed


def cleanup(processes, created, delete):
    """Everything this benchmark started is stopped and everything it created deleted (created: (kind, name)
    pairs, namespaces and the peers' CRDs the cluster did not have before), even when one step fails;
    returns the errors met, so a failed cleanup is reported, not hidden."""
    errors = []
    stop_processes(processes)
    for kind, name in created:
        try:
            delete(kind, name)
        except Exception as error:  # noqa: BLE001  (cleanup goes on whatever one deletion raised)
            errors.append("deleting %s %s: %s" % (kind, name, error))
    return errors


def new_crd_names(documents, existing):
    """The CustomResourceDefinitions among a manifest's documents that the cluster does not have yet,
    which the benchmark deletes when it ends (those it found stay: the local cluster's own, say)."""
    return [doc["metadata"]["name"] for doc in documents
            if doc and doc.get("kind") == "CustomResourceDefinition" and doc["metadata"]["name"] not in existing]
