"""rollout_undo against real Deployments and StatefulSets on the local cluster."""

from kubernetes import client

from conftest import run_module, wait_for
from objects import deployment, rolled_out, statefulset

BAD = {"simulator.terragonlabs.io/ready": "false"}
CAUSE = "kubernetes.io/change-cause"


def image(version):
    return "ghcr.io/terragonlabs/web:%s" % version


def release(apps, namespace, version, cause, template_annotations=None):
    """Rolls the Deployment web to a new version the way a release does, with its change cause."""
    apps.patch_namespaced_deployment("web", namespace, {
        "metadata": {"annotations": {CAUSE: cause}},
        "spec": {"template": {"metadata": {"annotations": template_annotations or {}},
                              "spec": {"containers": [{"name": "app", "image": image(version)}]}}}})


def revision_of(apps, namespace, revision):
    def observed():
        d = apps.read_namespaced_deployment("web", namespace)
        return ((d.metadata.annotations or {}).get("deployment.kubernetes.io/revision") == str(revision)
                and d.status.observed_generation == d.metadata.generation)
    wait_for(observed, 60, "revision %s of web" % revision)


def web_at_two_revisions(apps, namespace, bad_second=False):
    body = deployment("web", "web", "1.0")
    body["metadata"]["annotations"] = {CAUSE: "release 1.0"}
    apps.create_namespaced_deployment(namespace, body)
    wait_for(lambda: rolled_out(apps, namespace, "web", 3), 60, "web 1.0 to roll out")
    release(apps, namespace, "2.0", "release 2.0", BAD if bad_second else None)
    apps.patch_namespaced_deployment("web", namespace, {"metadata": {"annotations": {"team": "ml"}}})
    revision_of(apps, namespace, 2)


