"""release_lock against the real API server: races, expiry, force, renewal and release."""

import datetime
import subprocess
import sys
from pathlib import Path

from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import REPO, ansible_env, run_module

LEASE = "web-release-lock"


def lease(coordination, namespace):
    try:
        return coordination.read_namespaced_lease(LEASE, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def lock(namespace, holder, **args):
    return dict({"app": "web", "namespace": namespace, "holder": holder, "job_id": "7"}, **args)


def test_two_playbooks_racing_for_the_lock_one_wins_the_other_names_it(api_client, cluster, namespace):
    command = [str(Path(sys.executable).parent / "ansible-playbook"),
               str(REPO / "tests" / "integration" / "playbooks" / "release_lock.yml"), "-e", "lock_namespace=" + namespace]
    env = dict(ansible_env(cluster), AWX_JOB_ID="", JOB_ID="")
    runs = [subprocess.Popen(command + ["-e", "lock_holder=" + holder], cwd=REPO, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for holder in ("release-a", "release-b")]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    codes = [run.returncode for run in runs]
    assert sorted(codes) == [0, 2], outputs
    winner = "release-a" if codes[0] == 0 else "release-b"
    loser_output = outputs[codes.index(2)]
    held = client.CoordinationV1Api(api_client).read_namespaced_lease(LEASE, namespace)
    assert held.spec.holder_identity.startswith(winner + "@")
    assert "the release lock of web is held by %s" % held.spec.holder_identity in loser_output


def test_take_renew_and_release_four_ways(api_client, cluster, namespace):
    coordination = client.CoordinationV1Api(api_client)
    args = lock(namespace, "release-1", ttl=120)

    checked = run_module(cluster, "release_lock", args, check=True, diff=True)
    assert checked["changed"] is True and checked["outcome"] == "acquired", checked
    assert checked["diff"]["before"] == {} and checked["diff"]["after"]["leaseDurationSeconds"] == 120
    assert lease(coordination, namespace) is None

    taken = run_module(cluster, "release_lock", args)
    assert taken["changed"] is True and taken["held"] is True and taken["outcome"] == "acquired", taken
    assert taken["holder"] == taken["identity"] and taken["identity"].startswith("release-1@")
    assert taken["identity"].endswith(" job 7")
    assert 100 < taken["expires_in"] <= 120
    live = lease(coordination, namespace)
    assert live.spec.holder_identity == taken["identity"] and live.spec.lease_duration_seconds == 120
    assert live.metadata.labels == {"app.kubernetes.io/name": "web",
                                    "app.kubernetes.io/managed-by": "terragonlabs.progressive_delivery"}

    for check in (True, False):
        again = run_module(cluster, "release_lock", args, check=check)
        assert again["changed"] is False and again["outcome"] == "kept" and again["held"], again
    assert lease(coordination, namespace).metadata.resource_version == live.metadata.resource_version

    # A longer ttl is a renewal; check mode writes nothing.
    longer = dict(args, ttl=600)
    assert run_module(cluster, "release_lock", longer, check=True)["outcome"] == "renewed"
    assert lease(coordination, namespace).metadata.resource_version == live.metadata.resource_version
    renewed = run_module(cluster, "release_lock", longer)
    assert renewed["changed"] is True and renewed["outcome"] == "renewed" and renewed["ttl"] == 600
    assert renewed["acquired_time"] == taken["acquired_time"]

    # renew=true renews at once, though nearly all of the ttl remains: every call writes.
    now = dict(longer, renew=True)
    version = lease(coordination, namespace).metadata.resource_version
    for check in (True, True, False, False):
        again = run_module(cluster, "release_lock", now, check=check)
        assert again["changed"] is True and again["outcome"] == "renewed", again
        assert (lease(coordination, namespace).metadata.resource_version == version) is check
        version = lease(coordination, namespace).metadata.resource_version
        assert again["renew_time"] >= renewed["renew_time"]

    released_args = dict(args, state="absent")
    checked = run_module(cluster, "release_lock", released_args, check=True)
    assert checked["changed"] is True and checked["outcome"] == "released", checked
    assert lease(coordination, namespace) is not None
    released = run_module(cluster, "release_lock", released_args)
    assert released["changed"] is True and released["held"] is False, released
    assert lease(coordination, namespace) is None
    for check in (True, False):
        again = run_module(cluster, "release_lock", released_args, check=check)
        assert again["changed"] is False and again["outcome"] == "absent", again


def test_a_live_lock_of_another_holder_is_refused_then_forced(api_client, cluster, namespace):
    coordination = client.CoordinationV1Api(api_client)
    first = run_module(cluster, "release_lock", lock(namespace, "release-1"))
    assert first["changed"] is True
    version = lease(coordination, namespace).metadata.resource_version

    for args in (lock(namespace, "release-2"), lock(namespace, "release-2", state="absent")):
        refused = run_module(cluster, "release_lock", args)
        assert refused["failed"] and refused["held"] is False, refused
        assert refused["msg"].startswith("the release lock of web is held by %s (acquired " % first["identity"])
        assert refused["holder"] == first["identity"]
    assert lease(coordination, namespace).metadata.resource_version == version

    forced = run_module(cluster, "release_lock", lock(namespace, "release-2", force=True))
    assert forced["changed"] is True and forced["outcome"] == "forced" and forced["held"], forced
    live = lease(coordination, namespace)
    assert live.spec.holder_identity == forced["identity"] and live.spec.lease_transitions == 1


def test_an_expired_lease_is_taken_over(api_client, cluster, namespace):
    coordination = client.CoordinationV1Api(api_client)
    stale = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    coordination.create_namespaced_lease(namespace, {"metadata": {"name": LEASE}, "spec": {
        "holderIdentity": "crashed-run@old-host job 1", "leaseDurationSeconds": 60,
        "acquireTime": stale, "renewTime": stale}})
    args = lock(namespace, "release-3")
    checked = run_module(cluster, "release_lock", args, check=True)
    assert checked["changed"] is True and checked["outcome"] == "taken_over", checked
    assert lease(coordination, namespace).spec.holder_identity == "crashed-run@old-host job 1"
    taken = run_module(cluster, "release_lock", args)
    assert taken["changed"] is True and taken["outcome"] == "taken_over" and taken["held"], taken
    assert lease(coordination, namespace).spec.holder_identity == taken["identity"]


def test_bad_arguments_fail_before_anything_is_written(api_client, cluster, namespace):
    for args, parameter in ((lock(namespace, "x", app="Web_App"), "app"), (lock(namespace, "x", ttl=0), "ttl"),
                            (lock(namespace, " "), "holder")):
        result = run_module(cluster, "release_lock", args)
        assert result["failed"] and result["msg"].startswith(parameter), result
    assert lease(client.CoordinationV1Api(api_client), namespace) is None
