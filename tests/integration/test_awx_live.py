"""The collection as AWX runs it: a real AWX (tools/local_awx) configured by playbooks/awx/configure.yml,
whose job templates, surveys and workflows run the playbooks in the execution environment built from
execution-environment.yml, against the local cluster. Driven as an operator would: the awx.awx modules
configure and launch, AWX's API shows jobs, their output and their artifacts."""

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from conftest import JSON_OUTPUT, REPO, fresh_namespace, local_awx, wait_for

# Run by make awx-test, one after another: they share one AWX, whose capacity is this machine's.
pytestmark = [pytest.mark.timeout(1800), pytest.mark.long, pytest.mark.awx]

APP = "modelcard-generator"
NAME = "progressive-delivery"
INVENTORY = f"{NAME} local"
# Gates measure once after 6 s and nothing waits after promotion (as in test_awx_runner.py).
FAST = {"pd_gate_count": 1, "pd_gate_initial_delay": 6, "pd_scale_down_delay_seconds": 0}
# The pipeline workflow's environments, in order; their inventories name the namespaces.
PIPELINE = ("development", "staging", "production")
# Long enough for the tests to approve and deny two workflows while a third one waits, short
# enough to see that one expire.
APPROVAL_TIMEOUT = 30


def controller_env(awx):
    """The awx.awx modules' connection, as an operator exports it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "CONTROLLER_"))}
    return dict(env, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
                CONTROLLER_HOST=awx["url"], CONTROLLER_USERNAME=awx["username"],
                CONTROLLER_PASSWORD=awx["password"], CONTROLLER_VERIFY_SSL="false", **JSON_OUTPUT)


def configure(awx, cluster, tmp_path, **overrides):
    """playbooks/awx/configure.yml against the live AWX, for the local environment; ansible's JSON result."""
    variables = dict({
        "awx_project_scm_url": local_awx.publish_project(REPO),
        "awx_project_scm_branch": "main",
        "awx_execution_environment_image": awx["execution_environment"],
        # local first: the job templates' default; the pipeline needs the other three.
        "awx_environments": ["local", "development", "staging", "production"],
        "awx_approval_environment": "local",
        "awx_approval_timeout": APPROVAL_TIMEOUT,
        "awx_credentials": [{"name": f"{NAME} local cluster", "credential_type": "Kubernetes kubeconfig",
                             "inputs": {"kubeconfig": kubeconfig_with_pipeline_contexts(cluster)}}],
        "awx_job_template_credentials": [f"{NAME} local cluster"],
        # The project and inventories do not change during a run: sync them once, not per job.
        "awx_project_update_cache_timeout": 3600,
        "awx_inventory_update_cache_timeout": 3600,
    }, **overrides)
    vars_file = tmp_path / "awx-vars.yml"
    vars_file.write_text(yaml.safe_dump(variables))
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(REPO / "playbooks" / "awx" / "configure.yml"),
         "-e", f"@{vars_file}"], cwd=REPO, env=controller_env(awx), capture_output=True, text=True, timeout=900,
        check=False)
    assert completed.returncode == 0, completed.stdout[-20000:] + completed.stderr
    return json.loads(completed.stdout)


def kubeconfig_with_pipeline_contexts(cluster):
    """The local cluster's kubeconfig, inlined, with a context named after each of the pipeline's
    environments (their inventories' pd_context) that leads to the local cluster too."""
    kubeconfig = json.loads(local_awx.inline_kubeconfig(cluster["kubeconfig"]))
    local = next(entry["context"] for entry in kubeconfig["contexts"] if entry["name"] == kubeconfig["current-context"])
    kubeconfig["contexts"] += [{"name": environment, "context": local} for environment in PIPELINE]
    return json.dumps(kubeconfig, indent=2)


def changed_tasks(result):
    return [task["task"]["name"] for play in result["plays"] for task in play["tasks"]
            if any(host.get("changed") for host in task["hosts"].values())]


