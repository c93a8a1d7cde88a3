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
import pytest
import yaml
from kubernetes import client

from conftest import REPO

# Each test chains several jobs; on a loaded machine that outlasts the default timeout.
pytestmark = pytest.mark.timeout(1800)

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


def tasks(runner, event, role=None):
    """The names of the tasks that sent this event (AWX's job event list), within a role if one is named."""
    return {item["event_data"]["task"] for item in runner.events
            if item["event"] == event and (role is None or item["event_data"].get("role") == role)}


def assert_successful(runner, artifacts, *ok_tasks, role=None):
    """The job ended successful with its events and output stored, without warnings; these tasks ran ok and
    none failed."""
    assert (runner.status, runner.rc) == ("successful", 0), runner.stdout.read()
    assert list((artifacts / "job_events").glob("*.json"))
    # Warnings reach AWX's job output as they reach a terminal; a release should give none.
    assert "[WARNING]" not in (artifacts / "stdout").read_text()
    assert (artifacts / "status").read_text() == "successful"
    assert (artifacts / "rc").read_text() == "0"
    assert not tasks(runner, "runner_on_failed")
    assert set(ok_tasks) <= tasks(runner, "runner_on_ok", role), tasks(runner, "runner_on_ok", role)


def assert_published(runner, strategy, version, phase, serving):
    """The job's set_stats artifact: the release and the versions its Service sends traffic to."""
    release = published(runner)["pd_releases"][APP]
    assert release["release_id"].startswith(f"{APP}-{version}")
    assert (release["strategy"], release["version"], release["phase"]) == (strategy, version, phase), release
    assert release["traffic"]["service"] == APP and release["traffic"]["versions"] == serving, release
    return release


@pytest.mark.long
def test_a_blue_green_story_runs_as_awx_jobs_each_publishing_its_result(tmp_path, cluster, namespace, api_client):
    runner, artifacts = run_job(tmp_path, cluster, namespace, "provision.yml")
    assert_successful(runner, artifacts, "Provision the namespace")
    assert client.CoreV1Api(api_client).read_namespaced_resource_quota("environment-quota", namespace)

    runner, artifacts = run_job(tmp_path, cluster, namespace, "blue_green.yml", release_version="1.0.0")
    assert_successful(runner, artifacts, f"Release the application, each step shown as it ends, {APP}",
                      role="release_engine")
    release = assert_published(runner, "blue_green", "1.0.0", "promoted", ["1.0.0"])
    assert release["traffic"]["selector"] == {"app.kubernetes.io/name": APP, "terragonlabs.io/color": "blue"}
    # The same events AWX stores, one JSON file each in the artifacts directory.
    stored = [json.loads(path.read_text()) for path in (artifacts / "job_events").glob("*.json")]
    stats = [event for event in stored if event["event"] == "playbook_on_stats"]
    assert stats[0]["event_data"]["artifact_data"] == published(runner)

    runner, artifacts = run_job(tmp_path, cluster, namespace, "status.yml")
    assert_successful(runner, artifacts, "Report the release")
    assert published(runner)["pd_releases"][APP] == release
    assert f"release: {release['release_id']}" in (artifacts / "stdout").read_text()

    # The release workflow's first node; the survey answers auto_promote with the string "false".
    runner, artifacts = run_job(tmp_path, cluster, namespace, "blue_green.yml", release_version="1.1.0",
                                auto_promote="false")
    assert_successful(runner, artifacts)
    assert_published(runner, "blue_green", "1.1.0", "paused", ["1.0.0"])

    runner, artifacts = run_job(tmp_path, cluster, namespace, "promote.yml")
    assert_successful(runner, artifacts, "Promote the paused release, which the engine reads from the record")
    assert_published(runner, "blue_green", "1.1.0", "promoted", ["1.1.0"])

    # The survey's optional "Roll back to" left blank: back to the last promoted release before this one.
    runner, artifacts = run_job(tmp_path, cluster, namespace, "rollback.yml", rollback_to="")
    assert_successful(runner, artifacts, "Release the earlier version blue-green, without gates",
                      "Record the release as rolled back")
    assert_published(runner, "blue_green", "1.0.0", "rolled_back", ["1.0.0"])

    # 1.2.0 is the inventory's failing version; healthy here, so it pauses and is then abandoned.
    runner, artifacts = run_job(tmp_path, cluster, namespace, "blue_green.yml", release_version="1.2.0",
                                auto_promote="false", pd_pod_annotations_by_version={})
    assert_successful(runner, artifacts)
    assert_published(runner, "blue_green", "1.2.0", "paused", ["1.0.0"])

    runner, artifacts = run_job(tmp_path, cluster, namespace, "abort.yml")
    assert_successful(runner, artifacts, "Send traffic back to the old color and record the abort, for the release the "
                      "engine reads from the record")
    assert_published(runner, "blue_green", "1.2.0", "aborted", ["1.0.0"])


