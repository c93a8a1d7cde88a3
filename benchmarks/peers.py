"""The collection side by side with Argo Rollouts and Flagger: the same releases on the same local cluster,
through the same routing (Istio; Gateway API where a peer can), simulator, Prometheus and query, figures and
ratios in one table.

    .venv/bin/python benchmarks/peers.py [--runs N] [--workloads good,gateway_api,bad,blue_green,fleet] [--json PATH]
    (or: make benchmark-peers, which builds the peers first with benchmarks/build-peers.sh)

Each peer's controller runs as a local process confined to a namespace of its own (created, and deleted
afterwards, with everything in it); the collection runs playbooks/canary.yml and playbooks/blue_green.yml
through ansible-playbook with an inventory made for the run. Every system reaches the API server through
a counting proxy of its own (benchmarks/api_counter.py), so requests are counted the same way for all.

Workloads (each run `--runs` times; medians are reported):
  good        a good canary: 20% -> pause 4 s -> one-measurement analysis -> 50% -> pause 4 s -> 100%
  gateway_api the good canary through a Gateway API HTTPRoute instead of an Istio VirtualService
  bad         a bad canary (error rate 0.3) caught by background analysis every 1, 5 and 10 s:
              time from its first 5xx to canary weight 0
  blue_green  a blue-green release with a pre- and a post-promotion analysis
  fleet       the good canary for 10 and 50 applications at once

Figures per release: wall time; overhead beyond the waits the steps ask for; API requests; processor
seconds and peak resident memory of the controller process (peers) or of ansible-playbook and its
workers (ours) over the release. The table goes to stdout, the figures to .cache/benchmark-peers.json.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (the benchmark's shared helpers: cluster access, playbook runs, samplers)
from api_counter import CountingProxy, free_port  # noqa: E402
from peer_harness import (  # noqa: E402
    GOOD_CANARY, NEW, PAUSE, canary_success_query, cleanup, good_canary_steps, new_crd_names, service_success_query,
    success_rate_query)
from peer_table import PEERS, markdown, merge, render, summarise  # noqa: E402
from inventories import fleet_inventory  # noqa: E402  (tests/integration, on the path through run)
from kubernetes import client  # noqa: E402
import yaml  # noqa: E402

REPO = run.REPO
CACHE = Path(os.environ.get("PD_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
             / "progressive-delivery")
WORKLOADS = ("good", "gateway_api", "bad", "blue_green", "fleet")
BAD_INTERVALS = (1, 5, 10)
FLEET_SIZES = (10, 50)
# Flagger refuses analysis intervals below 10 s (pkg/apis/flagger/v1beta1 GetAnalysisInterval).
FLAGGER_MIN_INTERVAL = 10
# Its -mesh-provider is istio; a Canary's own provider overrides it.
FLAGGER_PROVIDERS = {"istio": "istio", "gateway_api": "gatewayapi:v1"}
# Checked on 2026-12-05: the Go module proxy answers 403 for every version of the plugin asked (v0.5.0 to v0.8.0).
ARGO_GATEWAY_API = ("Argo Rollouts routes through Gateway API only with its traffic-router plugin "
                    "(github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi), a Go module of its own "
                    "that the Go module proxy refuses here (403 Forbidden) and whose release binaries are on "
                    "GitHub, unreachable here: it cannot be built or downloaded on this machine")
# argoproj/argo-rollouts#1992: with 0, v1.8.5 on Istio never scales the old ReplicaSet down and spins
# at a full core; its users set a short delay instead.
ARGO_SCALE_DOWN_DELAY = 1
# Seen once in a few dozen releases: a pod template changed while v1.8.5 was still writing the Rollout it had
# just promoted was never taken up (status.observedGeneration stayed behind; the run waited out its 10
# minutes). Changing a Rollout only after it stayed unchanged this long avoids that write.
ARGO_QUIET_SECONDS = 1
REPLICAS = 3
ERROR_RATE = "0.3"
OLD = "1.0.0"
ISTIO = ("networking.istio.io", "v1", "virtualservices")
HTTP_ROUTES = ("gateway.networking.k8s.io", "v1", "httproutes")
ROLLOUTS = ("argoproj.io", "v1alpha1", "rollouts")
CANARIES = ("flagger.app", "v1beta1", "canaries")


class Unavailable(Exception):
    """A part of a workload that cannot run for a system; the message says exactly why."""


# ------------------------------------------------------------------------------------------ processes

class ControllerSampler:
    """Processor seconds and peak resident memory of a long-running process over a window: its own
    utime+stime from /proc (it is never reaped while measured), RSS sampled every 0.2 s."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop, self._thread, self._cpu_before = pid, 0, threading.Event(), None, 0.0
        self.cpu_seconds = None

    def _cpu(self):
        with open("/proc/%d/stat" % self.pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def start(self):
        self._cpu_before = self._cpu()
        self.peak = run.rss(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.cpu_seconds = self._cpu() - self._cpu_before

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, run.rss(self.pid))
            time.sleep(0.2)


# ------------------------------------------------------------------------------------------ harness

class Harness(run.Cluster):
    """The cluster, the processes, namespaces and CRDs this run started or created, and one counting proxy per system.
    Unlike run.Cluster it never starts the cluster: `up` stops a partly running one first, which a
    benchmark must not do to a cluster others use."""

    def __init__(self, scratch):  # pylint: disable=super-init-not-called
        if not run.local_cluster._healthy():
            raise SystemExit("the local cluster is not running: make cluster-up (make benchmark-peers does it)")
        self.info = run.local_cluster.cluster_info()
        self.scratch = scratch
        self.api = run.config.new_client_from_config(config_file=self.info["kubeconfig"])
        self.core, self.apps = client.CoreV1Api(self.api), client.AppsV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.extensions = client.ApiextensionsV1Api(self.api)
        self.processes, self.created, self.proxies = [], [], {}
        self.controllers = {}  # peer -> its running process

    # -- bookkeeping
    def namespace(self, system):
        name = "bench-peers-%s-%s" % (system, uuid.uuid4().hex[:6])
        self.core.create_namespace({"metadata": {"name": name}})
        self.created.append(("namespace", name))
        run.wait_for(lambda: self.core.list_namespaced_service_account(name).items, 30, "the default ServiceAccount")
        return name

    def proxy(self, system):
        if system not in self.proxies:
            proxy = CountingProxy(self.info["kubeconfig"])
            proxy.kubeconfig = proxy.kubeconfig_for(self.scratch / ("kubeconfig-%s" % system))
            self.proxies[system] = proxy
        return self.proxies[system]

    def close(self):
        errors = cleanup(self.processes, self.created, self.delete)
        for proxy in self.proxies.values():
            proxy.stop()
        for error in errors:
            run.progress("cleanup: " + error)

    def start(self, name, args, env=None):
        log = open(self.scratch / ("%s.log" % name), "w")
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
        self.processes.append((name, process))
        return process

    def delete(self, kind, name):
        if kind == "namespace":
            self.core.delete_namespace(name)
        else:
            self.extensions.delete_custom_resource_definition(name)

    def apply_crds(self, directory):
        existing = {crd.metadata.name for crd in self.extensions.list_custom_resource_definition().items}
        for path in sorted(Path(directory).glob("*.yaml")):
            with open(path) as handle:
                self.created += [("CustomResourceDefinition", name)
                                 for name in new_crd_names(yaml.safe_load_all(handle), existing)]
            subprocess.run([str(run.BIN / "python"), "-c", APPLY_CRDS, self.info["kubeconfig"], str(path)], check=True)

    def reset(self, namespace):
        """Deletes a run's applications from a system's namespace (the controller stays), so runs do not
        pile pods up on the shared cluster, whose simulator reads every pod every second."""
        for group, version, plural in (ROLLOUTS, CANARIES, ("argoproj.io", "v1alpha1", "analysisruns"),
                                       ("argoproj.io", "v1alpha1", "analysistemplates"),
                                       ("flagger.app", "v1beta1", "metrictemplates"), ISTIO, HTTP_ROUTES,
                                       ("networking.istio.io", "v1", "destinationrules")):
            try:
                self.custom.delete_collection_namespaced_custom_object(group, version, namespace, plural)
            except client.ApiException as error:
                if error.status != 404:
                    raise
        self.apps.delete_collection_namespaced_deployment(namespace)
        self.core.delete_collection_namespaced_service(namespace)
        run.wait_for(lambda: not self.core.list_namespaced_pod(namespace).items, 120, "the run's pods gone", interval=0.5)

    # -- what every system's release is judged by
    def route_weights(self, namespace, app):
        """{destination Service: weight} of the VirtualService the application's traffic enters by."""
        try:
            vs = self.custom.get_namespaced_custom_object(*ISTIO[:2], namespace, ISTIO[2], app)
        except client.ApiException as error:
            if error.status == 404:
                return {}
            raise
        for http in vs["spec"].get("http", []):
            if not http.get("match"):
                return {r["destination"]["host"].split(".")[0]: r.get("weight", 0) for r in http.get("route", [])}
        return {}

    def canary_weight(self, namespace, app):
        return self.route_weights(namespace, app).get("%s-canary" % app, 0)

    def simulator_errors(self, namespace, app):
        """5xx responses the simulator has served from the new version through the canary Service so far."""
        return self.simulator_errors_by_service(namespace, app).get("%s-canary" % app, 0.0)

    def simulator_errors_by_service(self, namespace, app):
        """{Service: 5xx responses the simulator has served from the application's new version through it}."""
        with urllib.request.urlopen(self.info["simulator_url"] + "/metrics", timeout=5) as response:
            text = response.read().decode()
        totals = {}
        for line in text.splitlines():
            if (line.startswith("http_requests_total{") and 'namespace="%s"' % namespace in line
                    and 'status="500"' in line and 'version="%s"' % NEW in line):
                service = line.split('service="', 1)[1].split('"', 1)[0]
                if service == app or service.startswith(app + "-"):
                    totals[service] = totals.get(service, 0.0) + float(line.rsplit(" ", 1)[1])
        return totals


# Server-side apply of a CRD file with the Python client (no kubectl on this machine).
APPLY_CRDS = """
import sys, yaml
from kubernetes import config, dynamic
api = dynamic.DynamicClient(config.new_client_from_config(config_file=sys.argv[1]))
crds = api.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
for doc in yaml.safe_load_all(open(sys.argv[2])):
    if doc and doc.get("kind") == "CustomResourceDefinition":
        crds.server_side_apply(body=doc, name=doc["metadata"]["name"], field_manager="benchmark-peers", force_conflicts=True)
"""


class Release:
    """Measures one release of one system: wall time, API requests through its proxy, processor time and
    peak memory of its process (the controller, or ansible-playbook and its workers)."""

    def __init__(self, harness, system):
        self.harness, self.system, self.proxy = harness, system, harness.proxy(system)

    def __enter__(self):
        self.requests_before = self.proxy.count()
        self.sampler = None
        if self.system in self.harness.controllers:
            self.sampler = ControllerSampler(self.harness.controllers[self.system].pid)
            self.sampler.start()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.started
        if self.sampler:
            self.sampler.stop()
        self.api_requests = self.proxy.count() - self.requests_before
        return False

    def figures(self, waits, playbook_sampler=None, wall=None):
        sampler = playbook_sampler or self.sampler
        wall = self.wall if wall is None else wall
        return {"wall_seconds": wall, "overhead_seconds": wall - waits, "api_requests": self.api_requests,
                "cpu_seconds": sampler.cpu_seconds, "peak_rss_mib": sampler.peak / 2 ** 20}


# ------------------------------------------------------------------------------------------- ours

class Ours:
    name = "ours"

    def __init__(self, harness):
        self.harness = harness
        self.namespace = harness.namespace("ours")
        self.proxy = harness.proxy("ours")

    def variables(self, **extra):
        variables = {"pd_namespace": self.namespace, "pd_kubeconfig": str(self.proxy.kubeconfig),
                     "pd_context": self.proxy.context_name, "pd_replicas": REPLICAS, "pd_canary_router": "istio",
                     "pd_gate_count": 1, "pd_gate_initial_delay": 0, "pd_gate_interval": 2,
                     "pd_gate_window": "10s", "pd_canary_lock_ttl": 30, "pd_scale_down_delay_seconds": 0,
                     "pd_canary_background_analysis": {}}
        variables.update(extra)
        return variables

    def playbook(self, playbook, apps, variables, sampler=None, may_fail=False, background=False):
        directory = Path(tempfile.mkdtemp(dir=self.harness.scratch))
        inventory = fleet_inventory(directory, {app: None for app in apps})
        env = dict(self.harness.env(ANSIBLE_FORKS=str(max(10, len(apps)))),
                   K8S_AUTH_KUBECONFIG=str(self.proxy.kubeconfig))
        args = ["-i", str(inventory), "playbooks/%s" % playbook, "-e", json.dumps(variables)]
        if background:
            return subprocess.Popen([str(run.BIN / "ansible-playbook")] + args, cwd=REPO, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self.harness.playbook(args, env=env, sampler=sampler, hosts_may_fail=may_fail)

    def first(self, playbook, apps, **extra):
        self.playbook(playbook, apps, self.variables(release_version=OLD, pd_canary_steps=[], **extra))

    def good_canary(self, apps, replicas=REPLICAS, router="istio"):
        self.first("canary.yml", apps, pd_replicas=replicas, pd_canary_router=router)
        steps = good_canary_steps(self.namespace, "{{ inventory_hostname }}", router)
        sampler = run.ResourceSampler()
        with Release(self.harness, "ours") as release:
            _wall, report = self.playbook("canary.yml", apps, self.variables(
                release_version=NEW, pd_canary_steps=steps, pd_replicas=replicas, pd_canary_router=router),
                sampler=sampler, may_fail=True)
        failed = [host for host, stats in report["stats"].items() if stats["failures"]]
        if failed:
            raise RuntimeError("the good canary failed for %d of %d applications, first: %s" % (
                len(failed), len(apps), first_failure(report)))
        return release.figures(2 * PAUSE, sampler)

    def bad_canary(self, app, interval):
        self.first("canary.yml", [app])
        metric = {"name": "success-rate", "query": success_rate_query(self.namespace, app), "success": {"min": 0.95}}
        variables = self.variables(
            release_version=NEW, pd_canary_steps=[{"set_weight": 20}, {"pause": {"duration": 600}}],
            pd_canary_background_analysis={"metrics": [metric], "start_at_step": 1, "interval": interval},
            pd_pod_annotations_by_version={NEW: {"simulator.terragonlabs.io/error-rate": ERROR_RATE}})
        sampler = run.ResourceSampler()
        with Release(self.harness, "ours") as release:
            process = self.playbook("canary.yml", [app], variables, background=True)
            sampler.watch(process.pid)
            try:
                span = time_to_safety(self.harness, self.namespace, app)
                process.wait(timeout=120)  # the abort ends the run, failed as a gate failure does
            finally:
                run.stop(process)
                sampler.stop()
        return release.figures(interval, sampler, wall=span)

    def blue_green(self, app):
        extra = {"pd_gate_templates": ["app_success_rate"], "pd_gate_initial_delay": PAUSE, "pd_smoke_test": {}}
        self.playbook("blue_green.yml", [app], self.variables(release_version=OLD, **extra))
        sampler = run.ResourceSampler()
        with Release(self.harness, "ours") as release:
            _wall, report = self.playbook("blue_green.yml", [app], self.variables(release_version=NEW, **extra),
                                          sampler=sampler)
        if any(stats["failures"] for stats in report["stats"].values()):
            raise RuntimeError("the blue-green release failed")
        return release.figures(2 * PAUSE, sampler)


def first_failure(report):
    """The first failed task of a playbook run's json report: its name, host and message."""
    for task in run.tasks_of(report):
        for host, result in task["hosts"].items():
            if result.get("failed"):
                return "%s on %s: %s" % (task["task"]["name"], host, str(result.get("msg"))[:300])
    return "no failed task in the report"


def time_to_safety(harness, namespace, app, timeout=180, describe=lambda: ""):
    """Seconds from the simulator serving the canary's first 5xx to the route giving it weight 0.
    describe: the system's own account of the release, added to a timeout's message."""
    try:
        run.wait_for(lambda: harness.simulator_errors(namespace, app) > 0, timeout, "the canary's first 5xx")
        first_error = time.monotonic()
        run.wait_for(lambda: harness.canary_weight(namespace, app) == 0, timeout, "the canary's weight back to 0")
    except SystemExit as error:
        raise SystemExit("%s (route %s; 5xx of the new version by Service %s; %s)" % (
            error, harness.route_weights(namespace, app), harness.simulator_errors_by_service(namespace, app),
            describe())) from None
    return time.monotonic() - first_error


# ------------------------------------------------------------------------------------- shared objects

def pod_template(app, version, labels=None, annotations=None):
    return {"metadata": {"labels": dict({"app.kubernetes.io/name": app, "app.kubernetes.io/version": version},
                                        **(labels or {})), "annotations": annotations or {}},
            "spec": {"containers": [{"name": "app", "image": "ghcr.io/terragonlabs/modelcard-generator:%s" % version,
                                     "ports": [{"name": "http", "containerPort": 8080}],
                                     "readinessProbe": {"httpGet": {"path": "/health", "port": 8080}},
                                     "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                                   "limits": {"cpu": "500m", "memory": "512Mi"}}}]}}


def service(name, app, annotations=None):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"selector": {"app.kubernetes.io/name": app},
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


# -------------------------------------------------------------------------------------- Argo Rollouts

class ArgoRollouts:
    name = "argo-rollouts"

    def __init__(self, harness, binary, crds):
        self.harness = harness
        harness.apply_crds(crds)
        self.namespace = harness.namespace("argo")
        proxy = harness.proxy(self.name)
        metrics, healthz = free_port(), free_port()
        harness.controllers[self.name] = harness.start(self.name, [
            binary, "--kubeconfig", str(proxy.kubeconfig), "--namespaced", "--namespace", self.namespace,
            "--leader-elect=false", "--metricsport", str(metrics), "--healthzPort", str(healthz), "--loglevel", "warn"],
            env={"POD_NAMESPACE": self.namespace})
        run.wait_for(lambda: _answers("http://127.0.0.1:%d/healthz" % healthz)
                     or harness.controllers[self.name].poll() is not None, 60, "Argo Rollouts' health endpoint")
        if harness.controllers[self.name].poll() is not None:
            raise Unavailable("rollouts-controller exited at start (see its log)")

    def create(self, obj, plural=None, group=("argoproj.io", "v1alpha1")):
        if obj["kind"] == "Service":
            self.harness.core.create_namespaced_service(self.namespace, obj)
        else:
            self.harness.custom.create_namespaced_custom_object(*group, self.namespace, plural, obj)

    def analysis_template(self, name, query, interval=None, count=None, initial_delay=None):
        metric = {"name": "success-rate", "successCondition": "len(result) == 0 || result[0] >= 0.95",
                  "failureLimit": 0, "provider": {"prometheus": {"address": self.harness.info["prometheus_url"],
                                                                 "query": query}}}
        if interval:
            metric["interval"] = "%ds" % interval
        if count:
            metric["count"] = count
            # One measurement must see data: an empty answer fails it, as in the others' single measurements.
            metric["successCondition"] = "len(result) > 0 && result[0] >= 0.95"
        if initial_delay:
            metric["initialDelay"] = "%ds" % initial_delay
        self.create({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": name},
                     "spec": {"metrics": [metric]}}, "analysistemplates")

    def canary(self, app, steps, background=None, replicas=REPLICAS):
        for name in (app, app + "-canary"):
            self.create(service(name, app))
        self.harness.custom.create_namespaced_custom_object(*ISTIO[:2], self.namespace, ISTIO[2], {
            "apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": app},
            "spec": {"hosts": [app], "http": [{"name": "primary", "route": [
                {"destination": {"host": app}, "weight": 100}, {"destination": {"host": app + "-canary"}, "weight": 0}]}]}})
        strategy = {"canaryService": app + "-canary", "stableService": app, "steps": steps,
                    "scaleDownDelaySeconds": ARGO_SCALE_DOWN_DELAY,
                    "trafficRouting": {"istio": {"virtualService": {"name": app, "routes": ["primary"]}}}}
        if background:
            strategy["analysis"] = background
        self.create(self.rollout(app, {"canary": strategy}, replicas), "rollouts")

    def rollout(self, app, strategy, replicas=REPLICAS):
        return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": app},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
                         "template": pod_template(app, OLD), "strategy": strategy}}

    def release(self, app, annotations=None):
        """Starts the release of the new version; returns the stable ReplicaSet it replaces."""
        stable = self.status(app).get("stableRS")
        template = pod_template(app, NEW, annotations=annotations)
        self.harness.custom.patch_namespaced_custom_object(*ROLLOUTS[:2], self.namespace, ROLLOUTS[2], app,
                                                           {"spec": {"template": template}})
        return stable

    def status(self, app):
        return self.harness.custom.get_namespaced_custom_object(*ROLLOUTS[:2], self.namespace, ROLLOUTS[2], app).get(
            "status", {})

    def promoted(self, app, replaced=None):
        """Fully promoted: healthy, the current pod template stable (and no longer the one replaced)."""
        status = self.status(app)
        return (status.get("phase") == "Healthy" and status.get("stableRS")
                and status.get("stableRS") == status.get("currentPodHash") and status.get("stableRS") != replaced)

    def account(self, app):
        """The Rollout's own account of a release, for a timeout's message: which ReplicaSet it calls
        stable and current, the step it is at, and whether it aborted."""
        status = self.status(app)
        return "rollout %s" % {key: status.get(key) for key in (
            "phase", "message", "stableRS", "currentPodHash", "currentStepIndex", "abort", "canary")}

    def aborted(self, app):
        return self.status(app).get("phase") == "Degraded"

    def wait_quiet(self):
        """Waits until no Rollout of the namespace has changed for ARGO_QUIET_SECONDS: the controller is done
        writing them."""
        last = {}

        def quiet():
            versions = {name: rollout["metadata"]["resourceVersion"] for name, rollout in self.rollouts().items()}
            if versions != last.get("versions"):
                last.update(versions=versions, since=time.monotonic())
            return time.monotonic() - last["since"] >= ARGO_QUIET_SECONDS

        run.wait_for(quiet, 60, "the Rollouts unchanged for %d s" % ARGO_QUIET_SECONDS, interval=0.2)

    def taken_up(self, apps):
        """Whether the controller has seen every application's latest spec."""
        rollouts = self.rollouts()
        return all(str(rollouts[app]["metadata"]["generation"]) == rollouts[app].get("status", {}).get("observedGeneration")
                   for app in apps)

    def rollouts(self):
        """{name: Rollout} of the namespace, in one request."""
        return {rollout["metadata"]["name"]: rollout for rollout in self.harness.custom.list_namespaced_custom_object(
            *ROLLOUTS[:2], self.namespace, ROLLOUTS[2])["items"]}

    def good_canary(self, apps, replicas=REPLICAS, router="istio"):
        if router != "istio":
            raise Unavailable(ARGO_GATEWAY_API)
        steps = [{"setWeight": 20}, {"pause": {"duration": "%ds" % PAUSE}}, None,
                 {"setWeight": 50}, {"pause": {"duration": "%ds" % PAUSE}}, {"setWeight": 100}]
        for app in apps:
            self.analysis_template("step-" + app, success_rate_query(self.namespace, app), count=1)
            steps[2] = {"analysis": {"templates": [{"templateName": "step-" + app}]}}
            self.canary(app, list(steps), replicas=replicas)
        run.wait_for(lambda: all(self.promoted(app) for app in apps), 300, "the first versions")
        self.wait_quiet()
        with Release(self.harness, self.name) as release:
            replaced = {app: self.release(app) for app in apps}
            run.wait_for(lambda: self.taken_up(apps), 120, "Argo Rollouts to take up the new pod templates",
                         interval=0.1)
            run.wait_for(lambda: all(self.promoted(app, replaced[app]) or self.aborted(app) for app in apps), 600,
                         "the canaries promoted or aborted", interval=0.1)
        aborted = [app for app in apps if self.aborted(app)]
        if aborted:
            raise RuntimeError("Argo Rollouts aborted the good canary of %d of %d applications, first: %s" % (
                len(aborted), len(apps), self.status(aborted[0]).get("message")))
        return release.figures(2 * PAUSE)

    def bad_canary(self, app, interval):
        self.analysis_template("bg-" + app, success_rate_query(self.namespace, app), interval=interval)
        self.canary(app, [{"setWeight": 20}, {"pause": {"duration": "600s"}}],
                    background={"templates": [{"templateName": "bg-" + app}], "startingStep": 1})
        run.wait_for(lambda: self.promoted(app), 120, "%s's first version" % app)
        self.wait_quiet()
        with Release(self.harness, self.name) as release:
            self.release(app, {"simulator.terragonlabs.io/error-rate": ERROR_RATE})
            span = time_to_safety(self.harness, self.namespace, app, describe=lambda: self.account(app))
        return release.figures(interval, wall=span)

    def blue_green(self, app):
        preview = app + "-preview"
        self.create(service(app, app))
        self.create(service(preview, app, {"simulator.terragonlabs.io/requests-per-second": "10"}))
        self.analysis_template("pre-" + app, service_success_query(self.namespace, preview), count=1, initial_delay=PAUSE)
        self.analysis_template("post-" + app, service_success_query(self.namespace, app), count=1, initial_delay=PAUSE)
        self.create(self.rollout(app, {"blueGreen": {
            "activeService": app, "previewService": preview, "autoPromotionEnabled": True,
            "scaleDownDelaySeconds": ARGO_SCALE_DOWN_DELAY,
            "prePromotionAnalysis": {"templates": [{"templateName": "pre-" + app}]},
            "postPromotionAnalysis": {"templates": [{"templateName": "post-" + app}]}}}), "rollouts")
        run.wait_for(lambda: self.promoted(app), 120, "%s's first version" % app)
        self.wait_quiet()
        with Release(self.harness, self.name) as release:
            replaced = self.release(app)
            run.wait_for(lambda: self.taken_up([app]), 120, "Argo Rollouts to take up the new pod template",
                         interval=0.1)
            run.wait_for(lambda: self.promoted(app, replaced) or self.aborted(app), 300, "the blue-green release",
                         interval=0.1)
        if self.aborted(app):
            raise RuntimeError("Argo Rollouts aborted the blue-green release: %s" % self.status(app).get("message"))
        return release.figures(2 * PAUSE)


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


# ------------------------------------------------------------------------------------------- Flagger

class Flagger:
    name = "flagger"

    def __init__(self, harness, binary, crds):
        self.harness = harness
        harness.apply_crds(crds)
        self.namespace = harness.namespace("flagger")
        proxy = harness.proxy(self.name)
        port = free_port()
        harness.controllers[self.name] = harness.start(self.name, [
            binary, "-kubeconfig", str(proxy.kubeconfig), "-namespace", self.namespace, "-mesh-provider", "istio",
            "-metrics-server", harness.info["prometheus_url"], "-port", str(port), "-log-level", "info",
            "-enable-leader-election=false"])
        run.wait_for(lambda: _answers("http://127.0.0.1:%d/healthz" % port)
                     or harness.controllers[self.name].poll() is not None, 60, "Flagger's health endpoint")
        if harness.controllers[self.name].poll() is not None:
            raise Unavailable("flagger exited at start (see its log)")

    def canary(self, app, step_weights, metric_interval=FLAGGER_MIN_INTERVAL, replicas=REPLICAS, router="istio"):
        self.harness.apps.create_namespaced_deployment(self.namespace, {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
                     "template": pod_template(app, OLD)}})
        self.harness.custom.create_namespaced_custom_object("flagger.app", "v1beta1", self.namespace, "metrictemplates", {
            "apiVersion": "flagger.app/v1beta1", "kind": "MetricTemplate", "metadata": {"name": "success-" + app},
            "spec": {"provider": {"type": "prometheus", "address": self.harness.info["prometheus_url"]},
                     "query": canary_success_query(self.namespace, app, router)}})
        service_spec = {"port": 80, "targetPort": 8080}
        if router == "gateway_api":
            # Flagger requires a Gateway to attach its HTTPRoute to; the simulator routes by the HTTPRoute alone.
            service_spec["gatewayRefs"] = [{"name": "benchmark", "namespace": self.namespace}]
        self.harness.custom.create_namespaced_custom_object(*CANARIES[:2], self.namespace, CANARIES[2], {
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": {"name": app},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                     "provider": FLAGGER_PROVIDERS[router], "progressDeadlineSeconds": 120,
                     "service": service_spec,
                     "analysis": {"interval": "%ds" % metric_interval, "threshold": 1, "stepWeights": step_weights,
                                  "metrics": [{"name": "success-rate", "interval": "10s",
                                               "thresholdRange": {"min": 0.95},
                                               "templateRef": {"name": "success-" + app}}]}}})

    def phase(self, app):
        return self.harness.custom.get_namespaced_custom_object(*CANARIES[:2], self.namespace, CANARIES[2], app).get(
            "status", {}).get("phase")

    def release(self, app, annotations=None):
        self.harness.apps.patch_namespaced_deployment(app, self.namespace, {"spec": {"template": pod_template(
            app, NEW, annotations=annotations)}})

    def good_canary(self, apps, replicas=REPLICAS, router="istio"):
        for app in apps:
            self.canary(app, [20, 50], replicas=replicas, router=router)
        run.wait_for(lambda: all(self.phase(app) == "Initialized" for app in apps), 300, "the canaries initialised")
        with Release(self.harness, self.name) as release:
            for app in apps:
                self.release(app)
            # Progressing first, so a Succeeded left from the first version is not mistaken for this one.
            run.wait_for(lambda: all(self.phase(app) not in ("Initialized", "Succeeded") for app in apps), 120,
                         "the canaries progressing", interval=0.1)
            run.wait_for(lambda: all(self.phase(app) in ("Succeeded", "Failed") for app in apps), 600,
                         "the canaries promoted", interval=0.1)
        failed = [app for app in apps if self.phase(app) == "Failed"]
        if failed:
            raise RuntimeError("Flagger failed the good canary of %s" % ", ".join(failed))
        # Flagger holds each weight for one analysis interval: its two steps are its pauses.
        return release.figures(2 * FLAGGER_MIN_INTERVAL)

    def bad_canary(self, app, interval):
        if interval < FLAGGER_MIN_INTERVAL:
            raise Unavailable("Flagger's analysis interval cannot be shorter than %d s" % FLAGGER_MIN_INTERVAL)
        self.canary(app, [20, 50], metric_interval=interval)
        run.wait_for(lambda: self.phase(app) == "Initialized", 180, "%s's canary initialised" % app)
        with Release(self.harness, self.name) as release:
            self.release(app, {"simulator.terragonlabs.io/error-rate": ERROR_RATE})
            span = time_to_safety(self.harness, self.namespace, app, describe=lambda: "canary %s" % self.phase(app))
        return release.figures(interval, wall=span)

    def blue_green(self, app):
        raise Unavailable("Flagger has no post-promotion analysis (its metric checks run only before the switch, "
                          "after it only post-rollout webhooks), and its Istio blue-green gives the new version no "
                          "live traffic before the switch unless mirrored: the same pre+post gate cannot be set up")


# -------------------------------------------------------------------------------------------- workloads

def measure(systems, runs, name, body, summaries, save):
    """Fills summaries {system: summary} with body(system, run index) over runs, a system that cannot run it
    saying why; saves after every run, so a benchmark stopped midway keeps the runs it finished."""
    for system_name, system in systems.items():
        if isinstance(system, str):
            summaries[system_name] = {"unavailable": system}
            continue
        results = []
        for index in range(runs):
            run.progress("%s: %s, run %d of %d" % (name, system_name, index + 1, runs))
            try:
                results.append(body(system, index))
            except Unavailable as reason:
                summaries[system_name] = {"unavailable": str(reason)}
                break
            except (RuntimeError, SystemExit, client.ApiException, OSError) as error:
                # OSError: the simulator or Prometheus not answering in time on a loaded machine fails the run only.
                run.progress("%s: %s failed: %s" % (name, system_name, str(error)[:500]))
                results.append({"error": str(error).splitlines()[0][:400] if str(error) else repr(error)})
            finally:
                try:
                    system.harness.reset(system.namespace)
                except (SystemExit, client.ApiException) as error:
                    run.progress("%s: resetting %s's namespace failed: %s" % (name, system_name, error))
            summaries[system_name] = summarise(results)
            save()


class Stopped(KeyboardInterrupt):
    """SIGTERM: the whole benchmark stops."""


def stopped(number, frame):
    raise Stopped("stopped by signal %d" % number)


def main():
    # A stopped run still stops its controllers and deletes its namespaces and CRDs (the finally blocks run). Not
    # SystemExit: a run's failure raises that (run.wait_for, a failed playbook), and is only recorded.
    signal.signal(signal.SIGTERM, stopped)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each workload (medians are reported)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, of %s" % ", ".join(WORKLOADS))
    parser.add_argument("--fleet-sizes", default=",".join(str(size) for size in FLEET_SIZES))
    parser.add_argument("--bad-intervals", default=",".join(str(interval) for interval in BAD_INTERVALS),
                        help="the bad canary's analysis intervals in seconds")
    parser.add_argument("--fleet-runs", type=int, help="runs of each fleet size (default: --runs); a fleet of 50 "
                        "takes ours many minutes a run on 2 cores")
    parser.add_argument("--json", default=str(run.PEERS_JSON))
    parser.add_argument("--table-from", metavar="JSON", nargs="+", help="print the table (and its Markdown, for the "
                        "README) of an earlier run's JSON, measuring nothing; rows of further runs' JSON replace "
                        "the first's of the same workload")
    args = parser.parse_args()
    if args.table_from:
        saved = merge(*(json.loads(Path(path).read_text()) for path in args.table_from))
        print(render(saved) + "\n\n" + markdown(saved))
        return
    workloads = args.workloads.split(",")
    if set(workloads) - set(WORKLOADS):
        parser.error("--workloads: choose from %s" % ", ".join(WORKLOADS))
    with open("/proc/loadavg") as handle:
        load_before = " ".join(handle.read().split()[:3])
    builds = {}
    binaries = {}
    build = subprocess.run(["bash", str(HERE / "build-peers.sh")], capture_output=True, text=True, check=False)
    sys.stderr.write(build.stderr[-3000:] if build.returncode else "")
    for line in build.stdout.splitlines():
        peer, binary, crds, seconds = line.split()
        binaries[peer] = (binary, crds)
        builds[peer] = "cached" if seconds == "cached" else "built in %ss" % seconds
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "runs": args.runs,
               "load": "%s at start (1, 5, 15 min) on %d cores" % (load_before, os.cpu_count()),
               "versions": {"Argo Rollouts": os.environ.get("PD_ARGO_ROLLOUTS_VERSION", "v1.8.5"),
                            "Flagger": os.environ.get("PD_FLAGGER_VERSION", "v1.36.1"),
                            "collection": galaxy_version()},
               "builds": builds, "workloads": [],
               "notes": ["Argo Rollouts runs with scaleDownDelaySeconds: %d, not 0: with 0 and Istio routing v1.8.5 never "
                         "scales the old ReplicaSet down and spins at a full core (argoproj/argo-rollouts#1992)"
                         % ARGO_SCALE_DOWN_DELAY,
                         "Argo Rollouts' Rollouts are changed only once they stayed unchanged for %d s: v1.8.5 never "
                         "took up a pod template patched while it still wrote the Rollout it had just promoted "
                         "(observedGeneration stayed behind, twice in a row on an idle machine)" % ARGO_QUIET_SECONDS,
                         "Flagger holds each weight for one analysis interval (10 s at least) instead of a 4 s pause; "
                         "its overhead is counted beyond 2 intervals",
                         "API requests are counted by a proxy in front of the API server, one per HTTP request "
                         "(a watch counts once); CPU and peak RSS: the controller process over the release, or "
                         "ansible-playbook and its workers",
                         "wall: ours, the ansible-playbook run; the peers, from the pod template's change to fully "
                         "promoted. Bad canary: wall is first 5xx to canary weight 0, overhead that minus one "
                         "interval (below 0: caught before a full interval passed, no ratio); its requests, CPU "
                         "and memory cover the release from its start",
                         "Flagger's primary pods are labelled <app>-primary, so the simulator takes <app>-primary "
                         "for the application entering through Flagger's VirtualService: the same 20 requests a "
                         "second split by its weights, as for the others",
                         "Every workload routes through an Istio VirtualService except \"good canary, Gateway API "
                         "HTTPRoute\", which routes through an HTTPRoute; there the canary query reads the "
                         "application's own metrics of the canary Service (http_requests_total), as no mesh reports on an HTTPRoute's traffic"]}

    def save():
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")

    with tempfile.TemporaryDirectory(prefix="benchmark-peers-") as scratch:
        harness = Harness(Path(scratch))
        try:
            systems = {"ours": Ours(harness)}
            for peer, kind in zip(PEERS, (ArgoRollouts, Flagger)):
                if peer not in binaries:
                    systems[peer] = "its build failed: %s" % (build.stderr.strip().splitlines() or ["?"])[-1]
                    continue
                try:
                    systems[peer] = kind(harness, *binaries[peer])
                except (Unavailable, SystemExit, subprocess.CalledProcessError, client.ApiException) as error:
                    systems[peer] = "its controller did not start: %s" % str(error).splitlines()[0]
            counter = iter(range(10 ** 6))

            def app(prefix):
                return "%s-%d" % (prefix, next(counter))

            def workload(name, body, runs=args.runs, label=None):
                entry = {"name": name, "systems": {}}
                results["workloads"].append(entry)
                measure(systems, runs, label or name, body, entry["systems"], save)

            if "good" in workloads:
                workload(GOOD_CANARY, lambda system, _i: system.good_canary([app("good")]))
            if "gateway_api" in workloads:
                workload("good canary, Gateway API HTTPRoute",
                         lambda system, _i: system.good_canary([app("gw")], router="gateway_api"),
                         label="good canary, Gateway API")
            if "bad" in workloads:
                for interval in [int(interval) for interval in args.bad_intervals.split(",")]:
                    workload("bad canary, analysis every %ds (first 5xx to weight 0)" % interval,
                             lambda system, _i: system.bad_canary(app("bad"), interval))
            if "blue_green" in workloads:
                workload("blue-green, pre+post analysis", lambda system, _i: system.blue_green(app("bg")),
                         label="blue-green")
            if "fleet" in workloads:
                sizes = [int(size) for size in args.fleet_sizes.split(",")]
                for size in sorted(set(FLEET_SIZES) - set(sizes)):
                    # Still a row: a left-out size must show, saying why, not vanish from the table.
                    results["workloads"].append({"name": "good canary, %d applications at once" % size, "systems": {
                        system: {"unavailable": "left out of this run (--fleet-sizes %s)" % args.fleet_sizes}
                        for system in systems}})
                for size in sizes:
                    # One pod per version and application, as benchmarks/run.py's fleets: room on the shared cluster.
                    workload("good canary, %d applications at once" % size,
                             lambda system, _i: system.good_canary([app("f%d" % size) for _number in range(size)],
                                                                   replicas=1),
                             runs=args.fleet_runs or args.runs)
        finally:
            harness.close()
            for name, _process in harness.processes:
                log = Path(scratch) / ("%s.log" % name)
                if log.exists():
                    results.setdefault("controller_log_tails", {})[name] = log.read_text()[-2000:]
            save()
    print(render(results))
    print("\nwritten to %s" % args.json)


def galaxy_version():
    for line in (REPO / "galaxy.yml").read_text().splitlines():
        if line.startswith("version:"):
            return line.split(":", 1)[1].strip()
    return "?"


if __name__ == "__main__":
    main()
