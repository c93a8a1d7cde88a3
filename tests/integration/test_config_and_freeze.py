"""Config that travels with the release, and freeze windows, through the playbooks on the real
cluster: blue-green without gates and one replica, since neither depends on the strategy."""

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from kubernetes import client

from conftest import run_playbook
from stub_http import Stub

pytestmark = pytest.mark.timeout(900)

APP = "modelcard-generator"
QUICK = {"pd_replicas": 1, "pd_gate_templates": [], "pd_smoke_test": {}, "pd_scale_down_delay_seconds": 0,
         "pd_blue_green_lock_ttl": 300, "pd_pod_annotations_by_version": {}}
CONFIG = [{"name": "settings"}, {"kind": "Secret", "name": "credentials", "mount_path": "/etc/credentials"}]
SECRET_VALUE = "s3cr3t-t0ken-value"
COPY_LABEL = "terragonlabs.io/release-config=copy"


def play(cluster, playbook, namespace, check=True, options=(), **extra):
    variables = dict(QUICK, pd_namespace=namespace, **extra)
    return run_playbook(cluster, playbook, "-i", "inventories/local", "-e", json.dumps(variables), *options,
                        check=check)


def set_settings(core, namespace, mode):
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings"), data={"MODE": mode})
    try:
        core.replace_namespaced_config_map("settings", namespace, body)
    except client.ApiException as error:
        if error.status != 404:
            raise
        core.create_namespaced_config_map(namespace, body)


def serving_config(api_client, namespace):
    """(version, MODE of the ConfigMap the serving color's pods reference, name of the Secret they mount)."""
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    color = core.read_namespaced_service(APP, namespace).spec.selector["terragonlabs.io/color"]
    deployment = apps.read_namespaced_deployment(f"{APP}-{color}", namespace)
    pod = deployment.spec.template.spec
    config_map = pod.containers[0].env_from[0].config_map_ref.name
    secret = next(v.secret.secret_name for v in pod.volumes if v.secret)
    return (deployment.metadata.labels["app.kubernetes.io/version"],
            core.read_namespaced_config_map(config_map, namespace).data["MODE"], secret)


def copies(core, namespace):
    return sorted([c.metadata.name for c in core.list_namespaced_config_map(namespace, label_selector=COPY_LABEL).items]
                  + [s.metadata.name for s in core.list_namespaced_secret(namespace, label_selector=COPY_LABEL).items])


def record(core, namespace):
    data = core.read_namespaced_config_map(f"{APP}-release", namespace).data
    return json.loads(data["release.json"]), json.loads(data["history.json"]), json.dumps(data)


@pytest.fixture
def receiver():
    stub = Stub({"/hooks": lambda *_: (200, {"received": True})})
    yield stub
    stub.close()


def test_abort_and_rollback_bring_back_the_config_the_version_was_released_with(
        api_client, cluster, namespace, receiver):
    core = client.CoreV1Api(api_client)
    set_settings(core, namespace, "v1")
    core.create_namespaced_secret(namespace, client.V1Secret(
        metadata=client.V1ObjectMeta(name="credentials"), string_data={"TOKEN": SECRET_VALUE}))
    options = {"pd_app_config": CONFIG, "pd_notify_targets": [{"type": "webhook", "url": receiver.url + "/hooks"}]}
    runs = [play(cluster, "blue_green.yml", namespace, release_version="1.0.0", **options)]
    assert serving_config(api_client, namespace)[:2] == ("1.0.0", "v1")
    secret_copy = serving_config(api_client, namespace)[2]
    assert secret_copy.startswith("credentials-")
    assert base64.b64decode(core.read_namespaced_secret(secret_copy, namespace).data["TOKEN"]).decode() == SECRET_VALUE

    # A copy no recorded release names goes at the next release.
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(
        name="settings-stale", labels={"app.kubernetes.io/name": APP, "terragonlabs.io/release-config": "copy",
                                       "app.kubernetes.io/managed-by": "terragonlabs.progressive_delivery"})))
    set_settings(core, namespace, "v2")
    runs.append(play(cluster, "blue_green.yml", namespace, release_version="1.1.0", **options))
    assert serving_config(api_client, namespace) == ("1.1.0", "v2", secret_copy)
    current, history = record(core, namespace)[:2]
    assert current["config"]["Secret/credentials"] == secret_copy
    assert current["config"]["ConfigMap/settings"] != history[0]["config"]["ConfigMap/settings"]
    assert copies(core, namespace) == sorted([secret_copy, current["config"]["ConfigMap/settings"],
                                              history[0]["config"]["ConfigMap/settings"]])

    # The source holds v2 now: the rollback brings back the copy 1.0.0 was released with.
    runs.append(play(cluster, "rollback.yml", namespace, **options))
    assert serving_config(api_client, namespace) == ("1.0.0", "v1", secret_copy)

    # A paused release on v3, aborted: traffic and config back on 1.0.0's.
    set_settings(core, namespace, "v3")
    runs.append(play(cluster, "blue_green.yml", namespace, release_version="1.2.0", auto_promote=False, **options))
    runs.append(play(cluster, "abort.yml", namespace, **options))
    assert serving_config(api_client, namespace) == ("1.0.0", "v1", secret_copy)
    assert record(core, namespace)[0]["phase"] == "aborted"

    # Names only: the secret's value is in no output, record or notification.
    everything = [run.stdout + run.stderr for run in runs] + [record(core, namespace)[2]] \
        + [r["body"] for r in receiver.requests]
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    assert not [text for text in everything if SECRET_VALUE in text or encoded in text]
    assert receiver.calls("/hooks")


