"""The guard window's decision: rollback only for an alert inside the window of a promoted release
whose lock is free; its reading of Alertmanager's alerts and durations."""

import datetime

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import guard

PROMOTED = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def at(seconds):
    return PROMOTED + datetime.timedelta(seconds=seconds)


def stamp(seconds):
    return at(seconds).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def release(phase="promoted", finished="2026-01-01T12:00:00Z"):
    return {"version": "1.1.0", "phase": phase, "finished": finished}


def lease(holder="release@ci", renewed=0, ttl=30):
    return {"spec": {"holderIdentity": holder, "renewTime": stamp(renewed), "leaseDurationSeconds": ttl}}


@pytest.mark.parametrize("record, lock, alert_since, now, action, reason", [
    (release(), None, 20, 35, "rollback", "1.1.0 was promoted 35s ago, inside its guard window of 120s"),
    (release(), lease(renewed=0, ttl=10), 20, 35, "rollback", "inside its guard window"),  # expired lock
    (release(), lease(holder=""), 20, 35, "rollback", "inside its guard window"),  # released lock
    (release(), lease(renewed=30), 20, 35, "notify", "a release in progress holds the lock (release@ci)"),
    (release(), None, 200, 200, "notify", "1.1.0 was promoted 200s ago, outside its guard window of 120s"),
    (release(), None, -5, 10, "notify", "the alert fired 5s before 1.1.0 was promoted"),
    (release(), None, None, 10, "rollback", "promoted 10s ago"),  # no start time: firing now
    (release(phase="rolled_back"), None, 20, 35, "notify", "its last release, 1.1.0, is rolled_back, not promoted"),
    (release(phase="progressing", finished=None), None, 20, 35, "notify", "is progressing, not promoted"),
    (release(finished=None), None, 20, 35, "notify", "the promotion of 1.1.0 has no time"),
    (None, None, 20, 35, "notify", "no release is recorded"),
])
def test_decision(record, lock, alert_since, now, action, reason):
    alert = {"alert": "HighErrorRate", "since": stamp(alert_since) if alert_since is not None else ""}
    decision = guard.decide(record, lock, alert, 120, at(now))
    assert decision["action"] == action
    assert reason in decision["reason"]


def test_a_window_of_zero_turns_the_guard_off():
    assert guard.decide(release(), None, {"since": stamp(1)}, 0, at(2))["action"] == "notify"


@pytest.mark.parametrize("value, seconds", [(0, 0), (90, 90), ("45", 45), ("30s", 30), ("5m", 300), ("2h", 7200)])
def test_window_durations(value, seconds):
    assert guard.window_seconds(value) == seconds


@pytest.mark.parametrize("value", ["", "-1", "5d", "1.5m", None, True, -3])
def test_bad_windows_are_refused_naming_the_parameter(value):
    with pytest.raises(ValueError, match="window must be seconds"):
        guard.window_seconds(value)


def test_only_this_applications_firing_alerts_count_oldest_first():
    def alert(name, since, status="firing", app="web", namespace="shop"):
        return {"status": status, "labels": {"alertname": name, "app": app, "namespace": namespace},
                "annotations": {"value": "0.4", "summary": name + " summary"}, "startsAt": since}

    alerts = [alert("HighLatency", "2026-01-01T12:00:09.123456789Z"), alert("HighErrorRate", "2026-01-01T12:00:05Z"),
              alert("Resolved", "2026-01-01T12:00:01Z", status="resolved"),
              alert("OtherApp", "2026-01-01T12:00:01Z", app="api"),
              alert("OtherNamespace", "2026-01-01T12:00:01Z", namespace="test")]
    firing = guard.firing_alerts(alerts, "web", "shop")
    assert [a["alert"] for a in firing] == ["HighErrorRate", "HighLatency"]
    assert firing[0] == {"alert": "HighErrorRate", "value": "0.4", "since": "2026-01-01T12:00:05Z",
                         "summary": "HighErrorRate summary"}


def test_the_event_names_the_alert_its_value_and_the_reason():
    alert = {"alert": "HighErrorRate", "value": "0.41", "since": "2026-01-01T12:00:20Z"}
    decision = guard.decide(release(), None, alert, 120, at(35))
    event = guard.event("web", "shop", alert, decision, at(35))
    assert event["reason"] == "GuardRollback"
    assert event["involvedObject"]["name"] == "web-release"
    assert event["message"] == ("alert HighErrorRate (value 0.41) firing since 2026-01-01T12:00:20Z: "
                                "1.1.0 was promoted 35s ago, inside its guard window of 120s")
