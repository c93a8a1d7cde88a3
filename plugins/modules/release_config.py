#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_config
short_description: Copy a release's ConfigMaps and Secrets under content-hashed names, and prune old copies
version_added: 0.1.0
description:
  - Copies each ConfigMap or Secret of O(config), which the application's owners maintain in the
    namespace, to an immutable C(<name>-<hash>) (a hash of its content), labelled
    C(terragonlabs.io/release-config=copy) and C(app.kubernetes.io/name=<app>). The release's pods
    reference the copies (RV(references), the workload role's C(workload_config)), so a version's pods
    keep the content they were released with, and an abort or a rollback brings that content back.
  - Equal content gives the same name, so a copy is made once and a release that changes no config
    leaves the pod template as it was.
  - With O(restore), the copies the release record holds for O(version) (or, without it, for the
    current release) are used instead - a rollback's way to bring back that version's config even
    after its sources changed, and a promotion's to go on with the config its release started with.
    A source with no recorded copy left is copied as it is now, with a warning.
  - Copies that no release of the record (the current one and its history) names, nor this run, are
    deleted, so they go with the release history.
  - Only names are returned, never values.
author:
  - Terragon Labs (@terragonlabs)
options:
  app:
    description: The application, whose record names the copies to keep.
    type: str
    required: true
  namespace:
    description: The application's namespace, where the sources and copies are.
    type: str
    required: true
  config:
    description: The ConfigMaps and Secrets the application reads.
    type: list
    elements: dict
    default: []
    suboptions:
      kind:
        description: The source's kind.
        type: str
        choices: [ConfigMap, Secret]
        default: ConfigMap
      name:
        description: The source's name.
        type: str
        required: true
      mount_path:
        description: Where the pods mount it as files; not set, its keys become environment variables.
        type: str
  restore:
    description: Use the copies the record holds for O(version) rather than copying the sources now.
    type: bool
    default: false
  version:
    description: The version whose recorded copies O(restore) uses (its latest release); the current release's when not set.
    type: str
  parameter:
    description: The name the caller knows O(config) by, for the error messages.
    type: str
    default: config
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.application.api_client
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: The copies and deletions go through a server-side dry run; RV(references) names the copies a release would use.
  diff_mode:
    support: full
    description: The application's copies, by name, before and after.
seealso:
  - module: terragonlabs.progressive_delivery.release
  - module: terragonlabs.progressive_delivery.release_info
"""

EXAMPLES = r"""
- name: Copy the Model Card Generator's settings and credentials for its release
  terragonlabs.progressive_delivery.release_config:
    app: modelcard-generator
    namespace: modelcard
    config:
      - name: modelcard-settings
      - name: modelcard-credentials
        kind: Secret
        mount_path: /etc/modelcard/credentials
  register: modelcard_config

- name: Bring back the config version 1.0.0 was released with
  terragonlabs.progressive_delivery.release_config:
    app: modelcard-generator
    namespace: modelcard
    config: [{name: modelcard-settings}]
    restore: true
    version: 1.0.0
"""

RETURN = r"""
copies:
  description: The copy each source is referenced by, as C(<kind>/<source name>), for the release record.
  returned: always
  type: dict
  sample: {ConfigMap/modelcard-settings: modelcard-settings-5f1c2a9e0b}
references:
  description:
    - How the pods reference the copies, as the workload role's C(workload_config) - C(config_map) or
      C(secret), the copy's name, and C(mount_path) from O(config).
  returned: always
  type: list
  elements: dict
  sample: [{config_map: modelcard-settings-5f1c2a9e0b, mount_path: null}]
created:
  description: The copies this run created.
  returned: always
  type: list
  elements: str
pruned:
  description: The copies this run deleted, which no recorded release names any more.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_config import (
    run_release_config,
)


def main():
    KubeModule(argument_spec=dict(
        app=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        config=dict(type="list", elements="dict", default=[], options=dict(
            kind=dict(type="str", choices=["ConfigMap", "Secret"], default="ConfigMap"),
            name=dict(type="str", required=True),
            mount_path=dict(type="str"),
        )),
        restore=dict(type="bool", default=False),
        version=dict(type="str"),
        parameter=dict(type="str", default="config"),
    )).run(run_release_config)


if __name__ == "__main__":
    main()
