"""Pod Security: a namespace enforcing the "restricted" profile (as provision.yml creates) rejects a
non-compliant pod and admits the pods of the Deployment our workload role renders."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import JSON_OUTPUT, REPO, ansible_env


def rendered_workload_deployment(cluster):
    """The Deployment roles/workload renders with its defaults, through ansible's own templating."""
    variables = dict(yaml.safe_load((REPO / "roles/workload/defaults/main.yml").read_text()),
                     workload_name="modelcard-generator")
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-m", "ansible.builtin.debug", "-a",
               "msg={{ lookup('ansible.builtin.template', 'roles/workload/templates/deployment.yml.j2') | from_yaml }}",
               "-e", json.dumps(variables)]
    env = dict(ansible_env(cluster), **JSON_OUTPUT)
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]


def pod(name, spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def test_restricted_rejects_a_non_compliant_pod_and_admits_ours(api_client, cluster, namespace):
    core = client.CoreV1Api(api_client)
    # Root, privilege escalation allowed, capabilities kept, no seccomp profile: a baseline-only pod.
    as_root = pod("root-shell", {"containers": [{"name": "shell", "image": "busybox",
                                                 "securityContext": {"runAsUser": 0}}]})
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(namespace, as_root, dry_run="All")
    assert refused.value.status == 403, refused.value.body
    assert 'violates PodSecurity "restricted:latest"' in json.loads(refused.value.body)["message"]

    template = rendered_workload_deployment(cluster)["spec"]["template"]
    admitted = core.create_namespaced_pod(namespace, pod("ours", template["spec"]), dry_run="All")
    assert admitted.spec.security_context.run_as_non_root is True
