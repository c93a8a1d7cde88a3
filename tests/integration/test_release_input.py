"""A release's input is checked before anything in the cluster changes: a version that cannot be an
image tag and a label value is refused naming release_version, with no lock, record or object made."""

import json

import pytest
from kubernetes import client

from conftest import JSON_OUTPUT, run_playbook, task_results


@pytest.mark.parametrize("playbook, version", [
    ("blue_green.yml", "1.1 .0"),
    ("canary.yml", '1.1"0'),
    ("rolling.yml", "$(touch /tmp/released)")])
def test_a_version_that_is_no_image_tag_is_refused_before_anything_changes(
        api_client, cluster, namespace, playbook, version):
    failed = run_playbook(cluster, playbook, "-i", "inventories/local", "-e",
                          json.dumps({"pd_namespace": namespace, "release_version": version}), check=False,
                          env=JSON_OUTPUT)
    assert failed.returncode == 2, failed.stdout
    [refusal] = task_results(failed.stdout, "Refuse a version that cannot be").values()
    assert refusal["msg"].startswith(f"{playbook[:-4]}_version (release_version in the playbooks) "
                                     f"{json.dumps(version)} is not a valid version"), refusal
    core = client.CoreV1Api(api_client)
    assert [c.metadata.name for c in core.list_namespaced_config_map(namespace).items] == ["kube-root-ca.crt"]
    assert not client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items
    assert not client.AppsV1Api(api_client).list_namespaced_deployment(namespace).items
    assert not core.list_namespaced_service(namespace).items
