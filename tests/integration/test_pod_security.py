"""Pod Security: a namespace enforcing the "restricted" profile (as provision.yml creates) rejects a
non-compliant pod and admits the pods of the Deployment our workload role builds."""

import inspect
import json

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import REPO

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.manifests import workload_objects


def workload_deployment():
    """The Deployment the workload role builds with its defaults (its variables, templated by ansible)."""
    variables = dict(yaml.safe_load((REPO / "roles/workload/defaults/main.yml").read_text()),
                     workload_name="modelcard-generator")
    templar = Templar(loader=DataLoader(), variables=variables)
    settings = {name: templar.template(variables["workload_" + name])
                for name in inspect.signature(workload_objects).parameters}
    return next(body for body in workload_objects(**settings) if body["kind"] == "Deployment")


def pod(name, spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def test_restricted_rejects_a_non_compliant_pod_and_admits_ours(api_client, namespace):
    core = client.CoreV1Api(api_client)
    # Root, privilege escalation allowed, capabilities kept, no seccomp profile: a baseline-only pod.
    as_root = pod("root-shell", {"containers": [{"name": "shell", "image": "busybox",
                                                 "securityContext": {"runAsUser": 0}}]})
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(namespace, as_root, dry_run="All")
    assert refused.value.status == 403, refused.value.body
    assert 'violates PodSecurity "restricted:latest"' in json.loads(refused.value.body)["message"]

    template = workload_deployment()["spec"]["template"]
    admitted = core.create_namespaced_pod(namespace, pod("ours", template["spec"]), dry_run="All")
    assert admitted.spec.security_context.run_as_non_root is True