def test_a_canary_paused_at_its_step_is_promoted_by_the_promote_job(tmp_path, cluster, namespace):
    steps = [{"set_weight": 50}, {"pause": {}}]
    canary = {"pd_gate_interval": 2, "pd_canary_background_analysis": {}, "pd_canary_steps": steps}
    runner, artifacts = run_job(tmp_path, cluster, namespace, "canary.yml", release_version="1.0.0", **canary)
    assert_successful(runner, artifacts, "Release the application")
    assert_published(runner, "canary", "1.0.0", "promoted", ["1.0.0"])

    runner, artifacts = run_job(tmp_path, cluster, namespace, "canary.yml", release_version="1.1.0", **canary)
    assert_successful(runner, artifacts)
    assert_published(runner, "canary", "1.1.0", "paused", ["1.0.0"])
    # Each step in AWX's job output as it ends, between the release task's start and its result.
    events = [event for event in runner.events if event["event"] in ("runner_on_start", "verbose", "runner_on_ok")]
    start = next(index for index, event in enumerate(events) if event["event"] == "runner_on_start"
                 and event["event_data"]["task"].startswith("Release the application, each step"))
    steps = [event["stdout"] for event in events[start + 1:] if event["event"] == "verbose"]
    assert steps[:3] == [f"{APP}: started 1.1.0 beside 1.0.0: the canary is up, from step 0",
                         f"{APP}: step 0: 50% of traffic to the canary, 2 of 3 replicas",
                         f"{APP}: paused: step 1 pauses until playbooks/promote.yml or playbooks/abort.yml runs"], steps

    runner, artifacts = run_job(tmp_path, cluster, namespace, "promote.yml", **canary)
    assert_successful(runner, artifacts, "Go on with the release after its pause, or promote it at once with full")
    assert_published(runner, "canary", "1.1.0", "promoted", ["1.1.0"])


def test_a_rolling_update_runs_as_an_awx_job(tmp_path, cluster, namespace):
    runner, artifacts = run_job(tmp_path, cluster, namespace, "rolling.yml", release_version="1.0.0")
    assert_successful(runner, artifacts, "Roll the application")
    assert_published(runner, "rolling", "1.0.0", "promoted", ["1.0.0"])


def test_a_job_without_the_version_fails_at_once_naming_it(tmp_path, cluster, namespace, api_client):
    runner, artifacts = run_job(tmp_path, cluster, namespace, "blue_green.yml")
    assert (runner.status, runner.rc) == ("failed", 2)
    failures = [event["event_data"]["res"]["msg"] for event in runner.events if event["event"] == "runner_on_failed"]
    assert len(failures) == 1 and failures[0].startswith("required variable release_version is not set")
    assert "required variable release_version" in (artifacts / "stdout").read_text()
    assert published(runner) == {}
    assert not client.AppsV1Api(api_client).list_namespaced_deployment(namespace).items
