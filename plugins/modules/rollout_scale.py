#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rollout_scale
short_description: Scale a Deployment or StatefulSet, and wait until it has rolled out
version_added: 0.1.0
description:
  - Sets the workload's C(spec.replicas), as C(kubectl scale) does, and with O(wait=true) waits
    with the rules of M(terragonlabs.progressive_delivery.rollout_status), as
    C(kubectl rollout status) does.
  - Scaling to the count the workload already has changes nothing, and still waits when asked.
  - With O(wait=true), a StatefulSet whose update strategy is not C(RollingUpdate) is refused before
    anything changes, as C(kubectl rollout status) cannot follow its rollout.
  - The write carries the workload's resourceVersion, so a concurrent change is never overwritten
    (the scale is recomputed on a fresh read).
  - Every value is checked before anything is read or written.
author:
  - Terragon Labs (@terragonlabs)
options:
  kind:
    description: Kind of the workload.
    type: str
    choices: [Deployment, StatefulSet]
    default: Deployment
  replicas:
    description: The number of replicas to scale to, V(0) or more.
    type: int
    required: true
  wait:
    description:
      - Wait until the workload has rolled out at its new size, failing at once on
        C(ProgressDeadlineExceeded). Not done in check mode, where nothing changes.
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
    description: Shows the replica count before and after.
seealso:
  - module: terragonlabs.progressive_delivery.rollout_status
  - module: kubernetes.core.k8s_scale
"""

EXAMPLES = r"""
- name: Scale the canary of the Model Card Generator to 3 replicas before it takes more traffic
  terragonlabs.progressive_delivery.rollout_scale:
    name: modelcard-generator-canary
    namespace: modelcard
    replicas: 3
    wait: true
    timeout: 300

- name: Scale the old color to zero once it takes no traffic
  terragonlabs.progressive_delivery.rollout_scale:
    name: modelcard-generator-blue
    namespace: modelcard
    replicas: 0
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
  sample: modelcard-generator-canary
namespace:
  description: Namespace of the workload.
  returned: always
  type: str
  sample: modelcard
replicas_before:
  description: The workload's C(spec.replicas) before the scale.
  returned: when the workload exists
  type: int
  sample: 1
replicas_after:
  description: The workload's C(spec.replicas) after the scale (in check mode, what it would be).
  returned: when the workload exists
  type: int
  sample: 3
message:
  description: What was done (in check mode, what would be), in one line; when the wait failed, why it did.
  returned: always
  type: str
  sample: Deployment modelcard/modelcard-generator-canary scaled from 1 to 3 replicas
rollout:
  description:
    - The result of the wait, as M(terragonlabs.progressive_delivery.rollout_status) returns it
      (revision, replicas, conditions, message, elapsed, ...).
  returned: when O(wait=true), not in check mode
  type: dict
  sample: {revision: "2", message: "deployment modelcard-generator-canary successfully rolled out", elapsed: 3.1}
not_ready_pods:
  description:
    - Pods that are not ready, with the reason, when the wait failed. The failed result also carries
      the fields of the workload that M(terragonlabs.progressive_delivery.rollout_status) returns
      (revision, replicas, conditions, elapsed, ...).
  returned: when the wait failed
  type: list
  elements: dict
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.workload import (
    WAIT_OPTIONS,
    WORKLOAD_OPTIONS,
    scale_workload,
)


def main():
    KubeModule(argument_spec=dict(
        WORKLOAD_OPTIONS,
        kind=dict(type="str", choices=["Deployment", "StatefulSet"], default="Deployment"),
        replicas=dict(type="int", required=True),
        wait=dict(type="bool", default=False),
        **WAIT_OPTIONS
    )).run(scale_workload)


if __name__ == "__main__":
    main()
