# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one evaluator of metric gates: conditions, series policies, limits, scheduling, verdicts.

Semantics follow Argo Rollouts' analysis (interval, count, initial delay, failure /
inconclusive / consecutive-error limits with Argo's defaults, errors retried and not counted,
dry-run metrics, the worst verdict wins) and close its implicit cases with explicit policies:
empty results (on_empty), NaN (on_nan), several series (first/each/any/min/max/avg/sum), and a
metric without conditions is Inconclusive. A metric that knows what an empty or NaN result means
(a built-in template: no request in its window) says so, and by default waits for a value: both
are errors, retried and not counted, up to consecutive_error_limit. Pure: time comes from
injected clock and sleep.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import math
import time

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
    ProviderError,
    json_number,
    require_positive,
    require_rendered,
)

SUCCESSFUL = "Successful"
INCONCLUSIVE = "Inconclusive"
ERROR = "Error"
FAILED = "Failed"
# A metric still measuring when another metric decided the gate.
STOPPED = "Stopped"
PHASES = (SUCCESSFUL, INCONCLUSIVE, ERROR, FAILED)
SEVERITY = dict((phase, rank) for rank, phase in enumerate(PHASES))
SERIES_POLICIES = ("first", "each", "any", "min", "max", "avg", "sum")
# Argo Rollouts' defaults.
DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4
DEFAULT_ERROR_RETRY_INTERVAL = 10.0


def worst(phases):
    return max(phases, key=SEVERITY.get) if phases else SUCCESSFUL


def best(phases):
    return min(phases, key=SEVERITY.get)


class ConditionError(Exception):
    """A condition could not be evaluated on a value (for example an undefined attribute)."""


class Condition(object):
    """A threshold range (inclusive bounds, Flagger style) and/or a sandboxed Jinja2 expression
    over result, labels and details; when both are given, both must hold."""

    def __init__(self, path, minimum=None, maximum=None, expression=None):
        if minimum is None and maximum is None and not expression:
            raise GateConfigError("%s needs min, max or expression" % path)
        if minimum is not None and maximum is not None and minimum > maximum:
            raise GateConfigError("%s has min %s greater than max %s" % (path, minimum, maximum))
        self.minimum, self.maximum, self.expression = minimum, maximum, expression
        self._compiled = compile_expression("%s.expression" % path, expression) if expression else None

    def describe(self):
        """The condition as users wrote it, for verdicts: 'min 0.95', 'max 2 and result < 1.5'."""
        parts = [("min %s" % self.minimum) if self.minimum is not None else None,
                 ("max %s" % self.maximum) if self.maximum is not None else None,
                 self.expression]
        return " and ".join(part for part in parts if part)

    def holds(self, sample):
        value = sample.value
        if self.minimum is not None and not value >= self.minimum:
            return False
        if self.maximum is not None and not value <= self.maximum:
            return False
        if self._compiled is None:
            return True
        errors = _jinja2()["errors"] + (TypeError, ValueError, ArithmeticError)
        try:
            return bool(self._compiled(result=value, labels=sample.labels, details=sample.details or {}))
        except errors as error:
            raise ConditionError("cannot evaluate %r: %s" % (self.expression, error))


_JINJA2 = {}


def _jinja2():
    """jinja2's sandbox, imported on first use: most gates have no expression, and importing jinja2
    costs about 0.3 s of every metric_gate task. None when jinja2 is not installed."""
    if not _JINJA2:
        try:
            from jinja2.exceptions import SecurityError, TemplateError
            from jinja2.runtime import StrictUndefined
            from jinja2.sandbox import SandboxedEnvironment
        except ImportError:
            return None
        _JINJA2.update(errors=(TemplateError, SecurityError), syntax_error=TemplateError,
                       environment=SandboxedEnvironment(undefined=StrictUndefined))
    return _JINJA2


