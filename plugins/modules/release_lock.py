#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_lock
short_description: Take, renew or release the lock that allows one release of an application at a time
version_added: 0.1.0
description:
  - Holds a C(coordination.k8s.io/v1) Lease named C(<app>-release-lock) in the application's
    namespace, labelled C(app.kubernetes.io/name=<app>), so that at most one release of an
    application runs at a time, even when two AWX jobs start together.
  - The holder's identity is O(holder), the host the module runs on, and the AWX job id when
    there is one, for example C(release-1.4.0@awx-ee-7d9f job 4711). Two runs with the same
    identity are the same holder, so outside AWX make O(holder) unique per run.
  - Taking a lock is atomic - a Lease is created only if none exists, and changed only at the
    resourceVersion it was read at - so of two racing takers exactly one wins; the other fails at
    once, naming the holder, when it was acquired and when it expires.
  - A lock whose holder stopped renewing it for O(ttl) seconds is taken over; O(force=true) takes
    (or releases) a live lock of another holder.
  - Renewal - calling the module again with the same holder renews the lease once less than half
    of O(ttl) remains, and otherwise writes nothing (C(changed=false)); after every call at least
    half of O(ttl) remains. A release renews it before each step, so O(ttl) must be more than twice
    the longest step (pause, analysis or wait) between two calls. O(renew=true) renews it at once,
    so that it lasts O(ttl) from this call.
  - Expiry is judged with the clock of the host running the module against the times in the
    Lease, so clocks must agree to well within O(ttl).
author:
  - Terragon Labs (@terragonlabs)
options:
  state:
    description: V(present) takes or renews the lock, V(absent) releases it (deletes the Lease).
    type: str
    choices: [present, absent]
    default: present
  holder:
    description:
      - Who takes the lock, for example the release and the user starting it. Part of the
        holder identity, with the host and the job id.
    type: str
    required: true
  job_id:
    description:
      - The AWX (or automation controller) job id, part of the holder identity. Pass
        C({{ awx_job_id | default(omit) }}) from a playbook.
      - When omitted, the environment variables E(AWX_JOB_ID) and E(JOB_ID) (which AWX sets for
        its jobs) are used if set.
    type: str
  ttl:
    description: Seconds the lock lasts without renewal (the Lease's C(leaseDurationSeconds)).
    type: int
    default: 900
  force:
    description: Take or release the lock even when another holder has a live one.
    type: bool
    default: false
  renew:
    description:
      - Renew the holder's own lock at once, even when more than half of O(ttl) remains, so that
        it lasts O(ttl) from this call - for holding it through a wait of known length. Such a
        call always writes (C(changed=true)).
      - Ignored with O(state=absent).
    type: bool
    default: false
extends_documentation_fragment:
  - terragonlabs.progressive_delivery.application
  - terragonlabs.progressive_delivery.application.api_client
  - kubernetes.core.k8s_auth_options
attributes:
  check_mode:
    support: full
    description: The API server validates the change in a dry run and stores nothing.
  diff_mode:
    support: full
    description: Shows the Lease's spec before and after.
"""

EXAMPLES = r"""
- name: Take the release lock of the Model Card Generator
  terragonlabs.progressive_delivery.release_lock:
    app: modelcard-generator
    namespace: modelcard
    holder: "release {{ version }} by {{ awx_user_name | default(lookup('ansible.builtin.env', 'USER')) }}"
    job_id: "{{ awx_job_id | default(omit) }}"
    ttl: 1800

- name: Hold it through the next ten minutes of analysis, whatever is left of it now
  terragonlabs.progressive_delivery.release_lock:
    app: modelcard-generator
    namespace: modelcard
    holder: "release {{ version }} by {{ awx_user_name | default(lookup('ansible.builtin.env', 'USER')) }}"
    job_id: "{{ awx_job_id | default(omit) }}"
    ttl: 900
    renew: true

- name: Release it at the end, whatever happened
  terragonlabs.progressive_delivery.release_lock:
    app: modelcard-generator
    namespace: modelcard
    holder: "release {{ version }} by {{ awx_user_name | default(lookup('ansible.builtin.env', 'USER')) }}"
    job_id: "{{ awx_job_id | default(omit) }}"
    state: absent

- name: Break the lock of a job that was killed
  terragonlabs.progressive_delivery.release_lock:
    app: modelcard-generator
    namespace: modelcard
    holder: operator cleanup
    state: absent
    force: true
"""

RETURN = r"""
outcome:
  description:
    - V(acquired) (the lock was free), V(taken_over) (another holder's lock had expired),
      V(forced) (another holder's live lock, with O(force=true)), V(renewed), V(kept) (held, no
      renewal due), V(released), or V(absent) (there was no lock to release).
  returned: success
  type: str
  sample: acquired
lease_name:
  description: Name of the Lease.
  returned: always
  type: str
  sample: modelcard-generator-release-lock
namespace:
  description: Namespace of the Lease.
  returned: always
  type: str
  sample: modelcard
identity:
  description: This caller's holder identity.
  returned: success
  type: str
  sample: release 1.4.0 by jane@awx-ee-7d9f job 4711
held:
  description: Whether this caller holds the lock after the task.
  returned: always
  type: bool
  sample: true
holder:
  description: Identity of the lock's holder after the task (on failure, the holder that has it), or null.
  returned: always
  type: str
  sample: release 1.4.0 by jane@awx-ee-7d9f job 4711
acquired_time:
  description: When the holder took the lock.
  returned: always
  type: str
  sample: "2026-11-26T04:35:52.123456Z"
renew_time:
  description: When the holder last renewed the lock.
  returned: always
  type: str
  sample: "2026-11-26T04:45:52.123456Z"
ttl:
  description: The lease duration in seconds.
  returned: always
  type: int
  sample: 900
expires_in:
  description: Seconds until the lock expires without renewal (negative once expired), or null.
  returned: always
  type: float
  sample: 899.9
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import KubeModule
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import APPLICATION_OPTIONS
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_lock import run_release_lock


def main():
    KubeModule(argument_spec=dict(
        APPLICATION_OPTIONS,
        state=dict(type="str", choices=["present", "absent"], default="present"),
        holder=dict(type="str", required=True),
        job_id=dict(type="str", fallback=(env_fallback, ["AWX_JOB_ID", "JOB_ID"])),
        ttl=dict(type="int", default=900),
        force=dict(type="bool", default=False),
        renew=dict(type="bool", default=False),
    )).run(run_release_lock)


if __name__ == "__main__":
    main()