@pytest.fixture(scope="session")
def configured(awx, cluster, tmp_path_factory):
    """AWX as configure.yml leaves it; the kubeconfig is written again, as the cluster may be new. Jobs
    skip syncs younger than the cache timeout, so the project and the inventory are synced now: a
    running AWX may hold an older commit."""
    result = configure(awx, cluster, tmp_path_factory.mktemp("configure"), awx_update_secrets=True)
    for module, args in (("awx.awx.project_update", {"name": NAME}),
                         ("awx.awx.inventory_source_update", {"name": INVENTORY, "inventory": INVENTORY,
                                                              "organization": "Default"})):
        synced = awx_module(awx, module, wait=True, **args)
        assert not synced.get("failed"), synced
    return result


# Where AWX's API lists (and deletes) each type of unified job.
JOB_ENDPOINTS = {"job": "jobs", "workflow_job": "workflow_jobs", "workflow_approval": "workflow_approvals",
                 "project_update": "project_updates", "inventory_update": "inventory_updates"}


@pytest.fixture(autouse=True)
def forget_the_tests_jobs(configured):
    """AWX as configure.yml left it for each test: the jobs and workflow runs a test started are
    deleted after it (the objects stay, configured once per run), so none outlives its namespace."""
    status, body = api("/api/v2/unified_jobs/?order_by=-id&page_size=1")
    assert status == 200, body
    last = body["results"][0]["id"] if body["results"] else 0
    yield
    status, body = api(f"/api/v2/unified_jobs/?id__gt={last}&page_size=200")
    assert status == 200, body
    for job in body["results"]:
        path = f"/api/v2/{JOB_ENDPOINTS[job['type']]}/{job['id']}/"
        if not job["finished"]:  # a failed test's: AWX deletes only what has finished
            api(path + "cancel/", method="POST", body={})
            finished(path, timeout=120)
        status, answer = api(path, method="DELETE")
        assert status in (204, 404), (path, status, answer)


def api(path, method="GET", body=None):
    return local_awx.api(path, method=method, body=body)


def one(kind, name):
    status, body = api(f"/api/v2/{kind}/?" + urllib.parse.urlencode({"name": name}))
    assert status == 200 and body["count"] == 1, (kind, name, status, body)
    return body["results"][0]


def awx_module(awx, module, **args):
    """One awx.awx module run as a task would; its result."""
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-m", module, "-a", json.dumps(args)],
        cwd=REPO, env=controller_env(awx), capture_output=True, text=True, timeout=900, check=False)
    try:
        output = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(f"no JSON from ansible:\n{completed.stdout}\n{completed.stderr}")
    return output["plays"][0]["tasks"][0]["hosts"]["localhost"]


def launch_job(awx, template, **extra_vars):
    result = awx_module(awx, "awx.awx.job_launch", name=f"{NAME} {template}", inventory=INVENTORY,
                        extra_vars=extra_vars)
    assert not result.get("failed"), result
    return result["id"]


def launch_workflow(awx, workflow, **extra_vars):
    result = awx_module(awx, "awx.awx.workflow_launch", workflow_template=f"{NAME} {workflow}",
                        inventory=INVENTORY, extra_vars=extra_vars, wait=False)
    assert not result.get("failed"), result
    return result["id"]


def finished(path, timeout=900):
    """Polls a job or workflow job until it finishes, and a job's output is stored whole (AWX's
    callback receiver may still be saving its events when it is marked finished); returns it."""
    def done():
        status, body = api(path)
        return body if status == 200 and body["finished"] and body.get("event_processing_finished", True) else None
    return wait_for(done, timeout, f"{path} to finish", interval=1)


def job_stdout(job_id):
    status, body = api(f"/api/v2/jobs/{job_id}/stdout/?format=json")
    assert status == 200, body
    return body["content"]


def release_of(job):
    return job["artifacts"]["pd_releases"][APP]


def run_job(awx, template, namespace, **extra_vars):
    """Launches a job template for the namespace and waits for the job; returns it."""
    job_id = launch_job(awx, template, **dict(FAST, pd_namespace=namespace, **extra_vars))
    return finished(f"/api/v2/jobs/{job_id}/")


