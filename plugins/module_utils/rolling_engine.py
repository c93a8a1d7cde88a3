# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling strategy: the application's own Deployment is updated as a RollingUpdate (max surge,
max unavailable) and waited for, then an optional post-update gate measures the new version on live
traffic. Two calls of one run (the update, then the gate and the promotion); the one way back
undoes the Deployment to the revision that served before."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import ModuleFailure
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import VERSION_LABEL
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_engine import (
    StrategyRun,
    checked_metrics,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_position import (
    recorded_release_refusal,
    rolling_position,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.rollout import REVISION_ANNOTATION

_PERCENT = re.compile(r"^[0-9]+%$")
GATE = "post-update"


def count_or_percent(parameter, value):
    """A RollingUpdate size as Kubernetes takes it: a count (int) or a percentage ("25%")."""
    text = str(value).strip()
    if not isinstance(value, bool) and text.isdigit():
        return int(text)
    if not isinstance(value, bool) and _PERCENT.match(text):
        return text
    raise ModuleFailure("%s must be a count of pods or a percentage such as 25%%, got %r" % (parameter, value))


def rolling_update(max_surge, max_unavailable):
    """The Deployment's strategy, or a failure naming the parameter Kubernetes would refuse."""
    surge = count_or_percent("rolling_max_surge", max_surge)
    unavailable = count_or_percent("rolling_max_unavailable", max_unavailable)
    if str(surge).rstrip("%") == "0" and str(unavailable).rstrip("%") == "0":
        raise ModuleFailure("rolling_max_surge and rolling_max_unavailable cannot both be 0: the update could "
                            "neither add a pod nor take one away")
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}


def serving(deployment):
    """What the Deployment runs: its pod template's version and image, and its revision."""
    if not deployment:
        return None
    template = deployment["spec"]["template"]
    return {"version": ((template.get("metadata") or {}).get("labels") or {}).get(VERSION_LABEL, ""),
            "image": ((template["spec"].get("containers") or [{}])[0]).get("image", ""),
            "revision": (deployment["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "")}


def recorded_update_refusal(app, record, running, action, again=False):
    """Why promote or abort has no rolling update to act on, or None. A promotion also needs the
    update to have reached the Deployment (running: what it runs): one killed before it did is run
    again or aborted, since only a run of its version has that version's objects."""
    refusal = recorded_release_refusal(app, record, "rolling", action, again)
    version, runs = record.get("version"), (running or {}).get("version")
    if refusal or action != "promote" or runs == version:
        return refusal
    return ("%s %s never reached its Deployment, which runs %s; run playbooks/rolling.yml -e release_version=%s "
            "again, or playbooks/abort.yml." % (app, version, runs or "nothing", version))


class Rolling(StrategyRun):
    strategy = "rolling"

    def __init__(self, module):
        super(Rolling, self).__init__(module)
        self.rolling = self.params["rolling"]
        self.update_strategy = rolling_update(self.rolling["max_surge"], self.rolling["max_unavailable"])
        checked_metrics("rolling_gate_metrics", self.rolling["gate"]["metrics"])  # refused before anything changes

    @property
    def stable_revision(self):
        return self.cursor["stable_revision"]

    def objects(self):
        """The application's objects, its Deployment at full size with the RollingUpdate's sizes."""
        objects = []
        for body in self.track_objects("rolling"):
            if body["kind"] == "Deployment":
                body = dict(body, spec=dict(body["spec"], replicas=self.params["replicas"],
                                            strategy=self.update_strategy))
            objects.append(body)
        return objects

    def read_state(self):
        record = self.release.read_record()
        position = rolling_position(record, serving(self.release.read("Deployment", self.app)), self.version,
                                    self.params["image"])
        return record, position

    def gate_names(self):
        gate = self.rolling["gate"]
        return gate["templates"] + [metric.get("name") for metric in gate["metrics"]]

    # The calls of a run.
    def run(self):
        action = self.params["action"]
        if action == "rollback":
            return self.rollback()
        if action != "run" and self.cursor.get("next") is None:
            return self.act_on_record(action)
        if self.cursor.get("next") is None:
            return self.start()
        return self.go_on()

    def start(self):
        self.cursor["version"] = self.params["version"]
        record, position = self.read_state()
        if position["released"]:
            self.release.wait_out_lock()  # a run killed after it recorded the promotion
            return self.result(True, "%s %s is already rolled out and promoted; nothing to update." % (
                self.app, self.version))
        self.cursor.update(stable_revision=position["stable_revision"], resuming=position["resuming"])
        if self.module.check_mode:
            return self.check()
        state = [position]

        def read_again():
            _record, state[0] = self.read_state()
            if state[0]["released"]:
                raise ModuleFailure("%s %s was rolled out by the run that held the lock meanwhile; nothing to "
                                    "update." % (self.app, self.version))

        self.take_lock(read_again)
        self.cursor.update(stable_revision=state[0]["stable_revision"], resuming=state[0]["resuming"],
                           promoted=False)
        return self.guarded(self.update)

    def check(self):
        """Check mode: the objects go through a server-side dry run, and the plan is shown."""
        self.release.apply(self.objects(), dry_run=True)
        sizes = self.update_strategy["rollingUpdate"]
        plan = ["would roll %s from %s to %s (maxSurge %s, maxUnavailable %s)" % (
            self.app, "revision " + self.stable_revision if self.stable_revision else "nothing", self.version,
            sizes["maxSurge"], sizes["maxUnavailable"]),
            "then the %s gate: %s" % (GATE, ", ".join(self.gate_names()) or "none"),
            "undone to revision %s if the rollout or the gate fails" % self.stable_revision if self.stable_revision
            else "left as it is if the rollout or the gate fails: there is no earlier revision"]
        return self.would(plan)

    def update(self):
        """Records the release (or its resumption) and rolls the new version out."""
        if self.cursor["resuming"]:
            self.record(phase="progressing", step="rolling-update")
        else:
            self.record(release_id=self.release.release_id(self.version), strategy="rolling", version=self.version,
                        phase="progressing", step="rolling-update", stable_revision=self.stable_revision,
                        new_images={"app": self.params["image"]})
            self.event("started", "%s %s: rolling update started (%s)." % (
                self.app, self.version,
                "from revision " + self.stable_revision if self.stable_revision else "first release"),
                stable_revision=self.stable_revision)
        self.release.apply(self.objects())
        self.changed = True
        return self.roll_out()

    def roll_out(self):
        self.release.wait_for(self.app, self.params["rollout_timeout"], self.params["progress_deadline"])
        self.cursor["next"] = "verify"
        return self.result(False, "%s %s rolled out" % (self.app, self.version))

    def verify(self):
        """The post-update gate on the application's Service; anything but Successful undoes the update."""
        gate = self.rolling["gate"]
        if gate["templates"] or gate["metrics"]:
            self.record(step="%s-analysis" % GATE)
            self.release.wait_for_endpoints(self.app, self.params["replicas"])
            self.gate(GATE, self.app, gate)
        self.cursor.update(promoted=True, next="promote")
        return self.promote()

    def promote(self):
        self.record(phase="promoted", step="done")
        self.event("promoted", "%s %s rolled out to %s." % (self.app, self.version, self.namespace))
        self.release.give_back_lock()
        return self.result(True, "promoted %s %s" % (self.app, self.version))

    def rollback(self):
        """action rollback: the Deployment undone to rollback_to (0: the revision before), without gates,
        holding the lock, so that a rollback waits out a killed run's and is refused while a live run
        updates. Whatever fails, nothing is undone in turn: the rollback is the way back."""
        to_revision = self.params["rollback_to"]
        target = "revision %d" % to_revision if to_revision else "the revision before"
        running = serving(self.release.read("Deployment", self.app))
        if not running:
            raise ModuleFailure("%s has no Deployment to roll back" % self.app)
        self.cursor.update(version=running["version"], promoted=True)
        if self.module.check_mode:
            plan = "would undo %s (%s, revision %s) to %s, without gates" % (
                self.app, running["version"] or running["image"], running["revision"], target)
            return self.would([plan])
        self.take_lock(lambda: None)

        def undo():
            undone = self.release.undo(self.app, self.params["rollout_timeout"], to_revision=to_revision)
            self.changed = self.changed or undone["changed"]
            self.release.give_back_lock()
            return self.result(True, undone["message"], rolled_back_to=undone["rolled_back_to"])

        return self.guarded(undo)

    # A later run's promote or abort of an update a run left unfinished (killed, say).
    def act_on_record(self, action):
        """promote finishes the recorded update: waits for its rollout, measures its gate and records
        it promoted. abort undoes it to the stable revision it recorded. Both take the lock, waiting
        out a killed run's; a release already ended is refused, changing nothing."""
        record = self.release.read_record()
        self.refuse_unless_unfinished(record, action)
        self.cursor.update(version=record.get("version"), stable_revision=record.get("stable_revision") or "",
                           promoted=False)
        if self.module.check_mode:
            return self.would(self.recorded_plan(action))

        def read_again():
            self.refuse_unless_unfinished(self.release.read_record(), action, again=True)

        if action == "abort":
            self.abort_holding_lock(read_again)
            return self.result(True, "undid %s %s to revision %s" % (
                self.app, self.version, self.stable_revision or "none"))
        self.take_lock(read_again)
        return self.guarded(self.roll_out)

    def refuse_unless_unfinished(self, record, action, again=False):
        running = serving(self.release.read("Deployment", self.app)) if action == "promote" else None
        refusal = recorded_update_refusal(self.app, record, running, action, again)
        if refusal:
            raise ModuleFailure(refusal)

    def recorded_plan(self, action):
        back = "undo %s %s to revision %s" % (self.app, self.version, self.stable_revision) if self.stable_revision \
            else "leave %s %s as it is: there is no earlier revision" % (self.app, self.version)
        if action == "abort":
            return ["would " + back]
        return ["would finish %s %s: wait for its rollout" % (self.app, self.version),
                "then the %s gate: %s" % (GATE, ", ".join(self.gate_names()) or "none"),
                "then record it promoted, or %s if the rollout or the gate fails" % back]

    def abort(self, reason):
        """The Deployment goes back to the revision that served before; the gate that stopped the
        update is recorded and reported even when the undo fails."""
        try:
            if self.stable_revision:
                self.release.undo(self.app, self.params["rollout_timeout"], to_revision=int(self.stable_revision))
        finally:
            self.report_failed_gate()
        self.cursor["undone"] = self.stable_revision
        self.record(phase="rolled_back", step="undone", details={"reason": reason})
        self.event("rolled_back", "%s %s rolled back %s: %s" % (
            self.app, self.version, "to revision " + self.stable_revision if self.stable_revision
            else "(no earlier revision to return to)", reason), reason=reason, stable_revision=self.stable_revision)

    def end_failed(self, msg, unreachable):
        msg = super(Rolling, self).end_failed(msg, unreachable)
        undone = self.cursor.get("undone")
        if undone is None:
            return msg
        return "%s; %s" % (msg, "undone to revision " + undone if undone else "no earlier revision to undo to")
