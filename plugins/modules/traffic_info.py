#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: traffic_info
short_description: Report how traffic is split between a stable and a canary version
version_added: 0.1.0
description:
  - Reads the traffic split of any router that M(terragonlabs.progressive_delivery.traffic_switch)
    manages, the header route and mirror, and the ready endpoints of both backends.
  - Reads only; never reports C(changed).
author:
  - Terragon Labs (@terragonlabs)
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.application.api_client
  - kubernetes.core.k8s_auth_options
  - terragonlabs.progressive_delivery.traffic_router
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode behaves as a normal run.
  diff_mode:
    support: none
    description: Changes nothing, so there is no difference to show.
"""

EXAMPLES = r"""
- name: Read the current split of the Model Card Generator (the canary role's stable and canary Services)
  terragonlabs.progressive_delivery.traffic_info:
    router: gateway_api
    namespace: modelcard
    route: modelcard-generator
    stable: modelcard-generator
    canary: modelcard-generator-canary
  register: split

- name: Show the canary's share
  ansible.builtin.debug:
    msg: "{{ split.weights['modelcard-generator-canary'] }}% to the canary"
"""

RETURN = r"""
changed:
  description: Always false.
  returned: always
  type: bool
router:
  description: The router read.
  returned: success
  type: str
  sample: istio
weights:
  description: Percent of the traffic per backend, other backends of the route included.
  returned: success
  type: dict
  sample: {web: 90, web-canary: 10}
header_route:
  description: The header route to the canary - C(headers) and C(cookie) - or null.
  returned: success
  type: dict
  sample: {headers: {x-canary: "true"}, cookie: null}
mirror:
  description: Percent of the traffic mirrored to the canary.
  returned: success
  type: float
  sample: 0
ready_endpoints:
  description:
    - Ready endpoints per backend, from EndpointSlices (ready pods for the V(service) router,
      Istio subsets and V(replicas)).
  returned: success
  type: dict
  sample: {web: 3, web-canary: 1}
subset_labels:
  description: Labels of the stable and canary subsets.
  returned: with the istio router in subset mode
  type: dict
selector:
  description: The active Service's selector.
  returned: with the service router
  type: dict
replicas:
  description: Replicas of each Deployment.
  returned: with the replicas router
  type: dict
canary_ingress:
  description: Name of the canary Ingress, or null when there is none.
  returned: with the nginx router
  type: str
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.traffic import (
    ROUTER_OPTIONS,
    ROUTER_REQUIRED_IF,
    info,
)


def main():
    KubeModule(argument_spec=ROUTER_OPTIONS, required_if=ROUTER_REQUIRED_IF).run(info)


if __name__ == "__main__":
    main()
