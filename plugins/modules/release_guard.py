#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_guard
short_description: Decide whether an alert rolls an application's promoted release back
version_added: 0.1.0
description:
  - The guard window after a promotion. Given the alerts of an Alertmanager notification, takes
    those that fire for O(app) in O(namespace) (their C(app) and C(namespace) labels, which the
    C(environment) role's alert rules carry) and decides, for the oldest, whether the release is
    rolled back - RV(action=rollback) - or the alert is only reported - RV(action=notify).
  - It is V(rollback) when the application's current release is promoted, the alert started
    firing after that promotion, at most O(window) has passed since the promotion, and no release
    holds the application's lock (a live C(<app>-release-lock) Lease). Otherwise V(notify), with the
    reason in RV(message) - outside the window, a release in progress, a release already rolled
    back or aborted, no record. Nothing else holds a rollback back.
  - The decision is recorded as a Kubernetes Event on the release record's ConfigMap (reason
    C(GuardRollback) or C(GuardAlertIgnored)), naming the alert, its value, since when it fires and
    why. The rollback itself is C(playbooks/rollback.yml), which C(playbooks/guard.yml) runs next.
author:
  - Terragon Labs (@terragonlabs)
options:
  window:
    description:
      - How long after its promotion a release is guarded, as seconds or a string such as V(90s),
        V(30m) or V(2h). V(0) turns the guard off (every alert is only reported).
    type: raw
    required: true
  alerts:
    description:
      - The alerts of an Alertmanager webhook notification (its C(alerts) list), each with
        C(status), C(labels) (C(alertname), C(app), C(namespace)), C(annotations) (C(value),
        C(summary)) and C(startsAt).
      - Alerts that are resolved or name another application or namespace are ignored.
    type: list
    elements: dict
    required: true
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.application
  - terragonlabs.progressive_delivery.application.api_client
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Decides as a normal run does but records no Event.
  diff_mode:
    support: none
    description: Changes no object; it only adds an Event.
seealso:
  - module: terragonlabs.progressive_delivery.release_info
  - module: terragonlabs.progressive_delivery.release_lock
"""

EXAMPLES = r"""
- name: Decide what an alert does to the release
  terragonlabs.progressive_delivery.release_guard:
    app: modelcard-generator
    namespace: modelcard
    window: 30m
    alerts: "{{ ansible_eda.event.payload.alerts }}"
  register: guard

- name: Roll back
  ansible.builtin.debug:
    msg: "{{ guard.message }}"
  when: guard.action == 'rollback'
"""

RETURN = r"""
action:
  description:
    - V(rollback) when the release is to be rolled back, V(notify) when the alert is only reported,
      V(none) when no alert fires for the application.
  returned: always
  type: str
  sample: rollback
message:
  description: Which alert, its value, since when it fires, and why the guard decided so.
  returned: always
  type: str
  sample: >-
    alert HighErrorRate (value 0.41) firing since 2026-12-05T04:01:02Z: 1.1.0 was promoted 35s ago,
    inside its guard window of 1800s
alert:
  description: The oldest alert firing for the application (null when none does).
  returned: always
  type: dict
  contains:
    alert:
      description: The alert's name.
      type: str
      sample: HighErrorRate
    value:
      description: The alert's C(value) annotation, the measured value when it fired.
      type: str
      sample: "0.41"
    since:
      description: When it started firing (Alertmanager's C(startsAt)).
      type: str
      sample: "2026-12-05T04:01:02.104Z"
    summary:
      description: The alert's C(summary) annotation.
      type: str
alerts:
  description: The names of every alert firing for the application, oldest first.
  returned: always
  type: list
  elements: str
version:
  description: The version of the application's current release.
  returned: when an alert fires for the application
  type: str
  sample: 1.1.0
window:
  description: The guard window in seconds.
  returned: always
  type: int
  sample: 1800
event:
  description: The name of the Event recording the decision (null in check mode or without an alert).
  returned: always
  type: str
app:
  description: The application.
  returned: always
  type: str
namespace:
  description: The namespace.
  returned: always
  type: str
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.guard import run_release_guard
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import APPLICATION_OPTIONS


def main():
    KubeModule(argument_spec=dict(
        APPLICATION_OPTIONS,
        window=dict(type="raw", required=True),
        alerts=dict(type="list", elements="dict", required=True),
    )).run(run_release_guard)


if __name__ == "__main__":
    main()
