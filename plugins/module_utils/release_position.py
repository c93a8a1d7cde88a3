# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a release stands, worked out from its record and what the cluster shows: whether the
version is released already, and what an interrupted run left to finish. Pure functions, so every
phase can be checked against every observed state without a cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

UNFINISHED_PHASES = ("progressing", "paused")


# What promote and abort act on, by strategy; a record that names no strategy is blue-green's, as the
# playbooks read it.
RECORDED_RELEASE = {"canary": "canary release", "blue_green": "release", "rolling": "rolling update"}


def recorded_release_refusal(app, record, strategy, action, again=False):
    """Why a promote or abort run of strategy has nothing to act on, or None: the record's release
    must be the strategy's and unfinished (a blue-green promotion: paused, since one that was not
    paused promotes itself). again: the record was read once more after waiting for the lock of a
    run that may have ended the release meanwhile."""
    record = record or {}
    wanted = ("paused",) if strategy == "blue_green" and action == "promote" else UNFINISHED_PHASES
    if (record.get("strategy") or "blue_green") == strategy and record.get("phase") in wanted:
        return None
    return "%s has no %s%s to %s%s (%s %s)." % (
        app, "paused " if wanted == ("paused",) else "", RECORDED_RELEASE[strategy], action,
        " any more" if again else "", "the run that held the lock left it" if again else "the last release is",
        record.get("phase") or "none")


def _unfinished(record, version, strategy=None):
    """Whether the record is a release of version that no run has finished (nor aborted)."""
    return (record.get("phase") in UNFINISHED_PHASES and record.get("version") == str(version)
            and (strategy is None or record.get("strategy") == strategy))


COLOR_LABEL = "terragonlabs.io/color"
TRACK_LABEL = "terragonlabs.io/track"
# The two Deployments a canary application's versions take turn in, as blue-green's colors; the
# stable Service selects the stable one's pods. Releases before the slots ran two Deployments,
# APP-stable and APP-canary (pods labelled terragonlabs.io/track): they are slots too, left once
# a release by the slots is promoted. {slot: the pod label whose value is the slot's name}
CANARY_SLOTS = ("blue", "green")
LEGACY_STABLE_SLOT = "stable"
SLOT_LABELS = {"blue": COLOR_LABEL, "green": COLOR_LABEL, LEGACY_STABLE_SLOT: TRACK_LABEL, "canary": TRACK_LABEL}


def selected_slot(selector):
    """The slot whose pods a Service's selector picks, or "" (none, or both: the replicas router's)."""
    return next((slot for slot, label in SLOT_LABELS.items() if (selector or {}).get(label) == slot), "")


def idle_slot(serving):
    """The slot (or color) a new version goes to beside the one serving: the other of blue and green."""
    return "green" if serving == "blue" else "blue"


def recorded_slot(revision):
    """The slot a canary record names: the slot itself, or the Deployment (APP-stable, APP-canary) a
    record of the two-Deployment layout names."""
    return (revision or "").rsplit("-", 1)[-1]


def stable_slot(record, serving_slot, versions):
    """The slot stable runs in, when no release of it is unfinished: the one the stable Service
    selects, else (the replicas router's Service selects both) the one the last canary record left
    serving - its new slot once promoted or rolled back, its old one once aborted; a record of the
    two-Deployment layout left APP-stable serving whatever its phase."""
    if serving_slot:
        return serving_slot
    if record.get("strategy") != "canary":
        return ""
    new, old = recorded_slot(record.get("new_revision")), recorded_slot(record.get("stable_revision"))
    if new not in CANARY_SLOTS:
        return LEGACY_STABLE_SLOT if versions.get(LEGACY_STABLE_SLOT) else ""
    return new if record.get("phase") in ("promoted", "rolled_back") else old


def canary_position(record, serving_slot, versions, version, steps, full=False, past_pause=False):
    """serving_slot: the slot the stable Service selects ("" when it selects none, or both);
    versions: {slot: version} of the application's Deployments. stable_slot and new_slot: the slot
    stable runs in and the one the release puts version into - an unfinished release's are its
    record's, since its promotion may have moved the stable Service already (switched: it did).
    released: stable already runs version and no release of it is unfinished. resuming: a
    recorded release of version goes on where it stopped. start_step: the step a run starts at -
    after the pause a promotion ends, or past every step with full. undo_stable: a release recorded
    by the two-Deployment layout was killed while its promotion updated APP-stable, which an abort
    puts back a revision."""
    record = record or {}
    unfinished = _unfinished(record, version, "canary")
    if unfinished:
        stable, new = recorded_slot(record.get("stable_revision")), recorded_slot(record.get("new_revision"))
    else:
        stable = stable_slot(record, serving_slot, versions)
        new = idle_slot(stable)
    stable_version = versions.get(stable, "") if stable else ""
    resuming = unfinished and bool(stable_version)
    if full:
        start_step = steps
    elif resuming:
        recorded = int((record.get("details") or {}).get("step_index") or 0)
        start_step = recorded + (1 if past_pause else 0)
    else:
        start_step = 0
    recorded_from = (record.get("details") or {}).get("stable_version") or ""
    return {"released": stable_version == str(version) and not unfinished, "resuming": resuming,
            "start_step": start_step, "stable_slot": stable, "new_slot": new, "stable_version": stable_version,
            "switched": resuming and serving_slot == new,
            "undo_stable": resuming and stable_version == str(version) and recorded_from not in ("", stable_version)}


def blue_green_position(record, serving_color, serving_version, version):
    """The colors a run of version works with. A run killed after the switch but before the record
    said promoted left the promotion unfinished: it resumes with the colors of the record, the old
    one to go back to. A first release creates the active Service before its color is rolled out:
    killed then, the Service shows the version, yet it is not released. cleanup_pending: killed
    after the record said promoted but before the old color was scaled down."""
    record = record or {}
    unfinished = _unfinished(record, version)
    recorded_old, recorded_new = record.get("stable_revision") or "", record.get("new_revision") or ""
    switched = unfinished and bool(recorded_old) and recorded_new == serving_color
    first_unfinished = unfinished and not recorded_old and recorded_new == serving_color
    position = {"switched": switched, "first_unfinished": first_unfinished,
                "cleanup_pending": (record.get("phase") == "promoted" and record.get("version") == str(version)
                                    and record.get("step") == "scale-down-old-color")}
    if switched:
        position.update(active_color=recorded_old, new_color=recorded_new,
                        active_version=(record.get("details") or {}).get("stable_version") or "")
    elif first_unfinished:
        position.update(active_color="", new_color=recorded_new, active_version="")
    else:
        position.update(active_color=serving_color, new_color=idle_slot(serving_color),
                        active_version=serving_version)
    return position


def rolling_position(record, serving, version, image):
    """serving: the version, image and revision the application's Deployment runs (None before its
    first release). released: it runs version's image and the record says that release was promoted.
    resuming: a run of version was interrupted, so its record goes on. stable_revision: the revision
    a failed update is undone to - the one an interrupted rolling update recorded (what runs now may
    be that update's), else the one running now."""
    record, serving = record or {}, serving or {}
    unfinished = record.get("strategy") == "rolling" and record.get("phase") in UNFINISHED_PHASES
    return {"released": (serving.get("version") == str(version) and serving.get("image") == image
                         and record.get("version") == str(version) and record.get("phase") == "promoted"),
            "resuming": unfinished and record.get("version") == str(version),
            "stable_revision": (record.get("stable_revision") or "") if unfinished else serving.get("revision", "")}
