#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rollout_status
short_description: Wait until a Deployment, StatefulSet or DaemonSet has fully rolled out
version_added: 0.1.0
description:
  - Waits with the rules of C(kubectl rollout status) - the controller has observed the latest
    spec, every replica runs the new template and is available, and no old replica is left.
  - Unlike waiting on the C(Available) condition, a Deployment in the middle of a rolling update
    is never reported as done.
  - Fails at once, not at the timeout, when a Deployment reports C(ProgressDeadlineExceeded); the
    message names the pods that are not ready and why.
  - Reads only; never reports C(changed). Runs the same in check mode.
author:
  - Terragon Labs (@terragonlabs)
options:
  kind:
    description: Kind of the workload.
    type: str
    choices: [Deployment, StatefulSet, DaemonSet]
    default: Deployment
  timeout:
    description: Seconds to wait before failing. V(0) checks once without waiting.
    type: int
    default: 600
  poll_interval:
    description:
      - The longest time, in seconds, between two reads of the workload.
      - Reads come every 0.1 s at first and after each change in the replica counts, and back off to
        this while nothing changes, so a rollout is seen done soon after its pods are ready.
    type: float
    default: 1.0
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.application.api_client
  - terragonlabs.progressive_delivery.workload
  - terragonlabs.progressive_delivery.workload.keep_lock
  - terragonlabs.progressive_delivery.workload.progress
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode behaves as a normal run.
  diff_mode:
    support: none
    description: Changes nothing, so there is no difference to show.
"""

EXAMPLES = r"""
- name: Wait for the new version of the Model Card Generator
  terragonlabs.progressive_delivery.rollout_status:
    name: modelcard-generator
    namespace: modelcard
    timeout: 300

- name: Check once whether a StatefulSet is rolled out, without failing the play
  terragonlabs.progressive_delivery.rollout_status:
    kind: StatefulSet
    name: model-store
    namespace: modelcard
    timeout: 0
  register: store_status
  ignore_errors: true
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
revision:
  description:
    - The revision being rolled out - the C(deployment.kubernetes.io/revision) annotation of a
      Deployment, the update revision of a StatefulSet or DaemonSet.
  returned: when the workload exists
  type: str
  sample: "3"
replicas:
  description: Replica counts of the workload.
  returned: when the workload exists
  type: dict
  contains:
    desired:
      description: Replicas (or scheduled pods, for a DaemonSet) the spec asks for.
      type: int
    updated:
      description: Replicas running the current template.
      type: int
    ready:
      description: Ready replicas.
      type: int
    available:
      description: Available replicas.
      type: int
  sample: {desired: 3, updated: 3, ready: 3, available: 3}
conditions:
  description: The workload's status conditions as the API reports them.
  returned: when the workload exists
  type: list
  elements: dict
generation:
  description: The workload's metadata.generation.
  returned: when the workload exists
  type: int
observed_generation:
  description: The generation the controller has acted on.
  returned: when the workload exists
  type: int
message:
  description: The last progress message, as C(kubectl rollout status) prints it.
  returned: always
  type: str
  sample: deployment modelcard-generator successfully rolled out
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 12.4
not_ready_pods:
  description: Pods of the rollout that are not ready, with the reason, when the rollout failed or timed out.
  returned: on failure
  type: list
  elements: dict
  sample: [{name: modelcard-generator-7c9f-abcde, reason: "container app CrashLoopBackOff"}]
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.rollout import WORKLOAD_KINDS
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.workload import (
    WAIT_OPTIONS,
    WORKLOAD_OPTIONS,
    wait_for_rollout,
)


def rollout_status(module):
    params = module.params
    result = wait_for_rollout(module, params["kind"], params["name"], params["namespace"],
                              params["timeout"], params["poll_interval"])
    return dict(result, changed=False)


def main():
    KubeModule(argument_spec=dict(
        WORKLOAD_OPTIONS,
        kind=dict(type="str", choices=list(WORKLOAD_KINDS), default="Deployment"),
        **WAIT_OPTIONS
    )).run(rollout_status)


if __name__ == "__main__":
    main()