def compile_expression(path, text):
    """Compiles a Jinja2 expression in the sandbox (never Python eval); syntax errors are bad input."""
    jinja2 = _jinja2()
    if jinja2 is None:
        raise GateConfigError("%s needs the jinja2 Python library" % path)
    require_rendered(path, text)
    try:
        return jinja2["environment"].compile_expression(text, undefined_to_none=False)
    except jinja2["syntax_error"] as error:
        raise GateConfigError("%s is not a valid expression: %s" % (path, error))


def assess(sample, success, failure):
    """The phase of one value. Failure wins when both hold; only one condition given means the
    other is its negation; both given and neither true is Inconclusive; none given, Inconclusive."""
    failed = failure.holds(sample) if failure else None
    succeeded = success.holds(sample) if success else None
    if failed:
        return FAILED
    if failed is None and succeeded is None:
        return INCONCLUSIVE
    if succeeded is None:
        return SUCCESSFUL
    if succeeded:
        return SUCCESSFUL
    return FAILED if failed is None else INCONCLUSIVE


class Metric(object):
    """One metric's definition, validated when built so bad input fails before any query."""

    def __init__(self, name, provider, success=None, failure=None, interval=None, count=None,
                 initial_delay=0, failure_limit=0, inconclusive_limit=0,
                 consecutive_error_limit=DEFAULT_CONSECUTIVE_ERROR_LIMIT,
                 consecutive_success_limit=None, error_retry_interval=None,
                 dry_run=False, series="first", on_empty=ERROR, on_nan=None, path="metric",
                 until_deadline=False, no_data=None):
        self.name, self.provider, self.path = name, provider, path
        # What an empty or NaN result means, when the metric knows (a built-in template's "no request
        # reached ..."): the window holds nothing to judge yet, so by default it is measured again.
        self.no_data = no_data
        if on_nan is None:
            on_nan = ERROR if no_data else FAILED
        self.success, self.failure = success, failure
        if series not in SERIES_POLICIES:
            raise GateConfigError("%s.series must be one of %s, got %s" % (path, ", ".join(SERIES_POLICIES), series))
        for option, phase in (("on_empty", on_empty), ("on_nan", on_nan)):
            if phase not in PHASES:
                raise GateConfigError("%s.%s must be one of %s, got %s" % (path, option, ", ".join(PHASES), phase))
        for option, value in (("interval", interval), ("error_retry_interval", error_retry_interval)):
            require_positive("%s.%s" % (path, option), value)
        for option, value in (("initial_delay", initial_delay), ("failure_limit", failure_limit),
                              ("inconclusive_limit", inconclusive_limit),
                              ("consecutive_error_limit", consecutive_error_limit)):
            require_positive("%s.%s" % (path, option), value, allow_zero=True)
        require_positive("%s.count" % path, count)
        require_positive("%s.consecutive_success_limit" % path, consecutive_success_limit)
        if count is not None and count > 1 and interval is None:
            raise GateConfigError("%s.count is %d but no interval is set: several measurements need "
                                  "an interval between them" % (path, count))
        if interval is not None and count is None and not until_deadline:
            raise GateConfigError("%s.interval without count would measure forever: set count, or "
                                  "max_duration on the gate" % path)
        # An interval without a count measures until the gate's max_duration.
        self.count = count if count is not None else (None if interval is not None else 1)
        self.interval = interval or 0.0
        self.initial_delay = initial_delay or 0.0
        self.failure_limit, self.inconclusive_limit = failure_limit, inconclusive_limit
        self.consecutive_error_limit = consecutive_error_limit
        self.consecutive_success_limit = consecutive_success_limit
        # As Argo Rollouts: an error is measured again at the metric's interval; 10 s when it has none.
        self.error_retry_interval = error_retry_interval or interval or DEFAULT_ERROR_RETRY_INTERVAL
        self.dry_run, self.series, self.on_empty, self.on_nan = dry_run, series, on_empty, on_nan

    def judge(self, samples):
        """(phase, decisive sample or None, message) for one measurement's samples."""
        if not samples:
            return self.on_empty, None, "%s (on_empty: %s)" % (self.no_data or "no series returned", self.on_empty)
        if self.series in ("min", "max", "avg", "sum"):
            numbers = [s for s in samples if not math.isnan(s.value)]
            if not numbers:
                return self._judge_one(samples[0])
            return self._judge_one(aggregate(self.series, numbers))
        if self.series == "first":
            return self._judge_one(samples[0])
        judged = [self._judge_one(sample) for sample in samples]
        pick = worst if self.series == "each" else best
        phase = pick([j[0] for j in judged])
        return next(j for j in judged if j[0] == phase)

    def conditions(self):
        """'success: min 0.95; failure: max 0.2', whichever the metric has."""
        return "; ".join("%s: %s" % (kind, condition.describe())
                         for kind, condition in (("success", self.success), ("failure", self.failure)) if condition)

    def _judge_one(self, sample):
        if math.isnan(sample.value):
            return self.on_nan, sample, "%s (on_nan: %s)" % (self.no_data or "the value is NaN", self.on_nan)
        try:
            phase = assess(sample, self.success, self.failure)
        except ConditionError as error:
            return ERROR, sample, str(error)
        # Every verdict names the value measured and the condition it met or missed.
        return phase, sample, "measured %.6g (%s)" % (sample.value, self.conditions() or "no condition")


