# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of every module in this collection: argument handling, one API client per run, and
error reporting in one place (in the manner of amazon.aws' AnsibleAWSModule).

Connection options are exactly kubernetes.core's (kubeconfig, context, host, api_key,
validate_certs, ..., and their K8S_AUTH_* environment variables), resolved with kubernetes.core's
precedence by kube_config, so a playbook's module_defaults work for both collections. The client
is kube_client's small REST client: no API discovery and no kubernetes library to import, which
keeps a task's cost near that of a bare module call. The client and its libraries (urllib3, PyYAML)
are imported only by a task that talks to the API server, so metric_gate, which never does, does
not pay for them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib
from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import name_errors

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
except ImportError:
    KUBERNETES_CORE_IMPORT_ERROR = traceback.format_exc()
    AUTH_ARG_SPEC = {}
else:
    KUBERNETES_CORE_IMPORT_ERROR = None

# How the API server words an RBAC refusal (k8s.io/apiserver's forbidden message).
_FORBIDDEN = re.compile(r'cannot (?P<verb>\S+) resource "(?P<resource>[^"]+)" in API group "(?P<group>[^"]*)"'
                        r'(?: in the namespace "(?P<namespace>[^"]+)")?')
# Optimistic-concurrency conflicts (HTTP 409) are retried on a fresh read this many times.
CONFLICT_ATTEMPTS = 5


class ModuleFailure(Exception):
    """A failure to report as the task's message, raised from anywhere below a module's run()."""

    def __init__(self, msg, **result):
        super(ModuleFailure, self).__init__(msg)
        self.msg = msg
        self.result = result


def api_error_message(error):
    """The API server's own explanation of a failed request, in one line; a refusal by RBAC starts
    with what was refused ("forbidden: patch services in shop: ...") so the missing rule is plain."""
    try:
        body = json.loads(error.body)
        message = body.get("message") or error.reason
        reason = body.get("reason") or error.reason
    except (TypeError, ValueError, AttributeError):
        return "HTTP %s %s" % (error.status, error.reason)
    refused = _FORBIDDEN.search(message) if error.status == 403 else None
    if refused:
        resource = refused.group("resource")
        if refused.group("group"):
            resource = "%s.%s" % (resource, refused.group("group"))
        message = "forbidden: %s %s in %s: %s" % (refused.group("verb"), resource,
                                                  refused.group("namespace") or "the cluster scope", message)
    return "%s (HTTP %s %s)" % (message, error.status, reason)


def without_scalar_suboptions(spec, params):
    """The argument spec minus the suboptions of any dict option given a number or boolean.

    ansible-core raises TypeError ("argument of type 'int' is not iterable") validating the
    suboptions of such a value, a traceback naming no parameter; without the suboptions its own
    type check reports the option by name ("argument 'istio' is of type int ...").
    """
    spec = copy.deepcopy(spec)
    for name, option in spec.items():
        value = params.get(name) if isinstance(params, dict) else None
        if not option.get("options"):
            continue
        if isinstance(value, (bool, int, float)):
            del option["options"]
        elif isinstance(value, dict):
            option["options"] = without_scalar_suboptions(option["options"], value)
        elif isinstance(value, list) and option.get("elements") == "dict":
            for item in value:
                if isinstance(item, (bool, int, float)):
                    continue  # ansible-core reports a wrong list element itself
                option["options"] = without_scalar_suboptions(option["options"], item)
    return spec


