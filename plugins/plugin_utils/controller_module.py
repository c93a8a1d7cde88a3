# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of a module whose work can run inside ansible's worker process.

On the controller (a local connection without become) the module's work runs in the worker
itself, with the controller's Python: no module to package and no interpreter to start, which
is most of what a short task costs. On any other connection the module runs where the task runs,
as kubernetes.core's modules do; both run the same code and return the same result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_config import (
    remove_private_files,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    KubeModule,
    ModuleFailure,
)


class ControllerModuleAction(ActionBase):
    """Subclasses name their MODULE and say, in work(), what runs in process. They import that code
    at the top: ansible loads an action plugin in its main process before it forks the task's
    worker, so every worker (one per task and host) finds the code loaded rather than importing it
    again - 0.3 s of processor time each for the release engine, which a fleet paid per application."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    MODULE = None

    def work(self):
        """(argument spec, AnsibleModule's constraints such as required_if, main(module) -> result)."""
        raise NotImplementedError

    def call(self, args, task_vars):
        """One run of the module's work with these arguments: its result, failed and msg set on a failure."""
        if self._connection.transport == "local" and not self._play_context.become:
            return self._call_in_process(args)
        return self._execute_module(module_name=self.MODULE, module_args=dict(args), task_vars=task_vars)

    def _call_in_process(self, args):
        spec, constraints, main = self.work()
        environment = {}
        self._compute_environment_string(environment)
        saved = dict(os.environ)
        # The task's environment (K8S_AUTH_* for one) reaches the work as it would reach a module.
        os.environ.update(environment)
        try:
            module = KubeModule(spec, controller=dict(
                constraints, params=args, check_mode=bool(self._task.check_mode), diff=bool(self._task.diff)))
            result = module.outcome(main)
        except ModuleFailure as failure:  # arguments refused
            return dict(failure.result, failed=True, msg=failure.msg)
        finally:
            remove_private_files()
            os.environ.clear()
            os.environ.update(saved)
        if module.ansible.warnings:
            result["warnings"] = module.ansible.warnings
        return remove_values(result, module.ansible.no_log_values)
