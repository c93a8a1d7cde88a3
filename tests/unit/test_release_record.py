"""How the release record merges updates, starts releases and trims history."""

import datetime

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import release_record as rr

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
T1 = T0 + datetime.timedelta(minutes=5)


def update(current, history, release_id=None, gate=None, limit=10, now=T1, **changes):
    gate = gate or {"verdict": None, "message": None}
    return rr.updated_release(current, history, "web", release_id, rr.requested_changes(changes), gate, limit, now)


def test_a_first_release_starts_progressing():
    release, history = update(None, [], release_id="r1", now=T0, strategy="canary", version="1.0", step=0)
    assert release == {"id": "r1", "app": "web", "phase": "progressing", "strategy": "canary", "version": "1.0",
                       "step": "0", "started": "2026-01-01T12:00:00Z", "updated": "2026-01-01T12:00:00Z",
                       "finished": None, "gate": None}
    assert history == []


def test_without_an_id_the_time_names_the_release():
    assert update(None, [], now=T0)[0]["id"] == "web-20260101T120000Z"


def test_updates_merge_and_repeat_as_no_change():
    current = update(None, [], release_id="r1", now=T0, strategy="canary", details={"color": "blue"})[0]
    release = update(current, [], phase="paused", step="2", details={"weight": 20},
                     gate={"verdict": "Successful", "message": "all good"})[0]
    assert release["strategy"] == "canary" and release["phase"] == "paused" and release["step"] == "2"
    assert release["details"] == {"color": "blue", "weight": "20"}
    assert release["gate"] == {"verdict": "Successful", "message": "all good", "time": "2026-01-01T12:05:00Z"}
    assert release["started"] == "2026-01-01T12:00:00Z" and release["updated"] == "2026-01-01T12:05:00Z"
    later = T1 + datetime.timedelta(minutes=1)
    assert update(release, [], release_id="r1", phase="paused", now=later,
                  gate={"verdict": "Successful", "message": "all good"}) is None


def test_a_final_phase_sets_finished_once():
    current = update(None, [], release_id="r1", now=T0)[0]
    promoted = update(current, [], phase="promoted")[0]
    assert promoted["finished"] == "2026-01-01T12:05:00Z"
    assert update(promoted, [], phase="promoted", now=T1 + datetime.timedelta(hours=1)) is None


def test_a_new_release_moves_the_current_one_to_history_trimmed():
    history = [{"id": "r%d" % n} for n in (3, 2, 1)]
    current = {"id": "r4", "app": "web", "phase": "promoted"}
    release, new_history = update(current, history, release_id="r5", limit=3, version="5")
    assert release["id"] == "r5" and release["phase"] == "progressing" and release["version"] == "5"
    assert [h["id"] for h in new_history] == ["r4", "r3", "r2"]


def test_a_smaller_limit_trims_on_the_next_update():
    current = {"id": "r4", "app": "web", "phase": "promoted", "finished": "x"}
    release, new_history = update(current, [{"id": "r3"}, {"id": "r2"}], limit=1)
    assert release["id"] == "r4" and [h["id"] for h in new_history] == ["r3"]


def test_the_config_map_round_trips():
    release, history = update(None, [], release_id="r1", version="1.0")
    body = rr.encode("web", None, release, [{"id": "r0"}])
    assert body["metadata"]["name"] == "web-release"
    assert body["metadata"]["labels"]["app.kubernetes.io/name"] == "web"
    assert rr.decode(body) == (release, [{"id": "r0"}])
    assert rr.decode(None) == (None, [])
