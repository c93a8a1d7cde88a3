#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: traffic_switch
short_description: Set how much traffic a new version receives, through any common router
version_added: 0.1.0
description:
  - Sets the share of traffic the canary backend receives (O(weight), 0 to 100); stable gets the
    rest. Works with a Service selector (blue-green), Istio, Gateway API, NGINX Ingress, OpenShift
    Route, or replica counts when there is no router.
  - With Istio and Gateway API, also sends requests that match headers or a cookie to the canary
    (O(header_route), for A/B testing) and mirrors a percentage of traffic to it (O(mirror)).
    Other routers fail with C(router X does not support Y) before anything is written.
  - Touches only what it manages - other routes, other backends (which keep their weights), other
    annotations and fields survive. Every write carries the C(resourceVersion) that was read; when
    someone else changed the object in between, the change is recomputed on a fresh read rather
    than overwritten.
  - Idempotent - nothing is written when the cluster already matches.
  - By default refuses to send any traffic to a backend with no ready endpoints (counted from its
    EndpointSlices, or from ready pods for the V(service) router, subsets and V(replicas)); the
    error names the backend. With O(router=replicas), a Deployment at zero replicas is not held to
    this rule, since its pods do not exist yet.
  - Bad values, a missing route or Service, a backend that is not in the route, several candidate
    routes, and a router whose CustomResourceDefinition is not installed fail before any write,
    with a message naming the parameter or object.
author:
  - Terragon Labs (@terragonlabs)
options:
  weight:
    description:
      - Percent of the traffic for O(canary), 0 to 100; O(stable) gets the rest. With
        O(router=service) only 0 or 100.
      - At least one of O(weight), O(header_route), O(mirror) and O(remove_managed_routes=true) is required.
    type: int
  header_route:
    description:
      - Send requests that carry all these headers, or this cookie, to the canary whatever the
        weight (Istio and Gateway API). The route is added before the weighted route and
        replaced when it differs.
    type: dict
    suboptions:
      headers:
        description: Header names and the exact values to match.
        type: dict
      cookie:
        description: A cookie, as C(name=value), matched in the C(Cookie) header.
        type: str
  mirror:
    description:
      - Percent of the traffic to copy to the canary, whose answers are discarded (Istio and Gateway
        API). V(0) removes the mirror.
    type: int
  remove_managed_routes:
    description:
      - Remove what this module added besides weights - the header route, the mirror and, with
        O(router=nginx), the canary Ingress. Use it when the release is finished.
    type: bool
    default: false
  require_ready_endpoints:
    description: Refuse to send traffic to a backend with no ready endpoints.
    type: bool
    default: true
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.application.api_client
  - kubernetes.core.k8s_auth_options
  - terragonlabs.progressive_delivery.traffic_router
attributes:
  check_mode:
    support: full
    description: The same write is sent as a server-side dry run; nothing is stored.
  diff_mode:
    support: full
    description: Shows the traffic split before and after.
"""

EXAMPLES = r"""
- name: Send 10% of the Model Card Generator's traffic to the new version (Gateway API)
  terragonlabs.progressive_delivery.traffic_switch:
    router: gateway_api
    namespace: modelcard
    route: modelcard-generator
    stable: modelcard-generator
    canary: modelcard-generator-canary
    weight: 10

- name: Testers with the canary cookie always get the new version (Istio)
  terragonlabs.progressive_delivery.traffic_switch:
    router: istio
    namespace: modelcard
    stable: modelcard-generator
    canary: modelcard-generator-canary
    header_route:
      cookie: canary=always
    mirror: 20

- name: Istio subsets - manage the subsets' labels too
  terragonlabs.progressive_delivery.traffic_switch:
    router: istio
    namespace: modelcard
    istio:
      destination_rule: modelcard-generator
      stable_labels: {app.kubernetes.io/version: 1.0.0}
      canary_labels: {app.kubernetes.io/version: 1.1.0}
    stable: stable
    canary: canary
    weight: 25

- name: Blue-green - point the active Service at the green version
  terragonlabs.progressive_delivery.traffic_switch:
    router: service
    namespace: modelcard
    service:
      active_service: modelcard-generator
    stable: modelcard-generator-blue
    canary: modelcard-generator-green
    weight: 100

- name: Release done - the canary takes everything and the NGINX canary Ingress goes away
  terragonlabs.progressive_delivery.traffic_switch:
    router: nginx
    namespace: modelcard
    stable: modelcard-generator
    canary: modelcard-generator-canary
    remove_managed_routes: true

- name: No router - one replica in four runs the new version
  terragonlabs.progressive_delivery.traffic_switch:
    router: replicas
    namespace: modelcard
    replicas:
      total: 4
    stable: modelcard-generator-blue
    canary: modelcard-generator-green
    weight: 25
"""

RETURN = r"""
changed:
  description: Whether anything was (or, in check mode, would be) written.
  returned: always
  type: bool
router:
  description: The router used.
  returned: success
  type: str
  sample: gateway_api
before:
  description:
    - The traffic before - C(weights) (percent per backend; other backends of the route included),
      C(header_route) (C(headers) and C(cookie), or null) and C(mirror) (percent).
    - Router details - C(subset_labels) (Istio subset mode), C(selector) (V(service)),
      C(replicas) (V(replicas)), C(canary_ingress) (V(nginx), null when there is none).
  returned: success
  type: dict
  sample: {weights: {web: 100, web-canary: 0}, header_route: null, mirror: 0}
after:
  description: The traffic after, as in RV(before); in check mode, as the server's dry run answered.
  returned: success
  type: dict
  sample: {weights: {web: 90, web-canary: 10}, header_route: {headers: {x-canary: "true"}, cookie: null}, mirror: 0}
verified:
  description:
    - Whether RV(after) was confirmed by reading the objects back after writing (always true when
      nothing needed writing, false in check mode when something would be written).
  returned: success
  type: bool
diff:
  description: RV(before) and RV(after), in diff mode.
  returned: in diff mode
  type: dict
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.traffic import (
    ROUTER_REQUIRED_IF,
    SWITCH_OPTIONS,
    switch,
)


def main():
    KubeModule(argument_spec=SWITCH_OPTIONS, required_if=ROUTER_REQUIRED_IF).run(switch)


if __name__ == "__main__":
    main()
