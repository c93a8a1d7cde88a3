# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The Prometheus a gate queries (module_utils.metrics.options' PROMETHEUS_OPTION)."""

    PROMETHEUS = r"""
options:
  prometheus:
    description: The Prometheus server that V(prometheus) and V(compare) metrics query.
    type: dict
    suboptions:
      url:
        description: Base URL, such as V(http://prometheus.monitoring:9090).
        type: str
        required: true
      headers:
        description: Request headers, reported as given.
        type: dict
      secret_headers:
        description: Request headers never logged nor reported, for credentials.
        type: dict
      bearer_token:
        description: Token sent in the C(Authorization) header as a bearer token; never logged.
        type: str
      username:
        description: User name for basic authentication.
        type: str
      password:
        description: Password for basic authentication; never logged.
        type: str
      validate_certs:
        description: Verify the server's TLS certificate.
        type: bool
        default: true
      ca_path:
        description: PEM file of the certificate authorities to trust.
        type: path
      timeout:
        description: Seconds to wait for an answer; also sent as the query's evaluation timeout.
        type: float
        default: 10
"""
