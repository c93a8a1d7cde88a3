# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""release_lock: at most one release of an application at a time, through a coordination.k8s.io
Lease per application. Every write is a create (409 when the Lease exists) or carries the
resourceVersion it was decided on (409 when someone wrote in between), so of two takers racing
for a free lock exactly one wins; the other re-reads and finds the lock held."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import socket
import time

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_client import ApiError
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.kube_module import (
    update_with_conflict_retry,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.naming import app_labels, check_app_name


LEASE_SUFFIX = "-release-lock"
LEASES = "coordination.k8s.io/v1"
MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
UTC = datetime.timezone.utc


class LockHeld(Exception):
    """Another holder has the lock and it has not expired."""


def lease_name(app):
    return app + LEASE_SUFFIX


def holder_identity(holder, host, job_id):
    """Who holds the lock, where, and (under AWX) in which job - also what makes two runs distinct."""
    identity = "%s@%s" % (holder, host)
    return "%s job %s" % (identity, job_id) if job_id else identity


def format_time(moment):
    return moment.strftime(MICRO_TIME)


def parse_time(text):
    """A Lease's MicroTime as the API server writes it (six fraction digits, or none, and Z). Not
    strptime: its first call builds locale tables, some 10 ms of every lock call."""
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_utc():
    return datetime.datetime.now(UTC)


def expires_in(lease, now):
    """Seconds until the lease expires (negative once expired), or None without a renew time."""
    spec = (lease or {}).get("spec") or {}
    renewed = parse_time(spec.get("renewTime") or spec.get("acquireTime"))
    if renewed is None:
        return None
    remaining = renewed + datetime.timedelta(seconds=spec.get("leaseDurationSeconds") or 0) - now
    return round(remaining.total_seconds(), 3)


def describe_holder(lease, now):
    spec = lease.get("spec") or {}
    return "%s (acquired %s, renewed %s, expires in %ss)" % (
        spec.get("holderIdentity"), spec.get("acquireTime"), spec.get("renewTime"), expires_in(lease, now))


def _holder(lease):
    return ((lease or {}).get("spec") or {}).get("holderIdentity")


def _expired(lease, now):
    remaining = expires_in(lease, now)
    return remaining is not None and remaining <= 0


def acquire(lease, app, identity, ttl, force, now, renew=False):
    """(action, desired Lease or None) to hold the lock; raises LockHeld when another has it.

    The holder's own lock is renewed once less than half its ttl remains (or the ttl changes),
    so calling again right away writes nothing, and after any call at least ttl/2 remains;
    with renew, it is renewed at once, to last its whole ttl from now.
    """
    stamp = format_time(now)
    if lease is None:
        return "acquired", {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": lease_name(app), "labels": app_labels(app)},
            "spec": {"holderIdentity": identity, "leaseDurationSeconds": ttl, "acquireTime": stamp,
                     "renewTime": stamp, "leaseTransitions": 0}}
    spec = lease.setdefault("spec", {})
    holder = spec.get("holderIdentity")
    if holder == identity:
        remaining = expires_in(lease, now)
        if (not renew and spec.get("leaseDurationSeconds") == ttl
                and remaining is not None and remaining >= ttl / 2.0):
            return "kept", None
        spec.update(leaseDurationSeconds=ttl, renewTime=stamp)
        return "renewed", lease
    if not holder:
        action = "acquired"
    elif _expired(lease, now):
        action = "taken_over"
    elif force:
        action = "forced"
    else:
        raise LockHeld("the release lock of %s is held by %s" % (app, describe_holder(lease, now)))
    spec.update(holderIdentity=identity, leaseDurationSeconds=ttl, acquireTime=stamp, renewTime=stamp,
                leaseTransitions=(spec.get("leaseTransitions") or 0) + (1 if holder else 0))
    return action, lease


def release(lease, app, identity, force, now):
    """(action, Lease to delete or None); raises LockHeld when another holds a live lock."""
    if lease is None:
        return "absent", None
    holder = _holder(lease)
    if holder and holder != identity and not force and not _expired(lease, now):
        raise LockHeld("the release lock of %s is held by %s" % (app, describe_holder(lease, now)))
    return "released", lease


def run_release_lock(module):
    params = module.params
    app, namespace, ttl = params["app"], params["namespace"], params["ttl"]
    check_app_name(module, app)
    if ttl < 1:
        module.fail("ttl must be at least 1 second, got %d" % ttl)
    if not params["holder"].strip():
        module.fail("holder must not be empty")
    identity = holder_identity(params["holder"], socket.gethostname(), params["job_id"])
    name = lease_name(app)
    now = now_utc()
    state = {}

    def read():
        try:
            return module.client.get(LEASES, "leases", namespace, name)
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    def compute(lease):
        try:
            if params["state"] == "absent":
                state["outcome"], desired = release(lease, app, identity, params["force"], now)
            else:
                state["outcome"], desired = acquire(lease, app, identity, ttl, params["force"], now,
                                                    params["renew"])
        except LockHeld as held:
            module.fail(str(held), changed=False, held=False, lease_name=name, namespace=namespace,
                        **lease_facts(lease, now))
        return desired

    def write(desired):
        if params["state"] == "absent":
            module.client.delete(LEASES, "leases", namespace, name, dry_run=module.dry_run,
                                 resource_version=desired["metadata"]["resourceVersion"])
            return desired
        if desired["metadata"].get("resourceVersion"):
            return module.client.replace(LEASES, "leases", namespace, name, desired, dry_run=module.dry_run)
        return module.client.create(LEASES, "leases", namespace, desired, dry_run=module.dry_run)

    before, written = update_with_conflict_retry(read, compute, write)
    after = None if params["state"] == "absent" and written else (written or before)
    result = dict(changed=written is not None, outcome=state["outcome"], lease_name=name,
                  namespace=namespace, identity=identity, held=_holder(after) == identity,
                  **lease_facts(after, now))
    if module.diff_mode:
        result["diff"] = {"before": (before or {}).get("spec") or {}, "after": (after or {}).get("spec") or {}}
    return result


def lease_facts(lease, now):
    spec = (lease or {}).get("spec") or {}
    return {"holder": spec.get("holderIdentity"), "acquired_time": spec.get("acquireTime"),
            "renew_time": spec.get("renewTime"), "ttl": spec.get("leaseDurationSeconds"),
            "expires_in": expires_in(lease, now)}


def lost_lock_message(app, why):
    return ("lost the release lock of %s: it expired before this run renewed it (%s); another run may have "
            "acted on the release, so this one stops - run again to act on where it stands" % (app, why))


ORPHANED = "the run this task belongs to has ended"


def _runs_ansible(cmdline):
    """Whether a command line (NUL-separated, as /proc shows it) is an ansible program's: its
    interpreter or script is named ansible-*, as a run and the workers it forks are."""
    return any(os.path.basename(arg).startswith(b"ansible") for arg in cmdline.split(b"\0")[:2])


def process_ancestors(proc="/proc"):
    """(pid, start time) of each process above this one, up to the ansible program that runs the task,
    from /proc; empty where there is none. A killed ansible-playbook leaves its worker, and the module it
    runs, to another parent; what happens above it (the shell that started it exiting) does not count."""
    chain, pid, run = [], os.getppid(), None
    while pid > 1 and len(chain) < 16:
        try:
            with open("%s/%d/stat" % (proc, pid)) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open("%s/%d/cmdline" % (proc, pid), "rb") as command:
                cmdline = command.read()
        except (OSError, IndexError):
            break
        if run is not None and cmdline != run:
            break  # above the run: its workers are forks of it, with its command line
        if run is None and _runs_ansible(cmdline):
            run = cmdline
        chain.append((pid, fields[19]))  # fields from the state on: ppid is the 2nd, starttime the 20th
        pid = int(fields[1])
    return chain


class LockKeeper(object):
    """Renews this run's own release lock while a module waits, so that the lock needs no hold as
    long as the wait may last: a run killed during the wait frees the lock within its ttl. A renewal
    that finds the lock gone or held by another run fails the task: that run may have acted."""

    def __init__(self, module, namespace, options, clock=time.monotonic, sleep=time.sleep):
        self.module, self.clock, self.sleeper = module, clock, sleep
        self.namespace = options.get("namespace") or namespace
        self.app, self.ttl = options["app"], options["ttl"]
        if not self.namespace:
            module.fail("release_lock.namespace is required: this module has no namespace of its own")
        check_app_name(module, self.app)
        if self.ttl < 1:
            module.fail("release_lock.ttl must be at least 1 second, got %d" % self.ttl)
        self.identity = holder_identity(options["holder"], socket.gethostname(), options.get("job_id"))
        self.renewed_at = None
        self.ancestors = process_ancestors()

    def keep(self):
        """Renews the lock to last its ttl from now when a third of it has passed since the last renewal."""
        if self.module.check_mode:  # nothing was taken, so there is nothing to renew
            return
        if process_ancestors() != self.ancestors:
            # Renewing would keep a killed run's lock alive for as long as this task might wait.
            self.module.fail("%s (its ansible-playbook was stopped): this task stops too and leaves the release "
                             "lock of %s to expire" % (ORPHANED, self.app))
        if self.renewed_at is not None and self.clock() - self.renewed_at < self.ttl / 3.0:
            return
        name, now = lease_name(self.app), now_utc()

        def read():
            return self.module.client.get(LEASES, "leases", self.namespace, name)

        def compute(lease):
            if _holder(lease) != self.identity:
                self.module.fail(lost_lock_message(self.app, "the release lock of %s is held by %s" % (
                    self.app, describe_holder(lease, now))))
            return acquire(lease, self.app, self.identity, self.ttl, False, now, renew=True)[1]

        def write(desired):
            return self.module.client.replace(LEASES, "leases", self.namespace, name, desired)

        try:
            update_with_conflict_retry(read, compute, write)
        except ApiError as error:
            if error.status != 404:
                raise
            self.module.fail(lost_lock_message(self.app, "another run took it and has given it back since"))
        self.renewed_at = self.clock()

    def sleep(self, seconds):
        """Sleeps, keeping the lock all along: a measuring wait needs no hold either."""
        end = self.clock() + seconds
        while True:
            self.keep()
            left = end - self.clock()
            if left <= 0:
                return
            self.sleeper(min(left, self.ttl / 3.0))