def test_undo_of_a_bad_release_restores_the_image_keeps_annotations_and_waits(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    web_at_two_revisions(apps, namespace, bad_second=True)
    args = {"name": "web", "namespace": namespace, "wait": True, "timeout": 120}
    version = apps.read_namespaced_deployment("web", namespace).metadata.resource_version

    checked = run_module(cluster, "rollout_undo", args, check=True, diff=True)
    assert checked["changed"] is True and not checked.get("failed"), checked
    assert checked["message"].endswith("/web would roll back to revision 1"), checked
    assert apps.read_namespaced_deployment("web", namespace).metadata.resource_version == version
    assert checked["diff"]["before"]["spec"]["template"]["spec"]["containers"][0]["image"] == image("2.0")
    assert checked["diff"]["after"]["spec"]["template"]["spec"]["containers"][0]["image"] == image("1.0")
    assert "rollout" not in checked

    result = run_module(cluster, "rollout_undo", args)
    assert result["changed"] is True and not result.get("failed"), result
    assert result["rolled_back_to"] == 1 and result["revision_before"] == 2
    assert result["images_before"] == {"app": image("2.0")}
    assert result["images_after"] == {"app": image("1.0")}
    assert [(h["revision"], h["images"]["app"], h["change_cause"]) for h in result["history"]] == [
        (1, image("1.0"), "release 1.0"), (2, image("2.0"), "release 2.0")]
    assert result["rollout"]["message"] == "deployment web successfully rolled out"
    assert rolled_out(apps, namespace, "web", 3)
    live = apps.read_namespaced_deployment("web", namespace)
    assert live.spec.template.spec.containers[0].image == image("1.0")
    assert live.metadata.annotations["team"] == "ml"
    assert live.metadata.annotations[CAUSE] == "release 1.0"
    assert not (live.spec.template.metadata.annotations or {}).get("simulator.terragonlabs.io/ready")

    # Restoring 1 made it revision 3, as kubectl does; undoing to the revision that runs is a no-op.
    current = {"name": "web", "namespace": namespace, "to_revision": 3}
    version = live.metadata.resource_version
    again = run_module(cluster, "rollout_undo", current, check=True)
    assert again["changed"] is False and not again.get("failed"), again
    again = run_module(cluster, "rollout_undo", current)
    assert again["changed"] is False and again["rolled_back_to"] == 3, again
    assert apps.read_namespaced_deployment("web", namespace).metadata.resource_version == version


def test_undo_to_a_named_revision(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    web_at_two_revisions(apps, namespace)
    release(apps, namespace, "3.0", "release 3.0")
    revision_of(apps, namespace, 3)

    result = run_module(cluster, "rollout_undo", {"name": "web", "namespace": namespace, "to_revision": 1})
    assert result["changed"] is True and result["rolled_back_to"] == 1, result
    assert [h["revision"] for h in result["history"]] == [1, 2, 3]
    assert apps.read_namespaced_deployment("web", namespace).spec.template.spec.containers[0].image == image("1.0")
    revision_of(apps, namespace, 4)


def test_a_missing_revision_fails_and_changes_nothing(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("web", "web", "1.0"))
    revision_of(apps, namespace, 1)
    result = run_module(cluster, "rollout_undo", {"name": "web", "namespace": namespace})
    assert result["failed"] and result["changed"] is False
    assert result["msg"] == ("cannot undo Deployment %s/web: there is no previous revision to undo to "
                             "(revisions: 1)" % namespace)

    release(apps, namespace, "2.0", "release 2.0")
    revision_of(apps, namespace, 2)
    wait_for(lambda: rolled_out(apps, namespace, "web", 3), 60, "web 2.0 to roll out")
    version = apps.read_namespaced_deployment("web", namespace).metadata.resource_version
    for check in (True, False):
        result = run_module(cluster, "rollout_undo", {"name": "web", "namespace": namespace,
                                                      "to_revision": 7}, check=check)
        assert result["failed"], result
        assert result["msg"] == ("cannot undo Deployment %s/web: revision 7 does not exist "
                                 "(revisions: 1, 2)" % namespace)
    assert apps.read_namespaced_deployment("web", namespace).metadata.resource_version == version


def test_bad_arguments_fail_before_anything_changes(cluster, namespace):
    result = run_module(cluster, "rollout_undo", {"name": "web", "namespace": namespace, "to_revision": -1})
    assert result["failed"] and "to_revision" in result["msg"]
    result = run_module(cluster, "rollout_undo", {"name": "web", "namespace": namespace, "wait": True,
                                                  "poll_interval": 0})
    assert result["failed"] and "poll_interval" in result["msg"]
    result = run_module(cluster, "rollout_undo", {"name": "web", "namespace": namespace})
    assert result["failed"] and result["msg"] == "Deployment %s/web does not exist" % namespace


def test_statefulset_undo_four_ways(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_stateful_set(namespace, statefulset("store", "store", "1.0"))
    status = {"kind": "StatefulSet", "name": "store", "namespace": namespace, "timeout": 120}
    assert not run_module(cluster, "rollout_status", status).get("failed")
    apps.patch_namespaced_stateful_set("store", namespace, {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "ghcr.io/terragonlabs/store:2.0"}]}}}})
    assert not run_module(cluster, "rollout_status", status).get("failed")

    args = {"kind": "StatefulSet", "name": "store", "namespace": namespace, "to_revision": 1,
            "wait": True, "timeout": 120}
    version = apps.read_namespaced_stateful_set("store", namespace).metadata.resource_version
    checked = run_module(cluster, "rollout_undo", args, check=True)
    assert checked["changed"] is True and not checked.get("failed"), checked
    assert apps.read_namespaced_stateful_set("store", namespace).metadata.resource_version == version

    result = run_module(cluster, "rollout_undo", args)
    assert result["changed"] is True and not result.get("failed"), result
    assert result["images_after"] == {"app": "ghcr.io/terragonlabs/store:1.0"}
    assert result["rollout"]["message"].startswith("statefulset store rolled out at revision store-")
    live = apps.read_namespaced_stateful_set("store", namespace)
    assert live.spec.template.spec.containers[0].image == "ghcr.io/terragonlabs/store:1.0"

    current = dict(args, to_revision=3)
    version = live.metadata.resource_version
    assert run_module(cluster, "rollout_undo", current, check=True)["changed"] is False
    assert run_module(cluster, "rollout_undo", current)["changed"] is False
    assert apps.read_namespaced_stateful_set("store", namespace).metadata.resource_version == version


