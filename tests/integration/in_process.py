"""Runs the collection's modules inside the test process, as ansible-test's unit tests do, so a call
costs milliseconds: the arguments go in through ansible's patch_module_args and the result is the
JSON the module prints before it exits."""

import contextlib
import importlib
import io
import json
from unittest import mock

from ansible.module_utils.testing import patch_module_args

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import kube_module

MODULES = ("metric_gate", "release_config", "release_guard", "release_info", "release_lock", "release_record",
           "rollout_scale", "rollout_status", "rollout_undo", "traffic_info", "traffic_switch")


def _module(name):
    return importlib.import_module("ansible_collections.terragonlabs.progressive_delivery.plugins.modules." + name)


def run_in_process(module, args, check=False):
    """The module's result dict for these arguments (check=True runs it in check mode)."""
    args = dict(args, _ansible_check_mode=check)
    printed = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(printed):
        try:
            _module(module).main()
        except SystemExit:
            pass
    return json.loads(printed.getvalue())


class _SpecSeen(Exception):
    def __init__(self, spec):
        super().__init__("argument spec captured")
        self.spec = spec


def argument_spec(module):
    """The module's own options (without the connection options), as its main() declares them."""
    def capture(self, argument_spec, **kwargs):
        raise _SpecSeen(dict(argument_spec, **{"__module_kwargs__": kwargs}))

    with mock.patch.object(kube_module.KubeModule, "__init__", capture):
        try:
            _module(module).main()
        except _SpecSeen as seen:
            spec = seen.spec
            return spec, spec.pop("__module_kwargs__")
    raise AssertionError("%s's main() built no KubeModule" % module)
