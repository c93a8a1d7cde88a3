# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a fleet is released: its waves, in dependency order, cut to the concurrency cap; when it
stops; and its report as a table. Pure functions, so every plan can be checked without a cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# What an application's release came to, as the fleet report says it.
RELEASED, PAUSED, ABORTED, FAILED, NOT_STARTED = "released", "paused", "aborted", "failed", "not started"
STOPPING_OUTCOMES = (ABORTED, FAILED)
REPORT_COLUMNS = (("application", "application"), ("cluster", "cluster"), ("strategy", "strategy"),
                  ("version", "version"), ("wave", "wave"), ("outcome", "outcome"), ("verdict", "verdict"),
                  ("seconds", "time"))
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def _wave_sizes(waves, total):
    """Each wave's number of applications out of total, as Ansible's serial counts them: a number, or
    a percentage of total rounded down (at least 1); the last size repeats until none is left."""
    if not waves:
        waves = ["100%"]
    if not isinstance(waves, (list, tuple)):
        raise ValueError("pd_fleet_waves must be a list of wave sizes, such as [1, '10%%', '100%%'], got %r" % (waves,))
    sizes = []
    for index, wave in enumerate(waves):
        match = _PERCENT.match(wave) if isinstance(wave, str) else None
        if match and 0 < float(match.group(1)) <= 100:
            sizes.append(max(1, int(total * float(match.group(1)) / 100)))
        elif not isinstance(wave, bool) and (isinstance(wave, int) or (isinstance(wave, str) and wave.strip().isdigit())) \
                and int(wave) > 0:
            sizes.append(int(wave))
        else:
            raise ValueError("pd_fleet_waves[%d] is %r: give a number of applications (at least 1) or a percentage "
                             "of the fleet above 0%% and at most 100%%, such as 5 or '10%%'" % (index, wave))
    counted, cursor = [], 0
    while cursor < total:
        size = sizes[min(len(counted), len(sizes) - 1)]
        counted.append(min(size, total - cursor))
        cursor += size
    return counted


