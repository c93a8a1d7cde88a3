"""playbooks/awx/configure.yml without an AWX: every task is templated and its arguments validated by the
real awx.awx module (AnsibleModule checks them before the first request), against a controller address
nobody listens on, so each task must fail only at connecting. Workflow nodes, which the modules take as
plain dicts, are checked against the suboptions awx.awx documents for them, and the graphs are checked."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.awx.awx.plugins.modules import workflow_job_template

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONNECT_ERROR = "There was an unknown error when trying to connect to "


class PlaybookLoader(yaml.SafeLoader):
    """Reads the playbook's !unsafe strings as plain strings."""


PlaybookLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def controller():
    return "http://127.0.0.1:%d" % closed_port()


@pytest.fixture(scope="module")
def results(tmp_path_factory, controller):
    """{module: [module_args, ...]} of every task, after checking each failed only at connecting."""
    copy = tmp_path_factory.mktemp("awx") / "awx"
    shutil.copytree(REPO / "playbooks" / "awx", copy)
    playbook = copy / "configure.yml"
    # Carry on past each task's connection failure, to validate every task.
    text = playbook.read_text().replace("  gather_facts: false\n", "  gather_facts: false\n  ignore_errors: true\n", 1)
    playbook.write_text(text)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "CONTROLLER_"))}
    env.update(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    completed = subprocess.run([str(BIN / "ansible-playbook"), str(playbook), "-e", "awx_controller_host=" + controller],
                               env=env, cwd=copy, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    modules = {task["name"]: next(key for key in task if key.startswith("awx.awx."))
               for task in yaml.load(text, Loader=PlaybookLoader)[0]["tasks"]}
    by_module = {}
    for task in json.loads(completed.stdout)["plays"][0]["tasks"]:
        module = modules[task["task"]["name"]]
        for result in task["hosts"]["localhost"].get("results", [task["hosts"]["localhost"]]):
            if result.get("skipped"):
                continue
            assert result["msg"].startswith(CONNECT_ERROR + controller), (task["task"]["name"], result["msg"])
            by_module.setdefault(module, []).append(result["invocation"]["module_args"])
    return by_module


def by_name(results, module):
    return {args["name"]: args for args in results[module]}


def test_the_playbook_passes_syntax_check():
    subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", str(REPO / "playbooks" / "awx" / "configure.yml")],
                   capture_output=True, text=True, timeout=300, check=True)


def test_every_task_passes_its_module_argument_validation(results):
    assert {module: len(calls) for module, calls in results.items()} == {
        "awx.awx.execution_environment": 1, "awx.awx.project": 1, "awx.awx.credential_type": 3,
        "awx.awx.inventory": 3, "awx.awx.inventory_source": 3, "awx.awx.job_template": 10,
        "awx.awx.workflow_job_template": 2}


def test_inventories_are_sourced_from_the_project(results):
    for source in results["awx.awx.inventory_source"]:
        assert (source["source"], source["source_project"]) == ("scm", "progressive-delivery")
        assert (REPO / source["source_path"]).is_file(), source["source_path"]
    assert set(by_name(results, "awx.awx.inventory")) == {
        "progressive-delivery development", "progressive-delivery staging", "progressive-delivery production"}


def test_credential_types_inject_what_the_playbooks_read(results):
    types = by_name(results, "awx.awx.credential_type")
    assert types["Prometheus token"]["injectors"] == {"extra_vars": {"pd_prometheus_token": "{{ token }}"}}
    assert types["Release webhook"]["injectors"]["extra_vars"] == {
        "pd_webhook_url": "{{ url }}", "pd_webhook_secret": "{{ secret }}"}
    assert types["Kubernetes kubeconfig"]["injectors"]["env"] == {
        "K8S_AUTH_KUBECONFIG": "{{ tower.filename.kubeconfig }}"}
    # Also as pd_kubeconfig itself, for inventories (such as local) whose default is another file.
    assert types["Kubernetes kubeconfig"]["injectors"]["extra_vars"] == {
        "pd_kubeconfig": "{{ tower.filename.kubeconfig }}"}
    for environment in ("development", "staging", "production"):
        inventory = (REPO / "inventories" / environment / "group_vars" / "all")
        assert "pd_prometheus_token" in (inventory / "release.yml").read_text()
        assert "K8S_AUTH_KUBECONFIG" in (inventory / "connection.yml").read_text()


def test_each_playbook_has_a_job_template_with_its_survey(results):
    templates = by_name(results, "awx.awx.job_template")
    for template in templates.values():
        assert (REPO / template["playbook"]).is_file(), template["playbook"]
        assert template["ask_inventory_on_launch"] and template["ask_variables_on_launch"]
        assert template["allow_simultaneous"] is True
        # AWX refuses a survey without questions, so a template that asks none has none.
        assert template["survey_enabled"] == bool(template["survey_spec"])
        assert template["survey_spec"] is None or template["survey_spec"]["spec"]
    questions = {name: {q["variable"]: q for q in (t["survey_spec"] or {"spec": []})["spec"]}
                 for name, t in templates.items()}
    assert questions["progressive-delivery blue_green"]["release_version"]["required"] is True
    assert questions["progressive-delivery blue_green"]["auto_promote"]["choices"] == ["true", "false"]
    assert list(questions["progressive-delivery rolling"]) == ["release_version", "freeze_override"]
    assert list(questions["progressive-delivery canary"]) == ["release_version", "freeze_override"]
    assert questions["progressive-delivery blue_green"]["freeze_override"]["required"] is False
    assert questions["progressive-delivery rollback"]["rollback_to"]["required"] is False
    assert questions["progressive-delivery status"] == {}


def test_the_fleet_runs_whole_or_in_slices(results):
    templates = by_name(results, "awx.awx.job_template")
    whole, sliced = templates["progressive-delivery fleet"], templates["progressive-delivery fleet sliced"]
    assert whole["playbook"] == sliced["playbook"] == "playbooks/fleet.yml"
    assert (whole["job_slice_count"], sliced["job_slice_count"]) == (1, 4)
    assert {name: t["job_slice_count"] for name, t in templates.items() if t["playbook"] != "playbooks/fleet.yml"} == {
        name: 1 for name, t in templates.items() if t["playbook"] != "playbooks/fleet.yml"}
    assert [q["variable"] for q in sliced["survey_spec"]["spec"]] == ["release_version", "freeze_override"]


def node_spec():
    """The argument spec of one workflow node, from the suboptions awx.awx documents."""
    def spec(options):
        return {name: {key: option[key] for key in ("type", "elements", "choices", "aliases") if key in option}
                | ({"options": spec(option["suboptions"])} if "suboptions" in option else {})
                for name, option in options.items()}
    documented = yaml.safe_load(workflow_job_template.DOCUMENTATION)["options"]["workflow_nodes"]["suboptions"]
    return spec(documented)


def edges(workflow):
    return {(node["identifier"], kind, target["identifier"])
            for node in workflow["workflow_nodes"] for kind, targets in node.get("related", {}).items()
            for target in targets}


def test_workflow_nodes_are_valid_and_linked(results):
    validator = ArgumentSpecValidator(node_spec())
    workflows = by_name(results, "awx.awx.workflow_job_template")
    templates = by_name(results, "awx.awx.job_template")
    for workflow in workflows.values():
        assert workflow["allow_simultaneous"] is True
        identifiers = {node["identifier"] for node in workflow["workflow_nodes"]}
        for node in workflow["workflow_nodes"]:
            assert validator.validate(node).error_messages == [], node
            template = node["unified_job_template"]
            assert template["type"] == "workflow_approval" or template["name"] in templates, template
        assert {edge[2] for edge in edges(workflow)} <= identifiers

    release = workflows["progressive-delivery release with approval"]
    assert edges(release) == {("release", "success_nodes", "approve"), ("release", "failure_nodes", "abort"),
                              ("approve", "success_nodes", "promote"), ("approve", "failure_nodes", "abort"),
                              ("promote", "failure_nodes", "abort")}
    nodes = {node["identifier"]: node for node in release["workflow_nodes"]}
    # AWX checks a node's answer against the survey's choices, which are strings.
    assert nodes["release"]["extra_data"] == {"auto_promote": "false"}
    assert nodes["approve"]["unified_job_template"]["type"] == "workflow_approval"
    assert [nodes[n]["unified_job_template"]["name"] for n in ("release", "promote", "abort")] == [
        "progressive-delivery blue_green", "progressive-delivery promote", "progressive-delivery abort"]

    pipeline = workflows["progressive-delivery pipeline"]
    assert edges(pipeline) == {("development", "success_nodes", "staging"), ("staging", "success_nodes", "approve"),
                               ("approve", "success_nodes", "production")}
    for node in pipeline["workflow_nodes"]:
        if node["identifier"] != "approve":
            assert node["inventory"]["name"] == "progressive-delivery " + node["identifier"]
    for workflow in (release, pipeline):
        assert [q["variable"] for q in workflow["survey_spec"]["spec"]] == ["release_version"]