def assert_successful(job):
    assert job["status"] == "successful", job_stdout(job["id"])[-6000:]


def serving(api_client, namespace):
    """The version the application's Service sends traffic to."""
    service = client.CoreV1Api(api_client).read_namespaced_service(APP, namespace)
    color = service.spec.selector["terragonlabs.io/color"]
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment(f"{APP}-{color}", namespace)
    return deployment.spec.template.metadata.labels["app.kubernetes.io/version"]


def workflow_nodes(workflow_job_id):
    """{identifier: node} of a workflow job, each with its job's status."""
    status, body = api(f"/api/v2/workflow_jobs/{workflow_job_id}/workflow_nodes/?page_size=50")
    assert status == 200, body
    nodes = {}
    for node in body["results"]:
        job = node["summary_fields"].get("job", {})
        nodes[node["identifier"]] = {"job": job.get("id"), "status": job.get("status"),
                                     "type": job.get("type"), "do_not_run": node["do_not_run"]}
    return nodes


def pending_approval(workflow_job_id):
    def find():
        node = workflow_nodes(workflow_job_id).get("approve", {})
        return node if node.get("job") and node.get("status") == "pending" else None
    return wait_for(find, 600, "the approval to be pending", interval=1)


def test_configure_creates_what_it_documents_and_a_second_run_changes_nothing(configured, awx, cluster, tmp_path):
    for playbook in ("provision", "blue_green", "rolling", "canary", "promote", "abort", "rollback", "status"):
        template = one("job_templates", f"{NAME} {playbook}")
        assert template["playbook"] == f"playbooks/{playbook}.yml"
        assert template["ask_inventory_on_launch"] and template["ask_variables_on_launch"]
    survey = api(f"/api/v2/job_templates/{one('job_templates', f'{NAME} blue_green')['id']}/survey_spec/")[1]
    assert [question["variable"] for question in survey["spec"]] == ["release_version", "auto_promote", "freeze_override"]
    project = one("projects", NAME)
    assert project["scm_type"] == "git"
    assert project["status"] == "successful"  # configure.yml waited for its first sync
    assert one("execution_environments", NAME)["image"] == awx["execution_environment"]
    assert {one("credential_types", name)["kind"] for name in
            ("Kubernetes kubeconfig", "Prometheus token", "Release webhook")} == {"cloud"}
    workflow = one("workflow_job_templates", f"{NAME} release with approval")
    nodes = api(f"/api/v2/workflow_job_templates/{workflow['id']}/workflow_nodes/")[1]["results"]
    assert sorted(node["identifier"] for node in nodes) == ["abort", "approve", "promote", "release"]
    assert one("workflow_job_templates", f"{NAME} pipeline")

    nodes_before = all_workflow_nodes()
    again = configure(awx, cluster, tmp_path)
    # awx.awx 24.6.1's workflow_job_template compares an approval node's own fields with its approval
    # template's and so always writes the approval again: the only change a second run reports.
    assert set(changed_tasks(again)) <= {
        "Create the release workflow - release, approval, promote; abort on failure",
        "Create the pipeline workflow - one version through each environment, production after an approval"}
    assert all_workflow_nodes() == nodes_before


def all_workflow_nodes():
    """{(workflow, identifier): (node id, what it runs, its links)}: what a re-run must leave as it is."""
    nodes = {}
    for workflow in api("/api/v2/workflow_job_templates/?page_size=50")[1]["results"]:
        for node in api(f"/api/v2/workflow_job_templates/{workflow['id']}/workflow_nodes/?page_size=50")[1]["results"]:
            template = node["summary_fields"]["unified_job_template"]
            nodes[workflow["name"], node["identifier"]] = (
                node["id"], template["name"], template.get("timeout"), node["extra_data"], node["inventory"],
                sorted(node["success_nodes"]), sorted(node["failure_nodes"]))
    return nodes


