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


def _cluster(host):
    """An application's cluster: pd_cluster, else its kubeconfig context."""
    return host.get("pd_cluster") or host.get("pd_context") or ""


def fleet_application(host):
    """What the plan needs of an application, from its hostvars."""
    return {"name": host["inventory_hostname"], "cluster": _cluster(host), "after": host.get("pd_release_after") or []}


def fleet_report_row(host):
    """An application's row of the fleet report, from its hostvars."""
    return fleet.report_row(host["inventory_hostname"], _cluster(host), host.get("pd_release_strategy"),
                            str(host.get("release_version", "")), host.get("fleet_wave"), host.get("fleet_result"))


class FilterModule(object):
    def filters(self):
        return {"fleet_plan": _refusing(fleet.plan_fleet), "fleet_stop_reason": _refusing(fleet.stop_reason),
                "fleet_outcome": fleet.outcome, "fleet_application": fleet_application,
                "fleet_report_row": fleet_report_row, "fleet_table": fleet.report_table}
