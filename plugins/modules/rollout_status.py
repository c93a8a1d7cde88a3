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
  name:
    description: Name of the workload.
    type: str
    required: true
  namespace:
    description: Namespace of the workload.
    type: str
    required: true
  timeout:
    description: Seconds to wait before failing. V(0) checks once without waiting.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two reads of the workload.
    type: float
    default: 1.0
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode behaves as a normal run.
  diff_mode:
    support: none
    description: Changes nothing, so there is no difference to show.
requirements:
  - kubernetes >= 24.2.0
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

import time

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.rollout import (
    PROGRESS,
    REVISION_ANNOTATION,
    RolloutFailed,
    WORKLOAD_KINDS,
    pod_problem,
    summarize,
)

try:
    from kubernetes.client import AppsV1Api, CoreV1Api
    from kubernetes.client.rest import ApiException
except ImportError:
    pass  # KubeModule reports the missing library


def read_workload(module, apps):
    kind, name, namespace = module.params["kind"], module.params["name"], module.params["namespace"]
    reader = {"Deployment": apps.read_namespaced_deployment,
              "StatefulSet": apps.read_namespaced_stateful_set,
              "DaemonSet": apps.read_namespaced_daemon_set}[kind]
    try:
        workload = module.read_json(reader, name, namespace)
    except ApiException as error:
        if error.status == 404:
            module.fail("%s %s/%s does not exist" % (kind, namespace, name), message="not found",
                        kind=kind, name=name, namespace=namespace, elapsed=0.0)
        raise
    workload["kind"] = kind
    return workload


def _selector(labels):
    return ",".join("%s=%s" % item for item in sorted(labels.items()))


def not_ready_pods(module, apps, workload):
    """Pods of the rollout's newest template that are not ready, with the reason."""
    namespace = workload["metadata"]["namespace"]
    labels = dict((workload["spec"].get("selector") or {}).get("matchLabels") or {})
    if workload["kind"] == "Deployment":
        revision = (workload["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION)
        replica_sets = module.read_json(apps.list_namespaced_replica_set, namespace,
                                        label_selector=_selector(labels))["items"]
        newest = [rs for rs in replica_sets
                  if (rs["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION) == revision]
        if newest:
            labels["pod-template-hash"] = newest[0]["metadata"]["labels"].get("pod-template-hash", "")
    pods = module.read_json(module.api(CoreV1Api).list_namespaced_pod, namespace,
                            label_selector=_selector(labels))["items"]
    problems = []
    for pod in pods:
        reason = pod_problem(pod)
        if reason:
            problems.append({"name": pod["metadata"]["name"], "reason": reason})
    return problems


def describe(problems):
    if not problems:
        return ""
    return "; pods not ready: " + ", ".join("%s (%s)" % (p["name"], p["reason"]) for p in problems)


def wait_for_rollout(module):
    apps = module.api(AppsV1Api)
    timeout, interval = module.params["timeout"], module.params["poll_interval"]
    if timeout < 0:
        module.fail("timeout must be 0 or more seconds, got %d" % timeout)
    if interval <= 0:
        module.fail("poll_interval must be more than 0 seconds, got %s" % interval)
    started = time.monotonic()
    progress = PROGRESS[module.params["kind"]]
    while True:
        workload = read_workload(module, apps)
        result = summarize(workload)
        elapsed = round(time.monotonic() - started, 3)
        try:
            done, message = progress(workload)
        except RolloutFailed as failure:
            problems = not_ready_pods(module, apps, workload)
            module.fail(str(failure) + describe(problems), message=str(failure), elapsed=elapsed,
                        not_ready_pods=problems, **result)
        if done:
            return dict(result, changed=False, message=message, elapsed=elapsed)
        if elapsed + interval > timeout:
            problems = not_ready_pods(module, apps, workload)
            module.fail("timed out after %ss waiting for %s %s/%s to roll out: %s%s" % (
                timeout, workload["kind"], result["namespace"], result["name"], message,
                describe(problems)), message=message, elapsed=elapsed, not_ready_pods=problems,
                **result)
        time.sleep(interval)


def main():
    KubeModule(argument_spec=dict(
        kind=dict(type="str", choices=list(WORKLOAD_KINDS), default="Deployment"),
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        timeout=dict(type="int", default=600),
        poll_interval=dict(type="float", default=1.0),
    )).run(wait_for_rollout)


if __name__ == "__main__":
    main()