def aggregate(policy, samples):
    """One sample standing for all: min/max keep the chosen series' labels, avg/sum have none."""
    if policy in ("min", "max"):
        return (min if policy == "min" else max)(samples, key=lambda s: s.value)
    total = math.fsum(s.value for s in samples)
    result = copy.copy(samples[0])
    result.value = total / len(samples) if policy == "avg" else total
    result.labels = {}
    return result


def timestamp(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class MetricRun(object):
    """A metric's progress through one gate: counters, measurements and, once decided, its verdict."""

    def __init__(self, metric, start):
        self.metric = metric
        self.next_due = start + metric.initial_delay
        self.verdict, self.message = None, ""
        self.measurements = []
        self.tally = dict((phase, 0) for phase in PHASES)
        self.consecutive_errors = self.consecutive_successes = 0
        self.last_error = self.last_measured = ""

    def record(self, phase, sample, samples, message, started, finished, fatal=False):
        entry = {"phase": phase, "started_at": timestamp(started), "finished_at": timestamp(finished),
                 "value": json_number(sample.value) if sample is not None else None,
                 "series": [{"labels": s.labels, "value": json_number(s.value),
                             "time": s.time} if s.time is not None else
                            {"labels": s.labels, "value": json_number(s.value)} for s in samples]}
        if sample is not None and sample.details:
            entry["details"] = sample.details
        if message:
            entry["message"] = message
        self.measurements.append(entry)
        self.tally[phase] += 1
        metric = self.metric
        if phase == ERROR:
            self.consecutive_errors += 1
            self.last_error = message
            if fatal:
                return self.decide(ERROR, "%s (not retried)" % message)
            if self.consecutive_errors > metric.consecutive_error_limit:
                return self.decide(ERROR, "%d consecutive errors, more than consecutive_error_limit %d; "
                                   "last: %s" % (self.consecutive_errors, metric.consecutive_error_limit, message))
            return metric.error_retry_interval
        self.consecutive_errors = 0
        self.last_measured = message
        self.consecutive_successes = self.consecutive_successes + 1 if phase == SUCCESSFUL else 0
        if self.tally[FAILED] > metric.failure_limit:
            return self.decide(FAILED, "%d failed measurements, more than failure_limit %d%s" % (
                self.tally[FAILED], metric.failure_limit, ": " + message if message else ""))
        if self.tally[INCONCLUSIVE] > metric.inconclusive_limit:
            return self.decide(INCONCLUSIVE, "%d inconclusive measurements, more than inconclusive_limit %d%s" % (
                self.tally[INCONCLUSIVE], metric.inconclusive_limit, ": " + message if message else ""))
        limit = metric.consecutive_success_limit
        if limit and self.consecutive_successes >= limit:
            return self.decide(SUCCESSFUL, "%d consecutive successful measurements, the last %s" % (
                self.consecutive_successes, message))
        if metric.count is not None and self.completed >= metric.count:
            return self.conclude("all %d measurements taken" % metric.count)
        return metric.interval

    @property
    def completed(self):
        return sum(self.tally[phase] for phase in (SUCCESSFUL, FAILED, INCONCLUSIVE))

    def conclude(self, why):
        """The verdict when measuring ends without a limit exceeded: never Successful after errors."""
        if self.consecutive_errors:
            return self.decide(ERROR, "%s; the last measurements were errors: %s" % (why, self.last_error))
        if not self.completed:
            return self.decide(INCONCLUSIVE, "%s before any measurement" % why)
        if self.metric.count is not None and self.completed < self.metric.count:
            return self.decide(INCONCLUSIVE, "%s after %d of %d measurements" % (
                why, self.completed, self.metric.count))
        if self.metric.consecutive_success_limit:
            return self.decide(INCONCLUSIVE, "%s without %d consecutive successes; the last %s" % (
                why, self.metric.consecutive_success_limit, self.last_measured))
        return self.decide(SUCCESSFUL, "%s; the last %s" % (why, self.last_measured) if self.last_measured else why)

    def decide(self, verdict, message):
        self.verdict, self.message = verdict, message

    def report(self):
        return {"name": self.metric.name, "verdict": self.verdict, "message": self.message,
                "dry_run": self.metric.dry_run, "measurements": self.measurements,
                "counts": {"successful": self.tally[SUCCESSFUL], "failed": self.tally[FAILED],
                           "inconclusive": self.tally[INCONCLUSIVE], "error": self.tally[ERROR]}}


class Gate(object):
    """Measures every metric on its own schedule and returns the worst verdict.

    Stops measuring as soon as a metric that is not a dry run is Failed, Error or Inconclusive
    (the gate's verdict cannot improve), or when max_duration is reached.
    """

    def __init__(self, metrics, max_duration=None, clock=time.monotonic, sleep=time.sleep, now=time.time):
        if not metrics:
            raise GateConfigError("metrics must name at least one metric")
        names = [m.name for m in metrics]
        duplicates = sorted(set(n for n in names if names.count(n) > 1))
        if duplicates:
            raise GateConfigError("metrics names must be unique; repeated: %s" % ", ".join(duplicates))
        require_positive("max_duration", max_duration)
        self.metrics, self.max_duration = metrics, max_duration
        self.clock, self.sleep, self.now = clock, sleep, now

    def run(self):
        start = self.clock()
        deadline = None if self.max_duration is None else start + self.max_duration
        runs = [MetricRun(metric, start) for metric in self.metrics]
        while True:
            pending = [r for r in runs if r.verdict is None]
            if not pending:
                break
            run = min(pending, key=lambda r: r.next_due)
            if deadline is not None and run.next_due > deadline:
                for late in pending:
                    late.conclude("max_duration %ss reached" % self.max_duration)
                break
            wait = run.next_due - self.clock()
            if wait > 0:
                self.sleep(wait)
            pause = self.measure(run)
            if run.verdict is None:
                run.next_due = self.clock() + pause
            elif not run.metric.dry_run and run.verdict != SUCCESSFUL:
                for other in pending:
                    if other.verdict is None:
                        other.decide(STOPPED, "stopped: metric %s decided the gate" % run.metric.name)
                break
        decided = [r.verdict for r in runs if not r.metric.dry_run and r.verdict in PHASES]
        verdict = worst(decided)
        deciding = [r for r in runs if not r.metric.dry_run and r.verdict == verdict]
        return {"verdict": verdict, "metrics": [r.report() for r in runs],
                "duration": round(self.clock() - start, 3),
                "message": "%s: %s" % (verdict, "; ".join("%s: %s" % (r.metric.name, r.message) for r in deciding))
                if deciding else "%s: only dry-run metrics" % verdict}

    def measure(self, run):
        started = self.now()
        fatal = False
        try:
            samples = run.metric.provider.fetch()
        except ProviderError as error:
            samples, phase, sample, message, fatal = [], ERROR, None, str(error), error.fatal
        else:
            phase, sample, message = run.metric.judge(samples)
        return run.record(phase, sample, samples, message, started, self.now(), fatal=fatal)
