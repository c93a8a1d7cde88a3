# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""No router: a weight approximated by the replica counts of the stable and canary Deployments,
which share one Service, for a given total of replicas."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.base import (
    Resource,
    Router,
    percentages,
)


def replica_split(total, weight):
    """(stable, canary) replicas; the canary is rounded up so any weight above 0 gets a pod."""
    canary = int(math.ceil(total * weight / 100.0))
    return total - canary, canary


class ReplicasRouter(Router):
    name = "replicas"

    def __init__(self, module):
        super(ReplicasRouter, self).__init__(module)
        resource = Resource.typed(module, "Deployment", self.namespace, "apps/v1", "deployments")
        self.resources = {"stable": resource, "canary": resource}

    def read_parts(self):
        return {"stable": self.resources["stable"].get(self.stable, "stable"),
                "canary": self.resources["canary"].get(self.canary, "canary")}

    # pure ----------------------------------------------------------------------------------

    def state(self, parts):
        replicas = dict((parts[role]["metadata"]["name"], parts[role]["spec"].get("replicas", 1))
                        for role in ("stable", "canary"))
        return {"weights": percentages(replicas), "header_route": None, "mirror": 0, "replicas": replicas}

    def set_weight(self, parts, weight):
        stable, canary = replica_split(self.params["replicas"]["total"], weight)
        parts["stable"]["spec"]["replicas"] = stable
        parts["canary"]["spec"]["replicas"] = canary
        return parts

    def receivers(self, parts):
        """A Deployment scaled to zero cannot have ready pods yet, so only those that already run
        replicas are held to the readiness rule."""
        return set(name for name in super(ReplicasRouter, self).receivers(parts)
                   if self.live[self._role(name)]["spec"].get("replicas", 1))

    def _role(self, name):
        return "stable" if name == self.stable else "canary"

    def ready_endpoints(self, backend):
        selector = self.live[self._role(backend)]["spec"]["selector"].get("matchLabels") or {}
        return self.ready_pods(selector)
