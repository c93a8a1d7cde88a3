# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one interface every traffic router implements, and the API access they share.

A router reads its live objects as a dict of parts (for example {"route": HTTPRoute}), computes
the desired parts for a request with pure functions, and writes back only the parts that differ.
Routers never write anything outside the parts they own, and every replace carries the
resourceVersion that was read, so a concurrent edit makes the server answer 409 instead of being
overwritten.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
from abc import ABC, abstractmethod

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import ApiError
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    ModuleFailure,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import label_selector

# Names and markers of what this collection adds to a route, so it can find them again.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "terragonlabs.progressive_delivery"
HEADER_ROUTE_NAME = "progressive-delivery-header"


class Unsupported(ModuleFailure):
    def __init__(self, router, what):
        super(Unsupported, self).__init__("router %s does not support %s" % (router, what))


def percentages(raw):
    """{backend: raw weight} -> {backend: whole percent of the total}."""
    total = sum(raw.values())
    return dict((name, int(round(100.0 * value / total)) if total else 0) for name, value in raw.items())


def cookie_pattern(cookie):
    """A regular expression matching a Cookie header that carries cookie ("name=value")."""
    return "^(.*?;\\s*)?(%s)(;.*)?$" % cookie.replace(".", "\\.")


def cookie_from_pattern(pattern):
    prefix, suffix = "^(.*?;\\s*)?(", ")(;.*)?$"
    if pattern.startswith(prefix) and pattern.endswith(suffix):
        return pattern[len(prefix):-len(suffix)].replace("\\.", ".")
    return None


class Resource(object):
    """Get, list, create, replace and delete of one kind in one namespace, as raw JSON dicts.

    Writes pass the module's dry_run, so check mode is a server-side dry run of the same call.
    """

    def __init__(self, module, kind, namespace, api_version, plural, crd=None):
        self.module = module
        self.kind = kind
        self.namespace = namespace
        self.api_version = api_version
        self.plural = plural
        self.crd = crd

    @classmethod
    def custom(cls, module, kind, namespace, group, version, plural):
        """A custom resource, whose kind may be missing from the cluster (named in the failure)."""
        return cls(module, kind, namespace, "%s/%s" % (group, version), plural, crd="%s.%s" % (plural, group))

    @classmethod
    def typed(cls, module, kind, namespace, api_version, plural):
        """A built-in kind, e.g. typed(module, "Service", namespace, "v1", "services")."""
        return cls(module, kind, namespace, api_version, plural)

    def _missing_crd(self, error):
        """A 404 without the object's name means the kind itself is unknown to the server."""
        if self.crd is None or error.status != 404:
            return False
        try:
            details = json.loads(error.body).get("details") or {}
        except (TypeError, ValueError):
            details = {}
        return not details.get("name")

    def _call(self, verb, *args, **kwargs):
        try:
            return getattr(self.module.client, verb)(self.api_version, self.plural, self.namespace, *args, **kwargs)
        except ApiError as error:
            if self._missing_crd(error):
                raise ModuleFailure("the %s CustomResourceDefinition (%s) is not installed in the cluster"
                                    % (self.kind, self.crd))
            raise

    def get(self, name, parameter):
        """The object, or a failure naming it and the parameter that named it."""
        try:
            return self._call("get", name)
        except ApiError as error:
            if error.status == 404:
                raise ModuleFailure("%s %s/%s (%s) does not exist" % (self.kind, self.namespace, name, parameter))
            raise

    def get_optional(self, name):
        try:
            return self._call("get", name)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def list(self, **kwargs):
        return self._call("list", **kwargs)["items"]

    def create(self, body):
        return self._call("create", body, dry_run=self.module.dry_run)

    def replace(self, body):
        return self._call("replace", body["metadata"]["name"], body, dry_run=self.module.dry_run)

    def delete(self, name):
        return self._call("delete", name, dry_run=self.module.dry_run)


def find_one(resource, wanted, references, parameter):
    """The object named by `wanted`, else the only object for which references(obj) is true."""
    if wanted:
        return resource.get(wanted, parameter)
    found = [obj for obj in resource.list() if references(obj)]
    names = ", ".join(sorted(obj["metadata"]["name"] for obj in found))
    if not found:
        raise ModuleFailure("no %s in namespace %s routes to the stable backend; name one with %s"
                            % (resource.kind, resource.namespace, parameter))
    if len(found) > 1:
        raise ModuleFailure("several %ss in namespace %s route to the stable backend (%s); name one with %s"
                            % (resource.kind, resource.namespace, names, parameter))
    return found[0]


