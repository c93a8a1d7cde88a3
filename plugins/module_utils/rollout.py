# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rollout progress of Deployments, StatefulSets and DaemonSets, judged by the rules of
`kubectl rollout status`, and the reasons pods are not ready."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


class RolloutFailed(Exception):
    """The rollout cannot complete without a change (for example ProgressDeadlineExceeded)."""


def _get(obj, *path, **kwargs):
    default = kwargs.get("default")
    for key in path:
        if not isinstance(obj, dict) or obj.get(key) is None:
            return default
        obj = obj[key]
    return obj


def deployment_progress(deployment):
    """(done, message) for a Deployment, as `kubectl rollout status` decides it.

    Raises RolloutFailed when the Deployment reports ProgressDeadlineExceeded.
    """
    name = deployment["metadata"]["name"]
    status = deployment.get("status") or {}
    if deployment["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return False, "waiting for the deployment spec update to be observed"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            raise RolloutFailed("deployment %s exceeded its progress deadline" % name)
    desired = _get(deployment, "spec", "replicas", default=1)
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < desired:
        return False, "%d of %d new replicas have been updated" % (updated, desired)
    if total > updated:
        return False, "%d old replicas are pending termination" % (total - updated)
    if available < updated:
        return False, "%d of %d updated replicas are available" % (available, updated)
    return True, "deployment %s successfully rolled out" % name


def check_statefulset_strategy(statefulset):
    """Raises RolloutFailed unless the StatefulSet's rollout can be waited for, as kubectl says."""
    strategy = _get(statefulset, "spec", "updateStrategy", "type", default="RollingUpdate")
    if strategy != "RollingUpdate":
        raise RolloutFailed("rollout status is only available for the RollingUpdate strategy, "
                            "not %s" % strategy)


def statefulset_progress(statefulset):
    status = statefulset.get("status") or {}
    check_statefulset_strategy(statefulset)
    if statefulset["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return False, "waiting for the statefulset spec update to be observed"
    desired = _get(statefulset, "spec", "replicas", default=1)
    ready = status.get("readyReplicas", 0)
    if ready < desired:
        return False, "%d of %d pods are ready" % (ready, desired)
    partition = _get(statefulset, "spec", "updateStrategy", "rollingUpdate", "partition", default=0)
    if partition:
        updated = status.get("updatedReplicas", 0)
        if updated < desired - partition:
            return False, "%d of %d pods above partition %d are updated" % (
                updated, desired - partition, partition)
        return True, "partitioned roll out complete: %d new pods" % updated
    if status.get("updateRevision") != status.get("currentRevision"):
        return False, "%d of %d pods are at revision %s" % (
            status.get("updatedReplicas", 0), desired, status.get("updateRevision"))
    return True, "statefulset %s rolled out at revision %s" % (
        statefulset["metadata"]["name"], status.get("currentRevision"))


def daemonset_progress(daemonset):
    status = daemonset.get("status") or {}
    strategy = _get(daemonset, "spec", "updateStrategy", "type", default="RollingUpdate")
    if strategy != "RollingUpdate":
        raise RolloutFailed("rollout status is only available for the RollingUpdate strategy, "
                            "not %s" % strategy)
    if daemonset["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
        return False, "waiting for the daemon set spec update to be observed"
    desired = status.get("desiredNumberScheduled", 0)
    updated = status.get("updatedNumberScheduled", 0)
    available = status.get("numberAvailable", 0)
    if updated < desired:
        return False, "%d of %d updated pods are scheduled" % (updated, desired)
    if available < desired:
        return False, "%d of %d updated pods are available" % (available, desired)
    return True, "daemon set %s successfully rolled out" % daemonset["metadata"]["name"]


PROGRESS = {"Deployment": deployment_progress, "StatefulSet": statefulset_progress,
            "DaemonSet": daemonset_progress}


def pod_problem(pod):
    """Why a pod is not ready, in a few words, or None when it is ready."""
    status = pod.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if _get(conditions, "Ready", "status") == "True":
        return None
    scheduled = conditions.get("PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        return "not scheduled: %s" % (scheduled.get("message") or scheduled.get("reason"))
    for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        if container.get("ready"):
            continue
        waiting = _get(container, "state", "waiting")
        if waiting:
            detail = waiting.get("message") or ""
            return "container %s %s%s" % (container.get("name"), waiting.get("reason", "waiting"),
                                          (": " + detail) if detail else "")
        terminated = _get(container, "state", "terminated") or _get(container, "lastState", "terminated")
        if terminated:
            return "container %s terminated: %s (exit code %s)" % (
                container.get("name"), terminated.get("reason"), terminated.get("exitCode"))
        return "container %s is running but not ready" % container.get("name")
    return _get(conditions, "Ready", "message") or "phase %s" % status.get("phase", "Unknown")


def summarize(workload):
    """The return values every rollout module reports about a workload."""
    kind = workload["kind"]
    status = workload.get("status") or {}
    if kind == "DaemonSet":
        replicas = {"desired": status.get("desiredNumberScheduled", 0),
                    "updated": status.get("updatedNumberScheduled", 0),
                    "ready": status.get("numberReady", 0),
                    "available": status.get("numberAvailable", 0)}
    else:
        replicas = {"desired": _get(workload, "spec", "replicas", default=1),
                    "updated": status.get("updatedReplicas", 0),
                    "ready": status.get("readyReplicas", 0),
                    "available": status.get("availableReplicas", status.get("readyReplicas", 0))}
    revision = (_get(workload, "metadata", "annotations", REVISION_ANNOTATION)
                if kind == "Deployment" else status.get("updateRevision"))
    return {"kind": kind, "name": workload["metadata"]["name"],
            "namespace": workload["metadata"]["namespace"], "revision": revision,
            "replicas": replicas, "conditions": status.get("conditions") or [],
            "observed_generation": status.get("observedGeneration"),
            "generation": workload["metadata"].get("generation")}
