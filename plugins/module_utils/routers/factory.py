# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `router` option's values and the class that implements each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.gateway_api import GatewayApiRouter
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.istio import IstioRouter
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.nginx import NginxRouter
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.openshift_route import (
    OpenShiftRouteRouter,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.replicas import ReplicasRouter
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.routers.service import ServiceRouter

ROUTERS = dict((router.name, router) for router in (
    ServiceRouter, IstioRouter, GatewayApiRouter, NginxRouter, OpenShiftRouteRouter, ReplicasRouter))


def make_router(module):
    return ROUTERS[module.params["router"]](module)
