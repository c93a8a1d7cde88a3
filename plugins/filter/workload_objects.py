# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: workload_objects
short_description: An application's Kubernetes objects, built as data from its settings
version_added: 0.1.0
author: Terragon Labs
description:
  - The Services, the Deployment, its PodDisruptionBudget (more than one replica), autoscaler and
    Ingress the P(terragonlabs.progressive_delivery.workload#role) role applies, built by the same code
    the release engine (M(terragonlabs.progressive_delivery.release)) builds each track's or color's
    objects with. Every value is placed in the objects as data, never pasted into YAML text.
  - Pods run as the non-root user 1001 with a read-only root filesystem, no privilege escalation, all
    capabilities dropped and the RuntimeDefault seccomp profile (the Pod Security C(restricted) profile).
options:
  _input:
    description:
      - The settings, keyed as the workload role's variables without their C(workload_) prefix - C(name),
        C(deployment_name), C(version), C(image), C(replicas), C(port), C(health_path), C(resources),
        C(progress_deadline_seconds), C(pod_labels), C(pod_annotations), C(services) and C(config), and
        optionally C(max_surge), C(max_unavailable), C(pdb_max_unavailable), C(hpa) and C(ingress).
      - The workload role documents each.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Apply an application's objects
  kubernetes.core.k8s:
    state: present
    apply: true
    namespace: shop
    definition: "{{ settings | terragonlabs.progressive_delivery.workload_objects }}"
  vars:
    settings:
      name: shop
      deployment_name: shop
      version: 1.4.0
      image: ghcr.io/terragonlabs/shop:1.4.0
      replicas: 3
      port: 8080
      health_path: /health
      resources: {requests: {cpu: 100m, memory: 256Mi}}
      progress_deadline_seconds: 600
      pod_labels: {}
      pod_annotations: {}
      services: [{name: shop}]
      config: []
"""

RETURN = r"""
_value:
  description: The objects in the order they are applied, Services first.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.manifests import workload_objects


def objects_of(settings):
    try:
        return workload_objects(**settings)
    except TypeError as error:  # a setting missing or unknown, named by Python
        raise AnsibleFilterError("workload_objects: %s" % error)


class FilterModule(object):
    def filters(self):
        return {"workload_objects": objects_of}
