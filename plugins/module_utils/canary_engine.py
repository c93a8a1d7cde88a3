# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canary strategy, as Argo Rollouts keeps it (rollout/canary.go): a step index reconciled one
call at a time. The first call of a run works out where the release stands, takes the lock and
brings the canary up; each later call runs the next step; the last promotes. Each call returns a
cursor the next one is given back, so the play shows progress once per step while one abort path
and one promote path do the work, in process: traffic first, then sizes, record, events.

The versions take turns in two slots (release_position.CANARY_SLOTS), as Argo Rollouts' ReplicaSets
do: the new version comes up in the idle slot behind the canary Service, and its promotion moves the
stable Service's selector to it, so its pods start once; the old slot is then scaled to zero."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import time

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.canary_plan import (
    PlanError,
    canary_plan,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import ModuleFailure
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.manifests import NAME_LABEL
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import (
    VERSION_LABEL,
    label_selector,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_engine import (
    Paused,
    StrategyRun,
    checked_metrics,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_position import (
    SLOT_LABELS,
    UNFINISHED_PHASES,
    canary_position,
    recorded_release_refusal,
    selected_slot,
)

PASSING_VERDICTS = ("Successful", "Inconclusive")
ROUTE_ROUTERS = ("istio", "gateway_api", "nginx")
PROMOTE_HINT = "playbooks/promote.yml or playbooks/abort.yml"


def measurement_delay(interval, last_measured, now):
    """Seconds until the background metrics' next measurement: one interval after the last."""
    if last_measured is None:
        return float(interval)
    return round(min(float(interval), max(0.0, interval - (now - last_measured))), 3)


class Canary(StrategyRun):
    strategy = "canary"

    def __init__(self, module):
        super(Canary, self).__init__(module)
        p = self.canary = self.params["canary"] or {}
        self.router, self.replicas = p["router"], self.params["replicas"]
        try:
            self.plan = canary_plan(p["steps"], self.router, self.replicas)
        except PlanError as error:
            raise ModuleFailure(str(error))
        self.gate_service = p["stable_service"] if self.router == "replicas" else p["canary_service"]
        self.analysis = self.params["analysis"]
        background = p["background_analysis"] or {}
        self.background_interval = int(background.get("interval") or self.analysis["interval"])
        self.background_start = int(background.get("start_at_step") or 0)
        self.background_metrics_given = checked_metrics("canary_background_analysis.metrics",
                                                        background.get("metrics"))
        self.background_templates = background.get("templates") or []

    # Names and helpers.
    def track(self, name):
        """The slot name's Deployment and Services, built here rather than given: which labels tell
        the slots apart is the engine's to know, an abort included. The stable Service selects the
        slot too, but is applied only by a first release; with no router both slots share it."""
        selector = {SLOT_LABELS[name]: name}
        if self.router == "replicas":
            services = [{"name": self.canary["stable_service"]}]
        else:
            services = [{"name": self.canary["canary_service"], "selector": selector},
                        {"name": self.canary["stable_service"], "selector": selector}]
        return {"name": name, "deployment": None, "pod_labels": selector, "services": services}

    @property
    def stable_slot(self):
        return self.cursor["stable_slot"]

    @property
    def new_slot(self):
        return self.cursor["new_slot"]

    @property
    def background(self):
        """The background analysis's metrics: the caller's own, and one for each built-in template."""
        return self.background_metrics_given + self.template_metrics(
            self.background_templates, "background", self.gate_service, self.background_interval)

    def objects(self, replicas):
        """The new slot's Deployment at replicas, its PodDisruptionBudget and the canary Service; the
        stable Service only for a first release: later its selector moves only at promotions."""
        objects = []
        for body in self.track_objects(self.new_slot):
            if body["kind"] == "Service" and body["metadata"]["name"] == self.canary["stable_service"] \
                    and self.stable_slot:
                continue
            if body["kind"] == "Deployment":
                body["spec"] = dict(body["spec"], replicas=replicas)
            objects.append(body)
        return objects

    # Where the release stands.
    def read_state(self, version):
        """The record and the position: the slot the stable Service selects and the version each of
        the application's Deployments runs."""
        record = self.release.read_record()
        serving_slot = selected_slot(((self.release.read("Service", self.canary["stable_service"]) or {})
                                      .get("spec") or {}).get("selector"))
        deployments = self.module.client.list("apps/v1", "deployments", self.namespace,
                                              label_selector=label_selector({NAME_LABEL: self.app}))["items"]
        versions = dict((d["metadata"]["name"][len(self.app) + 1:], (d["metadata"].get("labels") or {}).get(
            VERSION_LABEL, "")) for d in deployments if d["metadata"]["name"].startswith(self.app + "-"))
        action = self.params["action"]
        position = canary_position(record, serving_slot, versions, version, len(self.plan),
                                   full=action == "promote" and self.canary["full"],
                                   past_pause=action == "promote" and record.get("phase") == "paused")
        return record, position

    def take_position(self, position):
        self.cursor.update((key, position[key]) for key in (
            "stable_slot", "new_slot", "stable_version", "switched", "undo_stable"))

    def refuse_other(self, record):
        if record.get("phase") in UNFINISHED_PHASES and record.get("version") != self.version:
            raise ModuleFailure("%s %s is %s; run %s before releasing %s." % (
                self.app, record.get("version"), record.get("phase"), PROMOTE_HINT, self.version))

    def refuse_unless_under_way(self, record, action, again=False):
        refusal = recorded_release_refusal(self.app, record, "canary", action, again)
        if refusal:
            raise ModuleFailure(refusal)

    # The calls of a run.
    def run(self):
        if self.params["action"] == "abort" or self.cursor.get("next") is None:
            return self.start()
        # A lock found lost stops the run before it acts: another run may have.
        if self.cursor.get("pending") == "finish":
            return self.guarded(lambda: self.release.keep_lock() or self.finish(self.advance))
        return self.guarded(lambda: self.release.keep_lock() or self.advance())

    def start(self):
        action = self.params["action"]
        if action in ("promote", "abort"):
            record = self.release.read_record()
            self.refuse_unless_under_way(record, action)
            self.cursor["version"] = record.get("version")
        else:
            self.cursor["version"] = self.params["version"]
        if action == "abort":
            return self.abort_run()
        record, position = self.read_state(self.version)
        self.take_position(position)
        if position["released"]:
            if record.get("phase") == "promoted" and record.get("version") == self.version:
                self.release.wait_out_lock()  # a run killed after it recorded the promotion
            return self.result(True, "%s %s already serves all traffic (%s); nothing to release." % (
                self.app, self.version, self.deployment(self.stable_slot)))
        if self.module.check_mode:
            return self.check(position)
        self.refuse_other(record)
        state = [record, position]

        def read_again():
            state[:] = self.read_state(self.version)
            if state[1]["released"]:
                raise ModuleFailure("%s %s was released by the run that held the lock meanwhile; run again to "
                                    "finish what it left." % (self.app, self.version))
            self.refuse_other(state[0])
            self.take_position(state[1])

        self.take_lock(read_again)
        record, position = state
        self.cursor.update(record=record, next=position["start_step"], resuming=position["resuming"], promoted=False)
        return self.guarded(self.bring_up if position["stable_version"] else self.first_release)

    def check(self, position):
        """Check mode: the new objects go through a server-side dry run, and the plan is shown."""
        stable_version = position["stable_version"]
        if stable_version:
            self.release.apply(self.objects(0), dry_run=True)
            plan = ["would release %s %s as a canary on %s beside %s on %s, through the %s router, from step %d:" % (
                self.app, self.version, self.deployment(self.new_slot), stable_version,
                self.deployment(self.stable_slot), self.router, position["start_step"])]
            plan += ["step %d: %s" % (entry["index"], entry["summary"]) for entry in self.plan[position["start_step"]:]]
            plan.append("then promote: %s at %d replicas takes all traffic, %s then %s to 0 replicas" % (
                self.deployment(self.new_slot), self.replicas,
                "the stable Service %s selects it, the canary's weight back to 0," % self.canary["stable_service"]
                if self.router != "replicas" else "", self.deployment(self.stable_slot)))
        else:
            self.release.apply(self.objects(self.replicas), dry_run=True)
            plan = ["would release %s %s as its first version, on %s with %d replicas" % (
                self.app, self.version, self.deployment(self.new_slot), self.replicas)]
        return self.would(plan)

    def first_release(self):
        self.record(release_id=self.release.release_id(self.version), strategy="canary", version=self.version,
                    phase="progressing", step="first-release", new_revision=self.new_slot,
                    new_images={"app": self.params["image"]}, details={"router": self.router})
        self.deploy(self.replicas)
        self.create_route()
        self.record(phase="promoted", step="promoted", details={"weight": "0", "traffic": "stable"})
        self.cursor["promoted"] = True
        self.release.give_back_lock()
        return self.result(True, "released %s %s as its first version" % (self.app, self.version))

    def bring_up(self):
        """Records the release (or its resumption), and brings the canary up in the idle slot."""
        start = self.cursor["next"]
        stable_version = self.cursor["stable_version"]
        if self.cursor["resuming"]:
            self.record(phase="progressing", step="resuming at %d" % start)
        else:
            self.record(release_id=self.release.release_id(self.version), strategy="canary", version=self.version,
                        phase="progressing", step="preflight", stable_revision=self.stable_slot,
                        new_revision=self.new_slot, new_images={"app": self.params["image"]},
                        details={"stable_version": stable_version, "router": self.router, "step_index": "0",
                                 "weight": "0"})
            self.event("started", "%s %s canary release started on %s beside %s (%s router, %d steps)." % (
                self.app, self.version, self.deployment(self.new_slot), stable_version, self.router, len(self.plan)),
                stable_version=stable_version, router=self.router)
        analysed = self.background_metrics_given or self.background_templates or any(
            entry["type"] == "analysis" for entry in self.plan)
        if (self.params["prometheus"] or {}).get("url") and analysed:
            checked = self.release.gate(self.params["prometheus"], [
                {"name": "metric-source", "query": "vector(1)", "success": {"min": 1}}])
            if checked["verdict"] != "Successful":
                raise ModuleFailure("metric gate %s" % checked["message"])
        self.release.wait_for(self.deployment(self.stable_slot), 0, None)
        replicas = self.plan[start - 1]["canary_replicas"] if start else 0
        if self.cursor["resuming"]:
            # A run killed after a step's switch but before the next step's record left the route one
            # step ahead of the record: the canary keeps at least its live size until the weight is re-applied.
            live = self.release.read("Deployment", self.deployment(self.new_slot))
            replicas = max(replicas, (live or {}).get("spec", {}).get("replicas") or 0)
        self.release.apply(self.objects(replicas), dry_run=True)
        self.create_route()
        self.deploy(replicas)
        self.cursor["replicas"] = replicas
        # A promotion killed once the stable Service selected the new slot goes straight on with it.
        if start and not self.cursor["switched"]:
            self.set_weight(self.plan[start - 1]["weight"], self.plan[start - 1]["canary_replicas"])
        return self.result(False, "%s %s beside %s: the canary is up, from step %d" % (
            "resumed" if self.cursor["resuming"] else "started", self.version, stable_version, start))

    def advance(self):
        index = self.cursor["next"]
        if index >= len(self.plan):
            return self.promote()
        step = self.plan[index]
        self.record(step="%d: %s" % (index, step["type"]),
                    details={"step_index": str(index), "weight": str(step["weight"])})
        self.run_step(step)
        self.event("step_completed", "%s %s completed step %d (%s): %d%% of traffic on the canary." % (
            self.app, self.version, index, step["type"], step["weight"]),
            step_index=index, step=step["type"], weight=step["weight"])
        self.cursor["next"] = index + 1
        return self.result(False, "step %d: %s" % (index, step["summary"]))

    def run_step(self, step):
        kind = step["type"]
        if kind in ("set_weight", "set_canary_scale"):
            self.set_weight(step["weight"], step["canary_replicas"])
        elif kind == "pause" and step["duration"] is None:
            self.pause("step %d pauses until %s runs" % (step["index"], PROMOTE_HINT))
        elif kind == "pause":
            self.wait(step)
        elif kind == "analysis":
            self.analyse(step)
        elif kind == "set_header_route":
            header_route = {"headers": step["headers"], "cookie": step["cookie"]} \
                if step["headers"] or step["cookie"] else {}
            self.switch(header_route=header_route)
        else:
            self.switch(mirror=step["percentage"])

    # Steps.
    def switch(self, **request):
        if self.router == "replicas":
            return self.release.switch("replicas", self.deployment(self.stable_slot), self.deployment(self.new_slot),
                                       replicas={"total": self.replicas}, **request)
        return self.release.switch(self.router, self.canary["stable_service"], self.canary["canary_service"],
                                   route=self.canary["route"], **request)

    def set_weight(self, weight, replicas):
        """The canary is scaled up and ready before it takes more traffic, and scaled down only after
        it takes less; with no router the replica counts are the weight, stable grown first."""
        timeout, deadline = self.params["rollout_timeout"], self.params["progress_deadline"]
        current = self.cursor["replicas"]
        if self.router != "replicas" and replicas > current:
            self.release.scale(self.deployment(self.new_slot), replicas, wait=True, timeout=timeout,
                               progress_deadline=deadline)
        if self.router == "replicas":
            stable_target = self.replicas - int(math.ceil(self.replicas * weight / 100.0))
            stable = self.release.read("Deployment", self.deployment(self.stable_slot))
            if stable_target > stable["spec"].get("replicas", 1):
                self.release.scale(self.deployment(self.stable_slot), stable_target, wait=True, timeout=timeout)
        self.switch(weight=weight)
        self.changed = True
        if self.router != "replicas" and replicas < current:
            self.release.scale(self.deployment(self.new_slot), replicas)
        if self.router == "replicas":
            for slot in (self.new_slot, self.stable_slot):
                self.release.wait_for(self.deployment(slot), timeout, deadline)
        self.cursor["replicas"] = replicas

    def pause(self, reason):
        self.record(phase="paused", details={"paused": reason})
        self.event("paused", "%s %s is paused: %s." % (self.app, self.version, reason), reason=reason)
        raise Paused(reason)

    def background_due(self, step):
        return bool(self.background_metrics_given or self.background_templates) and step["index"] >= self.background_start

    def background_metrics(self, seconds):
        """The background metrics, measured once an interval for seconds, the first one interval
        after their last measurement (in an earlier step of this run)."""
        interval = self.background_interval
        delay = measurement_delay(interval, self.cursor.get("background_at"), time.time())
        return [dict(metric, count=max(1, int(math.ceil(seconds / float(interval)))), interval=float(interval),
                     initial_delay=delay) for metric in self.background]

    def wait(self, step):
        started = time.monotonic()
        if self.background_due(step):
            self.verdict("background", self.measure(self.background_metrics(step["duration"])))
        left = step["duration"] - (time.monotonic() - started)
        if left > 0:
            self.release.sleep(left)

    def analyse(self, step):
        analysis = self.analysis
        metrics = checked_metrics("canary_steps[%d].analysis.metrics" % step["index"], step["metrics"]) + \
            self.template_metrics(step["templates"], "step-%d" % step["index"], self.gate_service)
        if self.background_due(step):
            # Measured in the same gate, for as long as the analysis lasts.
            metrics += self.background_metrics(analysis["initial_delay"] + analysis["count"] * analysis["interval"])
        self.verdict("step %d" % step["index"], self.measure(metrics))

    def measure(self, metrics):
        result = self.release.gate(self.params["prometheus"] or None, metrics)
        if self.background_metrics_given or self.background_templates:
            self.cursor["background_at"] = time.time()
        return result

    def verdict(self, name, result):
        """Argo Rollouts' outcomes: Successful goes on, Inconclusive pauses, Failed or Error aborts at once."""
        if result["verdict"] not in PASSING_VERDICTS:
            self.fail_gate(name, result, "analysis")
        self.record(gate=(result["verdict"], "%s: %s" % (name, result["message"])))
        if result["verdict"] == "Inconclusive":
            self.pause("the %s analysis was inconclusive: %s" % (name, result["message"]))

    def deploy(self, replicas):
        self.release.apply(self.objects(replicas))
        self.changed = True
        self.release.wait_for(self.deployment(self.new_slot), self.params["rollout_timeout"],
                              self.params["progress_deadline"])

    def create_route(self):
        if self.canary["route_object"]:
            self.release.create_if_absent(self.canary["route_object"])

    # The one promote path.
    def promote(self):
        """The new slot at full size takes all traffic; with a router the stable Service then selects
        it and the route goes back to stable alone, so its pods become stable's as they are (with no
        router the replica split at 100% is the promotion); the old slot goes to zero."""
        self.record(step="promoting", details={"step_index": str(len(self.plan))})
        self.set_weight(100, self.replicas)
        if self.router != "replicas":
            self.select_stable(self.new_slot)
            self.switch(weight=0, remove_managed_routes=self.router in ROUTE_ROUTERS)
        self.cursor["promoted"] = True
        if self.router != "replicas":
            self.release.scale(self.deployment(self.stable_slot), 0)
        self.record(phase="promoted", step="promoted", details={"weight": "0", "traffic": "stable"})
        self.event("promoted", "%s %s promoted: %s is stable and takes all traffic." % (
            self.app, self.version, self.deployment(self.new_slot)),
            traffic="stable", previous_version=self.cursor["stable_version"])
        self.release.give_back_lock()
        return self.result(True, "promoted %s %s" % (self.app, self.version))

    def select_stable(self, slot):
        """Points the stable Service at the slot's pods (its track's pod labels), refusing a slot
        without ready pods. A move to the new slot counts as made from before it is tried, so that an
        abort after a failed try moves the Service back whether or not it moved."""
        to_new = slot == self.new_slot
        if to_new:
            self.cursor["switched"] = True
        self.select(self.canary["stable_service"], self.stable_slot, self.new_slot, 100 if to_new else 0)
        self.cursor["switched"] = to_new

    # The one abort path.
    def abort_run(self):
        """action abort: takes the lock (waiting out a killed run's) and sends traffic back to stable."""
        if self.module.check_mode:
            return self.would(["would abort %s %s: all traffic back on stable, the canary to 0 replicas" % (
                self.app, self.version)])
        waited = self.release.take_lock()
        try:
            record, position = self.read_state(self.version)
            if waited:
                self.refuse_unless_under_way(record, "abort", again=True)
            self.take_position(position)
            self.abort(self.cursor.pop("abort_reason", None) or "aborted by %s" % self.cursor["holder"])
            self.cursor.pop("pending", None)
        finally:
            self.release.give_back_lock()
        return self.result(True, "aborted %s %s: all traffic back on stable" % (self.app, self.version))

    def abort(self, reason):
        """Traffic goes back to the old slot first: when a promotion had moved the stable Service, the
        old slot is brought back to full size and the Service back to it before the route's weight
        goes to 0; then the new slot goes to zero. The failed analysis is recorded and reported even
        when the way back fails."""
        failed_gate = self.cursor.get("failed_gate")
        timeout = self.params["rollout_timeout"]
        old, new = self.deployment(self.stable_slot), self.deployment(self.new_slot)
        try:
            if self.cursor.get("undo_stable"):
                self.release.undo(old, timeout)
            if self.cursor.get("stable_version") and self.router == "replicas":
                if self.release.read("Deployment", new):
                    self.cursor.setdefault("replicas", 0)
                    self.set_weight(0, 0)
            elif self.cursor.get("stable_version"):
                if self.cursor.get("switched"):
                    self.release.scale(old, self.replicas, wait=True, timeout=timeout,
                                       progress_deadline=self.params["progress_deadline"])
                    self.select_stable(self.stable_slot)
                self.switch(weight=0, remove_managed_routes=self.router in ROUTE_ROUTERS)
                self.release.scale(new, 0, missing_ok=True)
        finally:
            if failed_gate:
                self.record(gate=(failed_gate["verdict"], "%s: %s" % (failed_gate["name"], failed_gate["message"])))
                self.event("gate_failed", "%s %s: the %s analysis ended %s: %s" % (
                    self.app, self.version, failed_gate["name"], failed_gate["verdict"], failed_gate["message"]),
                    gate=failed_gate["name"], verdict=failed_gate["verdict"])
        self.record(phase="aborted", step="aborted", details={"reason": reason, "weight": "0", "traffic": "stable"})
        self.event("aborted", "%s %s aborted, all traffic back on stable: %s" % (self.app, self.version, reason),
                   reason=reason, traffic="stable")
