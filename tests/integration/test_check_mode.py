"""--check on a release playbook changes nothing in the cluster and succeeds, for an application
that already has a release: every object keeps its resourceVersion."""

import json

import pytest
from kubernetes import client

from conftest import JSON_OUTPUT, run_playbook, task_results

# No gates or pauses: what is checked does not depend on measurements.
QUICK = {"pd_gate_templates": [], "pd_smoke_test": {}, "pd_scale_down_delay_seconds": 0,
         "pd_canary_steps": [{"set_weight": 50}, {"pause": {"duration": 1}}], "pd_canary_router": "istio",
         "pd_canary_background_analysis": {}}


def versions_of_everything(api_client, namespace):
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    objects = (core.list_namespaced_service(namespace).items + core.list_namespaced_config_map(namespace).items
               + apps.list_namespaced_deployment(namespace).items
               + client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items)
    seen = {(type(o).__name__, o.metadata.name): o.metadata.resource_version for o in objects}
    for item in custom.list_namespaced_custom_object("networking.istio.io", "v1", namespace,
                                                     "virtualservices")["items"]:
        seen[("VirtualService", item["metadata"]["name"])] = item["metadata"]["resourceVersion"]
    return seen


@pytest.mark.parametrize("playbook, plan", [
    ("blue_green.yml", ["would release modelcard-generator 1.1.0 as modelcard-generator-green behind "
                        "modelcard-generator-preview, beside 1.0.0 on blue", "scale to 3 replicas and switch modelcard-generator to green"]),
    ("canary.yml", ["would release modelcard-generator 1.1.0 as a canary on modelcard-generator-green beside 1.0.0 "
                    "on modelcard-generator-blue, through the istio router",
                    "step 0: 50% of traffic to the canary, 2 of 3 replicas", "step 1: pause 1s",
                    "then promote: modelcard-generator-green at 3 replicas takes all traffic, the stable Service "
                    "modelcard-generator selects it"]),
    ("rolling.yml", ["would roll modelcard-generator from revision 1 to 1.1.0"])])
def test_a_release_in_check_mode_changes_nothing_and_shows_its_plan(api_client, cluster, namespace, playbook, plan):
    variables = dict(QUICK, pd_namespace=namespace)
    run_playbook(cluster, playbook, "-i", "inventories/local", "-e", json.dumps(dict(variables, release_version="1.0.0")))
    before = versions_of_everything(api_client, namespace)
    checked = run_playbook(cluster, playbook, "-i", "inventories/local", "--check", "--diff",
                           "-e", json.dumps(dict(variables, release_version="1.1.0")), check=False, env=JSON_OUTPUT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    [shown] = task_results(checked.stdout, "Show what the").values()
    [released] = task_results(checked.stdout, "Release the application, each step").values()
    assert released["changed"], released  # check mode predicts the change it does not make
    for line in plan:
        assert any(text.startswith(line) for text in shown["msg"]), shown["msg"]
    assert versions_of_everything(api_client, namespace) == before
