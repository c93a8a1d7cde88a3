# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The blue-green strategy, as Argo Rollouts' blueGreen: the new color comes up behind the preview
Service and passes its pre-promotion gate; the active Service switches to it and the post-promotion
gate measures it there; the old color is kept for the scale-down delay, then scaled to zero. Three
calls of one run (prepare, promote, scale down), each going on from the cursor the last returned;
one abort path sends traffic back to the old color first."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import ModuleFailure
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_engine import (
    Paused,
    StrategyRun,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_position import (
    COLOR_LABEL,
    UNFINISHED_PHASES,
    blue_green_position,
    recorded_release_refusal,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_record import read_traffic

PROMOTE_HINT = "playbooks/promote.yml or playbooks/abort.yml"


def other_release_refusal(app, record, version):
    """Why another version's paused or unfinished release stops this one, or None."""
    phase, recorded = record.get("phase"), record.get("version")
    if phase not in UNFINISHED_PHASES or recorded == version:
        return None
    if phase == "paused":
        return "%s %s is paused awaiting promotion; run %s before releasing %s." % (app, recorded, PROMOTE_HINT, version)
    return ("%s %s is progressing in another run (live, or interrupted); run the release of %s again to finish it, "
            "or playbooks/abort.yml before releasing %s." % (app, recorded, recorded, version))


class BlueGreen(StrategyRun):
    strategy = "blue_green"

    def __init__(self, module):
        super(BlueGreen, self).__init__(module)
        self.blue_green = self.params["blue_green"] or {}

    # Names and helpers.
    @property
    def active(self):
        return self.cursor["active_color"]

    @property
    def new(self):
        return self.cursor["new_color"]

    def objects(self, dry_run=False):
        """The new color's Deployment (at the preview size, or full for a first release) and its
        preview Service; the active Service only for a first release, which has none yet."""
        objects = []
        for body in self.track_objects(self.new):
            if body["kind"] == "Service" and body["metadata"]["name"] == self.blue_green["active_service"] \
                    and self.active:
                continue
            if body["kind"] == "Deployment":
                replicas = self.blue_green["preview_replicas"] if self.active else self.params["replicas"]
                body = dict(body, spec=dict(body["spec"], replicas=replicas))
            objects.append(body)
        self.release.apply(objects, dry_run=dry_run)

    def switch(self, weight):
        """Points the active Service at the new color (100) or back at the old one (0)."""
        self.select(self.blue_green["active_service"], self.active, self.new, weight)

    # Where the release stands.
    def read_state(self, version):
        record = self.release.read_record()
        traffic = read_traffic(self.module, self.blue_green["active_service"], self.namespace)
        serving = traffic["selector"].get(COLOR_LABEL, "")
        serving_version = next((d["version"] for d in traffic["deployments"]
                                if d["name"] == self.deployment(serving)), "") if serving else ""
        return record, blue_green_position(record, serving, serving_version, version)

    def run(self):
        if self.params["action"] == "abort" or self.cursor.get("next") is None:
            return self.start()
        return self.go_on()

    def start(self):
        action = self.params["action"]
        if action in ("promote", "abort"):
            record = self.release.read_record()
            refusal = recorded_release_refusal(self.app, record, "blue_green", action)
            if refusal:
                raise ModuleFailure(refusal)
            self.cursor["version"] = record.get("version")
            if action == "abort":
                return self.abort_run(record)
        else:
            self.cursor["version"] = self.params["version"]
        record, position = self.read_state(self.version)
        if position["active_version"] == self.version:
            if position["cleanup_pending"]:
                self.take_lock(lambda: None)
                self.cursor.update(active_color=record.get("stable_revision") or "", new_color="", promoted=True)
                return self.guarded(self.scale_down)
            if record.get("phase") == "promoted" and record.get("version") == self.version:
                self.release.wait_out_lock()  # a run killed after it recorded the promotion
            return self.result(True, "%s %s already serves all traffic (%s); nothing to release." % (
                self.app, self.version, position["active_color"]))
        self.cursor.update(active_color=position["active_color"], new_color=position["new_color"],
                           active_version=position["active_version"], switched=position["switched"])
        if self.module.check_mode:
            return self.check()
        refusal = other_release_refusal(self.app, record, self.version)
        if refusal:
            raise ModuleFailure(refusal)
        state = [record]

        def read_again():
            state[0], again = self.read_state(self.version)
            if again["active_version"] == self.version:
                raise ModuleFailure("%s %s was released by the run that held the lock meanwhile; run again to "
                                    "finish what it left." % (self.app, self.version))
            refused = other_release_refusal(self.app, state[0], self.version)
            if refused:
                raise ModuleFailure(refused)
            self.cursor.update(active_color=again["active_color"], new_color=again["new_color"],
                               active_version=again["active_version"], switched=again["switched"])

        self.take_lock(read_again)
        self.cursor.update(recorded_phase=state[0].get("phase"), promoted=False)
        return self.guarded(self.prepare)

    def check(self):
        """Check mode: the new color's objects go through a server-side dry run, and the plan is shown."""
        self.objects(dry_run=True)
        bg = self.blue_green
        plan = ["would release %s %s as %s%s:" % (
            self.app, self.version, self.deployment(self.new),
            " behind %s, beside %s on %s" % (bg["preview_service"], self.cursor["active_version"], self.active)
            if self.active else ", its first version, behind %s" % bg["active_service"])]
        if bg["migration_job"]:
            plan.append("run the migration Job %s to completion" % bg["migration_job"].get("metadata", {}).get("name"))
        if self.active:
            pre = bg["pre_promotion"]["templates"] + [m.get("name") for m in bg["pre_promotion"]["metrics"]] \
                + (["smoke-test"] if bg["smoke_test"] else [])
            post = bg["post_promotion"]["templates"] + [m.get("name") for m in bg["post_promotion"]["metrics"]]
            plan += ["pre-promotion gate: %s" % (", ".join(pre) or "none"),
                     "scale to %d replicas and switch %s to %s" % (self.params["replicas"], bg["active_service"], self.new)
                     if bg["auto_promote"] else "pause for %s" % PROMOTE_HINT,
                     "post-promotion gate: %s" % (", ".join(post) or "none"),
                     "keep %s for %d s, then scale it to 0" % (self.active, bg["scale_down_delay"])]
        return self.would(plan)

    # The calls of a run.
    def prepare(self):
        """Deploys the new color and measures its pre-promotion gate, unless an interrupted run did."""
        if self.cursor["recorded_phase"] != "paused" and not self.cursor["switched"]:
            self.deploy()
        if self.blue_green["auto_promote"] or self.params["action"] == "promote" or not self.active \
                or self.cursor["switched"]:
            self.cursor["next"] = "promote"
            return self.result(False, "%s %s ready on %s" % (self.app, self.version, self.new))
        self.record(phase="paused", step="awaiting-promotion")
        reason = "awaits promotion (%s)" % PROMOTE_HINT
        self.event("paused", "%s %s passed its pre-promotion gate on %s and awaits promotion (%s)." % (
            self.app, self.version, self.new, PROMOTE_HINT), preview=self.new, traffic=self.active)
        raise Paused(reason)

    def deploy(self):
        bg = self.blue_green
        self.record(release_id=self.release.release_id(self.version), strategy="blue_green", version=self.version,
                    phase="progressing", step="preflight", new_revision=self.new,
                    new_images={"app": self.params["image"]}, stable_revision=self.active,
                    details={"stable_version": self.cursor["active_version"]})
        self.event("started", "%s %s: blue-green release started on %s (%s)." % (
            self.app, self.version, self.new,
            "replacing " + self.cursor["active_version"] if self.cursor["active_version"] else "first release"),
            new_color=self.new, stable_version=self.cursor["active_version"])
        self.objects(dry_run=True)
        gates = bg["pre_promotion"]["templates"] + bg["post_promotion"]["templates"] \
            + bg["pre_promotion"]["metrics"] + bg["post_promotion"]["metrics"]
        if (self.params["prometheus"] or {}).get("url") and gates:
            checked = self.release.gate(self.params["prometheus"], [
                {"name": "metric-source", "query": "vector(1)", "success": {"min": 1}}])
            if checked["verdict"] != "Successful":
                raise ModuleFailure("metric gate %s" % checked["message"])
        if self.active:
            self.release.wait_for(self.deployment(self.active), 0, None)
        if bg["migration_job"]:
            self.migrate(bg["migration_job"], bg["migration_timeout"])
        self.objects()
        self.changed = True
        self.release.wait_for(self.deployment(self.new), self.params["rollout_timeout"], self.params["progress_deadline"])
        self.record(step="pre-promotion-analysis")
        if self.active:
            self.release.wait_for_endpoints(bg["preview_service"], bg["preview_replicas"])
            smoke = [{"name": "smoke-test", "provider": "http_probe", "http_probe": bg["smoke_test"],
                      "success": {"min": float(bg["smoke_test_min_success_rate"])}}] if bg["smoke_test"] else []
            self.gate("pre-promotion", bg["preview_service"], bg["pre_promotion"], smoke)

    def migrate(self, job, timeout):
        """Runs the database migration Job to completion before the new color exists; a failed Job
        stops the release at once, naming it."""
        self.release.apply([job])
        name, deadline = job["metadata"]["name"], time.monotonic() + timeout
        while True:
            conditions = [c for c in ((self.release.read("Job", name) or {}).get("status") or {}).get("conditions") or []
                          if c.get("status") == "True"]
            failed = [c for c in conditions if c.get("type") == "Failed"]
            if failed:
                raise ModuleFailure("the database migration Job %s failed: %s %s" % (
                    name, failed[0].get("reason") or "", failed[0].get("message") or ""))
            if any(c.get("type") == "Complete" for c in conditions):
                return
            if time.monotonic() >= deadline:
                raise ModuleFailure("the database migration Job %s did not complete within %d seconds" % (name, timeout))
            self.release.sleep(2.0)

    def promote(self):
        """The new color at full size takes all traffic; the post-promotion gate measures it there."""
        bg = self.blue_green
        self.release.scale(self.deployment(self.new), self.params["replicas"], wait=True,
                           timeout=self.params["rollout_timeout"], progress_deadline=self.params["progress_deadline"])
        if self.active:
            self.switch(100)
        self.record(step="post-promotion-analysis", details={"traffic": self.new})
        if self.active:
            self.release.wait_for_endpoints(bg["active_service"], self.params["replicas"])
            self.gate("post-promotion", bg["active_service"], bg["post_promotion"])
        self.record(phase="promoted", step="scale-down-old-color")
        self.event("promoted", "%s %s promoted: all traffic on %s." % (self.app, self.version, self.new),
                   traffic=self.new, previous_version=self.cursor["active_version"])
        self.cursor.update(promoted=True, next="scale_down",
                           scale_down_at=time.time() + (bg["scale_down_delay"] if self.active else 0))
        return self.result(False, "promoted %s %s: all traffic on %s" % (self.app, self.version, self.new))

    def scale_down(self):
        """The old color stays up for a fast rollback for the scale-down delay, then goes to zero."""
        left = self.cursor.get("scale_down_at", 0) - time.time()
        if left > 0:
            self.release.sleep(left)
        if self.active:
            self.release.scale(self.deployment(self.active), 0, missing_ok=True)
        self.record(step="promoted")
        self.release.give_back_lock()
        return self.result(True, "%s scaled to 0; %s %s serves all traffic" % (
            self.deployment(self.active) if self.active else "no old color", self.app, self.version))

    # The one abort path.
    def abort_run(self, record):
        """action abort: the colors are the record's, since traffic may already have moved."""
        self.cursor.update(active_color=record.get("stable_revision") or "", new_color=record.get("new_revision") or "")
        if self.module.check_mode:
            return self.would(["would abort %s %s: traffic back on %s, %s to 0 replicas" % (
                self.app, self.version, self.active or "nothing", self.deployment(self.new))])

        def read_again():
            again = self.release.read_record()
            refusal = recorded_release_refusal(self.app, again, "blue_green", "abort", again=True)
            if refusal:
                raise ModuleFailure(refusal)
            self.cursor.update(version=again.get("version"), active_color=again.get("stable_revision") or "",
                               new_color=again.get("new_revision") or "")

        self.abort_holding_lock(read_again)
        return self.result(True, "aborted %s %s: traffic on %s" % (self.app, self.version, self.active or "nothing"))

    def abort(self, reason):
        """Traffic goes back to the old color at once; the gate that stopped the release is recorded
        and reported even when the way back fails."""
        try:
            if self.active:
                self.switch(0)
                self.release.scale(self.deployment(self.new), 0, missing_ok=True)
        finally:
            self.report_failed_gate()
        self.record(phase="aborted", step="aborted", details={"reason": reason, "traffic": self.active})
        self.event("aborted", "%s %s aborted (%s): %s" % (
            self.app, self.version, "traffic on " + self.active if self.active else "it never served", reason),
            reason=reason, traffic=self.active)
