# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every strategy of the release engine does the same way: the run's lock (taken once, waiting
out a killed run's, renewed while the run waits, given back once), the release record, the
application's objects applied as data, the calls to the routers, rollout waits and gates, and the
release's events. A strategy (canary_engine) decides; this module does the I/O."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import ApiError
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    ModuleFailure,
    client_failure,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.manifests import (
    NAME_LABEL,
    workload_objects,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.gate import build_gate
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.options import METRICS_OPTION
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.notify import (
    TARGET_OPTIONS,
    TARGET_REQUIRED_IF,
    send_event,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_lock import (
    ORPHANED,
    LockKeeper,
    run_release_lock,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_record import (
    decode,
    read_record,
    run_release_record,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.traffic import switch
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.undo import undo_rollout
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.workload import (
    scale_workload,
    wait_for_rollout,
)

LOST_LOCK = "lost the release lock"
# A run that lost its lock, or was killed, leaves the release to the next run: it neither rolls back
# nor gives back a lock.
STOPS_WITHOUT_ACTING = (LOST_LOCK, ORPHANED)
# EndpointSlices list newly ready pods a moment after the Deployment reports them.
ENDPOINTS_ATTEMPTS, ENDPOINTS_DELAY = 10, 2.0
# Kubernetes' own progressDeadlineSeconds, for a Deployment given none.
DEFAULT_PROGRESS_DEADLINE = 600
POLL_INTERVAL = 1.0
API_VERSIONS = {"Service": "v1", "Deployment": "apps/v1", "PodDisruptionBudget": "policy/v1",
                "HorizontalPodAutoscaler": "autoscaling/v2", "Ingress": "networking.k8s.io/v1",
                "VirtualService": "networking.istio.io/v1", "HTTPRoute": "gateway.networking.k8s.io/v1",
                "Route": "route.openshift.io/v1", "Job": "batch/v1"}


def plural(kind):
    """The resource name of a kind, as the API server forms it for the kinds a release applies."""
    lower = kind.lower()
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + "s"


class Call(object):
    """The module as a function written for a module's parameters sees it, given other parameters:
    the routers, waits, lock and record code run unchanged inside the engine's one process."""

    def __init__(self, module, **params):
        self._module = module
        self.params = params

    def __getattr__(self, name):
        return getattr(self._module, name)


class ReleaseFailed(ModuleFailure):
    """A failure after which the release goes back to where it was safe (the strategy's abort)."""


class Release(object):
    """One run's dealings with the cluster for one application. ``holder`` is the run's lock
    identity: the same for every call of one run, distinct between runs."""

    def __init__(self, module, app, namespace, holder, job_id, ttl, notify=None):
        self.module, self.app, self.namespace = module, app, namespace
        self.holder, self.job_id, self.ttl = holder, job_id, ttl
        self.notify = notify
        self.events = []
        self.lock_lost = False
        lock = {"app": app, "namespace": namespace, "holder": holder, "ttl": ttl}
        if job_id:
            lock["job_id"] = job_id
        self.lock_options = lock
        self.keeper = None
        # Seconds this call spent in the waits its strategy asks for, for benchmarks/run.py.
        self.waited = {"pauses": 0.0, "gates": 0.0, "rollouts": 0.0}
        self._in_gate = False

    # The lock.
    def _lock(self, state, renew=False):
        return run_release_lock(Call(self.module, app=self.app, namespace=self.namespace, holder=self.holder,
                                     job_id=self.job_id, ttl=self.ttl, state=state, force=False, renew=renew))

    def take_lock(self):
        """Takes the lock, waiting for a killed run's to expire; True when it waited for another run's,
        whose run may have moved the release on meanwhile. A live run renews its lock, so a second
        run is refused once the lock it found should have expired."""
        try:
            self._lock("present")
            self.keeper = LockKeeper(self.module, self.namespace, self.lock_options)
            self.keeper.renewed_at = time.monotonic()
            return False
        except ModuleFailure as failure:
            if "is held by" not in failure.msg:
                raise
            held = failure
        deadline = time.monotonic() + max(0.0, held.result.get("expires_in") or 0.0) + 2.0
        while True:
            time.sleep(1.0)
            try:
                taken = self._lock("present")
                break
            except ModuleFailure as failure:
                if "is held by" not in failure.msg or time.monotonic() > deadline:
                    raise
        self.keeper = LockKeeper(self.module, self.namespace, self.lock_options)
        self.keeper.renewed_at = time.monotonic()
        if taken["outcome"] == "acquired":
            # Given back rather than expired, the lock was a live run's: what was read before is stale.
            self.give_back_lock()
            raise ModuleFailure("%s; that run has ended since - run again to act on where it left the release"
                                % held.msg)
        return True

    def keep_lock(self):
        """Renews the run's lock when a third of its ttl has passed; a lock found lost stops the run."""
        if self.keeper is None:
            self.keeper = LockKeeper(self.module, self.namespace, self.lock_options)
        try:
            self.keeper.keep()
        except ModuleFailure as failure:
            self._note_lost(failure)
            raise

    def give_back_lock(self):
        if not self.lock_lost:
            self._lock("absent")

    def wait_out_lock(self):
        """Gives back a lock this application's killed run left (waiting until it expires)."""
        try:
            self._lock("absent")
        except ModuleFailure as failure:
            if "is held by" not in failure.msg:
                raise
            time.sleep(max(0.0, failure.result.get("expires_in") or 0.0) + 1.0)
            self._lock("absent")

    def sleep(self, seconds):
        """Waits, keeping the lock all along."""
        if self.keeper is None:
            self.keep_lock()
        started = time.monotonic()
        try:
            self.keeper.sleep(seconds)
        except ModuleFailure as failure:
            self._note_lost(failure)
            raise
        finally:
            if not self._in_gate:
                self.waited["pauses"] += time.monotonic() - started

    def _timed(self, kind, work):
        started = time.monotonic()
        try:
            return work()
        finally:
            self.waited[kind] += time.monotonic() - started

    # The record.
    def read_record(self):
        return decode(read_record(self.module, self.app, self.namespace))[0] or {}

    def record(self, **changes):
        """Updates the release record; gate is (verdict, message) when an analysis was judged."""
        gate = changes.pop("gate", (None, None))
        params = dict((field, None) for field in (
            "release_id", "strategy", "version", "phase", "step", "stable_revision", "stable_images",
            "new_revision", "new_images", "config", "details"))
        params.update(changes)
        params.update(app=self.app, namespace=self.namespace, state="present", history_limit=10,
                      gate_verdict=gate[0], gate_message=gate[1])
        return run_release_record(Call(self.module, **params))["release"]

    def release_id(self, version):
        return "%s-%s-%s" % (self.app, version, datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"))

    # Events, sent as they happen; the run's result lists them too.
    def event(self, event, version, strategy, text, details):
        self.events.append({"event": event, "version": version, "message": text, "details": details})
        if self.notify:
            for failure in self.notify(event=event, version=version, strategy=strategy, message=text,
                                       details=details):
                self.module.warn(failure)

    # Objects.
    def read(self, kind, name):
        try:
            return self.module.client.get(API_VERSIONS[kind], plural(kind), self.namespace, name)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def apply(self, objects, dry_run=False):
        """Applies the objects (server-side, as data); dry_run only validates them on the server."""
        for body in objects:
            body = dict(body, metadata=dict(body["metadata"], namespace=self.namespace))
            self.module.client.apply(body["apiVersion"], plural(body["kind"]), self.namespace,
                                     body["metadata"]["name"], body,
                                     dry_run="All" if dry_run or self.module.check_mode else None)

    def create_if_absent(self, body):
        """Creates the object unless it exists: an existing route keeps its settings."""
        if self.read(body["kind"], body["metadata"]["name"]) is None:
            self.module.client.create(body["apiVersion"], plural(body["kind"]), self.namespace,
                                      dict(body, metadata=dict(body["metadata"], namespace=self.namespace)),
                                      dry_run=self.module.dry_run)

    def wait_for(self, name, timeout, progress_deadline):
        self.keep_lock()
        return self._timed("rollouts", lambda: wait_for_rollout(
            self._wait_call(progress_deadline), "Deployment", name, self.namespace, timeout, POLL_INTERVAL))

    def wait_for_endpoints(self, service, count, timeout=30.0):
        """Waits until the Service lists count ready endpoints: EndpointSlices follow the pods a
        moment after the Deployment reports them ready, and a gate measuring through the Service
        before then would measure nothing."""
        deadline = time.monotonic() + timeout
        while True:
            slices = self.module.client.list("discovery.k8s.io/v1", "endpointslices", self.namespace,
                                             label_selector="kubernetes.io/service-name=%s" % service)["items"]
            ready = set()
            for endpoint_slice in slices:
                for endpoint in endpoint_slice.get("endpoints") or []:
                    if (endpoint.get("conditions") or {}).get("ready", True):
                        ready.update(endpoint.get("addresses") or [])
            if len(ready) >= count or time.monotonic() >= deadline:
                return len(ready)
            self.keep_lock()
            time.sleep(0.5)

    def scale(self, name, replicas, wait=False, timeout=0, progress_deadline=None, missing_ok=False):
        """Scales the Deployment (waiting for its pods with wait); a missing one stays absent with missing_ok."""
        if missing_ok and self.read("Deployment", name) is None:
            return
        self.keep_lock()
        call = self._wait_call(progress_deadline, kind="Deployment", name=name, namespace=self.namespace,
                               replicas=replicas, wait=wait, timeout=timeout)
        try:
            return self._timed("rollouts", lambda: scale_workload(call))
        except ModuleFailure as failure:
            self._note_lost(failure)
            raise

    def undo(self, name, timeout, to_revision=0):
        """Undoes the Deployment to to_revision (0: the previous one) and waits for it."""
        self.keep_lock()
        call = self._wait_call(None, kind="Deployment", name=name, namespace=self.namespace,
                               to_revision=to_revision, wait=True, timeout=timeout)
        return self._timed("rollouts", lambda: undo_rollout(call))

    def _wait_call(self, progress_deadline, **params):
        return Call(self.module, poll_interval=POLL_INTERVAL, progress_deadline=progress_deadline,
                    release_lock=None if self.module.check_mode else self.lock_options, **params)

    def _note_lost(self, failure):
        if failure.msg.startswith(STOPS_WITHOUT_ACTING):
            self.lock_lost = True

    def switch(self, router, stable, canary, **request):
        """Switches traffic through the router, retrying while a new backend's endpoints appear."""
        params = dict(router=router, namespace=self.namespace, stable=stable, canary=canary, route=None,
                      route_rule=None, istio=None, nginx=None, service=None, replicas=None, weight=None,
                      header_route=None, mirror=None, remove_managed_routes=False, require_ready_endpoints=True)
        params.update(request)
        for attempt in range(ENDPOINTS_ATTEMPTS):
            self.keep_lock()
            try:
                return switch(Call(self.module, **params))
            except ModuleFailure as failure:
                if "has no ready endpoints" not in failure.msg or attempt + 1 == ENDPOINTS_ATTEMPTS:
                    raise
            time.sleep(ENDPOINTS_DELAY)

    def gate(self, prometheus, metrics):
        """The gate's result (verdict, message, metrics), measured while keeping the lock."""
        if not metrics:
            return None
        self.keep_lock()
        try:
            gate = build_gate({"metrics": metrics, "prometheus": prometheus, "max_duration": None},
                              sleep=self.sleep)
        except GateConfigError as error:
            raise ModuleFailure(str(error))
        self._in_gate = True
        try:
            return self._timed("gates", gate.run)
        finally:
            self._in_gate = False


def checked_metrics(path, metrics):
    """The metrics with metric_gate's defaults, or a failure naming the parameter."""
    result = ArgumentSpecValidator({"metrics": METRICS_OPTION}).validate({"metrics": metrics or []})
    if result.error_messages:
        raise ModuleFailure("%s: %s" % (path, "; ".join(result.error_messages)))
    return result.validated_parameters["metrics"]


def notification_targets(module):
    """The notify option's targets with the notify role's defaults; their secrets are masked in all output."""
    result = ArgumentSpecValidator({"targets": dict(type="list", elements="dict", options=TARGET_OPTIONS,
                                                    required_if=TARGET_REQUIRED_IF)}).validate(
        {"targets": (module.params["notify"] or {}).get("targets") or []})
    if result.error_messages:
        raise ModuleFailure("notify.targets: %s" % "; ".join(result.error_messages))
    module.ansible.no_log_values.update(result._no_log_values)
    return result.validated_parameters["targets"]


class Paused(Exception):
    """The release waits for a person: a pause without duration, an inconclusive analysis, a
    blue-green release that is not promoted automatically."""


class StrategyRun(object):
    """What a strategy's run does the same way whatever the strategy: the run's identity and
    cursor, its events and record, and the guard that ends a failed run safely. A strategy
    provides abort(reason), the one way back, and sets cursor["promoted"] once traffic stays."""

    strategy = None

    def __init__(self, module):
        self.module = module
        params = self.params = module.params
        self.app, self.namespace = params["app"], params["namespace"]
        self.cursor = dict(params["cursor"] or {})
        if not self.cursor.get("holder"):
            # Unique per run, so that a second run by the same user is refused the lock.
            self.cursor["holder"] = "%s, run of %s" % (
                params["lock"]["holder"], datetime.datetime.now(datetime.timezone.utc).isoformat())
        targets = notification_targets(module)
        notify = None
        if targets:
            def notify(**event):
                return send_event(targets, app=self.app, namespace=self.namespace,
                                  environment=(params["notify"] or {}).get("environment") or "", **event)
        self.release = Release(module, self.app, self.namespace, self.cursor["holder"],
                               params["lock"]["job_id"], params["lock"]["ttl"], notify)
        self.changed = False

    @property
    def version(self):
        return self.cursor["version"]

    def event(self, event, text, **details):
        freeze = self.params["freeze"]
        if event == "started" and freeze:
            text += " Released inside freeze window %s: %s" % (freeze["window"], freeze["override"])
            details.update(freeze_window=freeze["window"], freeze_override=freeze["override"])
        self.release.event(event, self.version, self.strategy, text, details)

    def record(self, **changes):
        """Updates the record; a new release records its config copies and a freeze override too."""
        self.changed = True
        freeze = self.params["freeze"]
        if changes.get("release_id"):
            changes["config"] = self.params["config"]
            if freeze:
                changes["details"] = dict(changes.get("details") or {}, freeze_window=freeze["window"],
                                          freeze_override=freeze["override"])
        return self.release.record(**changes)

    def deployment(self, name):
        """The Deployment of the track, color or slot name."""
        return "%s-%s" % (self.app, name)

    def track(self, name):
        """The track or color `name` of the tracks given, or None."""
        return next((track for track in self.params["tracks"] if track["name"] == name), None)

    def track_objects(self, name):
        """The new version's objects of the track or color `name`, built as data: its Services, its
        Deployment and, with more than one replica, its PodDisruptionBudget."""
        track = self.track(name)
        workload = self.params["workload"]
        if track is None or workload is None:
            raise ModuleFailure("tracks and workload must describe the %s Deployment to deploy it" % name)
        progress_deadline = self.params["progress_deadline"]
        return workload_objects(
            name=self.app, deployment_name=track["deployment"] or "%s-%s" % (self.app, name),
            version=self.params["version"], image=self.params["image"], replicas=self.params["replicas"],
            port=workload["port"], health_path=workload["health_path"], resources=workload["resources"],
            progress_deadline_seconds=DEFAULT_PROGRESS_DEADLINE if progress_deadline is None else progress_deadline,
            pod_labels=track["pod_labels"], pod_annotations=workload["pod_annotations"], services=track["services"],
            config=workload["config"])

    def select(self, service, old, new, weight):
        """Points the Service at the pods of the track or color new (weight 100) or old (0), as their
        pod labels select them: the Service's traffic moves all at once."""
        def selector(name):
            return dict({NAME_LABEL: self.app}, **self.track(name)["pod_labels"])

        self.release.switch("service", self.deployment(old), self.deployment(new), weight=weight,
                            service={"active_service": service, "stable_selector": selector(old),
                                     "canary_selector": selector(new)})
        self.changed = True

    def would(self, plan):
        """Check mode's answer: the plan, step by step, reported as the change it would be, as check
        mode predicts a change rather than making it."""
        self.changed = True
        return self.result(True, plan[0], plan=plan)

    def result(self, ended, progress, **extra):
        return dict(extra, changed=self.changed or bool(self.release.events), ended=ended, cursor=self.cursor,
                    progress=progress, events=self.release.events,
                    waited=dict((kind, round(seconds, 3)) for kind, seconds in self.release.waited.items()))

    def take_lock(self, read_again):
        """Takes the lock; when it waited for another run's, read_again() checks again what that run left."""
        if self.release.take_lock():
            try:
                read_again()
            except Exception:
                self.release.give_back_lock()
                raise

    def fail_gate(self, name, result, kind):
        self.cursor["failed_gate"] = {"name": name, "verdict": result["verdict"], "message": result["message"]}
        # The gate's message begins with its verdict: "the pre-promotion gate ended Failed: smoke-test: ...".
        raise ModuleFailure("the %s %s ended %s" % (name, kind, result["message"]), gate=result)

    def template_metrics(self, templates, name, service, interval=None):
        """A metric for each built-in template, measuring the new version behind service every
        interval (the analysis's unless given). A window no request reached yet is an error, measured
        again at the interval and not counted: the gate waits for traffic, up to its error limit."""
        analysis = self.params["analysis"]
        interval = float(interval or analysis["interval"])
        return [{"name": "%s-%s" % (template, name), "template": template,
                 "template_args": {"namespace": self.namespace, "service": service, "version": self.version,
                                   "window": analysis["window"]},
                 "interval": interval, "count": analysis["count"],
                 "initial_delay": float(analysis["initial_delay"])} for template in templates]

    def gate(self, name, service, gate, extra=()):
        """Measures the gate; anything but Successful stops the release."""
        metrics = checked_metrics("%s metrics" % name, list(gate["metrics"]) + list(extra)) + \
            self.template_metrics(gate["templates"], name, service)
        if not metrics:
            return
        result = self.release.gate(self.params["prometheus"] or None, metrics)
        if result["verdict"] != "Successful":
            self.fail_gate(name, result, "gate")
        self.record(gate=(result["verdict"], "%s: %s" % (name, result["message"])))

    def report_failed_gate(self):
        """Records and reports the gate that stopped the release, if one did."""
        failed = self.cursor.get("failed_gate")
        if failed:
            self.record(gate=(failed["verdict"], "%s: %s" % (failed["name"], failed["message"])))
            text = "%s %s: the %s gate ended %s" % (self.app, self.version, failed["name"], failed["message"])
            self.event("gate_failed", text, gate=failed["name"], verdict=failed["verdict"], message=failed["message"])

    def abort_holding_lock(self, read_again):
        """action abort: takes the lock (read_again checks what a run that held it meanwhile left) and
        takes the way back, giving the lock back whatever happens."""
        self.take_lock(read_again)
        try:
            self.abort(self.cursor.pop("abort_reason", None) or "aborted by %s" % self.cursor["holder"])
            self.cursor.pop("pending", None)
        finally:
            self.release.give_back_lock()

    def guarded(self, work):
        """Runs work; a failure sends traffic back (unless the release was promoted, or the run lost
        its lock or was killed) and the lock is given back once nothing is left to do. What the
        failure left undone because the API server could not be reached - the way back, or the
        rest of a promotion - is RV(pending), for one more call that waits for the server."""
        try:
            return work()
        except Paused as paused:
            self.release.give_back_lock()
            return self.result(True, "paused: %s" % paused)
        except Exception as error:
            failure = error if isinstance(error, ModuleFailure) else client_failure(error)
            if failure is None:  # neither the cluster's refusal nor a lost connection: reported as it is
                self.end_failed("the release failed: %s" % error, unreachable=False)
                raise
            msg = failure.msg if isinstance(failure, ModuleFailure) else failure["msg"]
            if msg.startswith(STOPS_WITHOUT_ACTING):
                self.release.lock_lost = True
            msg = self.end_failed(msg, unreachable=not isinstance(failure, ModuleFailure))
            extra = failure.result if isinstance(failure, ModuleFailure) else {}
            raise ModuleFailure(msg, **dict(extra, **self.result(True, "failed: %s" % msg,
                                                                 pending=self.cursor.get("pending"))))

    def end_failed(self, msg, unreachable):
        """Sends traffic back unless promoted; returns the message to report."""
        if self.release.lock_lost:
            return msg
        if not self.cursor.get("promoted"):
            try:
                self.abort(msg)
            except Exception as abort_error:  # the first failure stays the one reported
                self.cursor.update(pending="abort", abort_reason=msg)
                return msg + "; sending traffic back failed too: %s" % getattr(abort_error, "msg", abort_error)
        elif unreachable:
            self.cursor["pending"] = "finish"
            return msg
        try:
            self.release.give_back_lock()
        except Exception:  # it expires within its ttl
            pass
        return msg

    def go_on(self):
        """A later call of the run: the part the cursor names next, or all that is left of a promotion
        an unreachable API server stopped."""
        def advance():
            return getattr(self, self.cursor["next"])()

        if self.cursor.get("pending") == "finish":
            return self.guarded(lambda: self.release.keep_lock() or self.finish(advance))
        # A lock found lost stops the run before it acts: another run may have.
        return self.guarded(lambda: self.release.keep_lock() or advance())

    def finish(self, advance):
        """Calls advance until the run ends: the rest of a promotion an unreachable API server stopped."""
        self.cursor.pop("pending", None)
        while True:
            result = advance()
            if result["ended"]:
                return result
