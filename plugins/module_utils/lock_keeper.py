# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release_lock option of the modules that wait (for pods, between measurements): the lock the
run holds, which the module renews while it waits, so that the run needs no hold as long as the wait."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Paired with the workload doc fragment's KEEP_LOCK.
KEEP_LOCK_OPTIONS = dict(release_lock=dict(type="dict", options=dict(
    app=dict(type="str", required=True),
    namespace=dict(type="str"),
    holder=dict(type="str", required=True),
    job_id=dict(type="str"),
    ttl=dict(type="int", required=True),
)))


def lock_keeper(module):
    """The keeper of the release lock the module was given to renew while it waits, or None."""
    options = module.params.get("release_lock")
    if not options:
        return None
    # Imported only now: it brings the API client's transport, which a gate without a lock never loads.
    from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.release_lock import LockKeeper

    return LockKeeper(module, module.params.get("namespace"), options)