class KubeModule(object):
    """AnsibleModule plus the kubernetes.core connection options and a lazily built API client.

    Subclass-free use: ``module = KubeModule(argument_spec=...); module.run(main)`` where main
    takes the module and returns the result dict. Failures raised as ModuleFailure, ApiError
    or connection errors end the task with one clear message.
    """

    def __init__(self, argument_spec, controller=None, **kwargs):
        """controller, when given, holds the task's params, check_mode and diff: the module's work then
        runs inside ansible's own process, called by the module's action plugin (see ControllerArguments)."""
        spec = copy.deepcopy(AUTH_ARG_SPEC)
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        if controller is None:
            self.ansible = AnsibleModule(argument_spec=without_scalar_suboptions(spec, _load_params()), **kwargs)
        else:
            kwargs.pop("supports_check_mode")
            self.ansible = ControllerArguments(without_scalar_suboptions(spec, controller["params"]), **dict(
                controller, **kwargs))
        if KUBERNETES_CORE_IMPORT_ERROR:
            self.ansible.fail_json(msg="the kubernetes.core collection is required",
                                   exception=KUBERNETES_CORE_IMPORT_ERROR)
        errors = name_errors(dict((key, self.params.get(key)) for key in ("namespace", "name")
                                  if key in argument_spec))
        if errors:
            self.ansible.fail_json(msg="; ".join(errors))
        self._client = None
        self._client_wanted = False  # once True, errors of the client and its connection are reported as such

    @property
    def params(self):
        return self.ansible.params

    @property
    def check_mode(self):
        return self.ansible.check_mode

    @property
    def diff_mode(self):
        return self.ansible._diff

    @property
    def dry_run(self):
        """The dry_run argument for write calls: the server validates but stores nothing."""
        return "All" if self.check_mode else None

    @property
    def client(self):
        """One KubeClient per task, connected the way kubernetes.core would connect."""
        if self._client is None:
            self._client_wanted = True
            from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils import kube_client, kube_config

            for library, error in (("urllib3", kube_client.URLLIB3_IMPORT_ERROR),
                                   ("PyYAML", kube_config.YAML_IMPORT_ERROR)):
                if error:
                    self.fail(missing_required_lib(library), exception=error)
            self._client = kube_client.KubeClient(kube_config.resolve_connection(self.params))
        return self._client

    def fail(self, msg, **result):
        raise ModuleFailure(msg, **result)

    def warn(self, warning):
        self.ansible.warn(warning)

    def outcome(self, main):
        """main(self)'s result, or the failure it ended with (failed and msg set): every failure path ends here."""
        try:
            return main(self)
        except ModuleFailure as failure:
            return dict(failure.result, failed=True, msg=failure.msg)
        except Exception as error:
            failure = self._client_wanted and client_failure(error)
            if not failure:
                raise
            return dict(failure, failed=True)

    def run(self, main):
        """Runs main(self) and exits with its result."""
        result = self.outcome(main)
        if result.pop("failed", False):
            self.ansible.fail_json(**result)
        self.ansible.exit_json(**result)


class ControllerArguments(object):
    """What KubeModule uses of AnsibleModule - the validated params, check and diff mode, warnings,
    the values kept out of the output - for a module's work run by its action plugin inside
    ansible's worker process, where AnsibleModule (which reads stdin and exits) cannot be. Arguments
    are validated as AnsibleModule validates them; a failure raises ModuleFailure."""

    def __init__(self, argument_spec, params, check_mode, diff, **constraints):
        result = ModuleArgumentSpecValidator(argument_spec, **constraints).validate(params)
        self.no_log_values = set(result._no_log_values)
        if result.error_messages:
            unsupported = isinstance(result.errors[0], UnsupportedError)
            raise ModuleFailure(("Unsupported parameters: %s" if unsupported else "%s") % result.errors.msg)
        self.params = result.validated_parameters
        self.check_mode, self._diff = check_mode, diff
        self.warnings = []

    def warn(self, warning):
        self.warnings.append(warning)

    def fail_json(self, msg, **result):
        result.pop("exception", None)
        raise ModuleFailure(msg, **result)


def client_failure(error):
    """fail_json's arguments for an error of the API client (a refusal, the connection settings or
    the connection itself), None for any other error."""
    import urllib3

    from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import ApiError
    from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_config import KubeConfigError

    if isinstance(error, ApiError):
        return dict(msg="the Kubernetes API refused a request: %s" % api_error_message(error), status=error.status)
    if isinstance(error, KubeConfigError):
        return dict(msg="cannot load the Kubernetes connection settings: %s" % error)
    if isinstance(error, (urllib3.exceptions.HTTPError, OSError)):
        return dict(msg="cannot reach the Kubernetes API server: %s" % error)
    return None


def update_with_conflict_retry(read, compute, write, attempts=CONFLICT_ATTEMPTS):
    """Read-modify-write that never overwrites someone else's concurrent edit.

    read() returns the live object; compute(live) returns the desired object, or None when the
    live object already matches; write(desired) must send desired's metadata.resourceVersion so
    the server answers 409 if the object changed since it was read. On 409 the cycle restarts
    from a fresh read. Returns (live_before, written_or_None).
    """
    from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import ApiError

    attempt = 0
    while True:
        attempt += 1
        live = read()
        desired = compute(copy.deepcopy(live))
        if desired is None:
            return live, None
        try:
            return live, write(desired)
        except ApiError as error:
            if error.status != 409 or attempt >= attempts:
                raise
            time.sleep(0.05 * attempt)
