# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenShift Route: the weights of spec.to and spec.alternateBackends."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    ModuleFailure,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.base import (
    Resource,
    Router,
    find_one,
    percentages,
)

MAX_ALTERNATE_BACKENDS = 3  # the Route API's limit
TOTAL = 100
DEFAULT_WEIGHT = 100  # what the Route API assumes when a target has no weight


def _targets(route):
    spec = route["spec"]
    return [spec["to"]] + list(spec.get("alternateBackends") or [])


class OpenShiftRouteRouter(Router):
    name = "openshift_route"

    def __init__(self, module):
        super(OpenShiftRouteRouter, self).__init__(module)
        self.resources["route"] = Resource.custom(module, "Route", self.namespace, "route.openshift.io", "v1", "routes")

    def read_parts(self):
        route = find_one(self.resources["route"], self.params["route"], self._routes_stable, "route")
        if not self._routes_stable(route):
            raise ModuleFailure("backend %s (stable) is not in Route %s" % (self.stable, route["metadata"]["name"]))
        return {"route": route}

    def _routes_stable(self, route):
        return any(target.get("name") == self.stable for target in _targets(route))

    # pure ----------------------------------------------------------------------------------

    def _raw(self, route):
        raw = dict((target["name"], target.get("weight", DEFAULT_WEIGHT)) for target in _targets(route))
        raw.setdefault(self.canary, 0)
        return raw

    def state(self, parts):
        return {"weights": percentages(self._raw(parts["route"])), "header_route": None, "mirror": 0}

    def set_weight(self, parts, weight):
        route = parts["route"]
        if not any(target.get("name") == self.canary for target in _targets(route)):
            alternates = route["spec"].setdefault("alternateBackends", [])
            if len(alternates) >= MAX_ALTERNATE_BACKENDS:
                raise ModuleFailure("Route %s already has %d alternateBackends, the most a Route allows; "
                                    "cannot add %s (canary)" % (route["metadata"]["name"], len(alternates), self.canary))
            alternates.append({"kind": "Service", "name": self.canary, "weight": 0})
        stable, canary = self.managed_share(self._raw(route), weight, TOTAL, "Route %s" % route["metadata"]["name"])
        for target in _targets(route):
            if target.get("name") == self.stable:
                target["weight"] = stable
            elif target.get("name") == self.canary:
                target["weight"] = canary
        return parts
