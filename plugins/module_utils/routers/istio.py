# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Istio: weights of a VirtualService HTTP route's destinations, by host (stable and canary are
Services) or by DestinationRule subset (stable and canary are subset names, whose labels this
router manages when asked), a header-matched route to the canary, and mirroring."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    ModuleFailure,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.base import (
    HEADER_ROUTE_NAME,
    Resource,
    Router,
    cookie_from_pattern,
    cookie_pattern,
    find_one,
    header_route_state,
    percentages,
)

GROUP, VERSION = "networking.istio.io", "v1"
TOTAL = 100


def short_host(host):
    return host.split(".")[0]


class IstioRouter(Router):
    name = "istio"

    def __init__(self, module):
        super(IstioRouter, self).__init__(module)
        self.options = module.params.get("istio") or {}
        self.subset_mode = bool(self.options.get("destination_rule"))
        self.route_rule = module.params.get("route_rule")
        self.resources["virtual_service"] = Resource.custom(
            module, "VirtualService", self.namespace, GROUP, VERSION, "virtualservices")
        self.resources["destination_rule"] = Resource.custom(
            module, "DestinationRule", self.namespace, GROUP, VERSION, "destinationrules")
        self.host = None  # the Service a subset-mode route sends to, from the DestinationRule

    def read_parts(self):
        parts = {}
        if self.subset_mode:
            rule = self.resources["destination_rule"].get(self.options["destination_rule"], "istio.destination_rule")
            self.host = short_host(rule["spec"]["host"])
            parts["destination_rule"] = rule
        parts["virtual_service"] = find_one(
            self.resources["virtual_service"], self.params["route"],
            lambda obj: any(self._is_weighted(http) for http in obj["spec"].get("http") or []), "route")
        self.weighted_route(parts)  # fails now, before anything is written, if stable is absent
        return parts

    # pure ----------------------------------------------------------------------------------

    def _backend(self, destination):
        """The backend name of a destination: its subset in subset mode, else its host's Service."""
        if self.subset_mode:
            return destination.get("subset") if short_host(destination.get("host", "")) == self.host else None
        return short_host(destination.get("host", ""))

    def _is_weighted(self, http):
        if http.get("match") or http.get("name") == HEADER_ROUTE_NAME:
            return False
        if self.route_rule and http.get("name") != self.route_rule:
            return False
        return any(self._backend(route.get("destination") or {}) == self.stable for route in http.get("route") or [])

    def weighted_route(self, parts):
        service = parts["virtual_service"]
        routes = [http for http in service["spec"].get("http") or [] if self._is_weighted(http)]
        where = "VirtualService %s" % service["metadata"]["name"]
        if not routes:
            raise ModuleFailure("backend %s (stable) is not in %s%s" % (
                self.stable, where, (" route %s (route_rule)" % self.route_rule) if self.route_rule else ""))
        if len(routes) > 1:
            raise ModuleFailure("several HTTP routes of %s send to %s (stable); name one with route_rule"
                                % (where, self.stable))
        return routes[0]

    def _canary_destination(self, http):
        stable = next(route["destination"] for route in http["route"]
                      if self._backend(route.get("destination") or {}) == self.stable)
        destination = dict(stable)
        if self.subset_mode:
            destination["subset"] = self.canary
        else:
            destination["host"] = self.canary
        return destination

    def _raw(self, http):
        routes = http.get("route") or []
        raw = {}
        for route in routes:
            name = self._backend(route.get("destination") or {}) or route["destination"].get("host")
            raw[name] = raw.get(name, 0) + route.get("weight", TOTAL if len(routes) == 1 else 0)
        raw.setdefault(self.canary, 0)
        return raw

    def state(self, parts):
        http = self.weighted_route(parts)
        mirror = 0
        if http.get("mirror") and self._backend(http["mirror"]) == self.canary:
            mirror = (http.get("mirrorPercentage") or {}).get("value", 100)
        header_route = None
        for other in parts["virtual_service"]["spec"].get("http") or []:
            if other.get("name") == HEADER_ROUTE_NAME:
                headers, cookie = {}, None
                for match in other.get("match") or []:
                    for name, condition in (match.get("headers") or {}).items():
                        if name.lower() == "cookie" and "regex" in condition:
                            cookie = cookie_from_pattern(condition["regex"])
                        else:
                            headers[name] = condition.get("exact")
                header_route = header_route_state(headers, cookie)
        result = {"weights": percentages(self._raw(http)), "header_route": header_route, "mirror": mirror}
        if self.subset_mode:
            subsets = dict((subset["name"], subset.get("labels") or {})
                           for subset in parts["destination_rule"]["spec"].get("subsets") or [])
            result["subset_labels"] = dict((name, subsets.get(name)) for name in (self.stable, self.canary))
        return result

    def set_weight(self, parts, weight):
        http = self.weighted_route(parts)
        if not any(self._backend(route.get("destination") or {}) == self.canary for route in http["route"]):
            http["route"].append({"destination": self._canary_destination(http), "weight": 0})
        stable, canary = self.managed_share(self._raw(http), weight, TOTAL,
                                            "VirtualService %s" % parts["virtual_service"]["metadata"]["name"])
        for route in http["route"]:
            backend = self._backend(route.get("destination") or {})
            if backend == self.stable:
                route["weight"] = stable
            elif backend == self.canary:
                route["weight"] = canary
        return self.set_subset_labels(parts)

    def set_subset_labels(self, parts):
        """Sets the stable and canary subsets' labels where istio.stable_labels / canary_labels ask."""
        if not self.subset_mode:
            return parts
        subsets = parts["destination_rule"]["spec"].setdefault("subsets", [])
        for name, labels in ((self.stable, self.options.get("stable_labels")),
                             (self.canary, self.options.get("canary_labels"))):
            existing = next((subset for subset in subsets if subset["name"] == name), None)
            if labels is None:
                if existing is None:
                    raise ModuleFailure("subset %s is not in DestinationRule %s; give its labels with istio.%s_labels"
                                        % (name, self.options["destination_rule"],
                                           "stable" if name == self.stable else "canary"))
            elif existing is None:
                subsets.append({"name": name, "labels": dict(labels)})
            else:
                existing["labels"] = dict(labels)
        return parts

    def set_header_route(self, parts, header_route):
        spec = parts["virtual_service"]["spec"]
        http = self.weighted_route(parts)
        routes = [other for other in spec["http"] if other.get("name") != HEADER_ROUTE_NAME]
        if header_route:
            headers = dict((name, {"exact": value}) for name, value in (header_route.get("headers") or {}).items())
            if header_route.get("cookie"):
                headers["cookie"] = {"regex": cookie_pattern(header_route["cookie"])}
            routes.insert(routes.index(http), {
                "name": HEADER_ROUTE_NAME, "match": [{"headers": headers}],
                "route": [{"destination": self._canary_destination(http)}]})
        spec["http"] = routes
        return parts

    def set_mirror(self, parts, percent):
        http = self.weighted_route(parts)
        if percent:
            target = dict((key, value) for key, value in self._canary_destination(http).items()
                          if key in ("host", "subset", "port"))
            http["mirror"] = target
            http["mirrorPercentage"] = {"value": float(percent)}
        elif http.get("mirror") and self._backend(http["mirror"]) == self.canary:
            http.pop("mirror")
            http.pop("mirrorPercentage", None)
        return parts

    def remove_managed_routes(self, parts):
        return self.set_mirror(self.set_header_route(parts, {}), 0)

    def ready_endpoints(self, backend):
        if not self.subset_mode:
            return super(IstioRouter, self).ready_endpoints(backend)
        subsets = dict((subset["name"], subset.get("labels") or {})
                       for subset in self.live["destination_rule"]["spec"].get("subsets") or [])
        labels = self.options.get("%s_labels" % ("stable" if backend == self.stable else "canary"))
        service = Resource.typed(self.module, "Service", self.namespace, "v1", "services").get(
            self.host, "istio.destination_rule host")
        selector = dict(service["spec"].get("selector") or {})
        selector.update(labels if labels is not None else subsets.get(backend) or {})
        return self.ready_pods(selector)