class Router(ABC):
    """What every router does. Pure methods take and return parts dicts; only read, write and
    ready_endpoints talk to the API server."""

    name = None

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.namespace = module.params["namespace"]
        self.stable = module.params["stable"]
        self.canary = module.params["canary"]
        self.resources = {}  # part name -> Resource that reads and writes it
        self.live = None
        self._ready_endpoints = None  # {Service: ready endpoints}, once read

    # I/O -----------------------------------------------------------------------------------

    @abstractmethod
    def read_parts(self):
        """{part: object or None}, reading each part once; fails naming what is missing."""

    def read(self):
        self.live = self.read_parts()
        return self.live

    def write(self, desired):
        """Creates, replaces or deletes each part that differs from the last read; returns what
        the server answered, part by part (its dry-run answer in check mode)."""
        written = {}
        for part, body in desired.items():
            before = self.live.get(part)
            if body == before:
                written[part] = before
            elif body is None:
                self.resources[part].delete(before["metadata"]["name"])
                written[part] = None
            elif before is None:
                written[part] = self.resources[part].create(body)
            else:
                written[part] = self.resources[part].replace(body)
        return written

    def ready_endpoints(self, backend):
        """Ready endpoints of the Service named backend, counted from its EndpointSlices. Both
        backends' slices come in one consistent list, read once per task: a consistent list may wait
        up to 100 ms for the API server's watch cache to catch up with etcd."""
        if self._ready_endpoints is None:
            slices = self.module.client.list(
                "discovery.k8s.io/v1", "endpointslices", self.namespace,
                label_selector="kubernetes.io/service-name in (%s)" % ",".join(sorted({self.stable, self.canary})))
            addresses = {}
            for endpoint_slice in slices["items"]:
                service = (endpoint_slice["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
                for endpoint in endpoint_slice.get("endpoints") or []:
                    if (endpoint.get("conditions") or {}).get("ready", True):
                        addresses.setdefault(service, set()).update(endpoint.get("addresses") or [])
            self._ready_endpoints = dict((service, len(found)) for service, found in addresses.items())
        return self._ready_endpoints.get(backend, 0)

    def ready_pods(self, selector):
        pods = self.module.client.list("v1", "pods", self.namespace, label_selector=label_selector(selector))["items"]
        return sum(1 for pod in pods if not pod["metadata"].get("deletionTimestamp") and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (pod.get("status") or {}).get("conditions") or []))

    # pure ----------------------------------------------------------------------------------

    @abstractmethod
    def state(self, parts):
        """{"weights": {backend: percent}, "header_route": dict or None, "mirror": percent}."""

    @abstractmethod
    def set_weight(self, parts, weight):
        """Parts with `weight` percent to the canary and the rest to stable."""

    def set_header_route(self, parts, header_route):
        raise Unsupported(self.name, "header routes")

    def set_mirror(self, parts, percent):
        raise Unsupported(self.name, "mirroring")

    def remove_managed_routes(self, parts):
        """Parts without the header route, mirror and objects this collection added."""
        return parts

    def receivers(self, parts):
        """Backends that receive any traffic in parts: weight, header route or mirror."""
        state = self.state(parts)
        names = set(name for name, weight in state["weights"].items() if weight > 0)
        if state.get("header_route") or state.get("mirror"):
            names.add(self.canary)
        return names

    def desired(self, parts, request):
        """Parts after applying request (weight, header_route, mirror, remove_managed_routes)."""
        parts = copy.deepcopy(parts)
        if request.get("remove_managed_routes"):
            parts = self.remove_managed_routes(parts)
        if request.get("weight") is not None:
            parts = self.set_weight(parts, request["weight"])
        # Compared as state, not as objects: the API server adds defaults to what was written.
        if request.get("header_route") is not None and self.state(parts)["header_route"] != (
                request["header_route"] or None):
            parts = self.set_header_route(parts, request["header_route"])
        if request.get("mirror") is not None and self.state(parts)["mirror"] != request["mirror"]:
            parts = self.set_mirror(parts, request["mirror"])
        return parts

    def managed_share(self, raw, weight, total, where):
        """Raw weights for stable and canary, leaving other backends' weights as they are."""
        others = sum(value for name, value in raw.items() if name not in (self.stable, self.canary))
        if others > total:
            raise ModuleFailure("other backends of %s already take %s of %s; cannot give the canary %s"
                                % (where, others, total, weight))
        canary = int(round((total - others) * weight / 100.0))
        return total - others - canary, canary


def header_route_state(headers, cookie):
    if not headers and not cookie:
        return None
    return {"headers": headers, "cookie": cookie}
