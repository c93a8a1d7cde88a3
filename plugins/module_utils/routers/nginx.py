# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NGINX Ingress: a canary Ingress derived from the stable one, carrying the NGINX canary
annotations and weight. The stable Ingress is only read, never written."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    ModuleFailure,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.base import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    Resource,
    Router,
)

CANARY = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
CANARY_WEIGHT_TOTAL = "nginx.ingress.kubernetes.io/canary-weight-total"


def _service_refs(spec):
    """Every service backend of an Ingress spec, as the dicts to rename."""
    refs = []
    if (spec.get("defaultBackend") or {}).get("service"):
        refs.append(spec["defaultBackend"]["service"])
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            if (path.get("backend") or {}).get("service"):
                refs.append(path["backend"]["service"])
    return refs


def _is_canary(ingress):
    return (ingress["metadata"].get("annotations") or {}).get(CANARY) == "true"


class NginxRouter(Router):
    name = "nginx"

    def __init__(self, module):
        super(NginxRouter, self).__init__(module)
        resource = Resource.typed(module, "Ingress", self.namespace, "networking.k8s.io/v1", "ingresses")
        self.resources = {"stable": resource, "canary": resource}
        self.canary_name = None

    def read_parts(self):
        stable = self.resources["stable"].get(self.params["route"], "route") if self.params["route"] else None
        if stable is None:
            candidates = [ingress for ingress in self.resources["stable"].list()
                          if not _is_canary(ingress) and self._routes_stable(ingress)]
            if len(candidates) != 1:
                raise ModuleFailure("%s Ingress in namespace %s routes to %s (stable); name one with route" % (
                    "no" if not candidates else "more than one", self.namespace, self.stable))
            stable = candidates[0]
        if not self._routes_stable(stable):
            raise ModuleFailure("backend %s (stable) is not in Ingress %s" % (self.stable, stable["metadata"]["name"]))
        self.canary_name = (self.params.get("nginx") or {}).get("canary_ingress") or (
            "%s-canary" % stable["metadata"]["name"])
        canary = self.resources["canary"].get_optional(self.canary_name)
        if canary is not None and not _is_canary(canary):
            raise ModuleFailure("Ingress %s exists and is not an NGINX canary Ingress; choose another "
                                "nginx.canary_ingress" % self.canary_name)
        return {"stable": stable, "canary": canary}

    def _routes_stable(self, ingress):
        return any(ref.get("name") == self.stable for ref in _service_refs(ingress["spec"]))

    # pure ----------------------------------------------------------------------------------

    def state(self, parts):
        weight = 0
        if parts["canary"] is not None:
            annotations = parts["canary"]["metadata"].get("annotations") or {}
            total = float(annotations.get(CANARY_WEIGHT_TOTAL, 100))
            weight = int(round(100.0 * float(annotations.get(CANARY_WEIGHT, 0)) / total))
        return {"weights": {self.stable: 100 - weight, self.canary: weight}, "header_route": None, "mirror": 0,
                "canary_ingress": self.canary_name if parts["canary"] is not None else None}

    def derive_canary(self, stable, existing):
        """The canary Ingress: the stable Ingress's spec pointed at the canary Service, keeping
        whatever else the existing canary Ingress carries."""
        spec = copy.deepcopy(stable["spec"])
        for ref in _service_refs(spec):
            if ref.get("name") == self.stable:
                ref["name"] = self.canary
        if existing is not None:
            canary = copy.deepcopy(existing)
        else:
            annotations = dict((key, value) for key, value in (stable["metadata"].get("annotations") or {}).items()
                               if not key.startswith("nginx.ingress.kubernetes.io/canary"))
            labels = dict(stable["metadata"].get("labels") or {})
            labels[MANAGED_BY_LABEL] = MANAGED_BY
            canary = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                      "metadata": {"name": self.canary_name, "namespace": self.namespace,
                                   "labels": labels, "annotations": annotations}}
        canary["spec"] = spec
        canary["metadata"].setdefault("annotations", {})[CANARY] = "true"
        return canary

    def set_weight(self, parts, weight):
        canary = self.derive_canary(parts["stable"], parts["canary"])
        annotations = canary["metadata"]["annotations"]
        total = float(annotations.get(CANARY_WEIGHT_TOTAL, 100))
        annotations[CANARY_WEIGHT] = str(int(round(weight * total / 100.0)))
        parts["canary"] = canary
        return parts

    def remove_managed_routes(self, parts):
        parts["canary"] = None
        return parts
