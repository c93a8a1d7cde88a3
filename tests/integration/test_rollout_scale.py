"""rollout_scale against real Deployments and StatefulSets on the local cluster."""

from kubernetes import client

from conftest import run_module, wait_for
from objects import deployment, rolled_out, statefulset

NEVER_READY = {"simulator.terragonlabs.io/ready": "false"}


def test_a_deployment_is_scaled_and_waited_for_four_ways(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("web", "web", "1.0", replicas=1))
    wait_for(lambda: rolled_out(apps, namespace, "web", 1), 60, "web to roll out")
    args = {"name": "web", "namespace": namespace, "replicas": 3, "wait": True, "timeout": 120}
    version = apps.read_namespaced_deployment("web", namespace).metadata.resource_version

    checked = run_module(cluster, "rollout_scale", args, check=True, diff=True)
    assert checked["changed"] is True and not checked.get("failed"), checked
    assert checked["diff"] == {"before": {"replicas": 1}, "after": {"replicas": 3}}
    assert checked["message"] == "Deployment %s/web would scale from 1 to 3 replicas" % namespace
    assert "rollout" not in checked
    assert apps.read_namespaced_deployment("web", namespace).metadata.resource_version == version

    scaled = run_module(cluster, "rollout_scale", args)
    assert scaled["changed"] is True and not scaled.get("failed"), scaled
    assert (scaled["replicas_before"], scaled["replicas_after"]) == (1, 3)
    assert scaled["message"] == "Deployment %s/web scaled from 1 to 3 replicas" % namespace
    assert scaled["rollout"]["message"] == "deployment web successfully rolled out"
    assert rolled_out(apps, namespace, "web", 3), "the wait returned before all three replicas were ready"

    version = apps.read_namespaced_deployment("web", namespace).metadata.resource_version
    again = run_module(cluster, "rollout_scale", args, check=True)
    assert again["changed"] is False and not again.get("failed"), again
    again = run_module(cluster, "rollout_scale", args)
    assert again["changed"] is False and again["message"] == "Deployment %s/web already has 3 replicas" % namespace
    assert again["rollout"]["message"] == "deployment web successfully rolled out"
    assert apps.read_namespaced_deployment("web", namespace).metadata.resource_version == version


def test_a_scale_that_cannot_roll_out_fails_naming_the_pods(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("web", "web", "1.0", replicas=0, annotations=NEVER_READY))
    result = run_module(cluster, "rollout_scale", {"name": "web", "namespace": namespace, "replicas": 2,
                                                   "wait": True, "timeout": 5})
    assert result["failed"] and result["changed"] is True, result
    assert (result["replicas_before"], result["replicas_after"], result["replicas"]["desired"]) == (0, 2, 2)
    assert result["msg"].startswith("timed out after 5s waiting for Deployment %s/web to roll out" % namespace)
    assert len(result["not_ready_pods"]) == 2, result
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 2


def test_a_statefulset_scales_down_without_waiting_and_bad_input_changes_nothing(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    store = statefulset("store", "store", "1.0")
    store["spec"]["updateStrategy"] = {"type": "OnDelete"}
    apps.create_namespaced_stateful_set(namespace, store)
    result = run_module(cluster, "rollout_scale", {"kind": "StatefulSet", "name": "store", "namespace": namespace,
                                                   "replicas": 0})
    assert result["changed"] is True and (result["replicas_before"], result["replicas_after"]) == (2, 0), result
    assert "rollout" not in result
    assert apps.read_namespaced_stateful_set("store", namespace).spec.replicas == 0

    def settled():  # the controller's status updates as the pods go would move the resourceVersion
        store = apps.read_namespaced_stateful_set("store", namespace)
        return (store.status.observed_generation == store.metadata.generation and not store.status.replicas
                and not client.CoreV1Api(api_client).list_namespaced_pod(namespace).items and store)
    version = wait_for(settled, 60, "store's pods to go").metadata.resource_version
    for args, named in (({"replicas": -1}, "replicas must be 0 or more, got -1"),
                        ({"replicas": 1, "timeout": -1}, "timeout must be 0 or more seconds, got -1"),
                        ({"replicas": 1, "kind": "DaemonSet"}, "kind"),
                        ({"replicas": 1, "wait": True}, "cannot wait for StatefulSet %s/store: rollout status "
                                                        "is only available for the RollingUpdate strategy, "
                                                        "not OnDelete" % namespace),
                        ({"replicas": 1, "name": "missing"}, "StatefulSet %s/missing does not exist" % namespace)):
        result = run_module(cluster, "rollout_scale", dict({"kind": "StatefulSet", "name": "store",
                                                            "namespace": namespace}, **args))
        assert result["failed"] and not result.get("changed") and named in result["msg"], result
    assert apps.read_namespaced_stateful_set("store", namespace).metadata.resource_version == version
