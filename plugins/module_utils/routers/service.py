# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Blue-green through a Service's selector: the active Service selects either the stable or the
canary label set (which may include a pod-template-hash), so traffic moves all at once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    ModuleFailure,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.base import (
    Resource,
    Router,
)


class ServiceRouter(Router):
    name = "service"

    def __init__(self, module):
        super(ServiceRouter, self).__init__(module)
        self.options = module.params["service"]
        self.resources["active"] = Resource.typed(module, "Service", self.namespace, "v1", "services")
        self.selectors = {}

    def read_parts(self):
        services = self.resources["active"]
        for role, backend in (("stable", self.stable), ("canary", self.canary)):
            selector = self.options.get("%s_selector" % role)
            if selector is None:
                selector = services.get(backend, role)["spec"].get("selector")
                if not selector:
                    raise ModuleFailure("Service %s (%s) has no selector to copy; give service.%s_selector"
                                        % (backend, role, role))
            self.selectors[backend] = dict(selector)
        return {"active": services.get(self.options["active_service"], "service.active_service")}

    # pure ----------------------------------------------------------------------------------

    def state(self, parts):
        selector = parts["active"]["spec"].get("selector") or {}
        weights = dict((backend, 100 if selector == wanted else 0) for backend, wanted in self.selectors.items())
        return {"weights": weights, "header_route": None, "mirror": 0, "selector": selector}

    def set_weight(self, parts, weight):
        if weight not in (0, 100):
            raise ModuleFailure("router service switches all traffic at once: weight must be 0 (stable) "
                                "or 100 (canary), got %s" % weight)
        parts["active"]["spec"]["selector"] = dict(self.selectors[self.canary if weight else self.stable])
        return parts

    def ready_endpoints(self, backend):
        return self.ready_pods(self.selectors[backend])
