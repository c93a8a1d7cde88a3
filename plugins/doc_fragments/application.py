# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The application whose release state a module reads or writes (module_utils.naming's
    APPLICATION_OPTIONS), and what every module that talks to the API server needs."""

    DOCUMENTATION = r"""
options:
  app:
    description:
      - The application (value of its C(app.kubernetes.io/name) label). It names the release record, the
        ConfigMap C(APP-release), and the release lock, the Lease C(APP-release-lock).
    type: str
    required: true
  namespace:
    description: Namespace of the application, where its release record and lock live.
    type: str
    required: true
"""

    API_CLIENT = r"""
options: {}
requirements:
  - urllib3
  - PyYAML (to read a kubeconfig)
  - kubernetes >= 24.2.0, only for a kubeconfig user with an exec plugin or auth-provider
"""
