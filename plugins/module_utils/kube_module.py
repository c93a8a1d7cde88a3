# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of every module in this collection: argument handling, one API client per run, and
error reporting in one place (in the manner of amazon.aws' AnsibleAWSModule).

Connection options are exactly kubernetes.core's (kubeconfig, context, host, api_key,
validate_certs, ..., and their K8S_AUTH_* environment variables), resolved by kubernetes.core's
own code, so a playbook's module_defaults work for both collections. Unlike kubernetes.core's
dynamic client, the typed client used here needs no API discovery, which keeps a task's cost near
that of a bare module call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, _load_params, missing_required_lib
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import name_errors

try:
    import kubernetes
    import urllib3
    from kubernetes.client.rest import ApiException
    from kubernetes.config.config_exception import ConfigException
except ImportError:
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):
        """Stands in so except clauses stay valid; the module fails before any call."""

    class ConfigException(Exception):
        """Stands in so except clauses stay valid; the module fails before any call."""
else:
    KUBERNETES_IMPORT_ERROR = None

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (
        _create_auth_spec,
        _create_configuration,
        _create_headers,
    )
except ImportError:
    KUBERNETES_CORE_IMPORT_ERROR = traceback.format_exc()
    AUTH_ARG_SPEC = {}
else:
    KUBERNETES_CORE_IMPORT_ERROR = None

# Idempotent requests (GET, PUT, DELETE) that meet a restarting or overloaded API server are
# retried with exponential backoff, within a bound; writes guarded by resourceVersion stay safe.
# 500 covers etcd leader changes ("etcdserver: leader changed"), 429 and 503 the server's own
# Retry-After. Any request whose connection was refused is retried: it never reached the server.
RETRY_STATUSES = (429, 500, 502, 503, 504)
RETRY_TOTAL = 6
RETRY_BACKOFF_SECONDS = 0.25
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


def retry_policy():
    """The one retry policy of every request a module sends: a restarting or overloaded API server
    costs at most RETRY_TOTAL retries, about 15 s of backoff (0, 0.5, 1, 2, 4, 8 s), then the
    last answer (an ApiException) or the connection error ends the task."""
    return urllib3.Retry(total=RETRY_TOTAL, backoff_factor=RETRY_BACKOFF_SECONDS,
                         status_forcelist=RETRY_STATUSES, raise_on_status=False)


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
    takes the module and returns the result dict. Failures raised as ModuleFailure, ApiException
    or connection errors end the task with one clear message.
    """

    def __init__(self, argument_spec, **kwargs):
        spec = copy.deepcopy(AUTH_ARG_SPEC)
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        self.ansible = AnsibleModule(argument_spec=without_scalar_suboptions(spec, _load_params()), **kwargs)
        if KUBERNETES_IMPORT_ERROR:
            self.ansible.fail_json(msg=missing_required_lib("kubernetes"),
                                   exception=KUBERNETES_IMPORT_ERROR)
        if KUBERNETES_CORE_IMPORT_ERROR:
            self.ansible.fail_json(msg="the kubernetes.core collection is required",
                                   exception=KUBERNETES_CORE_IMPORT_ERROR)
        errors = name_errors(dict((key, self.params.get(key)) for key in ("namespace", "name")
                                  if key in argument_spec))
        if errors:
            self.ansible.fail_json(msg="; ".join(errors))
        self._client = None

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
        """One kubernetes ApiClient per task, configured the way kubernetes.core configures its own."""
        if self._client is None:
            configuration = _create_configuration(_create_auth_spec(self.ansible))
            configuration.retries = retry_policy()
            self._client = kubernetes.client.ApiClient(configuration)
            for header, value in _create_headers(self.ansible).items():
                for item in (value if isinstance(value, list) else [value]):
                    self._client.set_default_header(header, item)
        return self._client

    def api(self, api_class):
        """A typed API bound to this task's client, e.g. module.api(kubernetes.client.AppsV1Api)."""
        return api_class(self.client)

    @staticmethod
    def read_json(call, *args, **kwargs):
        """Calls a typed API method and returns the raw JSON as dicts, skipping model objects."""
        response = call(*args, _preload_content=False, **kwargs)
        return json.loads(response.data)

    def fail(self, msg, **result):
        raise ModuleFailure(msg, **result)

    def run(self, main):
        """Runs main(self) and exits with its result; every failure path ends here."""
        try:
            result = main(self)
        except ModuleFailure as failure:
            self.ansible.fail_json(msg=failure.msg, **failure.result)
        except ApiException as error:
            self.ansible.fail_json(msg="the Kubernetes API refused a request: %s"
                                   % api_error_message(error), status=error.status)
        except ConfigException as error:
            self.ansible.fail_json(msg="cannot load the Kubernetes connection settings: %s" % error)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            self.ansible.fail_json(msg="cannot reach the Kubernetes API server: %s" % error)
        self.ansible.exit_json(**result)


def update_with_conflict_retry(read, compute, write, attempts=CONFLICT_ATTEMPTS):
    """Read-modify-write that never overwrites someone else's concurrent edit.

    read() returns the live object; compute(live) returns the desired object, or None when the
    live object already matches; write(desired) must send desired's metadata.resourceVersion so
    the server answers 409 if the object changed since it was read. On 409 the cycle restarts
    from a fresh read. Returns (live_before, written_or_None).
    """
    attempt = 0
    while True:
        attempt += 1
        live = read()
        desired = compute(copy.deepcopy(live))
        if desired is None:
            return live, None
        try:
            return live, write(desired)
        except ApiException as error:
            if error.status != 409 or attempt >= attempts:
                raise
            time.sleep(0.05 * attempt)
