# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading Deployments, StatefulSets and DaemonSets through a KubeModule, scaling them, and waiting
for their rollouts - shared by every module that changes a workload and then waits for the result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import ApiError
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import update_with_conflict_retry
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import label_selector
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.lock_keeper import (
    KEEP_LOCK_OPTIONS,
    lock_keeper,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.rollout import (
    PROGRESS,
    REVISION_ANNOTATION,
    RolloutFailed,
    check_statefulset_strategy,
    pod_problem,
    summarize,
)

PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}

# Paired with the workload doc fragment (DOCUMENTATION and WAIT).
WORKLOAD_OPTIONS = dict(
    name=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
)
WAIT_OPTIONS = dict(
    KEEP_LOCK_OPTIONS,
    timeout=dict(type="int", default=600),
    poll_interval=dict(type="float", default=1.0),
    progress_deadline=dict(type="int"),
)


def read_workload(module, kind, name, namespace, missing_result):
    """The workload as JSON with its kind set; a missing one fails the task with missing_result."""
    try:
        workload = module.client.get("apps/v1", PLURALS[kind], namespace, name)
    except ApiError as error:
        if error.status == 404:
            module.fail("%s %s/%s does not exist" % (kind, namespace, name),
                        **dict(missing_result, kind=kind, name=name, namespace=namespace))
        raise
    workload["kind"] = kind
    return workload


def replace_workload(module, workload):
    """PUTs the workload (guarded by its resourceVersion); a server-side dry run in check mode."""
    body = dict(workload, apiVersion="apps/v1")
    written = module.client.replace("apps/v1", PLURALS[workload["kind"]], workload["metadata"]["namespace"],
                                    workload["metadata"]["name"], body, dry_run=module.dry_run)
    written["kind"] = workload["kind"]
    return written


