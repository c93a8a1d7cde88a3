#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rollout_undo
short_description: Roll a Deployment, StatefulSet or DaemonSet back to an earlier revision
version_added: 0.1.0
description:
  - Restores the pod template of the previous revision, or of a named one, as
    C(kubectl rollout undo [--to-revision]) does. A Deployment's history is its ReplicaSets
    (their C(deployment.kubernetes.io/revision) annotation); a StatefulSet's or DaemonSet's is
    its ControllerRevisions.
  - Only C(spec.template), the C(kubernetes.io/change-cause) annotation and the
    C(app.kubernetes.io/version) label change. Other annotations stay, unlike
    C(kubectl rollout undo) (which replaces them with the revision's) and
    M(kubernetes.core.k8s_rollback) (which drops them). The change cause becomes the restored
    revision's, or is removed when that revision had none.
  - A workload labelled C(app.kubernetes.io/version) takes the restored template's version label,
    so that the workload says which version runs; kubectl leaves the old version on it. A workload
    that runs the restored template but still names another version is relabelled, and counts as
    changed.
  - A revision that does not exist is an error listing the revisions that do, never a silent
    no-op. Undoing to the revision that already runs changes nothing, but for the version
    label above.
  - As with kubectl, the restored template becomes the newest revision - undoing revision 3 to
    revision 1 leaves revisions 2, 3 and 4, where 4 runs the template of the former revision 1.
  - A paused Deployment is refused, as kubectl refuses it - resume it first.
  - The write carries the workload's resourceVersion, so a concurrent change is never overwritten
    (the undo is recomputed on a fresh read).
author:
  - Terragon Labs (@terragonlabs)
options:
  kind:
    description: Kind of the workload.
    type: str
    choices: [Deployment, StatefulSet, DaemonSet]
    default: Deployment
  to_revision:
    description: Revision to restore. V(0) is the revision before the newest one.
    type: int
    default: 0
  wait:
    description:
      - Wait until the restored revision has rolled out, with the rules of
        M(terragonlabs.progressive_delivery.rollout_status) (failing at once on
        C(ProgressDeadlineExceeded)). Not done in check mode, where nothing changes.
    type: bool
    default: false
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.application.api_client
  - terragonlabs.progressive_delivery.workload
  - terragonlabs.progressive_delivery.workload.keep_lock
  - terragonlabs.progressive_delivery.workload.wait
  - terragonlabs.progressive_delivery.workload.progress
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: The API server validates the change in a dry run and stores nothing.
  diff_mode:
    support: full
    description: Shows the pod template, annotations and labels before and after.
seealso:
  - module: terragonlabs.progressive_delivery.rollout_status
"""

EXAMPLES = r"""
- name: Undo the last release of the Model Card Generator and wait for the old version
  terragonlabs.progressive_delivery.rollout_undo:
    name: modelcard-generator
    namespace: modelcard
    wait: true
    timeout: 300

- name: Restore revision 3 of a StatefulSet
  terragonlabs.progressive_delivery.rollout_undo:
    kind: StatefulSet
    name: model-store
    namespace: modelcard
    to_revision: 3
  register: undo

- name: Show what was restored
  ansible.builtin.debug:
    msg: "{{ undo.images_before }} -> {{ undo.images_after }} (revision {{ undo.rolled_back_to }})"
"""

RETURN = r"""
kind:
  description: Kind of the workload.
  returned: always
  type: str
  sample: Deployment
name:
  description: Name of the workload.
  returned: always
  type: str
  sample: modelcard-generator
namespace:
  description: Namespace of the workload.
  returned: always
  type: str
  sample: modelcard
history:
  description: The revisions that existed before the undo, oldest first.
  returned: when the workload exists
  type: list
  elements: dict
  contains:
    revision:
      description: Revision number.
      type: int
    images:
      description: Image of each container, by container name.
      type: dict
    change_cause:
      description: The C(kubernetes.io/change-cause) annotation of the revision, or null.
      type: str
    creation_time:
      description: When the revision's ReplicaSet or ControllerRevision was created.
      type: str
  sample: [{revision: 1, images: {app: "ghcr.io/terragonlabs/modelcard-generator:1.0.0"},
            change_cause: "release 1.0.0", creation_time: "2026-01-05T10:00:00Z"}]
revision_before:
  description: The newest revision before the undo.
  returned: when the workload has revisions
  type: int
  sample: 3
rolled_back_to:
  description: The revision whose pod template was restored.
  returned: success
  type: int
  sample: 2
images_before:
  description: Image of each container before the undo, by container name.
  returned: when the workload exists
  type: dict
  sample: {app: "ghcr.io/terragonlabs/modelcard-generator:1.1.0"}
images_after:
  description: Image of each container after the undo, by container name.
  returned: success
  type: dict
  sample: {app: "ghcr.io/terragonlabs/modelcard-generator:1.0.0"}
message:
  description: What was done (in check mode, what would be), in one line.
  returned: always
  type: str
  sample: Deployment modelcard/modelcard-generator rolled back to revision 2
rollout:
  description:
    - The result of the wait, as M(terragonlabs.progressive_delivery.rollout_status) returns it
      (revision, replicas, conditions, message, elapsed, ...).
  returned: when O(wait=true), not in check mode
  type: dict
  sample: {revision: "4", message: "deployment modelcard-generator successfully rolled out", elapsed: 6.2}
not_ready_pods:
  description: Pods that are not ready, with the reason, when the wait failed.
  returned: when the wait failed
  type: list
  elements: dict
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.rollout import WORKLOAD_KINDS
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.undo import undo_rollout
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.workload import (
    WAIT_OPTIONS,
    WORKLOAD_OPTIONS,
)


def main():
    KubeModule(argument_spec=dict(
        WORKLOAD_OPTIONS,
        kind=dict(type="str", choices=list(WORKLOAD_KINDS), default="Deployment"),
        to_revision=dict(type="int", default=0),
        wait=dict(type="bool", default=False),
        **WAIT_OPTIONS
    )).run(undo_rollout)


if __name__ == "__main__":
    main()
