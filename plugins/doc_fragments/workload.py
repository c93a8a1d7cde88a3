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

    KEEP_LOCK = r"""
options:
  release_lock:
    description:
      - The release lock (M(terragonlabs.progressive_delivery.release_lock)) this run holds, renewed
        while the module waits (for pods, or between measurements) - when the wait starts and whenever
        a third of O(release_lock.ttl) has passed - so the lock needs no hold as long as the wait may
        last, and a run killed during the wait frees it within its ttl.
      - A renewal that finds the lock gone or held by another run fails the task with
        C(lost the release lock of APP), since that run may have acted on the release.
      - Nothing is renewed in check mode.
    type: dict
    suboptions:
      app:
        description: The application whose lock it is, as given to M(terragonlabs.progressive_delivery.release_lock).
        type: str
        required: true
      namespace:
        description:
          - The namespace of the lock; when not set, the module's own C(namespace) option, so a module
            without one (M(terragonlabs.progressive_delivery.metric_gate)) needs it.
        type: str
      holder:
        description: The holder, as given to M(terragonlabs.progressive_delivery.release_lock).
        type: str
        required: true
      job_id:
        description: The AWX job id, as given to M(terragonlabs.progressive_delivery.release_lock).
        type: str
      ttl:
        description: Seconds each renewal lasts.
        type: int
        required: true
"""

    WAIT = r"""
options:
  timeout:
    description: Seconds to wait for the rollout when O(wait=true).
    type: int
    default: 600
  poll_interval:
    description:
      - The longest time, in seconds, between two reads of the workload when O(wait=true).
      - Reads come every 0.1 s at first and after each change in the replica counts, and back off to
        this while nothing changes, so a rollout is seen done soon after its pods are ready.
    type: float
    default: 1.0
"""

    PROGRESS = r"""
options:
  progress_deadline:
    description:
      - Seconds the wait may go without progress (no replica updated, ready or available) before it
        fails, as the Deployment's C(progressDeadlineSeconds) fails a rollout. The Deployment
        controller judges progress only while a new template rolls out, not while a workload is
        scaled up, which this covers.
      - Unset, only O(timeout) bounds the wait.
    type: int
"""
