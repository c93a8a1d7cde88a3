#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_record
short_description: Record a release's strategy, phase, step, revisions and gate verdict in the cluster
version_added: 0.1.0
description:
  - Keeps the record that lets a later run promote, abort, resume or report a release, and lets an
    interrupted run find where it stopped. Read it with
    M(terragonlabs.progressive_delivery.release_info).
  - The record lives in a ConfigMap named C(<app>-release) in the application's namespace,
    labelled C(app.kubernetes.io/name=<app>) and C(app.kubernetes.io/managed-by), with the
    current release as JSON under C(release.json) and the releases before it, newest first,
    under C(history.json).
  - Why a ConfigMap - annotations on the Deployment roll with it (they are copied to ReplicaSets
    and replaced by an undo) and vanish with a blue-green color that is deleted; the Lease of
    M(terragonlabs.progressive_delivery.release_lock) exists only while a release holds the lock,
    and the record must outlive it. A ConfigMap is readable with the usual RBAC, by
    C(kubectl get configmap <app>-release -o yaml), and holds releases of any strategy.
  - Updates merge - a later run sets only what changed (phase, step, a gate verdict) and keeps
    the rest; O(details) merge key by key. The write carries the ConfigMap's resourceVersion, so
    concurrent updates are never lost (the merge is redone on a fresh read).
  - A O(release_id) other than the current release's starts a new release; the current one moves
    to the history, which keeps the last O(history_limit) releases.
  - Times are UTC - C(started) when the release began, C(updated) at every change, C(finished)
    when it first reached a final phase (V(promoted), V(aborted) or V(rolled_back)).
  - Never store secrets - every reader of the namespace can read the record. Only the fields
    below are accepted, and O(details) keys that look like credentials (password, token, secret,
    key, auth, ...) are refused before anything is written.
author:
  - Terragon Labs (@terragonlabs)