def window_around_now(**extra):
    now = datetime.now(timezone.utc)
    return dict({"name": "year-end", "start": (now - timedelta(days=1)).strftime("%Y-%m-%d"),
                 "end": (now + timedelta(days=1)).strftime("%Y-%m-%d")}, **extra)


def untouched(api_client, namespace):
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    assert apps.list_namespaced_deployment(namespace).items == []
    assert [c.metadata.name for c in core.list_namespaced_config_map(namespace).items] == ["kube-root-ca.crt"]
    assert client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items == []


def test_a_release_in_a_freeze_window_is_refused_unless_overridden_with_a_reason(
        api_client, cluster, namespace, receiver):
    frozen = {"pd_freeze_windows": [window_around_now(time_zone="Asia/Tokyo")]}
    for options in ((), ("--check", "--diff")):
        refused = play(cluster, "blue_green.yml", namespace, check=False, options=options, release_version="1.0.0",
                       **frozen)
        assert refused.returncode != 0
        assert "releases are frozen: blue_green_freeze_windows (pd_freeze_windows in the playbooks) window " \
               "'year-end' lasts until" in refused.stdout
    rolling = play(cluster, "rolling.yml", namespace, check=False, release_version="1.0.0", **frozen)
    assert "releases are frozen: rolling_freeze_windows (pd_freeze_windows in the playbooks) window 'year-end' " \
           "lasts until" in rolling.stdout
    untouched(api_client, namespace)

    # Bad input is refused naming the parameter, before anything changes.
    bad_zone = play(cluster, "blue_green.yml", namespace, check=False, release_version="1.0.0",
                    pd_freeze_windows=[window_around_now(time_zone="Mars/Olympus")])
    assert "pd_freeze_windows in the playbooks)[0].time_zone: 'Mars/Olympus' is not a known time zone" \
        in bad_zone.stdout
    unknown = play(cluster, "blue_green.yml", namespace, check=False, release_version="1.0.0",
                   pd_app_config=[{"name": "no-such-settings"}])
    assert "pd_app_config in the playbooks)[0]: ConfigMap 'no-such-settings' does not exist" in unknown.stdout
    untouched(api_client, namespace)

    # Outside any window, --check copies nothing either.
    core = client.CoreV1Api(api_client)
    set_settings(core, namespace, "v1")
    checked = play(cluster, "blue_green.yml", namespace, options=("--check", "--diff"), release_version="1.0.0",
                   pd_app_config=[{"name": "settings"}],
                   pd_freeze_windows=[{"name": "past", "start": "2019-12-01", "end": "2020-01-01"}])
    assert "would release modelcard-generator 1.0.0" in checked.stdout
    assert copies(core, namespace) == []
    core.delete_namespaced_config_map("settings", namespace)
    untouched(api_client, namespace)

    reason = "hotfix for the checkout outage"
    play(cluster, "blue_green.yml", namespace, release_version="1.0.0", freeze_override=reason,
         pd_notify_targets=[{"type": "webhook", "url": receiver.url + "/hooks"}], **frozen)
    current = record(client.CoreV1Api(api_client), namespace)[0]
    assert (current["version"], current["phase"]) == ("1.0.0", "promoted")
    assert current["details"]["freeze_override"] == reason
    assert current["details"]["freeze_window"] == "year-end"
    started = [json.loads(r["body"]) for r in receiver.calls("/hooks") if '"started"' in r["body"]]
    assert reason in started[0]["message"] and started[0]["details"]["freeze_override"] == reason

    # A rollback is never frozen.
    play(cluster, "blue_green.yml", namespace, release_version="1.1.0", freeze_override=reason, **frozen)
    play(cluster, "rollback.yml", namespace, **frozen)
    assert record(client.CoreV1Api(api_client), namespace)[0]["details"]["rolled_back_to"] == "1.0.0"


def test_a_canary_promoted_after_its_pause_keeps_the_config_its_release_started_with(api_client, cluster, namespace):
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    canary = {"pd_app_config": [{"name": "settings"}], "pd_canary_router": "replicas",
              "pd_canary_steps": [{"pause": {}}], "pd_canary_background_analysis": {}}

    def stable_config():  # 1.0.0 went to blue, 1.1.0 to green, which its promotion made stable
        pod = apps.read_namespaced_deployment(f"{APP}-green", namespace).spec.template.spec
        return core.read_namespaced_config_map(pod.containers[0].env_from[0].config_map_ref.name, namespace).data["MODE"]

    set_settings(core, namespace, "v1")
    play(cluster, "canary.yml", namespace, release_version="1.0.0", **canary)
    set_settings(core, namespace, "v2")
    play(cluster, "canary.yml", namespace, release_version="1.1.0", **canary)
    assert record(core, namespace)[0]["phase"] == "paused"
    # Changed while the release waits: the promotion still gives stable what the canary ran.
    set_settings(core, namespace, "v3")
    play(cluster, "promote.yml", namespace, **canary)
    assert (apps.read_namespaced_deployment(f"{APP}-green", namespace).metadata.labels["app.kubernetes.io/version"],
            stable_config()) == ("1.1.0", "v2")
    assert apps.read_namespaced_deployment(f"{APP}-blue", namespace).spec.replicas == 0
