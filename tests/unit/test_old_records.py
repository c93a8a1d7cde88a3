"""Releases recorded by the roles before the release engine (their record.yml tasks, up to commits
01526aa for blue-green, 4620ca9 for canary, bc9f1ea for rolling, and rollback.yml before 07081c4
recorded no config) are promoted, aborted and rolled back by the engine: each old record is
replayed here call by call as those roles wrote it, then given to the engine's decisions."""

import datetime

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import release_record as rr
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_config import (
    all_recorded_copies,
    restored_copies,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_position import (
    blue_green_position,
    canary_position,
    recorded_release_refusal,
    rolling_position,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.rolling_engine import (
    recorded_update_refusal,
)

APP = "shop"
NO_GATE = {"verdict": None, "message": None}


def replay(*calls):
    """The record after the old role's release_record calls, each {field: value} as its task passed it."""
    release, history = None, []
    for index, call in enumerate(calls):
        call = dict(call)
        gate = {"verdict": call.pop("gate_verdict", None), "message": call.pop("gate_message", None)}
        release_id = call.pop("release_id", None)
        moment = datetime.datetime(2026, 11, 20, 12, 0, index, tzinfo=datetime.timezone.utc)
        updated = rr.updated_release(release, history, APP, release_id, rr.requested_changes(call), gate, 10, moment)
        release, history = updated or (release, history)
    return release, history


# The old canary role's calls (roles/canary/tasks: release.yml, step.yml, pause.yml, promote.yml, abort.yml).
def canary_started(version="1.1.0", stable_version="1.0.0"):
    return {"release_id": "%s-%s-x" % (APP, version), "strategy": "canary", "version": version,
            "phase": "progressing", "step": "preflight", "stable_revision": APP + "-stable",
            "new_revision": APP + "-canary", "new_images": {"app": "shop:" + version},
            "details": {"stable_version": stable_version, "router": "istio", "step_index": "0", "weight": "0"}}


def canary_step(index, kind, weight):
    return {"step": "%d: %s" % (index, kind), "details": {"step_index": str(index), "weight": str(weight)}}


CANARY_PAUSED = [canary_started(), canary_step(0, "set_weight", 20), canary_step(1, "pause", 20),
                 {"phase": "paused", "details": {"paused": "step 1 pauses until playbooks/promote.yml runs"}}]
CANARY_PROMOTING = [canary_started(), canary_step(0, "set_weight", 20), {"step": "promoting", "details": {"step_index": "2"}}]
CANARY_PROMOTED = CANARY_PROMOTING + [{"phase": "promoted", "step": "promoted", "details": {"weight": "0", "traffic": "stable"}}]
CANARY_ABORTED = CANARY_PAUSED + [{"phase": "aborted", "step": "aborted",
                                   "details": {"reason": "aborted by ops", "weight": "0", "traffic": "stable"}}]

# The old blue_green role's calls (roles/blue_green/tasks: release.yml, main.yml, promote.yml, scale_down.yml).
BG_STARTED = [{"release_id": APP + "-1.1.0-x", "strategy": "blue_green", "version": "1.1.0", "phase": "progressing",
               "step": "preflight", "new_revision": "green", "new_images": {"app": "shop:1.1.0"},
               "stable_revision": "blue", "details": {"stable_version": "1.0.0"}},
              {"step": "pre-promotion-analysis"}]
BG_PAUSED = BG_STARTED + [{"phase": "paused", "step": "awaiting-promotion"}]
BG_SWITCHED = BG_STARTED + [{"step": "post-promotion-analysis", "details": {"traffic": "green"}}]
BG_PROMOTED = BG_SWITCHED + [{"phase": "promoted", "step": "scale-down-old-color"}]
BG_DONE = BG_PROMOTED + [{"step": "promoted"}]

# The old rolling role's calls (roles/rolling/tasks/main.yml).
ROLLING_STARTED = [{"release_id": APP + "-1.1.0-x", "strategy": "rolling", "version": "1.1.0", "phase": "progressing",
                    "step": "rolling-update", "stable_revision": "3", "new_images": {"app": "shop:1.1.0"}}]
ROLLING_GATED = ROLLING_STARTED + [{"gate_verdict": "Successful", "gate_message": "post-update: all passed"}]
ROLLING_PROMOTED = ROLLING_GATED + [{"phase": "promoted", "step": "done"}]
ROLLING_UNDONE = ROLLING_STARTED + [{"phase": "rolled_back", "step": "undone", "details": {"reason": "the update failed"}}]


def old(calls):
    return replay(*calls)[0]


@pytest.mark.parametrize("calls, strategy, action, refusal", [
    (CANARY_PAUSED, "canary", "promote", None),
    (CANARY_PAUSED, "canary", "abort", None),
    (CANARY_PROMOTING, "canary", "promote", None),  # killed in its promotion: promote.yml finishes it
    (CANARY_PROMOTING, "canary", "abort", None),
    (CANARY_PROMOTED, "canary", "abort", "shop has no canary release to abort (the last release is promoted)."),
    (CANARY_ABORTED, "canary", "promote", "shop has no canary release to promote (the last release is aborted)."),
    (BG_PAUSED, "blue_green", "promote", None),
    (BG_PAUSED, "blue_green", "abort", None),
    (BG_SWITCHED, "blue_green", "abort", None),
    (BG_SWITCHED, "blue_green", "promote", "shop has no paused release to promote (the last release is progressing)."),
    (BG_DONE, "blue_green", "abort", "shop has no release to abort (the last release is promoted)."),
    (ROLLING_STARTED, "rolling", "promote", None),
    (ROLLING_GATED, "rolling", "abort", None),
    (ROLLING_PROMOTED, "rolling", "abort", "shop has no rolling update to abort (the last release is promoted)."),
    (ROLLING_UNDONE, "rolling", "promote", "shop has no rolling update to promote (the last release is rolled_back)."),
])
def test_an_old_release_is_promoted_or_aborted_while_unfinished_and_refused_once_ended(calls, strategy, action, refusal):
    assert recorded_release_refusal(APP, old(calls), strategy, action) == refusal


# The two-Deployment layout: the stable Service selects APP-stable's pods (terragonlabs.io/track: stable),
# the old release's canary ran in APP-canary.
OLD_LAYOUT = {"stable": "1.0.0", "canary": "1.1.0"}


@pytest.mark.parametrize("calls, serving, versions, options, expected", [
    # promote.yml goes on after the recorded pause, or past every step with full, with the old slots.
    (CANARY_PAUSED, "stable", OLD_LAYOUT, {"past_pause": True}, {"resuming": True, "start_step": 2}),
    (CANARY_PAUSED, "stable", OLD_LAYOUT, {"full": True}, {"resuming": True, "start_step": 3}),
    # The replicas router's Service selects both tracks: the record names them.
    (CANARY_PAUSED, "", OLD_LAYOUT, {"past_pause": True}, {"resuming": True, "start_step": 2}),
    # Killed in its promotion after stable was updated: the promotion is finished, not skipped, and an
    # abort puts APP-stable back a revision.
    (CANARY_PROMOTING, "stable", {"stable": "1.1.0", "canary": "1.1.0"}, {},
     {"resuming": True, "start_step": 2, "stable_version": "1.1.0", "undo_stable": True}),
    (CANARY_PROMOTING, "stable", OLD_LAYOUT, {}, {"resuming": True, "start_step": 2}),
])
def test_an_old_canary_release_goes_on_in_its_two_deployments(calls, serving, versions, options, expected):
    position = dict({"released": False, "resuming": False, "start_step": 0, "stable_slot": "stable",
                     "new_slot": "canary", "stable_version": "1.0.0", "switched": False, "undo_stable": False},
                    **expected)
    assert canary_position(old(calls), serving, versions, "1.1.0", 3, **options) == position


@pytest.mark.parametrize("serving", ["stable", ""])
def test_the_next_release_after_an_old_one_goes_to_a_slot_beside_app_stable(serving):
    """Promoted by the old code, the version runs in APP-stable (the stable Service selects its track,
    or with the replicas router the record tells): the next release goes to blue, beside it."""
    position = canary_position(old(CANARY_PROMOTED), serving, {"stable": "1.1.0", "canary": "1.1.0"}, "1.2.0", 3)
    assert (position["stable_slot"], position["new_slot"], position["stable_version"], position["released"]) == (
        "stable", "blue", "1.1.0", False)


@pytest.mark.parametrize("calls, serving, expected", [
    # Paused before the switch: promote.yml switches from blue to green.
    (BG_PAUSED, ("blue", "1.0.0"), {"active_color": "blue", "new_color": "green", "active_version": "1.0.0"}),
    # Killed after the switch: blue stays the color abort.yml goes back to.
    (BG_SWITCHED, ("green", "1.1.0"), {"switched": True, "active_color": "blue", "new_color": "green",
                                       "active_version": "1.0.0"}),
    # Killed before the old color was scaled down: a re-run only scales it down.
    (BG_PROMOTED, ("green", "1.1.0"), {"cleanup_pending": True, "active_color": "green", "new_color": "blue",
                                       "active_version": "1.1.0"}),
])
def test_an_old_blue_green_release_goes_on_with_its_recorded_colors(calls, serving, expected):
    flags = {"switched": False, "first_unfinished": False, "cleanup_pending": False}
    assert blue_green_position(old(calls), serving[0], serving[1], "1.1.0") == dict(flags, **expected)


@pytest.mark.parametrize("calls, running, action, refusal, position", [
    # Killed mid-rollout or with its gate measured: promote.yml finishes it, abort.yml undoes it to revision 3.
    (ROLLING_STARTED, "1.1.0", "promote", None, {"released": False, "resuming": True, "stable_revision": "3"}),
    (ROLLING_GATED, "1.1.0", "abort", None, {"released": False, "resuming": True, "stable_revision": "3"}),
    (ROLLING_PROMOTED, "1.1.0", "abort", "shop has no rolling update to abort (the last release is promoted).",
     {"released": True, "resuming": False, "stable_revision": "4"}),
])
def test_an_old_rolling_update_is_finished_or_undone_to_its_recorded_revision(calls, running, action, refusal, position):
    record = old(calls)
    serving = {"version": running, "image": "shop:" + running, "revision": "4"}
    assert recorded_update_refusal(APP, record, serving, action) == refusal
    assert rolling_position(record, serving, "1.1.0", "shop:1.1.0") == position


def test_rolling_an_old_release_back_releases_the_earlier_version_anew():
    """rollback.yml releases the earlier version again through the engine, which neither takes it for
    released nor resumes the old release: a canary with no steps from step 0, blue-green on the idle color."""
    position = canary_position(old(CANARY_PROMOTED), "stable", {"stable": "1.1.0", "canary": "1.1.0"}, "1.0.0", 0)
    assert (position["released"], position["resuming"], position["start_step"], position["new_slot"]) == (
        False, False, 0, "blue")
    assert blue_green_position(old(BG_DONE), "green", "1.1.0", "1.0.0") == {
        "switched": False, "first_unfinished": False, "cleanup_pending": False,
        "active_color": "green", "new_color": "blue", "active_version": "1.1.0"}


def test_an_old_record_names_no_config_so_a_rollback_copies_the_current_content():
    """Config copies came after the roles: an old release's pods referenced the sources themselves, so a
    rollback to it restores no copy and prunes none."""
    release, history = replay(*(BG_DONE + [
        dict(BG_STARTED[0], release_id=APP + "-1.2.0-x", version="1.2.0", new_revision="blue", stable_revision="green",
             details={"stable_version": "1.1.0"})]))
    assert [entry["version"] for entry in [release] + history] == ["1.2.0", "1.1.0"]
    assert restored_copies(release, history, "1.1.0") == {}
    assert restored_copies(release, history) == {}
    assert all_recorded_copies(release, history) == set()
