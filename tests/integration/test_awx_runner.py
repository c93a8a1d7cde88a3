"""The playbooks run the way AWX runs them: ansible-runner with a private data directory (the project,
the inventory AWX imports from inventories/<env>, env/extravars from the job template and survey,
env/envvars from credentials), judged by the job's status, events and artifacts, on the local cluster."""

import json
import os
import shutil
import sys
import uuid
from pathlib import Path

import ansible_runner
import yaml
from kubernetes import client

from conftest import REPO

APP = "modelcard-generator"
# Gates measure once after 6 s (two scrapes fill the 10 s window) and nothing waits after promotion.
FAST = {"pd_gate_count": 1, "pd_gate_initial_delay": 6, "pd_scale_down_delay_seconds": 0}


def private_data_dir(base, cluster, namespace, extravars):
    """What AWX writes for a job: project/ (its project checkout), inventory/, env/extravars, env/envvars."""
    root = base / uuid.uuid4().hex[:8]
    (root / "env").mkdir(parents=True)
    (root / "project").symlink_to(REPO)
    shutil.copytree(REPO / "inventories" / "local", root / "inventory")
    variables = dict(FAST, pd_namespace=namespace, pd_kubeconfig=cluster["kubeconfig"], **extravars)
    (root / "env" / "extravars").write_text(yaml.safe_dump(variables))
    # The Python environment's tools, as an execution environment has them on its PATH.
    (root / "env" / "envvars").write_text(yaml.safe_dump({
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "ANSIBLE_FORCE_COLOR": "0"}))
    return root


def run_job(tmp_path, cluster, namespace, playbook, **extravars):
    root = private_data_dir(tmp_path, cluster, namespace, extravars)
    ident = playbook.replace(".yml", "")
    runner = ansible_runner.run(private_data_dir=str(root), playbook=f"playbooks/{playbook}",
                                inventory=str(root / "inventory"), ident=ident, quiet=True)
    return runner, root / "artifacts" / ident


def published(runner):
    """What set_stats published, as AWX reads it: the playbook_on_stats event's artifact_data."""
    stats = [event for event in runner.events if event["event"] == "playbook_on_stats"]
    assert len(stats) == 1
    return stats[0]["event_data"].get("artifact_data", {})


def assert_successful(runner, artifacts):
    assert (runner.status, runner.rc) == ("successful", 0), runner.stdout.read()
    assert list((artifacts / "job_events").glob("*.json"))
    assert (artifacts / "stdout").read_text()
    assert (artifacts / "status").read_text() == "successful"
    assert (artifacts / "rc").read_text() == "0"


def test_a_release_runs_as_an_awx_job_and_publishes_its_result(tmp_path, cluster, namespace, api_client):
    runner, artifacts = run_job(tmp_path, cluster, namespace, "provision.yml")
    assert_successful(runner, artifacts)
    assert client.CoreV1Api(api_client).read_namespaced_resource_quota("environment-quota", namespace)

    runner, artifacts = run_job(tmp_path, cluster, namespace, "blue_green.yml", release_version="1.0.0")
    assert_successful(runner, artifacts)
    role_tasks = {event["event_data"]["task"] for event in runner.events
                  if event["event"] == "runner_on_ok" and event["event_data"].get("role") == "blue_green"}
    assert {"Read the active Service", "Take the release lock", "Update the release record"} <= role_tasks
    release = published(runner)["pd_releases"][APP]
    assert release["release_id"].startswith(f"{APP}-1.0.0")
    assert (release["strategy"], release["version"], release["phase"]) == ("blue_green", "1.0.0", "promoted")
    selector = {"app.kubernetes.io/name": APP, "terragonlabs.io/color": "blue"}
    assert release["traffic"] == {"service": APP, "selector": selector, "versions": ["1.0.0"]}
    # The same events AWX stores, one JSON file each in the artifacts directory.
    stored = [json.loads(path.read_text()) for path in (artifacts / "job_events").glob("*.json")]
    stats = [event for event in stored if event["event"] == "playbook_on_stats"]
    assert stats[0]["event_data"]["artifact_data"] == published(runner)

    runner, artifacts = run_job(tmp_path, cluster, namespace, "status.yml")
    assert_successful(runner, artifacts)
    assert published(runner)["pd_releases"][APP] == release
    assert f"release: {release['release_id']}" in (artifacts / "stdout").read_text()


def test_a_job_without_the_version_fails_at_once_naming_it(tmp_path, cluster, namespace, api_client):
    runner, artifacts = run_job(tmp_path, cluster, namespace, "blue_green.yml")
    assert (runner.status, runner.rc) == ("failed", 2)
    failures = [event["event_data"]["res"]["msg"] for event in runner.events if event["event"] == "runner_on_failed"]
    assert len(failures) == 1 and failures[0].startswith("required variable release_version is not set")
    assert "required variable release_version" in (artifacts / "stdout").read_text()
    assert published(runner) == {}
    assert not client.AppsV1Api(api_client).list_namespaced_deployment(namespace).items
