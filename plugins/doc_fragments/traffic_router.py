# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options that name a traffic router and its two backends (traffic_switch, traffic_info)."""

    DOCUMENTATION = r"""
options:
  router:
    description:
      - How traffic reaches the application, and so what is read and written.
      - V(service) - blue-green through the selector of O(service.active_service); the weight is 0 or 100.
      - V(istio) - the weights of a VirtualService HTTP route (C(spec.http[].route[].weight)), by host
        or, with O(istio.destination_rule), by subset.
      - V(gateway_api) - the weights of an HTTPRoute rule's C(backendRefs).
      - V(nginx) - a canary Ingress derived from the stable Ingress, with the
        C(nginx.ingress.kubernetes.io/canary) and C(canary-weight) annotations.
      - V(openshift_route) - the weights of a Route's C(spec.to) and C(spec.alternateBackends).
      - V(replicas) - no router; the weight is approximated by the replica counts of the stable and
        canary Deployments, which share one Service, for O(replicas.total) replicas (rounded, the
        canary up).
    type: str
    required: true
    choices: [service, istio, gateway_api, nginx, openshift_route, replicas]
  namespace:
    description: Namespace of the route and the backends.
    type: str
    required: true
  stable:
    description:
      - The backend that serves now - a Service name, a DestinationRule subset name with
        O(istio.destination_rule), or a Deployment name with O(router=replicas).
    type: str
    required: true
  canary:
    description: The new version's backend, named like O(stable).
    type: str
    required: true
  route:
    description:
      - Name of the VirtualService, HTTPRoute, stable Ingress or Route.
      - When omitted, the only one in O(namespace) that routes to O(stable) is used; several are an error.
      - Ignored by the V(service) and V(replicas) routers.
    type: str
  route_rule:
    description:
      - Name of the HTTP route (C(spec.http[].name)) of the VirtualService to manage, when several
        unmatched HTTP routes send to O(stable). Istio only.
    type: str
  istio:
    description: Subset mode of the V(istio) router.
    type: dict
    suboptions:
      destination_rule:
        description:
          - DestinationRule whose C(spec.host) is the Service the VirtualService routes to; O(stable)
            and O(canary) then name its subsets.
        type: str
        required: true
      stable_labels:
        description: Labels the stable subset selects; set on the DestinationRule when given.
        type: dict
      canary_labels:
        description: Labels the canary subset selects (for example a version label); set when given.
        type: dict
  nginx:
    description: Options of the V(nginx) router.
    type: dict
    suboptions:
      canary_ingress:
        description: Name of the canary Ingress. Defaults to the stable Ingress's name with C(-canary).
        type: str
  service:
    description: Options of the V(service) router (required with it).
    type: dict
    suboptions:
      active_service:
        description: The Service users reach, whose selector is switched.
        type: str
        required: true
      stable_selector:
        description:
          - Labels the active Service selects for the stable version; include C(pod-template-hash) to
            pin one ReplicaSet. Defaults to the selector of the Service named O(stable).
        type: dict
      canary_selector:
        description: Labels for the canary version. Defaults to the selector of the Service named O(canary).
        type: dict
  replicas:
    description: Options of the V(replicas) router (required with it).
    type: dict
    suboptions:
      total:
        description: Replicas of the stable and canary Deployments together.
        type: int
        required: true
"""
