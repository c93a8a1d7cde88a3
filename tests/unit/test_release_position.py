"""Where a release stands: every recorded phase against what the cluster shows, table by table."""

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_position import (
    blue_green_position,
    canary_position,
    recorded_release_refusal,
    rolling_position,
)


def canary_record(phase, version="1.1.0", step_index="2", strategy="canary", old="blue", new="green"):
    return {"strategy": strategy, "version": version, "phase": phase, "stable_revision": old, "new_revision": new,
            "details": {"step_index": step_index, "stable_version": "1.0.0"}}


BLUE_1_0 = {"blue": "1.0.0"}
BOTH = {"blue": "1.0.0", "green": "1.1.0"}


@pytest.mark.parametrize("record, serving, versions, options, released, resuming, start", [
    # Nothing recorded: a first release, or a new one.
    (None, "", {}, {}, False, False, 0),
    (None, "blue", BLUE_1_0, {}, False, False, 0),
    # This version serves and its release finished, whatever way: released.
    (canary_record("promoted"), "green", BOTH, {}, True, False, 0),
    (canary_record("aborted", version="1.2.0", old="green", new="blue"), "green", BOTH, {}, True, False, 0),
    # An unfinished release of this version resumes at its step...
    (canary_record("progressing"), "blue", BOTH, {}, False, True, 2),
    (canary_record("paused"), "blue", BLUE_1_0, {}, False, True, 2),
    # ...after the pause a promotion ends, or past every step with full.
    (canary_record("paused"), "blue", BOTH, {"past_pause": True}, False, True, 3),
    (canary_record("paused"), "blue", BOTH, {"full": True}, False, True, 5),
    # An unfinished first release (no stable yet) starts over.
    (canary_record("progressing", step_index=None, old=""), "blue", {"blue": "1.1.0"}, {}, False, False, 0),
    # An aborted release of this version, or another version's, starts at the beginning.
    (canary_record("aborted"), "blue", BOTH, {}, False, False, 0),
    (canary_record("paused", version="1.2.0"), "blue", BOTH, {}, False, False, 0),
    # A blue-green record is no canary release to resume.
    (canary_record("progressing", strategy="blue_green"), "blue", BOTH, {}, False, False, 0),
])
def test_canary_position(record, serving, versions, options, released, resuming, start):
    position = canary_position(record, serving, versions, "1.1.0", 5, **options)
    assert (position["released"], position["resuming"], position["start_step"]) == (released, resuming, start)


@pytest.mark.parametrize("record, serving, versions, expected", [
    # No release yet: blue first.
    (None, "", {}, ("", "blue", "", False)),
    # The stable Service selects blue: the release goes to green, and the other way round.
    (None, "blue", BLUE_1_0, ("blue", "green", "1.0.0", False)),
    (canary_record("promoted", version="1.0.0", old="blue", new="green"), "green", {"green": "1.0.0", "blue": "0.9"},
     ("green", "blue", "1.0.0", False)),
    # Killed at any step before the promotion moved the stable Service: its record's slots.
    (canary_record("progressing"), "blue", BOTH, ("blue", "green", "1.0.0", False)),
    # Killed once the promotion moved the stable Service, before the record said promoted (the old slot
    # scaled to 0 or not): a re-run finishes the promotion, an abort goes back to blue.
    (canary_record("progressing", step_index="5"), "green", BOTH, ("blue", "green", "1.0.0", True)),
    # The stable Service of the replicas router selects both slots: the record says which serves -
    # the new slot once promoted or rolled back, the old one once aborted.
    (canary_record("promoted", version="1.0.0"), "", {"green": "1.0.0"}, ("green", "blue", "1.0.0", False)),
    (canary_record("rolled_back", version="1.0.0"), "", {"green": "1.0.0"}, ("green", "blue", "1.0.0", False)),
    (canary_record("aborted", version="1.2.0"), "", BOTH, ("blue", "green", "1.0.0", False)),
    (canary_record("progressing"), "", BOTH, ("blue", "green", "1.0.0", False)),
    # A first release aborted: nothing is stable.
    (canary_record("aborted", version="1.2.0", old=""), "", {"green": "1.2.0"}, ("", "blue", "", False)),
])
def test_canary_slots(record, serving, versions, expected):
    position = canary_position(record, serving, versions, "1.1.0", 5)
    assert (position["stable_slot"], position["new_slot"], position["stable_version"], position["switched"]) == expected


def bg_record(phase, version="1.1.0", old="blue", new="green", step="switch"):
    return {"strategy": "blue_green", "version": version, "phase": phase, "step": step,
            "stable_revision": old, "new_revision": new, "details": {"stable_version": "1.0.0"}}


