"""Rolling updates through playbooks/rolling.yml: gated, and undone when they fail."""

import json
import subprocess
import sys
import time
from pathlib import Path

from kubernetes import client

from conftest import REPO, ansible_env, kill_tree, run_playbook

APP = "modelcard-generator"
FAST = {"pd_gate_count": 1, "pd_gate_initial_delay": 6}


def arguments(namespace, version=None, **extra):
    """The local inventory's arguments; promote.yml and abort.yml take no version."""
    if version:
        extra["release_version"] = version
    return ["-i", "inventories/local", "-e", json.dumps(dict(FAST, pd_namespace=namespace, **extra))]


def roll(cluster, namespace, version, check=True, **extra):
    return run_playbook(cluster, "rolling.yml", *arguments(namespace, version, **extra), check=check)


def running(api_client, namespace):
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(APP, namespace)
    return deployment.spec.template.spec.containers[0].image.rsplit(":", 1)[1], deployment.status.ready_replicas


def record(api_client, namespace):
    data = client.CoreV1Api(api_client).read_namespaced_config_map(f"{APP}-release", namespace).data
    return json.loads(data["release.json"])


def phase(api_client, namespace):
    return record(api_client, namespace)["phase"]


def revision(api_client, namespace):
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(APP, namespace)
    return deployment.metadata.annotations.get("deployment.kubernetes.io/revision")


def test_rolling_updates_are_gated_and_undone_when_they_fail(api_client, cluster, namespace):
    roll(cluster, namespace, "1.0.0")
    assert running(api_client, namespace) == ("1.0.0", 3)
    assert phase(api_client, namespace) == "promoted"

    stuck = roll(cluster, namespace, "1.3.0", check=False, pd_progress_deadline_seconds=5,
                 pd_pod_annotations_by_version={"1.3.0": {"simulator.terragonlabs.io/ready": "false"}})
    assert stuck.returncode != 0
    assert "exceeded its progress deadline" in stuck.stdout and "undone to revision 1" in stuck.stdout
    assert running(api_client, namespace) == ("1.0.0", 3)
    assert phase(api_client, namespace) == "rolled_back"

    bad = roll(cluster, namespace, "1.2.0", check=False)  # the inventory's simulated 30% errors
    assert bad.returncode != 0 and "the post-update gate ended Failed" in bad.stdout
    assert running(api_client, namespace) == ("1.0.0", 3)
    assert phase(api_client, namespace) == "rolled_back"

    roll(cluster, namespace, "1.1.0")
    assert running(api_client, namespace) == ("1.1.0", 3)
    assert phase(api_client, namespace) == "promoted"


def test_sizes_kubernetes_would_refuse_are_named_before_anything_changes(api_client, cluster, namespace):
    refused = roll(cluster, namespace, "1.0.0", check=False, rolling_max_surge=0, rolling_max_unavailable="0%")
    assert refused.returncode == 2
    assert "rolling_max_surge and rolling_max_unavailable cannot both be 0" in refused.stdout
    assert not client.AppsV1Api(api_client).list_namespaced_deployment(namespace).items
    assert [c.metadata.name for c in client.CoreV1Api(api_client).list_namespaced_config_map(namespace).items] == [
        "kube-root-ca.crt"]
    assert not client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items


def killed_when(cluster, namespace, version, condition, **extra):
    """Runs rolling.yml for version and SIGKILLs it and all its processes once condition() holds."""
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(REPO / "playbooks" / "rolling.yml"),
         *arguments(namespace, version, **extra)],
        cwd=REPO, env=ansible_env(cluster), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not condition():
            assert process.poll() is None and time.monotonic() < deadline, f"the update of {version} never got there"
            time.sleep(0.5)
    finally:
        if process.poll() is None:
            kill_tree(process.pid)
        process.wait()


def test_an_interrupted_update_that_fails_when_run_again_is_undone_to_the_revision_before_it(
        api_client, cluster, namespace):
    """The killed run left its version running as a new revision: the re-run must go back to the
    revision recorded before the update began, not to the one the killed run made."""
    roll(cluster, namespace, "1.0.0")
    never_ready = {"pd_pod_annotations_by_version": {"3.0.0": {"simulator.terragonlabs.io/ready": "false"}},
                   "rolling_lock_ttl": 10}
    # Pods that never become ready hold the killed run in its rollout wait, after revision 2 exists.
    killed_when(cluster, namespace, "3.0.0", lambda: revision(api_client, namespace) == "2", **never_ready)
    assert (record(api_client, namespace)["phase"], record(api_client, namespace)["stable_revision"]) == (
        "progressing", "1")

    again = roll(cluster, namespace, "3.0.0", check=False, pd_progress_deadline_seconds=5, **never_ready)

    assert again.returncode != 0
    assert "exceeded its progress deadline" in again.stdout and "undone to revision 1" in again.stdout
    assert running(api_client, namespace) == ("1.0.0", 3)
    assert phase(api_client, namespace) == "rolled_back"
    assert not client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items


def test_promote_and_abort_finish_or_undo_an_interrupted_update(api_client, cluster, namespace):
    """abort.yml undoes an update killed mid-rollout to the revision it recorded; promote.yml finishes
    one killed while its gate measured. Both wait out the killed run's lock; --check changes nothing,
    and a release already ended is said so and left alone."""
    roll(cluster, namespace, "1.0.0")
    short_lock = {"pd_rolling_lock_ttl": 10}
    never_ready = dict(short_lock, pd_pod_annotations_by_version={"3.0.0": {"simulator.terragonlabs.io/ready": "false"}})
    killed_when(cluster, namespace, "3.0.0", lambda: revision(api_client, namespace) == "2", **never_ready)
    checked = run_playbook(cluster, "abort.yml", *arguments(namespace), "--check")
    assert "would undo modelcard-generator 3.0.0 to revision 1" in checked.stdout
    assert (phase(api_client, namespace), revision(api_client, namespace)) == ("progressing", "2")

    run_playbook(cluster, "abort.yml", *arguments(namespace))
    assert running(api_client, namespace) == ("1.0.0", 3)
    assert record(api_client, namespace)["phase"] == "rolled_back"
    assert not client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items
    ended = run_playbook(cluster, "promote.yml", *arguments(namespace), check=False)
    assert ended.returncode != 0
    assert "has no rolling update to promote (the last release is rolled_back)" in ended.stdout
    assert (phase(api_client, namespace), revision(api_client, namespace)) == ("rolled_back", "3")

    killed_when(cluster, namespace, "1.1.0", lambda: record(api_client, namespace).get("step") == "post-update-analysis",
                **short_lock)
    status = run_playbook(cluster, "status.yml", *arguments(namespace))
    assert "phase: progressing, step: post-update-analysis" in status.stdout
    checked = run_playbook(cluster, "promote.yml", *arguments(namespace), "--check")
    assert "would finish modelcard-generator 1.1.0: wait for its rollout" in checked.stdout
    assert phase(api_client, namespace) == "progressing"
    run_playbook(cluster, "promote.yml", *arguments(namespace))
    assert running(api_client, namespace) == ("1.1.0", 3)
    current = record(api_client, namespace)
    assert (current["version"], current["phase"], current["gate"]["verdict"]) == ("1.1.0", "promoted", "Successful")
    assert not client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items
