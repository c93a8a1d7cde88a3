"""The rules of `kubectl rollout status`, and how a pod's problem is put into words."""

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import rollout
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.workload import poll_delay, stalled


def deployment(generation=2, observed=2, replicas=3, updated=3, total=3, available=3, conditions=()):
    return {"kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "generation": generation},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                       "availableReplicas": available, "conditions": list(conditions)}}


@pytest.mark.parametrize("kwargs, done, message", [
    ({}, True, "deployment web successfully rolled out"),
    ({"observed": 1}, False, "waiting for the deployment spec update to be observed"),
    ({"updated": 1, "total": 4}, False, "1 of 3 new replicas have been updated"),
    ({"total": 4}, False, "1 old replicas are pending termination"),
    ({"available": 2}, False, "2 of 3 updated replicas are available"),
    ({"replicas": 0, "updated": 0, "total": 0, "available": 0}, True, "deployment web successfully rolled out"),
])
def test_deployment_progress(kwargs, done, message):
    assert rollout.deployment_progress(deployment(**kwargs)) == (done, message)


def test_progress_deadline_exceeded_fails_at_once():
    stuck = deployment(updated=1, conditions=[{"type": "Progressing", "status": "False",
                                               "reason": "ProgressDeadlineExceeded"}])
    with pytest.raises(rollout.RolloutFailed, match="exceeded its progress deadline"):
        rollout.deployment_progress(stuck)


def statefulset(ready=2, current="r1", update="r1", partition=None, updated=2, strategy="RollingUpdate"):
    spec = {"replicas": 2, "updateStrategy": {"type": strategy}}
    if partition is not None:
        spec["updateStrategy"]["rollingUpdate"] = {"partition": partition}
    return {"kind": "StatefulSet", "metadata": {"name": "db", "namespace": "ns", "generation": 1},
            "spec": spec, "status": {"observedGeneration": 1, "readyReplicas": ready, "updatedReplicas": updated,
                                     "currentRevision": current, "updateRevision": update}}


def test_statefulset_progress():
    assert rollout.statefulset_progress(statefulset()) == (True, "statefulset db rolled out at revision r1")
    assert rollout.statefulset_progress(statefulset(ready=1))[0] is False
    assert rollout.statefulset_progress(statefulset(update="r2", updated=1))[0] is False
    assert rollout.statefulset_progress(statefulset(update="r2", partition=1, updated=1))[0] is True
    with pytest.raises(rollout.RolloutFailed, match="OnDelete"):
        rollout.statefulset_progress(statefulset(strategy="OnDelete"))


def test_daemonset_progress():
    ds = {"kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "ns", "generation": 1},
          "spec": {}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 3,
                                 "updatedNumberScheduled": 3, "numberAvailable": 2}}
    assert rollout.daemonset_progress(ds) == (False, "2 of 3 updated pods are available")
    ds["status"]["numberAvailable"] = 3
    assert rollout.daemonset_progress(ds)[0] is True


@pytest.mark.parametrize("status, problem", [
    ({"conditions": [{"type": "Ready", "status": "True"}]}, None),
    ({"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                      "message": "0/3 nodes are available"}]}, "not scheduled: 0/3 nodes are available"),
    ({"containerStatuses": [{"name": "app", "ready": False,
                             "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}}]},
     "container app ImagePullBackOff: not found"),
    ({"containerStatuses": [{"name": "app", "ready": False,
                             "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]},
     "container app terminated: OOMKilled (exit code 137)"),
    ({"containerStatuses": [{"name": "app", "ready": False, "state": {"running": {}}}]},
     "container app is running but not ready"),
])
def test_pod_problem(status, problem):
    assert rollout.pod_problem({"status": status}) == problem


def test_summarize_reports_the_deployment_revision():
    workload = deployment()
    workload["metadata"]["annotations"] = {rollout.REVISION_ANNOTATION: "4"}
    summary = rollout.summarize(workload)
    assert summary["revision"] == "4"
    assert summary["replicas"] == {"desired": 3, "updated": 3, "ready": 0, "available": 3}


@pytest.mark.parametrize("deadline, progressed_at, now, result", [
    (None, 0, 10 ** 6, False),  # no deadline: only the timeout bounds the wait
    (60, 100, 160, False),
    (60, 100, 160.5, True),
    (5, 0, 3, False)])
def test_a_wait_is_stalled_once_nothing_progressed_for_the_progress_deadline(deadline, progressed_at, now, result):
    assert stalled(deadline, progressed_at, now) is result


@pytest.mark.parametrize("interval, unchanged_for, delay", [
    (1.0, 0.0, 0.1),   # the wait starts, or the counts just changed: read again soon
    (1.0, 0.1, 0.1),
    (1.0, 0.4, 0.1),
    (1.0, 0.8, 0.2),   # nothing changes: back off by a quarter of the time it has not changed
    (1.0, 1.6, 0.4),
    (1.0, 30.0, 1.0),  # never longer than the poll interval
    (5.0, 30.0, 5.0),
    (0.05, 0.0, 0.05),  # an interval below the first delay is kept
])
def test_reads_come_soon_after_a_change_and_back_off_to_the_poll_interval(interval, unchanged_for, delay):
    assert poll_delay(interval, unchanged_for) == pytest.approx(delay)
