# -*- coding: utf-8 -*-
# Copyright: Terragon Labs
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Kayenta-style judge of a canary against its baseline, in pure Python (no scipy/numpy).

Per metric: a two-sided Mann-Whitney U test (normal approximation with tie and continuity
correction, as scipy.stats.mannwhitneyu(method="asymptotic", use_continuity=True)), the
Hodges-Lehmann shift estimate, and the ratio of means as effect size. A metric is High or Low
when the difference is significant AND the effect exceeds the allowed increase/decrease,
otherwise Pass; NoData when a side has no samples. The score is the weighted share of metrics
that did not move in their bad direction; a critical metric that fails makes the score 0.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

HIGH, LOW, PASS, NODATA = "High", "Low", "Pass", "NoData"
DIRECTIONS = ("increase", "decrease", "either")


def _ranks(values):
    """Average ranks (1-based) of values, and the sizes of the tie groups."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def mann_whitney_u(x, y):
    """(U statistic of x, two-sided p-value), as scipy's asymptotic method with continuity."""
    n1, n2 = len(x), len(y)
    ranks, ties = _ranks(list(x) + list(y))
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2.0
    u2 = n1 * n2 - u1
    n = n1 + n2
    tie_term = sum(t ** 3 - t for t in ties)
    variance = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return u1, 1.0  # every value equal: no evidence of a difference
    z = (max(u1, u2) - n1 * n2 / 2.0 - 0.5) / math.sqrt(variance)
    return u1, min(1.0, math.erfc(z / math.sqrt(2)))


def hodges_lehmann(baseline, canary):
    """Median of all pairwise differences canary - baseline: a robust estimate of the shift."""
    differences = sorted(c - b for c in canary for b in baseline)
    middle = len(differences) // 2
    if len(differences) % 2:
        return differences[middle]
    return (differences[middle - 1] + differences[middle]) / 2.0


def _mean_ratio(baseline, canary):
    base, can = math.fsum(baseline) / len(baseline), math.fsum(canary) / len(canary)
    if base == 0:
        return 1.0 if can == 0 else math.copysign(float("inf"), can)
    return can / base


def classify(baseline, canary, alpha=0.05, allowed_increase=1.0, allowed_decrease=1.0):
    """Kayenta's per-metric classification: a dict with classification, p_value, shift, ratio."""
    baseline = [v for v in baseline if not math.isnan(v)]
    canary = [v for v in canary if not math.isnan(v)]
    result = {"baseline_count": len(baseline), "canary_count": len(canary)}
    if not baseline or not canary:
        result["classification"] = NODATA
        return result
    p_value = mann_whitney_u(canary, baseline)[1]
    shift = hodges_lehmann(baseline, canary)
    ratio = _mean_ratio(baseline, canary)
    classification = PASS
    if p_value < alpha:
        if shift > 0 and ratio > allowed_increase:
            classification = HIGH
        elif shift < 0 and ratio < allowed_decrease:
            classification = LOW
    result.update(classification=classification, p_value=p_value, shift=shift, ratio=ratio)
    return result


def fails(classification, direction):
    """Whether a classification is a failure for a metric whose bad direction is given."""
    if classification == HIGH:
        return direction in ("increase", "either")
    if classification == LOW:
        return direction in ("decrease", "either")
    return False


def score(results, pass_threshold, marginal_threshold):
    """Kayenta's weighted score (0-100) over classified metrics and the judgement it implies.

    results: dicts with classification, direction, weight, critical. NoData metrics are left out
    of the score unless critical, where they fail like any critical failure.
    """
    judged = [r for r in results if r["classification"] != NODATA]
    critical = [r["name"] for r in results if r["critical"] and (
        r["classification"] == NODATA or fails(r["classification"], r["direction"]))]
    total = math.fsum(r["weight"] for r in judged)
    passed = math.fsum(r["weight"] for r in judged if not fails(r["classification"], r["direction"]))
    value = 0.0 if critical or not total else round(100.0 * passed / total, 2)
    if value >= pass_threshold:
        judgement = PASS
    elif value >= marginal_threshold:
        judgement = "Marginal"
    else:
        judgement = "Fail"
    return {"score": value, "judgement": judgement, "critical_failures": critical}