def test_the_blue_green_job_template_and_its_survey(configured, awx, namespace, api_client):
    started = time.monotonic()
    job = run_job(awx, "blue_green", namespace, release_version="1.0.0", auto_promote="true")
    print(f"blue-green job: {time.monotonic() - started:.1f}s from launch to {job['status']}")
    assert_successful(job)
    release = release_of(job)
    assert (release["strategy"], release["version"], release["phase"]) == ("blue_green", "1.0.0", "promoted")
    assert release["traffic"]["versions"] == ["1.0.0"]
    assert serving(api_client, namespace) == "1.0.0"

    # A survey answer outside its choices never becomes a job.
    template = one("job_templates", f"{NAME} blue_green")
    status, body = api(f"/api/v2/job_templates/{template['id']}/launch/", method="POST",
                       body={"inventory": one("inventories", INVENTORY)["id"],
                             "extra_vars": {"release_version": "1.1.0", "auto_promote": "maybe",
                                            "pd_namespace": namespace}})
    assert status == 400 and "auto_promote" in json.dumps(body), (status, body)
    assert serving(api_client, namespace) == "1.0.0"


def test_the_release_with_approval_workflow_approved_denied_and_timed_out(configured, awx, api_client):
    """Three workflows at once, each in a namespace of its own: one approved, one denied, one left
    to time out."""
    outcomes = ("approved", "denied", "expired")
    with fresh_namespace(api_client) as approved_ns, fresh_namespace(api_client) as denied_ns, \
            fresh_namespace(api_client) as expired_ns:
        namespaces = dict(zip(outcomes, (approved_ns, denied_ns, expired_ns)))
        with ThreadPoolExecutor(len(outcomes)) as pool:
            for job in pool.map(lambda ns: run_job(awx, "blue_green", ns, release_version="1.0.0",
                                                   auto_promote="true"), namespaces.values()):
                assert_successful(job)
            versions = dict(zip(outcomes, ("1.1.0", "1.1.1", "1.1.2")))
            workflows = dict(zip(outcomes, pool.map(
                lambda outcome: launch_workflow(awx, "release with approval", release_version=versions[outcome],
                                                **dict(FAST, pd_namespace=namespaces[outcome])), outcomes)))
        approvals = {outcome: pending_approval(workflows[outcome]) for outcome in ("approved", "denied")}
        # Paused behind the preview until approved.
        assert serving(api_client, approved_ns) == "1.0.0"
        result = awx_module(awx, "awx.awx.workflow_approval", workflow_job_id=workflows["approved"],
                            name=f"Promote {NAME} to all traffic?", action="approve")
        assert not result.get("failed"), result
        status, body = api(f"/api/v2/workflow_approvals/{approvals['denied']['job']}/deny/", method="POST", body={})
        assert status == 204, body

        assert finished(f"/api/v2/workflow_jobs/{workflows['approved']}/")["status"] == "successful"
        nodes = workflow_nodes(workflows["approved"])
        assert (nodes["approve"]["status"], nodes["promote"]["status"]) == ("successful", "successful"), nodes
        assert nodes["abort"]["job"] is None
        promote = api(f"/api/v2/jobs/{nodes['promote']['job']}/")[1]
        assert (release_of(promote)["version"], release_of(promote)["phase"]) == ("1.1.0", "promoted")
        assert serving(api_client, approved_ns) == "1.1.0"

        finished(f"/api/v2/workflow_jobs/{workflows['denied']}/")
        nodes = workflow_nodes(workflows["denied"])
        assert (nodes["approve"]["status"], nodes["abort"]["status"]) == ("failed", "successful"), nodes
        assert nodes["promote"]["job"] is None
        abort = api(f"/api/v2/jobs/{nodes['abort']['job']}/")[1]
        assert (release_of(abort)["version"], release_of(abort)["phase"]) == ("1.1.1", "aborted")
        assert serving(api_client, denied_ns) == "1.0.0"

        # Nobody answers: the approval times out, which the workflow treats as a denial.
        finished(f"/api/v2/workflow_jobs/{workflows['expired']}/", timeout=APPROVAL_TIMEOUT + 600)
        nodes = workflow_nodes(workflows["expired"])
        status, body = api(f"/api/v2/workflow_approvals/{nodes['approve']['job']}/")
        assert body["timed_out"] is True and body["status"] == "failed", body
        assert nodes["abort"]["status"] == "successful" and nodes["promote"]["job"] is None, nodes
        assert serving(api_client, expired_ns) == "1.0.0"