options:
  state:
    description: V(present) creates or updates the record; V(absent) deletes it with its history.
    type: str
    choices: [present, absent]
    default: present
  release_id:
    description:
      - Identifies the release. Another id than the current release's starts a new release.
      - When omitted, the current release is updated, or a new one is started with an id made of
        the application and the time.
    type: str
  strategy:
    description: The release strategy, for example V(blue_green) or V(canary).
    type: str
  version:
    description: The version being released.
    type: str
  phase:
    description: The release's phase. A new release starts as V(progressing).
    type: str
    choices: [progressing, paused, promoted, aborted, rolled_back]
  step:
    description: The current step, by name or number.
    type: str
  stable_revision:
    description: Revision (or Deployment, or color) serving before the release.
    type: str
  stable_images:
    description: Images of the stable version, by container name.
    type: dict
  new_revision:
    description: Revision (or Deployment, or color) of the new version.
    type: str
  new_images:
    description: Images of the new version, by container name.
    type: dict
  config:
    description:
      - The release's config copies, as M(terragonlabs.progressive_delivery.release_config) returns them
        (C(<kind>/<source name>) to the copy's name), which a rollback to this release brings back.
    type: dict
  gate_verdict:
    description:
      - The last gate's verdict, as M(terragonlabs.progressive_delivery.metric_gate) returns it.
        Recorded with O(gate_message) and the time.
    type: str
    choices: [Successful, Inconclusive, Failed, Error]
  gate_message:
    description: Why the gate reached its verdict.
    type: str
  details:
    description:
      - Strategy-specific facts as text, for example the active color or the traffic weight.
        Merged key by key with what is recorded.
    type: dict
  history_limit:
    description: How many earlier releases to keep.
    type: int
    default: 10
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.application
  - terragonlabs.progressive_delivery.application.api_client
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: The API server validates the change in a dry run and stores nothing.
  diff_mode:
    support: full
    description: Shows the release and history before and after.
seealso:
  - module: terragonlabs.progressive_delivery.release_info
  - module: terragonlabs.progressive_delivery.release_lock
"""

EXAMPLES = r"""
- name: Start the release of version 1.4.0
  terragonlabs.progressive_delivery.release_record:
    app: modelcard-generator
    namespace: modelcard
    release_id: "modelcard-generator-1.4.0-{{ awx_job_id | default('manual') }}"
    strategy: canary
    version: 1.4.0
    step: "0"
    stable_revision: "7"
    stable_images: {app: ghcr.io/terragonlabs/modelcard-generator:1.3.2}
    new_revision: "8"
    new_images: {app: ghcr.io/terragonlabs/modelcard-generator:1.4.0}

- name: Record a gate's verdict and pause for approval
  terragonlabs.progressive_delivery.release_record:
    app: modelcard-generator
    namespace: modelcard
    phase: paused
    step: "2"
    gate_verdict: "{{ gate.verdict }}"
    gate_message: "{{ gate.message }}"
    details: {canary_weight: "20"}

- name: Mark the release promoted
  terragonlabs.progressive_delivery.release_record:
    app: modelcard-generator
    namespace: modelcard
    phase: promoted
"""

RETURN = r"""
config_map:
  description: Name of the ConfigMap holding the record.
  returned: always
  type: str
  sample: modelcard-generator-release
namespace:
  description: Namespace of the record.
  returned: always
  type: str
  sample: modelcard
release:
  description: The current release after the task, or null once deleted.
  returned: always
  type: dict
  contains:
    id:
      description: The release id.
      type: str
    app:
      description: The application.
      type: str
    strategy:
      description: The strategy, when recorded.
      type: str
    version:
      description: The version being released, when recorded.
      type: str
    phase:
      description: One of progressing, paused, promoted, aborted, rolled_back.
      type: str
    step:
      description: The current step, when recorded.
      type: str
    stable_revision:
      description: The stable revision, when recorded.
      type: str
    stable_images:
      description: The stable images by container, when recorded.
      type: dict
    new_revision:
      description: The new revision, when recorded.
      type: str
    new_images:
      description: The new images by container, when recorded.
      type: dict
    config:
      description: The release's config copies, C(<kind>/<source name>) to the copy's name, when recorded.
      type: dict
    gate:
      description: The last gate verdict, with C(verdict), C(message) and C(time), or null.
      type: dict
    details:
      description: Strategy-specific facts, when recorded.
      type: dict
    started:
      description: When the release started (UTC).
      type: str
    updated:
      description: When the record last changed (UTC).
      type: str
    finished:
      description: When the release reached a final phase (UTC), or null.
      type: str
  sample: {id: modelcard-generator-1.4.0-4711, app: modelcard-generator, strategy: canary,
           version: 1.4.0, phase: paused, step: "2", gate: {verdict: Successful, message: "all metrics passed",
           time: "2026-11-26T04:50:00Z"}, started: "2026-11-26T04:40:00Z", updated: "2026-11-26T04:50:00Z",
           finished: null}
history:
  description: The releases before the current one, newest first, in the same form as RV(release).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import APPLICATION_OPTIONS
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_record import (
    GATE_VERDICTS,
    PHASES,
    run_release_record,
)


def main():
    KubeModule(argument_spec=dict(
        APPLICATION_OPTIONS,
        state=dict(type="str", choices=["present", "absent"], default="present"),
        release_id=dict(type="str"),
        strategy=dict(type="str"),
        version=dict(type="str"),
        phase=dict(type="str", choices=list(PHASES)),
        step=dict(type="str"),
        stable_revision=dict(type="str"),
        stable_images=dict(type="dict"),
        new_revision=dict(type="str"),
        new_images=dict(type="dict"),
        config=dict(type="dict"),
        gate_verdict=dict(type="str", choices=list(GATE_VERDICTS)),
        gate_message=dict(type="str"),
        details=dict(type="dict"),
        history_limit=dict(type="int", default=10),
    ), required_by={"gate_message": "gate_verdict"}).run(run_release_record)


if __name__ == "__main__":
    main()