def _cycle(start, after):
    """A dependency path from start back to itself, or None."""
    path, seen = [start], set()
    stack = [(start, iter(after[start]))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            path.pop()
            seen.add(node)
        elif child == start:
            return path + [start]
        elif child not in seen and child not in path:
            path.append(child)
            stack.append((child, iter(after[child])))
    return None


def plan_fleet(applications, waves=None, max_concurrent=None, clusters=None, max_failed_percent=0):
    """The fleet's release plan.

    applications: [{name, cluster, after: [names]}], in inventory order.
    waves: pd_fleet_waves; max_concurrent: pd_fleet_max_concurrent (none: no cap); clusters:
    pd_fleet_clusters, the clusters in the order their applications go (none: waves span clusters);
    max_failed_percent: pd_fleet_max_failed_percent, checked here so that it is refused before
    anything changes.

    Returns {waves: [[names]], batches: [[names]], batch_sizes, order, wave_of: {name: wave},
    max_failed_percent}: each
    application in the first wave its place gives it and after every wave of those it names;
    batches cut each wave to at most max_concurrent applications. Raises ValueError naming the
    parameter, the application and the name at fault."""
    names = [application["name"] for application in applications]
    after = {}
    for application in applications:
        named = application.get("after") or []
        if isinstance(named, str) or not isinstance(named, (list, tuple)):
            raise ValueError("pd_release_after of %s must be a list of applications, got %r" % (application["name"], named))
        unknown = [name for name in named if name not in names]
        if unknown:
            raise ValueError("pd_release_after of %s names %s, which is not an application of this fleet"
                             % (application["name"], ", ".join(map(str, unknown))))
        after[application["name"]] = list(named)
    for name in names:
        cycle = _cycle(name, after)
        if cycle:
            raise ValueError("pd_release_after forms a cycle: %s" % " -> ".join(cycle))
    if max_concurrent in (None, "", 0):
        max_concurrent = None
    elif isinstance(max_concurrent, bool) or not str(max_concurrent).strip().isdigit():
        raise ValueError("pd_fleet_max_concurrent must be a whole number of applications (at least 1), got %r"
                         % (max_concurrent,))
    else:
        max_concurrent = int(max_concurrent)

    max_failed_percent = _percent(max_failed_percent)

    cluster_of = dict((application["name"], application.get("cluster") or "") for application in applications)
    if clusters:
        if not isinstance(clusters, (list, tuple)):
            raise ValueError("pd_fleet_clusters must be a list of clusters, got %r" % (clusters,))
        unknown = [cluster for cluster in clusters if cluster not in cluster_of.values()]
        if unknown:
            raise ValueError("pd_fleet_clusters names %s, which no application of this fleet is in"
                             % ", ".join(map(str, unknown)))
        left_out = [name for name in names if cluster_of[name] not in clusters]
        if left_out:
            raise ValueError("pd_fleet_clusters leaves out the cluster of %s (%s)"
                             % (", ".join(left_out), ", ".join(sorted(set(cluster_of[name] for name in left_out)))))
        segments = [[name for name in names if cluster_of[name] == cluster] for cluster in clusters]
    else:
        segments = [names]

    place = {}
    first_wave = 0
    for segment in segments:
        sizes = _wave_sizes(waves, len(segment))
        cursor = 0
        for offset, size in enumerate(sizes):
            for name in segment[cursor:cursor + size]:
                place[name] = first_wave + offset
            cursor += size
        first_wave += len(sizes)

    wave_of = {}

    def settle(name):
        # Acyclic (checked above): each application goes after every wave of those it names.
        if name not in wave_of:
            wave_of[name] = max([place[name]] + [settle(before) + 1 for before in after[name]])
        return wave_of[name]

    for name in names:
        settle(name)
    numbers = sorted(set(wave_of.values()))
    planned = [[name for name in names if wave_of[name] == number] for number in numbers]
    batches = []
    for wave in planned:
        step = max_concurrent or len(wave)
        batches += [wave[start:start + step] for start in range(0, len(wave), step)]
    return {"waves": planned, "batches": batches, "batch_sizes": [len(batch) for batch in batches],
            "order": [name for batch in batches for name in batch],
            "wave_of": dict((name, numbers.index(wave_of[name]) + 1) for name in names),
            "max_failed_percent": max_failed_percent}


def _percent(value):
    try:
        percent = float(value or 0)
    except (TypeError, ValueError):
        percent = -1
    if isinstance(value, bool) or not 0 <= percent <= 100:
        raise ValueError("pd_fleet_max_failed_percent must be a percentage from 0 to 100, got %r" % (value,))
    return percent


def stop_reason(wave, outcomes, max_failed_percent=0):
    """Why no later wave may start, or "" when the fleet goes on.

    wave: the wave's number and its applications; outcomes: {application: outcome} of those that
    ended so far. The fleet stops once more than max_failed_percent of the wave ended aborted or
    failed (0: at the first)."""
    number, members = wave
    threshold = _percent(max_failed_percent)
    stopping = [name for name in members if outcomes.get(name) in STOPPING_OUTCOMES]
    share = 100.0 * len(stopping) / len(members) if members else 0
    if share <= threshold:
        return ""
    return ("wave %s: %s ended aborted or failed (%d of %d, %.0f%%, more than pd_fleet_max_failed_percent %s%%); "
            "no later wave starts" % (number, ", ".join(stopping), len(stopping), len(members), share,
                                      ("%g" % threshold)))


def outcome(record, version, failure=None, unpromoted=None, check_mode=False):
    """What one application's release came to: {outcome, verdict}.

    record: its release record after the run (release_info's release); failure: the strategy role's
    message when it failed; unpromoted: those it follows that were not promoted (it was not started)."""
    if unpromoted:
        return {"outcome": NOT_STARTED, "verdict": "waits for %s, not promoted in this run" % ", ".join(unpromoted)}
    record = record or {}
    gate = record.get("gate") or {}
    ours = str(record.get("version", "")) == str(version)
    verdict = ": ".join(str(part) for part in (gate.get("verdict"), gate.get("message")) if part) if ours else ""
    if check_mode:
        return {"outcome": "checked", "verdict": failure or "check mode: nothing changed"}
    if failure is not None:
        stopped = ours and record.get("phase") in ("aborted", "rolled_back")
        return {"outcome": ABORTED if stopped else FAILED, "verdict": verdict or failure}
    if ours and record.get("phase") == "paused":
        return {"outcome": PAUSED, "verdict": verdict or "paused for promote.yml or abort.yml"}
    if ours and record.get("phase") == "promoted":
        return {"outcome": RELEASED, "verdict": verdict or "promoted"}
    return {"outcome": FAILED, "verdict": "the release record does not show %s promoted (%s %s)"
            % (version, record.get("version", "no release"), record.get("phase", ""))}


def report_row(application, cluster, strategy, version, wave, result=None):
    """One application's row of the fleet report."""
    row = {"application": application, "cluster": cluster, "strategy": strategy, "version": version, "wave": wave,
           "outcome": NOT_STARTED, "verdict": "", "seconds": None}
    row.update(result or {})
    return row


def report_table(rows):
    """The fleet report as lines of aligned text, one row per application."""
    cells = [[header for key, header in REPORT_COLUMNS]]
    for row in rows:
        cells.append([_cell(row.get(key)) for key, header in REPORT_COLUMNS])
    widths = [max(len(line[column]) for line in cells) for column in range(len(REPORT_COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]


def _cell(value, widest=80):
    """A table cell on one line; the JSON report keeps what a long verdict loses here."""
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return "%.1fs" % value
    text = " ".join(str(value).split())
    return text if len(text) <= widest else text[:widest - 3] + "..."
