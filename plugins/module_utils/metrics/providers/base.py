# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every provider shares: the Sample it returns, the error it raises, input checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

UNRENDERED = re.compile(r"{{|{%|}}|%}")


class ProviderError(Exception):
    """The provider could not measure. fatal=True for errors a retry cannot fix (a bad query)."""

    def __init__(self, msg, fatal=False):
        super(ProviderError, self).__init__(msg)
        self.fatal = fatal


class GateConfigError(ValueError):
    """Bad input, reported before any query; the message starts with the parameter's path."""


class Sample(object):
    """One value of one series: a float (NaN and infinities included), its labels, optional
    details (for example every statistic of an HTTP probe) and the series' timestamp if any."""

    __slots__ = ("value", "labels", "details", "time")

    def __init__(self, value, labels=None, details=None, time=None):
        self.value = value
        self.labels = labels or {}
        self.details = details
        self.time = time


def to_float(raw, what):
    """A provider value as a float; Prometheus' "NaN", "+Inf", "1e-07" all parse. Booleans and
    non-numeric text are provider errors, never silently a number."""
    if isinstance(raw, bool) or raw is None:
        raise ProviderError("%s is %r, not a number" % (what, raw))
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ProviderError("%s is %r, not a number" % (what, raw))


def json_number(value):
    """A float as JSON can carry it: NaN and the infinities become the strings Prometheus uses."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    return value


def require_rendered(path, text):
    """Rejects a string that still holds Jinja2 delimiters: a template nobody rendered."""
    if isinstance(text, str) and UNRENDERED.search(text):
        raise GateConfigError("%s looks like an unrendered template (it contains Jinja2 "
                              "delimiters): %s" % (path, text))
    return text


def require_positive(path, value, allow_zero=False):
    if value is None:
        return value
    if value < 0 or (value == 0 and not allow_zero):
        raise GateConfigError("%s must be %s, got %s" % (
            path, "0 or more" if allow_zero else "more than 0", value))
    return value
