# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kayenta-style comparison of canary and baseline over a window of Prometheus samples.

Each compared metric is a pair of range queries (canary, baseline) sampled over the same
window; the judge classifies it and scores the whole. The score (0-100) is the value the
evaluator sees; details carry every metric's classification.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics import judge
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.base import (
    GateConfigError,
    ProviderError,
    Sample,
    json_number,
    require_positive,
    require_rendered,
)
from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics.providers.prometheus import (
    samples_of,
)


class ComparedMetric(object):
    def __init__(self, path, name, canary_query, baseline_query, direction="increase", critical=False,
                 weight=1.0, allowed_increase=1.0, allowed_decrease=1.0):
        for option, query in (("canary_query", canary_query), ("baseline_query", baseline_query)):
            if not query:
                raise GateConfigError("%s.%s is required" % (path, option))
            require_rendered("%s.%s" % (path, option), query)
        if direction not in judge.DIRECTIONS:
            raise GateConfigError("%s.direction must be one of %s, got %s" % (path, ", ".join(judge.DIRECTIONS), direction))
        require_positive("%s.weight" % path, weight)
        require_positive("%s.allowed_increase" % path, allowed_increase)
        require_positive("%s.allowed_decrease" % path, allowed_decrease)
        self.name, self.canary_query, self.baseline_query = name, canary_query, baseline_query
        self.direction, self.critical, self.weight = direction, critical, weight
        self.allowed_increase, self.allowed_decrease = allowed_increase, allowed_decrease


class CompareProvider(object):
    def __init__(self, path, client, metrics, window=300.0, step=10.0, alpha=0.05, pass_threshold=95.0,
                 marginal_threshold=75.0):
        if not metrics:
            raise GateConfigError("%s.metrics must list at least one compared metric" % path)
        require_positive("%s.window" % path, window)
        require_positive("%s.step" % path, step)
        if not 0 < alpha < 1:
            raise GateConfigError("%s.alpha must be between 0 and 1, got %s" % (path, alpha))
        if not 0 <= marginal_threshold <= pass_threshold <= 100:
            raise GateConfigError("%s needs 0 <= marginal_threshold <= pass_threshold <= 100, got %s and %s" % (
                path, marginal_threshold, pass_threshold))
        self.client, self.metrics = client, metrics
        self.window, self.step, self.alpha = window, step, alpha
        self.pass_threshold, self.marginal_threshold = pass_threshold, marginal_threshold

    def _values(self, query):
        return [s.value for s in samples_of(self.client.query(query, self.window, self.step))]

    def fetch(self):
        results = []
        for metric in self.metrics:
            result = judge.classify(self._values(metric.baseline_query), self._values(metric.canary_query),
                                    alpha=self.alpha, allowed_increase=metric.allowed_increase,
                                    allowed_decrease=metric.allowed_decrease)
            result.update(name=metric.name, direction=metric.direction, critical=metric.critical,
                          weight=metric.weight)
            if "ratio" in result:
                result["ratio"] = json_number(result["ratio"])
            results.append(result)
        if all(r["classification"] == judge.NODATA for r in results):
            raise ProviderError("no samples for any compared metric over the last %ss" % self.window)
        details = judge.score(results, self.pass_threshold, self.marginal_threshold)
        details["metrics"] = results
        return [Sample(details["score"], details=details)]