def test_the_pipeline_passes_pd_releases_from_environment_to_environment(configured, awx, cluster, api_client):
    """development, staging, an approval, production: each environment's inventory, context and
    namespace (all on the local cluster here), Prometheus where the jobs reach it."""
    with contextlib.ExitStack() as stack:
        for environment in PIPELINE:
            stack.enter_context(fresh_namespace(api_client, f"modelcard-{environment}"))
        workflow = awx_module(awx, "awx.awx.workflow_launch", workflow_template=f"{NAME} pipeline", wait=False,
                              extra_vars=dict(FAST, release_version="1.0.0",
                                              pd_prometheus={"url": cluster["prometheus_url"]},
                                              pd_smoke_test={}))
        assert not workflow.get("failed"), workflow
        approval = pending_approval(workflow["id"])
        status, body = api(f"/api/v2/workflow_approvals/{approval['job']}/approve/", method="POST", body={})
        assert status == 204, body
        assert finished(f"/api/v2/workflow_jobs/{workflow['id']}/")["status"] == "successful"
        nodes = workflow_nodes(workflow["id"])
        jobs = {environment: api(f"/api/v2/jobs/{nodes[environment]['job']}/")[1] for environment in PIPELINE}
        for environment, job in jobs.items():
            assert_successful(job)
            assert job["inventory"] == one("inventories", f"{NAME} {environment}")["id"]
            assert (release_of(job)["version"], release_of(job)["phase"]) == ("1.0.0", "promoted")
            assert serving(api_client, f"modelcard-{environment}") == "1.0.0"
        # Each node starts with the release its predecessor published.
        for previous, environment in zip(PIPELINE, PIPELINE[1:]):
            handed = json.loads(jobs[environment]["extra_vars"])["pd_releases"][APP]
            assert handed["release_id"] == release_of(jobs[previous])["release_id"], (environment, handed)
        assert len({release_of(job)["release_id"] for job in jobs.values()}) == len(PIPELINE)


def test_a_canary_paused_at_its_step_is_promoted_by_the_promote_job_template(configured, awx, namespace):
    canary = {"pd_gate_interval": 2, "pd_canary_background_analysis": {},
              "pd_canary_steps": [{"set_weight": 50}, {"pause": {}}]}
    job = run_job(awx, "canary", namespace, release_version="1.0.0", **canary)
    assert_successful(job)
    assert release_of(job)["phase"] == "promoted"
    job = run_job(awx, "canary", namespace, release_version="1.1.0", **canary)
    assert_successful(job)
    assert (release_of(job)["version"], release_of(job)["phase"]) == ("1.1.0", "paused")
    job = run_job(awx, "promote", namespace, **canary)
    assert_successful(job)
    assert (release_of(job)["version"], release_of(job)["phase"]) == ("1.1.0", "promoted")
    assert release_of(job)["traffic"]["versions"] == ["1.1.0"]


def test_a_failing_gate_fails_the_job_and_its_output_says_which_metric_and_why(configured, awx, namespace,
                                                                               api_client):
    assert_successful(run_job(awx, "blue_green", namespace, release_version="1.0.0", auto_promote="true"))
    # 1.2.0 is the local inventory's bad version: the simulator answers 30% of its requests with 500.
    job = run_job(awx, "blue_green", namespace, release_version="1.2.0", auto_promote="true")
    assert job["status"] == "failed"
    output = job_stdout(job["id"])
    assert "the pre-promotion gate ended Failed" in output, output[-6000:]
    assert "app_success_rate" in output or "success" in output, output[-6000:]
    assert serving(api_client, namespace) == "1.0.0"
