# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freeze windows: periods in which no release starts. A window is either dated (from ``start`` to
``end``, dates or date-times) or weekly (``weekly: {start: "Fri 18:00", end: "Mon 06:00"}``), both read
in the window's ``time_zone`` (an IANA name, UTC when not set). Pure functions: the caller gives the
time."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    ZONEINFO_IMPORT_ERROR = None
except ImportError as error:  # Python before 3.9
    ZONEINFO_IMPORT_ERROR = error

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY_TIME = re.compile(r"^\s*([A-Za-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})\s*$")
MINUTES_PER_WEEK = 7 * 24 * 60


class FreezeWindowError(ValueError):
    """A malformed window; the message names the window and its field."""


def _zone(path, window):
    name = window.get("time_zone") or "UTC"
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise FreezeWindowError("%s.time_zone: %r is not a known time zone (an IANA name such as "
                                "Europe/Berlin)" % (path, name))


def _moment(path, field, value, zone):
    """A dated window's bound as an aware date-time; a date alone is that day's midnight and
    (for ``end``) the day is included."""
    text = str(value or "").strip()
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            if field == "end":
                day += datetime.timedelta(days=1)
            return datetime.datetime(day.year, day.month, day.day, tzinfo=zone)
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise FreezeWindowError("%s.%s: %r is not a date (2026-12-24) or a date and time (2026-12-24T18:00)"
                                % (path, field, value))
    if moment.tzinfo is not None:
        raise FreezeWindowError("%s.%s: %r carries its own offset; give the zone as time_zone" % (path, field, value))
    return moment.replace(tzinfo=zone)


def _minute_of_week(path, field, value):
    match = _WEEKLY_TIME.match(str(value or ""))
    day = match and match.group(1).lower()
    if not match or day not in DAYS or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise FreezeWindowError("%s.weekly.%s: %r is not a day and a time such as 'Fri 18:00'" % (path, field, value))
    return (DAYS.index(day) * 24 + int(match.group(2))) * 60 + int(match.group(3))


def parse_windows(windows, parameter="freeze_windows"):
    """The windows checked and made comparable: a list of dicts with name, zone and either
    (start, end) date-times or (weekly_start, weekly_end) minutes of the week. A malformed window
    raises FreezeWindowError naming parameter[index]."""
    if ZONEINFO_IMPORT_ERROR:
        raise FreezeWindowError("%s: freeze windows need Python 3.9 or later (zoneinfo)" % parameter)
    parsed = []
    for index, window in enumerate(windows or []):
        path = "%s[%d]" % (parameter, index)
        if not isinstance(window, dict):
            raise FreezeWindowError("%s: a window is a mapping (name, start and end, or weekly), got %r" % (path, window))
        unknown = sorted(set(window) - {"name", "start", "end", "weekly", "time_zone"})
        if unknown:
            raise FreezeWindowError("%s: unknown field %s (name, start, end, weekly, time_zone)" % (path, ", ".join(unknown)))
        zone = _zone(path, window)
        entry = {"name": str(window.get("name") or "window %d" % index), "zone": zone}
        weekly = window.get("weekly")
        if weekly is not None:
            if "start" in window or "end" in window or not isinstance(weekly, dict) \
                    or set(weekly) != {"start", "end"}:
                raise FreezeWindowError("%s: a weekly window has weekly: {start, end} and no start or end of its own"
                                        % path)
            entry.update(weekly_start=_minute_of_week(path, "start", weekly["start"]),
                         weekly_end=_minute_of_week(path, "end", weekly["end"]))
            if entry["weekly_start"] == entry["weekly_end"]:
                raise FreezeWindowError("%s.weekly: start and end are the same time" % path)
        else:
            if "start" not in window or "end" not in window:
                raise FreezeWindowError("%s: a window has start and end, or weekly" % path)
            entry.update(start=_moment(path, "start", window["start"], zone),
                         end=_moment(path, "end", window["end"], zone))
            if entry["end"] <= entry["start"]:
                raise FreezeWindowError("%s: end is not after start" % path)
        parsed.append(entry)
    return parsed


def _weekly_end(window, local):
    """When the weekly window that contains local ends, as an aware date-time."""
    minute = (local.weekday() * 24 + local.hour) * 60 + local.minute
    left = (window["weekly_end"] - minute) % MINUTES_PER_WEEK
    end = local.replace(second=0, microsecond=0, tzinfo=None) + datetime.timedelta(minutes=left)
    return end.replace(tzinfo=window["zone"])


def active_window(windows, now):
    """The first parsed window that now (an aware date-time) falls in, as {name, until}, or None.
    Starts are included and ends are not; a weekly window may run over the week's end."""
    for window in windows:
        local = now.astimezone(window["zone"])
        if "start" in window:
            if window["start"] <= local < window["end"]:
                return {"name": window["name"], "until": window["end"].isoformat()}
            continue
        minute = (local.weekday() * 24 + local.hour) * 60 + local.minute
        start, end = window["weekly_start"], window["weekly_end"]
        inside = start <= minute < end if start < end else (minute >= start or minute < end)
        if inside:
            return {"name": window["name"], "until": _weekly_end(window, local).isoformat()}
    return None
