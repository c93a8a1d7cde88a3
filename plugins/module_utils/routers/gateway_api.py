# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gateway API: weights of an HTTPRoute rule's backendRefs, a header-matched rule to the
canary, and a RequestMirror filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    ModuleFailure,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.base import (
    Resource,
    Router,
    cookie_from_pattern,
    cookie_pattern,
    find_one,
    header_route_state,
    percentages,
)

TOTAL = 100


def _services(rule):
    return [ref for ref in rule.get("backendRefs") or [] if ref.get("kind", "Service") == "Service"]


def _has_header_match(rule):
    return any(match.get("headers") for match in rule.get("matches") or [])


class GatewayApiRouter(Router):
    name = "gateway_api"

    def __init__(self, module):
        super(GatewayApiRouter, self).__init__(module)
        self.resources["route"] = Resource.custom(module, "HTTPRoute", self.namespace,
                                                  "gateway.networking.k8s.io", "v1", "httproutes")

    def read_parts(self):
        route = find_one(self.resources["route"], self.params["route"],
                         lambda obj: any(self._is_weighted(rule) for rule in obj["spec"].get("rules") or []),
                         "route")
        self.weighted_rule(route)  # fails now, before anything is written, if stable is absent
        return {"route": route}

    # pure ----------------------------------------------------------------------------------

    def _is_weighted(self, rule):
        return not _has_header_match(rule) and any(ref["name"] == self.stable for ref in _services(rule))

    def _is_header_rule(self, rule):
        refs = _services(rule)
        return _has_header_match(rule) and refs and all(ref["name"] == self.canary for ref in refs)

    def weighted_rule(self, route):
        rules = [rule for rule in route["spec"].get("rules") or [] if self._is_weighted(rule)]
        where = "HTTPRoute %s" % route["metadata"]["name"]
        if not rules:
            raise ModuleFailure("backend %s (stable) is not in %s" % (self.stable, where))
        if len(rules) > 1:
            raise ModuleFailure("several rules of %s send unmatched requests to %s (stable); keep one"
                                % (where, self.stable))
        return rules[0]

    def _canary_ref(self, rule):
        stable = next(ref for ref in _services(rule) if ref["name"] == self.stable)
        ref = dict((key, value) for key, value in stable.items() if key not in ("weight", "filters"))
        ref["name"] = self.canary
        return ref

    def state(self, parts):
        route = parts["route"]
        rule = self.weighted_rule(route)
        raw = dict((ref["name"], ref.get("weight", 1)) for ref in _services(rule))
        raw.setdefault(self.canary, 0)
        mirror = 0
        for entry in rule.get("filters") or []:
            target = (entry.get("requestMirror") or {}).get("backendRef") or {}
            if entry.get("type") == "RequestMirror" and target.get("name") == self.canary:
                mirror = entry["requestMirror"].get("percent", 100)
        header_route = None
        for other in route["spec"].get("rules") or []:
            if self._is_header_rule(other):
                headers, cookie = {}, None
                for match in other.get("matches") or []:
                    for header in match.get("headers") or []:
                        if header.get("name", "").lower() == "cookie" and header.get("type") == "RegularExpression":
                            cookie = cookie_from_pattern(header["value"])
                        else:
                            headers[header["name"]] = header["value"]
                header_route = header_route_state(headers, cookie)
        return {"weights": percentages(raw), "header_route": header_route, "mirror": mirror}

    def set_weight(self, parts, weight):
        rule = self.weighted_rule(parts["route"])
        refs = rule["backendRefs"]
        if not any(ref["name"] == self.canary for ref in _services(rule)):
            refs.append(self._canary_ref(rule))
        raw = dict((ref["name"], ref.get("weight", 1)) for ref in _services(rule))
        stable, canary = self.managed_share(raw, weight, TOTAL, "HTTPRoute %s" % parts["route"]["metadata"]["name"])
        for ref in _services(rule):
            if ref["name"] == self.stable:
                ref["weight"] = stable
            elif ref["name"] == self.canary:
                ref["weight"] = canary
        return parts

    def set_header_route(self, parts, header_route):
        route = parts["route"]
        rules = [rule for rule in route["spec"]["rules"] if not self._is_header_rule(rule)]
        if header_route:
            headers = [{"type": "Exact", "name": name, "value": value}
                       for name, value in sorted((header_route.get("headers") or {}).items())]
            if header_route.get("cookie"):
                headers.append({"type": "RegularExpression", "name": "Cookie",
                                "value": cookie_pattern(header_route["cookie"])})
            canary = self._canary_ref(self.weighted_rule(route))
            rules.append({"matches": [{"headers": headers}], "backendRefs": [canary]})
        route["spec"]["rules"] = rules
        return parts

    def set_mirror(self, parts, percent):
        rule = self.weighted_rule(parts["route"])
        filters = [entry for entry in rule.get("filters") or [] if not (
            entry.get("type") == "RequestMirror"
            and ((entry.get("requestMirror") or {}).get("backendRef") or {}).get("name") == self.canary)]
        if percent:
            target = self._canary_ref(rule)
            target.pop("group", None)
            target.pop("kind", None)
            filters.append({"type": "RequestMirror", "requestMirror": {"backendRef": target, "percent": percent}})
        if filters:
            rule["filters"] = filters
        else:
            rule.pop("filters", None)
        return parts

    def remove_managed_routes(self, parts):
        return self.set_mirror(self.set_header_route(parts, {}), 0)
