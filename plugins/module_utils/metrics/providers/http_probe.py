# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An HTTP probe: a bounded number of real requests at a set concurrency, measured.

Every request counts: an error status or a refused connection is an unsuccessful request, not a
provider error, because reaching the endpoint is what a smoke test checks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
    ProviderError,
    Sample,
    require_positive,
    require_rendered,
)

STATISTICS = ("success_rate", "error_rate", "p50", "p95", "p99", "mean")
# A few failure reasons are enough to explain a failed probe.
REASONS_KEPT = 5


def percentile(ordered, fraction):
    """Linear interpolation between closest ranks (numpy's default); NaN when there is no value."""
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * fraction
    low = int(math.floor(position))
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class HttpProbeProvider(object):
    def __init__(self, path, endpoint, method="GET", body=None, requests=20, concurrency=4,
                 success_statuses=None, statistic="success_rate", clock=time.monotonic):
        require_positive("%s.requests" % path, requests)
        require_positive("%s.concurrency" % path, concurrency)
        if statistic not in STATISTICS:
            raise GateConfigError("%s.statistic must be one of %s, got %s" % (path, ", ".join(STATISTICS), statistic))
        self.body = require_rendered("%s.body" % path, body)
        self.endpoint, self.method, self.requests = endpoint, method, requests
        self.concurrency = min(concurrency, requests)
        self.success_statuses = set(success_statuses) if success_statuses else None
        self.statistic, self.clock = statistic, clock

    def _succeeded(self, status):
        if self.success_statuses is not None:
            return status in self.success_statuses
        return 200 <= status < 400

    def _one(self, request_number):
        """(succeeded, latency, failure reason) of one request."""
        started = self.clock()
        try:
            status = self.endpoint.send(method=self.method, body=self.body)[0]
        except ProviderError as error:
            return False, self.clock() - started, str(error)
        ok = self._succeeded(status)
        return ok, self.clock() - started, "" if ok else "HTTP %s" % status

    def fetch(self):
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            outcomes = list(pool.map(self._one, range(self.requests)))
        latencies = sorted(outcome[1] for outcome in outcomes)
        successes = sum(1 for outcome in outcomes if outcome[0])
        reasons = [outcome[2] for outcome in outcomes if not outcome[0]]
        details = {
            "requests": self.requests, "successes": successes, "failures": self.requests - successes,
            "success_rate": successes / float(self.requests),
            "error_rate": 1 - successes / float(self.requests),
            "p50": percentile(latencies, 0.50), "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99), "mean": math.fsum(latencies) / len(latencies),
            "failure_reasons": sorted(set(reasons))[:REASONS_KEPT],
        }
        return [Sample(details[self.statistic], {"statistic": self.statistic}, details=details)]
