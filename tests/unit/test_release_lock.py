"""The release lock's decisions on hand-made Leases, at a fixed time."""

import datetime

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import release_lock as rl

NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def lease(holder="a@h", renewed_seconds_ago=10, ttl=60, transitions=0):
    stamp = rl.format_time(NOW - datetime.timedelta(seconds=renewed_seconds_ago))
    return {"metadata": {"name": "web-release-lock", "resourceVersion": "5"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": ttl, "acquireTime": stamp,
                     "renewTime": stamp, "leaseTransitions": transitions}}


def test_identity_names_holder_host_and_job():
    assert rl.holder_identity("release 1.0", "ee-1", "42") == "release 1.0@ee-1 job 42"
    assert rl.holder_identity("release 1.0", "ee-1", None) == "release 1.0@ee-1"


def test_times_round_trip_and_expiry():
    assert rl.parse_time(rl.format_time(NOW)) == NOW
    assert rl.parse_time("2026-01-01T12:00:00Z") == NOW
    assert rl.expires_in(lease(renewed_seconds_ago=10), NOW) == 50
    assert rl.expires_in(lease(renewed_seconds_ago=70), NOW) == -10
    assert rl.expires_in(None, NOW) is None


def test_a_free_lock_is_created_with_labels():
    outcome, desired = rl.acquire(None, "web", "a@h", 60, False, NOW)
    assert outcome == "acquired" and "resourceVersion" not in desired["metadata"]
    assert desired["metadata"]["labels"]["app.kubernetes.io/name"] == "web"
    assert desired["spec"]["holderIdentity"] == "a@h" and desired["spec"]["leaseTransitions"] == 0


@pytest.mark.parametrize("renewed_seconds_ago, ttl, outcome", [
    (10, 60, "kept"), (30, 60, "kept"), (31, 60, "renewed"), (10, 120, "renewed"), (90, 60, "renewed")])
def test_the_holder_renews_once_half_the_ttl_is_gone(renewed_seconds_ago, ttl, outcome):
    result, desired = rl.acquire(lease(renewed_seconds_ago=renewed_seconds_ago), "web", "a@h", ttl, False, NOW)
    assert result == outcome
    if outcome == "kept":
        assert desired is None
    else:
        assert desired["spec"]["renewTime"] == rl.format_time(NOW) and desired["spec"]["leaseDurationSeconds"] == ttl
        assert desired["metadata"]["resourceVersion"] == "5"


def test_renew_renews_the_holders_lock_at_once():
    result, desired = rl.acquire(lease(renewed_seconds_ago=1), "web", "a@h", 60, False, NOW, renew=True)
    assert result == "renewed" and desired["spec"]["renewTime"] == rl.format_time(NOW)
    with pytest.raises(rl.LockHeld):
        rl.acquire(lease(holder="b@h"), "web", "a@h", 60, False, NOW, renew=True)


def test_another_live_holder_is_refused_by_name():
    with pytest.raises(rl.LockHeld, match=r"^the release lock of web is held by b@h \(acquired .*expires in 50.0s\)$"):
        rl.acquire(lease(holder="b@h"), "web", "a@h", 60, False, NOW)
    with pytest.raises(rl.LockHeld):
        rl.release(lease(holder="b@h"), "web", "a@h", False, NOW)


@pytest.mark.parametrize("existing, force, outcome, transitions", [
    (lease(holder="b@h", renewed_seconds_ago=61, transitions=2), False, "taken_over", 3),
    (lease(holder="b@h", transitions=2), True, "forced", 3),
    (lease(holder=None), False, "acquired", 0),
])
def test_expired_forced_or_released_locks_are_taken(existing, force, outcome, transitions):
    result, desired = rl.acquire(existing, "web", "a@h", 60, force, NOW)
    assert result == outcome and desired["spec"]["holderIdentity"] == "a@h"
    assert desired["spec"]["acquireTime"] == rl.format_time(NOW)
    assert desired["spec"]["leaseTransitions"] == transitions


def test_release():
    assert rl.release(None, "web", "a@h", False, NOW) == ("absent", None)
    assert rl.release(lease(), "web", "a@h", False, NOW)[0] == "released"
    assert rl.release(lease(holder="b@h", renewed_seconds_ago=61), "web", "a@h", False, NOW)[0] == "released"
    assert rl.release(lease(holder="b@h"), "web", "a@h", True, NOW)[0] == "released"


class Failed(Exception):
    pass


class FakeModule:
    """A module whose client holds one Lease (or none) and whose failures raise."""

    def __init__(self, lease_now, check_mode=False):
        self.check_mode, self.lease, self.writes = check_mode, lease_now, []
        self.client = self

    def fail(self, msg, **_):
        raise Failed(msg)

    def get(self, api, plural, namespace, name):
        if self.lease is None:
            raise rl.ApiError(404, "not found")
        return self.lease

    def replace(self, api, plural, namespace, name, body):
        self.writes.append(body)
        self.lease = body
        return body


def keeper(module, clock):
    return rl.LockKeeper(module, "shop", {"app": "web", "holder": "a", "job_id": None, "ttl": 30},
                         clock=lambda: clock[0])


def test_a_waiting_module_renews_its_lock_at_once_then_every_third_of_the_ttl(monkeypatch):
    monkeypatch.setattr(rl.socket, "gethostname", lambda: "h")
    module, clock = FakeModule(lease(holder="a@h", renewed_seconds_ago=5, ttl=30)), [0.0]
    kept = keeper(module, clock)
    for moment in (0.0, 5.0, 9.9, 10.0, 15.0, 20.1):
        clock[0] = moment
        kept.keep()
    assert len(module.writes) == 3  # at 0, 10 and 20.1
    assert module.writes[-1]["spec"]["leaseDurationSeconds"] == 30


@pytest.mark.parametrize("found, why", [
    (lease(holder="b@h", ttl=30), "the release lock of web is held by b@h"),
    (None, "another run took it and has given it back since")])
def test_a_waiting_module_that_lost_its_lock_stops_saying_so(monkeypatch, found, why):
    monkeypatch.setattr(rl.socket, "gethostname", lambda: "h")
    module = FakeModule(found)
    with pytest.raises(Failed, match=r"^lost the release lock of web: it expired before this run renewed it \(%s"
                                     % why):
        keeper(module, [0.0]).keep()
    assert module.writes == []


def test_nothing_is_renewed_in_check_mode():
    module = FakeModule(None, check_mode=True)
    keeper(module, [0.0]).keep()
    assert module.writes == []