@pytest.mark.parametrize("record, serving, expected", [
    # No release yet: blue first.
    (None, ("", ""), {"active_color": "", "new_color": "blue", "active_version": ""}),
    # 1.0.0 on blue: 1.1.0 goes to green.
    (bg_record("promoted", version="1.0.0", old="", new="blue"), ("blue", "1.0.0"),
     {"active_color": "blue", "new_color": "green", "active_version": "1.0.0"}),
    # Killed before the switch: the same colors as the Service shows.
    (bg_record("progressing"), ("blue", "1.0.0"), {"active_color": "blue", "new_color": "green", "active_version": "1.0.0"}),
    # Killed after the switch: green serves, yet blue stays the color to go back to.
    (bg_record("progressing"), ("green", "1.1.0"),
     {"switched": True, "active_color": "blue", "new_color": "green", "active_version": "1.0.0"}),
    # A first release killed after its Service selected blue, before blue rolled out: released again.
    (bg_record("progressing", old="", new="blue"), ("blue", "1.1.0"),
     {"first_unfinished": True, "active_color": "", "new_color": "blue", "active_version": ""}),
    # Killed after the record said promoted, before the old color was scaled down.
    (bg_record("promoted", step="scale-down-old-color"), ("green", "1.1.0"),
     {"cleanup_pending": True, "active_color": "green", "new_color": "blue", "active_version": "1.1.0"}),
    # Another version's unfinished release changes nothing here.
    (bg_record("paused", version="1.2.0"), ("green", "1.1.0"),
     {"active_color": "green", "new_color": "blue", "active_version": "1.1.0"}),
    # An aborted release of this version: traffic went back, so the Service's colors hold.
    (bg_record("aborted"), ("blue", "1.0.0"), {"active_color": "blue", "new_color": "green", "active_version": "1.0.0"}),
])
def test_blue_green_position(record, serving, expected):
    flags = {"switched": False, "first_unfinished": False, "cleanup_pending": False}
    assert blue_green_position(record, serving[0], serving[1], "1.1.0") == dict(flags, **expected)


def rolling_record(phase, version="1.1.0", stable_revision="3", strategy="rolling"):
    return {"strategy": strategy, "version": version, "phase": phase, "stable_revision": stable_revision}


def runs(version, revision="4", image=None):
    return {"version": version, "image": image or "shop:" + version, "revision": revision}


@pytest.mark.parametrize("record, serving, released, resuming, stable_revision", [
    # A first release: nothing runs, nothing to undo to.
    (None, None, False, False, ""),
    # A new version: a failure goes back to the revision running now.
    (rolling_record("promoted", version="1.0.0"), runs("1.0.0"), False, False, "4"),
    # This version runs and its release was promoted: nothing to do.
    (rolling_record("promoted"), runs("1.1.0"), True, False, "4"),
    # It runs, but another image of it, or the record says it failed or was rolled back: updated again.
    (rolling_record("promoted"), runs("1.1.0", image="mirror/shop:1.1.0"), False, False, "4"),
    (rolling_record("rolled_back"), runs("1.1.0"), False, False, "4"),
    # The Deployment was undone after the update failed (the record is promoted, the template older).
    (rolling_record("promoted"), runs("1.0.0"), False, False, "4"),
    # An interrupted update of this version resumes, and goes back to what served before it...
    (rolling_record("progressing"), runs("1.1.0"), False, True, "3"),
    # ...even when it was a first release.
    (rolling_record("progressing", stable_revision=""), runs("1.1.0", revision="1"), False, True, ""),
    # Another version's interrupted update: what it left running is no revision to go back to.
    (rolling_record("progressing", version="1.2.0"), runs("1.2.0"), False, False, "3"),
    # Another strategy's unfinished release says nothing of the Deployment's revisions.
    (rolling_record("paused", strategy="canary"), runs("1.0.0"), False, False, "4"),
])
def test_rolling_position(record, serving, released, resuming, stable_revision):
    assert rolling_position(record, serving, "1.1.0", "shop:1.1.0") == {
        "released": released, "resuming": resuming, "stable_revision": stable_revision}


def recorded(strategy, phase, version="1.1.0"):
    return {"strategy": strategy, "phase": phase, "version": version}


@pytest.mark.parametrize("record, strategy, action, refusal", [
    # An unfinished release of the strategy is promoted or aborted...
    (recorded("canary", "paused"), "canary", "promote", None),
    (recorded("canary", "progressing"), "canary", "promote", None),
    (recorded("canary", "progressing"), "canary", "abort", None),
    (recorded("blue_green", "paused"), "blue_green", "promote", None),
    (recorded("blue_green", "progressing"), "blue_green", "abort", None),
    (recorded("rolling", "progressing"), "rolling", "promote", None),
    (recorded("rolling", "progressing"), "rolling", "abort", None),
    # ...a record naming no strategy is blue-green's, as the playbooks read it...
    ({"phase": "paused", "version": "1.1.0"}, "blue_green", "promote", None),
    # ...but a blue-green release that did not pause promotes itself: a run of it goes on.
    (recorded("blue_green", "progressing"), "blue_green", "promote",
     "shop has no paused release to promote (the last release is progressing)."),
    # A release that ended, or none, is said so and nothing changes.
    (recorded("rolling", "promoted"), "rolling", "promote", "shop has no rolling update to promote (the last release is promoted)."),
    (recorded("rolling", "rolled_back"), "rolling", "abort", "shop has no rolling update to abort (the last release is rolled_back)."),
    (recorded("canary", "aborted"), "canary", "abort", "shop has no canary release to abort (the last release is aborted)."),
    ({}, "rolling", "abort", "shop has no rolling update to abort (the last release is none)."),
    (None, "blue_green", "abort", "shop has no release to abort (the last release is none)."),
    # Another strategy's release is not this one's to act on.
    (recorded("canary", "paused"), "rolling", "promote", "shop has no rolling update to promote (the last release is paused)."),
])
def test_promote_and_abort_act_only_on_the_strategys_unfinished_release(record, strategy, action, refusal):
    assert recorded_release_refusal("shop", record, strategy, action) == refusal


def test_a_release_ended_by_the_run_whose_lock_was_waited_for_is_said_to_be_so():
    assert recorded_release_refusal("shop", recorded("rolling", "promoted"), "rolling", "abort", again=True) == (
        "shop has no rolling update to abort any more (the run that held the lock left it promoted).")
