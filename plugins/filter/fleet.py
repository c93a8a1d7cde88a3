# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters: a fleet's release plan, when it stops, and its report as a table."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import fleet


def _refusing(function):
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except ValueError as error:
            raise AnsibleFilterError(str(error))
    return call


class FilterModule(object):
    def filters(self):
        return {"fleet_plan": _refusing(fleet.plan_fleet), "fleet_stop_reason": _refusing(fleet.stop_reason),
                "fleet_table": fleet.report_table}
