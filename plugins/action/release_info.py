# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads the release record (and where traffic is) inside the worker process on the controller:
every release playbook ends by publishing it, and status, promote, abort and rollback start from
it, so its process start-up was a fixed cost of each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_record import (
    RELEASE_INFO_SPEC,
    run_release_info,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.plugin_utils.controller_module import (
    ControllerModuleAction,
)


class ActionModule(ControllerModuleAction):

    MODULE = "terragonlabs.progressive_delivery.release_info"

    def work(self):
        return RELEASE_INFO_SPEC, {}, run_release_info

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        return self.call(dict(self._task.args), task_vars)
