"""The canary judge against scipy, and on samples known to differ and known to match."""

import random

import pytest
from scipy import stats

from ansible_collections.terragonlabs.progressive_delivery.plugins.module_utils.metrics import judge


@pytest.mark.parametrize("seed", range(40))
def test_mann_whitney_matches_scipy(seed):
    rng = random.Random(seed)
    n1, n2 = rng.randint(3, 60), rng.randint(3, 60)
    # Rounded values make ties, which exercise the tie correction.
    x = [round(rng.gauss(10, 2), rng.choice([0, 1, 3])) for i in range(n1)]
    y = [round(rng.gauss(10 + rng.choice([0, 0.5, 2]), 2), rng.choice([0, 1, 3])) for i in range(n2)]
    u, p = judge.mann_whitney_u(x, y)
    expected = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert u == pytest.approx(expected.statistic, abs=1e-9)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)


def test_all_equal_values_are_no_evidence():
    assert judge.mann_whitney_u([1, 1, 1], [1, 1])[1] == 1.0


def test_hodges_lehmann_is_the_median_pairwise_shift():
    assert judge.hodges_lehmann([1, 2, 3], [11, 12, 13]) == 10
    assert judge.hodges_lehmann([0, 1], [0, 2]) == 0.5


def _samples(seed, mean, n=30):
    rng = random.Random(seed)
    return [rng.gauss(mean, 1) for i in range(n)]


def test_samples_known_to_differ_are_high_or_low():
    baseline = _samples(1, 10)
    assert judge.classify(baseline, _samples(2, 14))["classification"] == judge.HIGH
    assert judge.classify(baseline, _samples(3, 6))["classification"] == judge.LOW


def test_samples_known_to_match_pass():
    result = judge.classify(_samples(1, 10), _samples(2, 10))
    assert result["classification"] == judge.PASS and result["p_value"] > 0.05


def test_an_allowed_increase_tolerates_a_small_significant_shift():
    baseline, canary = _samples(1, 100), _samples(2, 103)
    assert judge.classify(baseline, canary)["classification"] == judge.HIGH
    assert judge.classify(baseline, canary, allowed_increase=1.1)["classification"] == judge.PASS


def test_no_data_and_nan_are_dropped():
    assert judge.classify([], [1.0])["classification"] == judge.NODATA
    assert judge.classify([float("nan")], [1.0])["classification"] == judge.NODATA


def _result(name, classification, direction="increase", weight=1.0, critical=False):
    return {"name": name, "classification": classification, "direction": direction, "weight": weight,
            "critical": critical}


def test_score_is_the_weighted_share_of_passing_metrics():
    results = [_result("errors", judge.PASS, weight=3), _result("latency", judge.HIGH),
               _result("cpu", judge.LOW)]  # Low is fine when only an increase is bad
    assert judge.score(results, 95, 75) == {"score": 80.0, "judgement": "Marginal", "critical_failures": []}
    assert judge.score(results, 80, 75)["judgement"] == "Pass"
    results.append(_result("throughput", judge.LOW, direction="decrease", weight=4))
    assert judge.score(results, 95, 75)["judgement"] == "Fail"


def test_a_failing_critical_metric_fails_the_canary():
    results = [_result("errors", judge.HIGH, critical=True), _result("a", judge.PASS, weight=100)]
    assert judge.score(results, 95, 75) == {"score": 0.0, "judgement": "Fail", "critical_failures": ["errors"]}
    results = [_result("errors", judge.NODATA, critical=True), _result("a", judge.PASS)]
    assert judge.score(results, 95, 75)["critical_failures"] == ["errors"]
    assert judge.score([_result("x", judge.NODATA), _result("a", judge.PASS)], 95, 75)["score"] == 100.0