def test_daemonset_undo_to_the_previous_revision(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    spec = deployment("agent", "agent", "1.0")["spec"]
    apps.create_namespaced_daemon_set(namespace, {"metadata": {"name": "agent"},
                                                  "spec": {"selector": spec["selector"], "template": spec["template"]}})
    status = {"kind": "DaemonSet", "name": "agent", "namespace": namespace, "timeout": 120}
    assert not run_module(cluster, "rollout_status", status).get("failed")
    apps.patch_namespaced_daemon_set("agent", namespace, {"metadata": {"annotations": {"team": "ml"}}, "spec": {
        "template": {"spec": {"containers": [{"name": "app", "image": "ghcr.io/terragonlabs/agent:2.0"}]}}}})
    assert not run_module(cluster, "rollout_status", status).get("failed")

    result = run_module(cluster, "rollout_undo", dict(status, wait=True))
    assert result["changed"] is True and not result.get("failed"), result
    assert result["rolled_back_to"] == 1 and [h["revision"] for h in result["history"]] == [1, 2]
    assert result["rollout"]["message"] == "daemon set agent successfully rolled out"
    live = apps.read_namespaced_daemon_set("agent", namespace)
    assert live.spec.template.spec.containers[0].image == "ghcr.io/terragonlabs/agent:1.0"
    assert live.metadata.annotations["team"] == "ml"


def test_a_paused_deployment_is_refused_as_kubectl_refuses_it(api_client, cluster, namespace):
    apps = client.AppsV1Api(api_client)
    web_at_two_revisions(apps, namespace)
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"paused": True}})
    version = apps.read_namespaced_deployment("web", namespace).spec.template.spec.containers[0].image
    result = run_module(cluster, "rollout_undo", {"name": "web", "namespace": namespace})
    assert result["failed"] and result["changed"] is False, result
    assert result["msg"] == "Deployment %s/web is paused; resume it before undoing a rollout" % namespace
    assert apps.read_namespaced_deployment("web", namespace).spec.template.spec.containers[0].image == version


def test_the_deployment_takes_the_version_label_of_the_template_it_restores(api_client, cluster, namespace):
    """As the workload role labels them: the Deployment and its pod template name the same version."""
    apps = client.AppsV1Api(api_client)
    body = deployment("web", "web", "1.0")
    body["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/name": "web"}}
    apps.create_namespaced_deployment(namespace, body)
    wait_for(lambda: rolled_out(apps, namespace, "web", 3), 60, "web 1.0 to roll out")
    label = {"app.kubernetes.io/version": "2.0"}
    apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": label}, "spec": {"template": {
        "metadata": {"labels": label}, "spec": {"containers": [{"name": "app", "image": image("2.0")}]}}}})
    revision_of(apps, namespace, 2)

    args = {"name": "web", "namespace": namespace}
    checked = run_module(cluster, "rollout_undo", args, check=True, diff=True)
    assert checked["changed"] is True, checked
    assert checked["diff"]["after"]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.0"
    assert checked["message"].endswith("/web would roll back to revision 1"), checked
    assert apps.read_namespaced_deployment("web", namespace).metadata.labels["app.kubernetes.io/version"] == "2.0"
    assert run_module(cluster, "rollout_undo", args)["changed"] is True
    live = apps.read_namespaced_deployment("web", namespace)
    assert live.metadata.labels["app.kubernetes.io/version"] == "1.0"
    assert live.spec.template.metadata.labels["app.kubernetes.io/version"] == "1.0"
    revision_of(apps, namespace, 3)

    # Running the restored template but labelled with another version: relabelled, then left alone.
    apps.patch_namespaced_deployment("web", namespace, {"metadata": {"labels": label}})
    current = dict(args, to_revision=3)
    relabelled = run_module(cluster, "rollout_undo", current)
    assert relabelled["changed"] is True and relabelled["message"].endswith("label now says so"), relabelled
    assert apps.read_namespaced_deployment("web", namespace).metadata.labels["app.kubernetes.io/version"] == "1.0"
    for check in (True, False):
        assert run_module(cluster, "rollout_undo", current, check=check)["changed"] is False
