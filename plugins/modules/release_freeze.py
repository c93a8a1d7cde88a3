#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_freeze
short_description: Refuse a release inside a freeze window, unless overridden with a reason
version_added: 0.1.0
description:
  - Checks the time now against O(windows) and fails, naming the window and when it ends, when a
    release would start inside one - unless O(override) gives a reason, which RV(override) returns for
    the release record and the notifications.
  - It reads nothing but the clock and changes nothing, so the release roles run it first, before any
    other check or change, in check mode too. Rollbacks and aborts do not call it - they are never
    frozen.
  - A malformed window (an unknown field, a date that is not one, an unknown time zone) fails,
    naming O(parameter) with the window's index and field.
author:
  - Terragon Labs (@terragonlabs)
options:
  windows:
    description:
      - The freeze windows. Each has an optional C(name), an optional C(time_zone) (an IANA name such
        as C(Europe/Berlin); C(UTC) when not set), and either C(start) and C(end) - dates
        (C(2026-12-24), the end day included) or dates and times (C(2026-12-24T18:00), the end
        excluded) in that zone - or C(weekly) with C(start) and C(end) as a day and a time
        (C(Fri 18:00), C(Mon 06:00)), which may run over the week's end.
    type: list
    elements: dict
    default: []
  override:
    description: Why this release goes ahead inside a window; empty, a window refuses it.
    type: str
  parameter:
    description: The name the caller knows O(windows) by, for the error messages.
    type: str
    default: windows
attributes:
  check_mode:
    support: full
    description: The same check; nothing changes either way.
  diff_mode:
    support: none
    description: Nothing changes.
seealso:
  - module: terragonlabs.progressive_delivery.release
"""

EXAMPLES = r"""
- name: Refuse the release during the year-end freeze and on weekends, unless overridden
  terragonlabs.progressive_delivery.release_freeze:
    windows:
      - name: year-end
        start: "2026-12-20"
        end: "2027-01-03"
        time_zone: Europe/Berlin
      - name: weekend
        weekly: {start: "Fri 16:00", end: "Mon 06:00"}
        time_zone: Europe/Berlin
    override: "{{ freeze_override | default(omit) }}"
  register: freeze
"""

RETURN = r"""
window:
  description: The window in effect now (C(name), and C(until), when it ends, with its offset), or null.
  returned: always
  type: dict
  sample: {name: year-end, until: "2027-01-04T00:00:00+01:00"}
override:
  description: The reason the release goes ahead inside RV(window); null outside a window.
  returned: always
  type: str
"""

import datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.freeze import (
    FreezeWindowError,
    active_window,
    parse_windows,
)


def main():
    module = AnsibleModule(argument_spec=dict(
        windows=dict(type="list", elements="dict", default=[]),
        override=dict(type="str"),
        parameter=dict(type="str", default="windows"),
    ), supports_check_mode=True)
    params = module.params
    try:
        windows = parse_windows(params["windows"], params["parameter"])
    except FreezeWindowError as error:
        module.fail_json(msg=str(error))
    window = active_window(windows, datetime.datetime.now(datetime.timezone.utc))
    override = (params["override"] or "").strip()
    if window and not override:
        module.fail_json(msg="releases are frozen: %s window %r lasts until %s; give a reason in freeze_override "
                             "to release anyway" % (params["parameter"], window["name"], window["until"]),
                         window=window, override=None)
    module.exit_json(changed=False, window=window, override=override if window else None)


if __name__ == "__main__":
    main()
