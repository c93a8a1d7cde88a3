# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The revision history of Deployments (their ReplicaSets), StatefulSets and DaemonSets (their
ControllerRevisions), and what undoing to one of those revisions writes - kubectl's rollback
rules, except that the workload's other annotations are left alone."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import VERSION_LABEL
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.rollout import REVISION_ANNOTATION

CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause"
# Added by the Deployment controller to each ReplicaSet's template; never part of the Deployment's.
POD_TEMPLATE_HASH_LABEL = "pod-template-hash"


class RevisionNotFound(Exception):
    """The requested revision is not in the workload's history."""


def _without_nulls(value):
    """JSON without null members, so templates read from different objects compare equal."""
    if isinstance(value, dict):
        return dict((k, _without_nulls(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def normalized_template(template):
    """A pod template as the workload itself would hold it: no pod-template-hash, no nulls."""
    template = _without_nulls(copy.deepcopy(template or {}))
    template.pop("$patch", None)
    labels = (template.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return template


def images(template):
    """{container name: image} of a pod template's (non-init) containers."""
    return dict((c.get("name"), c.get("image")) for c in (template.get("spec") or {}).get("containers") or [])


def owned_by(obj, workload):
    uid = workload["metadata"].get("uid")
    return any(ref.get("controller") and ref.get("uid") == uid
               for ref in obj["metadata"].get("ownerReferences") or [])


def _entry(revision, template, obj):
    annotations = obj["metadata"].get("annotations") or {}
    return {"revision": revision, "template": normalized_template(template),
            "change_cause": annotations.get(CHANGE_CAUSE_ANNOTATION),
            "creation_time": obj["metadata"].get("creationTimestamp"),
            "source": obj["metadata"]["name"]}


def deployment_history(deployment, replica_sets):
    """History entries of a Deployment from the ReplicaSets it owns, oldest first."""
    entries = []
    for rs in replica_sets:
        revision = (rs["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION)
        if owned_by(rs, deployment) and revision and revision.isdigit():
            entries.append(_entry(int(revision), rs["spec"].get("template"), rs))
    return sorted(entries, key=lambda e: e["revision"])


def controller_revision_history(workload, controller_revisions):
    """History entries of a StatefulSet or DaemonSet from the ControllerRevisions it owns, whose
    data is the strategic-merge patch {spec: {template: ..., $patch: replace}} of that revision."""
    entries = []
    for revision in controller_revisions:
        if owned_by(revision, workload):
            template = ((revision.get("data") or {}).get("spec") or {}).get("template")
            entries.append(_entry(int(revision["revision"]), template, revision))
    return sorted(entries, key=lambda e: e["revision"])


def public_history(entries):
    """The history as the modules return it."""
    return [{"revision": e["revision"], "images": images(e["template"]),
             "change_cause": e["change_cause"], "creation_time": e["creation_time"]}
            for e in entries]


def choose_revision(entries, to_revision):
    """The entry to undo to: the named revision, or (0) the one before the newest, as kubectl does."""
    existing = ", ".join(str(e["revision"]) for e in entries) or "none"
    if to_revision == 0:
        if len(entries) < 2:
            raise RevisionNotFound("there is no previous revision to undo to (revisions: %s)" % existing)
        return entries[-2]
    for entry in entries:
        if entry["revision"] == to_revision:
            return entry
    raise RevisionNotFound("revision %d does not exist (revisions: %s)" % (to_revision, existing))


def undone(workload, entry):
    """The workload with the entry's pod template, or None when it already runs that template
    and says so.

    Only spec.template, the change-cause annotation and the version label change: unlike kubectl
    (which replaces all the annotations with the revision's) and kubernetes.core's k8s_rollback
    (which drops them), other annotations stay. The change cause becomes the restored revision's,
    so the next history entry describes what really runs, and so does the workload's own
    app.kubernetes.io/version label when it has one and the restored template names a version:
    whoever reads the workload's version (a later release, a selector) must see what runs.
    """
    labels = workload["metadata"].get("labels") or {}
    version = ((entry["template"].get("metadata") or {}).get("labels") or {}).get(VERSION_LABEL)
    relabel = version is not None and VERSION_LABEL in labels and labels[VERSION_LABEL] != version
    if normalized_template(workload["spec"].get("template")) == entry["template"] and not relabel:
        return None
    desired = copy.deepcopy(workload)
    desired["spec"]["template"] = copy.deepcopy(entry["template"])
    if relabel:
        desired["metadata"]["labels"][VERSION_LABEL] = version
    annotations = desired["metadata"].setdefault("annotations", {})
    if entry["change_cause"]:
        annotations[CHANGE_CAUSE_ANNOTATION] = entry["change_cause"]
    else:
        annotations.pop(CHANGE_CAUSE_ANNOTATION, None)
    return desired
