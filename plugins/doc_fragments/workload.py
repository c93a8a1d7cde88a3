# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The workload a rollout module acts on, and how it waits (module_utils.workload's
    WORKLOAD_OPTIONS and WAIT_OPTIONS)."""

    DOCUMENTATION = r"""
options:
  name:
    description: Name of the workload.
    type: str
    required: true
  namespace:
    description: Namespace of the workload.
    type: str
    required: true
"""

    WAIT = r"""
options:
  timeout:
    description: Seconds to wait for the rollout when O(wait=true).
    type: int
    default: 600
  poll_interval:
    description: Seconds between two reads of the workload when O(wait=true).
    type: float
    default: 1.0
"""
