#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_info
short_description: Read an application's release record
version_added: 0.1.0
description:
  - Returns the current release and the releases before it, as
    M(terragonlabs.progressive_delivery.release_record) keeps them in the ConfigMap
    C(<app>-release). A run that promotes, aborts, resumes or reports a release starts here.
  - An application without a record is not an error - RV(exists) is false.
  - Where the task runs on the controller (a C(local) connection without C(become), as the playbooks'
    tasks do), it reads inside ansible's worker process, with no module to package and no interpreter
    to start; on any other connection it is this module, run on the target host, with the same result.
author:
  - Terragon Labs (@terragonlabs)
options:
  service:
    description:
      - Also read this Service in O(namespace) and the Deployments it sends traffic to (those whose
        labels match its selector), returned as RV(traffic).
      - Saves a run that reports where traffic is, or decides what to release next, the separate
        reads of the Service and its Deployments.
    type: str
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.application
  - terragonlabs.progressive_delivery.application.api_client
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode behaves as a normal run.
  diff_mode:
    support: none
    description: Changes nothing, so there is no difference to show.
seealso:
  - module: terragonlabs.progressive_delivery.release_record
"""

EXAMPLES = r"""
- name: Find the release in progress
  terragonlabs.progressive_delivery.release_info:
    app: modelcard-generator
    namespace: modelcard
  register: record

- name: Find the release and the version its users reach
  terragonlabs.progressive_delivery.release_info:
    app: modelcard-generator
    namespace: modelcard
    service: modelcard-generator
  register: where

- name: Show the versions serving users
  ansible.builtin.debug:
    msg: "{{ where.traffic.deployments | selectattr('replicas') | map(attribute='version') | unique | list }}"

- name: Refuse to promote anything but a paused release
  ansible.builtin.assert:
    that: record.exists and record.release.phase == 'paused'
    fail_msg: "no paused release of modelcard-generator to promote"
"""

RETURN = r"""
exists:
  description: Whether the application has a release record.
  returned: always
  type: bool
  sample: true
config_map:
  description: Name of the ConfigMap holding the record.
  returned: always
  type: str
  sample: modelcard-generator-release
namespace:
  description: Namespace of the record.
  returned: always
  type: str
  sample: modelcard
release:
  description:
    - The current release, or null - the fields RV(terragonlabs.progressive_delivery.release_record#module:release)
      describes (id, strategy, version, phase, step, revisions, images, gate, details, times).
  returned: always
  type: dict
  sample: {id: modelcard-generator-1.4.0-4711, phase: paused, step: "2"}
history:
  description: The releases before the current one, newest first.
  returned: always
  type: list
  elements: dict
traffic:
  description: The Service O(service) and the Deployments it sends traffic to.
  returned: when O(service) is given
  type: dict
  contains:
    service:
      description: The Service's name, or an empty string when it does not exist.
      type: str
      sample: modelcard-generator
    selector:
      description: The Service's selector (empty when the Service does not exist).
      type: dict
      sample: {app.kubernetes.io/name: modelcard-generator, terragonlabs.io/color: blue}
    deployments:
      description:
        - The Deployments whose labels match the selector, sorted by name; none for a Service
          without a selector.
        - Each has its C(name), C(version) (its C(app.kubernetes.io/version) label, or an empty
          string) and C(replicas) (its desired replicas).
      type: list
      elements: dict
      sample: [{name: modelcard-generator-blue, version: 1.4.0, replicas: 3}]
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_record import (
    RELEASE_INFO_SPEC,
    run_release_info,
)


def main():
    KubeModule(argument_spec=RELEASE_INFO_SPEC).run(run_release_info)


if __name__ == "__main__":
    main()
