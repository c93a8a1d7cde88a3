# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release task: calls the release engine until the run ends, showing what each call did as it
ends, so that a release is one task whose output (and AWX's job output) names every step.

On the controller (a local connection without become), each call runs inside this worker process:
no module to package and no Python to start per step. On any other connection each call is the
release module, run where the task runs, as kubernetes.core's modules are."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.utils.display import Display

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_task import (
    ARGUMENT_SPEC,
    REQUIRED_IF,
    run_release,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.plugin_utils.controller_module import (
    ControllerModuleAction,
)

display = Display()


def merged(calls):
    """The task's result from its calls' results: the last call's, with what every call changed,
    sent, waited and warned about, and what each did (RV(steps))."""
    result = dict(calls[-1])
    result.pop("invocation", None)
    result["changed"] = any(call.get("changed") for call in calls)
    result["events"] = [event for call in calls for event in call.get("events") or []]
    result["steps"] = [call["progress"] for call in calls if call.get("progress")]
    waited = {}
    for call in calls:
        for kind, seconds in (call.get("waited") or {}).items():
            waited[kind] = round(waited.get(kind, 0.0) + seconds, 3)
    result["waited"] = waited
    warnings = [warning for call in calls for warning in call.get("warnings") or []]
    if warnings:
        result["warnings"] = warnings
    return result


class ActionModule(ControllerModuleAction):

    MODULE = "terragonlabs.progressive_delivery.release"

    def work(self):
        return ARGUMENT_SPEC, dict(required_if=REQUIRED_IF), run_release

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        host = (task_vars or {}).get("inventory_hostname", "")
        calls = []
        while True:
            result = self.call(args, task_vars)
            calls.append(result)
            if result.get("progress"):
                # On stderr, as ansible's warnings are: a stdout callback's output (the json one) stays
                # whole, and a terminal, a log and AWX's job output show it as the step ends.
                display.display("%s: %s" % (host, result["progress"]), stderr=True)
            if result.get("failed") or result.get("ended", True):
                return merged(calls)
            args["cursor"] = result["cursor"]
