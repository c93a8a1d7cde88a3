# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rollout_undo: read a workload's history, restore a revision's pod template, optionally wait."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.history import (
    RevisionNotFound,
    choose_revision,
    controller_revision_history,
    deployment_history,
    images,
    normalized_template,
    public_history,
    undone,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    update_with_conflict_retry,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import VERSION_LABEL, label_selector
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.workload import (
    check_wait_arguments,
    read_workload,
    replace_workload,
    wait_for_rollout,
)


def read_history(module, workload):
    namespace = workload["metadata"]["namespace"]
    selector = label_selector((workload["spec"].get("selector") or {}).get("matchLabels") or {})
    if workload["kind"] == "Deployment":
        replica_sets = module.client.list("apps/v1", "replicasets", namespace, label_selector=selector)["items"]
        return deployment_history(workload, replica_sets)
    revisions = module.client.list("apps/v1", "controllerrevisions", namespace, label_selector=selector)["items"]
    return controller_revision_history(workload, revisions)


def _diff_view(workload):
    return {"metadata": {"annotations": workload["metadata"].get("annotations") or {},
                         "labels": workload["metadata"].get("labels") or {}},
            "spec": {"template": normalized_template(workload["spec"].get("template"))}}


def undo_rollout(module):
    params = module.params
    kind, name, namespace = params["kind"], params["name"], params["namespace"]
    if params["to_revision"] < 0:
        module.fail("to_revision must be 0 (the previous revision) or a revision number, got %d"
                    % params["to_revision"])
    check_wait_arguments(module, params["timeout"], params["poll_interval"])
    result = {"kind": kind, "name": name, "namespace": namespace}
    state = {}

    def read():
        workload = read_workload(module, kind, name, namespace, {"changed": False, "message": "not found"})
        state["history"] = read_history(module, workload)
        return workload

    def compute(workload):
        history = state["history"]
        result.update(history=public_history(history),
                      images_before=images(normalized_template(workload["spec"].get("template"))))
        if history:
            result["revision_before"] = history[-1]["revision"]
        if kind == "Deployment" and workload["spec"].get("paused"):
            module.fail("Deployment %s/%s is paused; resume it before undoing a rollout"
                        % (namespace, name), changed=False, message="paused", **result)
        try:
            state["target"] = choose_revision(history, params["to_revision"])
        except RevisionNotFound as error:
            module.fail("cannot undo %s %s/%s: %s" % (kind, namespace, name, error), changed=False,
                        message=str(error), **result)
        return undone(workload, state["target"])

    before, written = update_with_conflict_retry(read, compute, lambda desired: replace_workload(module, desired))
    target = state["target"]
    result.update(changed=written is not None, rolled_back_to=target["revision"],
                  images_after=images(target["template"]))
    if written is None:
        result["message"] = "%s %s/%s already runs the template of revision %d" % (
            kind, namespace, name, target["revision"])
        return result
    if normalized_template(before["spec"].get("template")) == target["template"]:
        result["message"] = "%s %s/%s already runs the template of revision %d; its %s label %s so" % (
            kind, namespace, name, target["revision"], VERSION_LABEL, "would say" if module.check_mode else "now says")
    else:
        result["message"] = "%s %s/%s %s to revision %d" % (
            kind, namespace, name, "would roll back" if module.check_mode else "rolled back", target["revision"])
    if module.diff_mode:
        result["diff"] = {"before": _diff_view(before), "after": _diff_view(written)}
    if params["wait"] and not module.check_mode:
        result["rollout"] = wait_for_rollout(module, kind, name, namespace, params["timeout"],
                                             params["poll_interval"], result=dict(result))
    return result
