# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guard window: whether an alert about an application rolls its promoted release back.

After a promotion the release is guarded for a window (pd_guard_window): an alert that starts firing
inside it rolls the release back, unless another release holds the application's lock. Outside the
window the alert is only reported. The decision is a pure function of the release record, the lock's
Lease, the alert and the time; the release_guard module reads those and records the decision."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.canary_plan import (
    DURATION,
    UNIT_SECONDS,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import ApiError
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import check_app_name
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_lock import (
    LEASES,
    expires_in,
    lease_name,
    now_utc,
    parse_time,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_record import (
    decode,
    read_record,
    record_name,
    timestamp,
)

ROLLBACK = "rollback"
NOTIFY = "notify"
EVENT_COMPONENT = "terragonlabs.progressive_delivery.guard"
EVENT_REASONS = {ROLLBACK: "GuardRollback", NOTIFY: "GuardAlertIgnored"}
RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6})\d*)?Z$")
FAR_FUTURE = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)


def window_seconds(value):
    """Seconds of a guard window given as seconds (an integer) or as 30s, 5m, 2h; 0 turns the guard off."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = DURATION.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError("window must be seconds (an integer) or a string such as 90s, 30m or 2h, got %r" % (value,))
    return int(match.group(1)) * UNIT_SECONDS[match.group(2) or "s"]


def firing_alerts(alerts, app, namespace):
    """The alerts of an Alertmanager notification that fire for this application, oldest first,
    each as {alert, value, since, summary}."""
    found = []
    for alert in alerts or []:
        labels = alert.get("labels") or {}
        if alert.get("status") != "firing" or labels.get("app") != app or labels.get("namespace") != namespace:
            continue
        annotations = alert.get("annotations") or {}
        found.append({"alert": labels.get("alertname", ""), "value": annotations.get("value", ""),
                      "since": alert.get("startsAt", ""), "summary": annotations.get("summary", "")})
    return sorted(found, key=lambda a: _time(a["since"]) or FAR_FUTURE)


def _time(text):
    """An RFC 3339 time (Alertmanager's carry nanoseconds, which datetime cannot hold), or None."""
    match = RFC3339.match(text or "")
    if not match:
        return None
    return parse_time("%s.%sZ" % (match.group(1), (match.group(2) or "").ljust(6, "0")))


def _age(seconds):
    return "%ds" % round(seconds)


def decide(release, lease, alert, window, now):
    """{action: rollback or notify, reason} for an alert (as firing_alerts describes it) about the
    application whose current release and release-lock Lease these are.

    Only the lock and the window hold the guard back: a release in progress (a live lock) is left to
    its own gates, and a release is guarded from its promotion for window seconds. An alert that
    began firing before the promotion is about the version before it, so it is outside the window too.
    """
    if lease is not None and (lease.get("spec") or {}).get("holderIdentity") and (expires_in(lease, now) or 0) > 0:
        return {"action": NOTIFY, "reason": "a release in progress holds the lock (%s)" % lease["spec"]["holderIdentity"]}
    if not release:
        return {"action": NOTIFY, "reason": "no release is recorded"}
    version = release.get("version")
    if release.get("phase") != "promoted":
        return {"action": NOTIFY, "reason": "its last release, %s, is %s, not promoted" % (version, release.get("phase"))}
    promoted = _time(release.get("finished"))
    if promoted is None:
        return {"action": NOTIFY, "reason": "the promotion of %s has no time" % version}
    if window <= 0:
        return {"action": NOTIFY, "reason": "the guard window is 0 (off)"}
    since = _time(alert.get("since")) or now
    if since < promoted:
        return {"action": NOTIFY, "reason": "the alert fired %s before %s was promoted" % (
            _age((promoted - since).total_seconds()), version)}
    age = (now - promoted).total_seconds()
    if age > window:
        return {"action": NOTIFY, "reason": "%s was promoted %s ago, outside its guard window of %s" % (
            version, _age(age), _age(window))}
    return {"action": ROLLBACK, "reason": "%s was promoted %s ago, inside its guard window of %s" % (
        version, _age(age), _age(window))}


def describe(alert, decision):
    """One line for the record, the notifications and the Event: which alert, which value, when, and why."""
    value = " (value %s)" % alert["value"] if alert.get("value") else ""
    return "alert %s%s firing since %s: %s" % (alert["alert"], value, alert["since"] or "now", decision["reason"])


def event(app, namespace, alert, decision, now):
    """A Kubernetes Event on the release record, as a controller reports what it did and why."""
    stamp = timestamp(now)
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": record_name(app) + ".guard-", "namespace": namespace},
        "involvedObject": {"apiVersion": "v1", "kind": "ConfigMap", "name": record_name(app), "namespace": namespace},
        "reason": EVENT_REASONS[decision["action"]],
        "message": describe(alert, decision),
        "type": "Warning",
        "source": {"component": EVENT_COMPONENT},
        "reportingComponent": EVENT_COMPONENT,
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
    }


def run_release_guard(module):
    params = module.params
    app, namespace = params["app"], params["namespace"]
    check_app_name(module, app)
    try:
        window = window_seconds(params["window"])
    except ValueError as error:
        module.fail(str(error))
    now = now_utc()
    result = {"changed": False, "app": app, "namespace": namespace, "window": window, "event": None}
    firing = firing_alerts(params["alerts"], app, namespace)
    if not firing:
        return dict(result, action="none", alert=None, alerts=[], message="no alert fires for %s in %s" % (app, namespace))
    release, _history = decode(read_record(module, app, namespace))
    try:
        lease = module.client.get(LEASES, "leases", namespace, lease_name(app))
    except ApiError as error:
        if error.status != 404:
            raise
        lease = None
    decision = decide(release, lease, firing[0], window, now)
    result.update(action=decision["action"], alert=firing[0], alerts=[a["alert"] for a in firing],
                  message=describe(firing[0], decision), version=(release or {}).get("version"))
    if not module.check_mode:
        written = module.client.create("v1", "events", namespace, event(app, namespace, firing[0], decision, now))
        result.update(changed=True, event=written["metadata"]["name"])
    return result