def not_ready_pods(module, workload):
    """Pods of the rollout's newest template that are not ready, with the reason."""
    namespace = workload["metadata"]["namespace"]
    labels = dict((workload["spec"].get("selector") or {}).get("matchLabels") or {})
    if workload["kind"] == "Deployment":
        revision = (workload["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION)
        replica_sets = module.client.list("apps/v1", "replicasets", namespace,
                                          label_selector=label_selector(labels))["items"]
        newest = [rs for rs in replica_sets
                  if (rs["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION) == revision]
        if newest:
            labels["pod-template-hash"] = newest[0]["metadata"]["labels"].get("pod-template-hash", "")
    pods = module.client.list("v1", "pods", namespace, label_selector=label_selector(labels))["items"]
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


def check_wait_arguments(module, timeout, interval):
    if timeout < 0:
        module.fail("timeout must be 0 or more seconds, got %d" % timeout)
    if interval <= 0:
        module.fail("poll_interval must be more than 0 seconds, got %s" % interval)
    deadline = module.params.get("progress_deadline")
    if deadline is not None and deadline < 1:
        module.fail("progress_deadline must be at least 1 second, got %d" % deadline)


def stalled(progress_deadline, progressed_at, now):
    """Whether the wait has seen no progress for longer than the progress deadline. The Deployment
    controller judges progress only while a new ReplicaSet rolls out, not while a finished rollout is
    scaled up (a canary growing for its next weight), so the wait judges that itself."""
    return progress_deadline is not None and now - progressed_at > progress_deadline


# Pods often start within a second: the first reads come this soon after a wait starts or the counts
# change, then back off to the poll interval while nothing changes, by a quarter of the time nothing
# has (a pod ready after 0.8 s is seen within 0.2 s, where half would take 0.4 s: a canary waits so
# at each step that adds pods).
FIRST_POLL_DELAY = 0.1


def poll_delay(interval, unchanged_for):
    """Seconds until the next read of a workload whose counts have not changed for unchanged_for."""
    return min(interval, max(FIRST_POLL_DELAY, unchanged_for / 4.0))


def wait_for_rollout(module, kind, name, namespace, timeout, interval, result=None):
    """Polls until the workload is rolled out by kubectl's rules; fails at once when it cannot be,
    and at the timeout otherwise, naming the pods that are not ready. result is added to every
    failure (what the calling module did before waiting). The release lock given as the module's
    release_lock is renewed all along."""
    result = result or {}
    check_wait_arguments(module, timeout, interval)
    started = time.monotonic()
    progress = PROGRESS[kind]
    keeper = lock_keeper(module)
    # Progress is any change in the counts of updated, ready and available replicas, as a rollout
    # that replaces pods goes up and down in ready ones.
    counts, progressed_at = None, started
    while True:
        if keeper:
            keeper.keep()
        workload = read_workload(module, kind, name, namespace,
                                 dict(result, message="not found", elapsed=0.0))
        summary = summarize(workload)
        now = time.monotonic()
        elapsed = round(now - started, 3)
        seen = tuple(summary["replicas"][key] for key in ("updated", "ready", "available"))
        if seen != counts:
            counts, progressed_at = seen, now
        try:
            done, message = progress(workload)
            if not done and stalled(module.params.get("progress_deadline"), progressed_at, now):
                raise RolloutFailed("%s %s exceeded its progress deadline: no replica was updated or became "
                                    "ready in %ss" % (kind.lower(), name, module.params["progress_deadline"]))
        except RolloutFailed as failure:
            problems = not_ready_pods(module, workload)
            module.fail(str(failure) + describe(problems), **dict(
                result, message=str(failure), elapsed=elapsed, not_ready_pods=problems, **summary))
        if done:
            return dict(summary, message=message, elapsed=elapsed)
        delay = poll_delay(interval, now - progressed_at)
        if elapsed + delay > timeout:
            problems = not_ready_pods(module, workload)
            module.fail("timed out after %ss waiting for %s %s/%s to roll out: %s%s" % (
                timeout, kind, namespace, name, message, describe(problems)), **dict(
                result, message=message, elapsed=elapsed, not_ready_pods=problems, **summary))
        time.sleep(delay)


def scale_workload(module):
    """kubectl scale, then, with wait, kubectl rollout status: the rollout_scale module."""
    params = module.params
    kind, name, namespace, replicas = params["kind"], params["name"], params["namespace"], params["replicas"]
    if replicas < 0:
        module.fail("replicas must be 0 or more, got %d" % replicas)
    check_wait_arguments(module, params["timeout"], params["poll_interval"])
    result = {"kind": kind, "name": name, "namespace": namespace}

    def read():
        return read_workload(module, kind, name, namespace, {"changed": False, "message": "not found"})

    def compute(workload):
        if params["wait"] and kind == "StatefulSet":
            try:
                check_statefulset_strategy(workload)
            except RolloutFailed as failure:  # before the write, which the wait could not follow
                module.fail("cannot wait for StatefulSet %s/%s: %s" % (namespace, name, failure),
                            changed=False, message=str(failure), **result)
        if workload["spec"].get("replicas", 1) == replicas:
            return None
        workload["spec"]["replicas"] = replicas
        return workload

    before, written = update_with_conflict_retry(read, compute, lambda desired: replace_workload(module, desired))
    replicas_before = before["spec"].get("replicas", 1)
    result.update(changed=written is not None, replicas_before=replicas_before, replicas_after=replicas)
    if written is None:
        result["message"] = "%s %s/%s already has %d replicas" % (kind, namespace, name, replicas)
    else:
        result["message"] = "%s %s/%s %s from %d to %d replicas" % (
            kind, namespace, name, "would scale" if module.check_mode else "scaled", replicas_before, replicas)
    if module.diff_mode:
        result["diff"] = {"before": {"replicas": replicas_before}, "after": {"replicas": replicas}}
    if params["wait"] and not module.check_mode:
        result["rollout"] = wait_for_rollout(module, kind, name, namespace, params["timeout"],
                                             params["poll_interval"], result=dict(result))
    return result
