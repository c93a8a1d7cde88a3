"""Freeze windows: which moment falls in which window, and which windows are refused, table by table."""

import datetime

import pytest

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.freeze import (
    FreezeWindowError,
    active_window,
    parse_windows,
)

UTC = datetime.timezone.utc
YEAR_END = {"name": "year-end", "start": "2026-12-20", "end": "2027-01-03", "time_zone": "Europe/Berlin"}
LAUNCH = {"name": "launch", "start": "2026-06-01T09:30", "end": "2026-06-01T17:00"}
WEEKEND = {"name": "weekend", "weekly": {"start": "Fri 18:00", "end": "Mon 06:00"}, "time_zone": "America/New_York"}
LUNCH = {"name": "lunch", "weekly": {"start": "wednesday 12:00", "end": "Wed 13:00"}}


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("windows, now, expected", [
    # Dated windows: read in their zone, the end day included when only a date is given.
    ([YEAR_END], "2026-12-19T22:59", None),                              # 23:59 in Berlin
    ([YEAR_END], "2026-12-19T23:00", ("year-end", "2027-01-04T00:00:00+01:00")),
    ([YEAR_END], "2027-01-03T22:59", ("year-end", "2027-01-04T00:00:00+01:00")),
    ([YEAR_END], "2027-01-03T23:00", None),
    # A date and time ends at that time (excluded); no zone is UTC.
    ([LAUNCH], "2026-06-01T09:29", None),
    ([LAUNCH], "2026-06-01T09:30", ("launch", "2026-06-01T17:00:00+00:00")),
    ([LAUNCH], "2026-06-01T17:00", None),
    # Weekly windows over the week's end, in their zone (New York is UTC-4 in June).
    ([WEEKEND], "2026-06-05T21:59", None),                               # Fri 17:59 in New York
    ([WEEKEND], "2026-06-05T22:00", ("weekend", "2026-06-08T06:00:00-04:00")),
    ([WEEKEND], "2026-06-07T12:00", ("weekend", "2026-06-08T06:00:00-04:00")),
    ([WEEKEND], "2026-06-08T09:59", ("weekend", "2026-06-08T06:00:00-04:00")),
    ([WEEKEND], "2026-06-08T10:00", None),
    ([WEEKEND], "2026-06-10T12:00", None),
    # Within a day, days named in full or short, any case.
    ([LUNCH], "2026-06-03T12:30", ("lunch", "2026-06-03T13:00:00+00:00")),
    ([LUNCH], "2026-06-03T13:00", None),
    ([LUNCH], "2026-06-04T12:30", None),
    # The first window that holds the moment names it.
    ([LAUNCH, LUNCH], "2026-06-03T12:30", ("lunch", "2026-06-03T13:00:00+00:00")),
    ([], "2026-06-03T12:30", None),
])
def test_active_window(windows, now, expected):
    window = active_window(parse_windows(windows), at(now))
    assert (window and (window["name"], window["until"])) == (expected or None)


def test_a_window_without_name_is_named_by_its_index():
    window = active_window(parse_windows([LAUNCH, {"start": "2026-06-02", "end": "2026-06-02"}]),
                           at("2026-06-02T10:00"))
    assert window["name"] == "window 1"


@pytest.mark.parametrize("window, message", [
    ({"start": "2026-06-01", "end": "2026-06-02", "time_zone": "Mars/Olympus"},
     "pd_freeze_windows[0].time_zone: 'Mars/Olympus' is not a known time zone"),
    ({"start": "tomorrow", "end": "2026-06-02"}, "pd_freeze_windows[0].start: 'tomorrow' is not a date"),
    ({"start": "2026-06-01", "end": "2026-13-02"}, "pd_freeze_windows[0].end: '2026-13-02' is not a date"),
    ({"start": "2026-06-01T10:00+02:00", "end": "2026-06-02"}, "carries its own offset"),
    ({"start": "2026-06-02", "end": "2026-06-01"}, "pd_freeze_windows[0]: end is not after start"),
    ({"start": "2026-06-02"}, "pd_freeze_windows[0]: a window has start and end, or weekly"),
    ({"weekly": {"start": "Fri 18:00"}}, "a weekly window has weekly: {start, end}"),
    ({"weekly": {"start": "Fri 18:00", "end": "Mon 06:00"}, "start": "2026-06-01"}, "a weekly window"),
    ({"weekly": {"start": "Fry 18:00", "end": "Mon 06:00"}}, "pd_freeze_windows[0].weekly.start: 'Fry 18:00'"),
    ({"weekly": {"start": "Fri 24:00", "end": "Mon 06:00"}}, "weekly.start: 'Fri 24:00' is not a day and a time"),
    ({"weekly": {"start": "Fri 18:00", "end": "Fri 18:00"}}, "start and end are the same time"),
    ({"start": "2026-06-01", "end": "2026-06-02", "timezone": "UTC"}, "unknown field timezone"),
    ("2026-06-01", "a window is a mapping"),
])
def test_malformed_windows_are_refused_naming_the_parameter(window, message):
    with pytest.raises(FreezeWindowError) as error:
        parse_windows([window], "pd_freeze_windows")
    assert message in str(error.value)
    assert str(error.value).startswith("pd_freeze_windows[0]")
