"""gymlab.stats: rliable's aggregates, stratified bootstrap intervals and probability of improvement.

Hand-computed values first (the arithmetic is in the comments), then properties
(hypothesis). Where scipy is installed, iqm and the probability of improvement are also
checked against scipy.stats. (summarize, format_iqm, the edge cases and the import cost:
tests/test_stats_summary.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gymlab.stats import (
    bootstrap_ci,
    iqm,
    mean,
    median,
    probability_of_improvement,
    probability_of_improvement_ci,
    solved_fraction,
)


SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- hand-computed aggregates


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([1, 2, 3, 4, 5, 6, 7, 8], 4.5),      # n=8: cut floor(8/4)=2 each end -> (3+4+5+6)/4 = 18/4
        ([8, 1, 7, 2, 6, 3, 5, 4], 4.5),      # the same scores shuffled
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 5.0),   # n=9: cut floor(2.25)=2 -> (3+4+5+6+7)/5 = 25/5
        ([10, 1, 7, 3, 100], 20 / 3),         # n=5: cut 1 -> sorted 1,3,7,10,100 -> (3+7+10)/3
        ([0, 0, 1, 2, 3, 50, 50], 11.2),      # n=7: cut floor(1.75)=1 -> (0+1+2+3+50)/5 = 56/5
        ([4, 1, 3, 2], 2.5),                  # n=4: cut 1 -> (2+3)/2, the median
        ([1, 2, 9], 4.0),                     # n=3: cut floor(0.75)=0 -> the mean, 12/3
        ([1, 9], 5.0),                        # n=2: the mean
        ([-3.5], -3.5),                       # n=1: the score
        ([1, 1, 1, 1, 1, 1, 1, 1000], 1.0),   # the outlier is cut: (1+1+1+1)/4
    ],
)
def test_iqm_hand_computed(scores, expected):
    assert iqm(scores) == pytest.approx(expected, rel=1e-15)


def test_iqm_of_runs_by_tasks_flattens_all_scores():
    # 4 runs x 2 tasks -> 8 scores sorted 1,2,3,4,10,20,30,40; cut 2 each end -> (3+4+10+20)/4 = 37/4
    assert iqm([[1, 10], [2, 20], [3, 30], [4, 40]]) == 9.25
    # 2 runs x 2 tasks -> sorted 1,2,10,20; cut 1 each end -> (2+10)/2
    assert iqm([[1, 10], [2, 20]]) == 6.0


def test_mean_and_median():
    assert mean([1, 2, 6]) == 3.0                   # 9/3
    assert median([5, 1, 3]) == 3.0                 # 1-D: the sample median
    assert median([1, 2, 6, 100]) == 4.0            # (2+6)/2
    # runs x tasks (rliable): task means 2.5 and 25; mean (2.5+25)/2 = 13.75, median of the two the same
    grid = [[1, 10], [2, 20], [3, 30], [4, 40]]
    assert mean(grid) == 13.75
    assert median(grid) == 13.75
    # task means (1+3)/2=2, (10+20)/2=15, (100+0)/2=50: median 15 (not the median of the 6 scores, 6.5)
    grid3 = [[1, 10, 100], [3, 20, 0]]
    assert median(grid3) == 15.0
    assert mean(grid3) == pytest.approx(67 / 3)    # (2+15+50)/3


def test_aggregates_return_plain_floats():
    for f in (iqm, mean, median):
        assert type(f([1, 2, 3, 4])) is float
        assert type(f(np.array([[1, 2], [3, 4]], dtype=np.int32))) is float


def test_solved_fraction():
    assert solved_fraction([400, 475, 500, 10], 475) == 0.5   # 475 and 500 reach 475: 2/4
    assert solved_fraction([[1, 5], [5, 9]], 5) == 0.75       # 5, 5, 9 of 4 scores
    assert solved_fraction([1, 2], 3) == 0.0
    assert type(solved_fraction([1], 0)) is float


# --------------------------------------------------------------------------- probability of improvement


@pytest.mark.parametrize(
    "x, y, expected",
    [
        # pairs (x, y): (1,1) tie 1/2, (1,3) 0, (2,1) 1, (2,3) 0 -> 1.5/4
        ([1, 2], [1, 3], 0.375),
        # the other way: (1,1) 1/2, (1,2) 0, (3,1) 1, (3,2) 1 -> 2.5/4; 0.375 + 0.625 = 1
        ([1, 3], [1, 2], 0.625),
        # different sizes: (3,1) 1, (3,3) 1/2, (3,5) 0 -> 1.5/3
        ([3], [1, 3, 5], 0.5),
        # (2,1) 1 (2,5) 0 (4,1) 1 (4,5) 0 (6,1) 1 (6,5) 1 -> 4/6
        ([2, 4, 6], [1, 5], 2 / 3),
        # identical sets: every pair a tie or mirrored -> 1/2
        ([1, 2, 3], [1, 2, 3], 0.5),
        ([5, 6], [1, 2, 3], 1.0),
        ([1, 2, 3], [5, 6], 0.0),
    ],
)
def test_probability_of_improvement_hand_computed(x, y, expected):
    assert probability_of_improvement(x, y) == pytest.approx(expected, rel=1e-15)


def test_probability_of_improvement_averages_over_tasks():
    x = [[1, 10], [2, 10]]
    y = [[0, 10], [3, 20]]
    # task 0: x {1,2} vs y {0,3}: (1,0) 1, (1,3) 0, (2,0) 1, (2,3) 0 -> 2/4 = 0.5
    # task 1: x {10,10} vs y {10,20}: (10,10) 1/2 twice, (10,20) 0 twice -> 1/4
    # mean over tasks: (0.5 + 0.25)/2
    assert probability_of_improvement(x, y) == 0.375
    # 1-D input is one task, and may meet a runs x 1 array
    assert probability_of_improvement([1, 2], [[1], [3]]) == 0.375


def test_against_scipy_if_installed():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for n in range(1, 30):
        x = rng.normal(size=n) * 100
        assert iqm(x) == pytest.approx(scipy_stats.trim_mean(x, 0.25), rel=1e-12, abs=1e-12)
        grid = rng.integers(0, 4, size=(n, 3)).astype(float)   # with ties
        assert iqm(grid) == pytest.approx(scipy_stats.trim_mean(grid, 0.25, axis=None), rel=1e-12)
        y = rng.integers(0, 4, size=n + 2).astype(float)
        xi = rng.integers(0, 4, size=n).astype(float)
        u = scipy_stats.mannwhitneyu(xi, y, alternative="greater").statistic  # U of x over y, ties 1/2
        assert probability_of_improvement(xi, y) == pytest.approx(u / (n * (n + 2)), rel=1e-12)


# --------------------------------------------------------------------------- bootstrap intervals, hand-computed


def test_fewer_than_ten_runs_have_no_interval():
    # (gymlab.stats.MIN_RUNS_FOR_INTERVAL; tests/test_stats_min_runs.py has the rest of the rule)
    for few in ([7.0], [[1, 2, 3]], [4, 4, 4, 4, 4]):
        with pytest.raises(ValueError, match="at least 10 runs"):
            bootstrap_ci(few)
    with pytest.raises(ValueError, match="at least 10 runs"):
        probability_of_improvement_ci([6], [5] * 10)


def test_equal_runs_collapse_the_interval_to_the_point():
    assert bootstrap_ci([4.0] * 10) == (4.0, 4.0)          # every resample the same
    assert bootstrap_ci([[1, 2, 3]] * 10) == (2.0, 2.0)    # 10 equal runs of 3 tasks: iqm of 1,2,3 = 2
    assert probability_of_improvement_ci([5] * 10, [5] * 10) == (0.5, 0.5)
    assert probability_of_improvement_ci([6] * 10, [5] * 10) == (1.0, 1.0)


HALF = [0.0] * 5 + [1.0] * 5  # a resample's mean is K/10, K ~ Binomial(10, 1/2)


def test_binomial_bootstrap_distribution():
    # Resamples of HALF (10 draws): mean K/10 with P(K <= 1) = 1.07%, P(K <= 2) = 5.47%, so the
    # 2.5th percentile is 0.2 (about 21 of 2000 values below it, 109 at or below: far from the 50th
    # value either way) and, by symmetry, the 97.5th is 0.8.
    assert bootstrap_ci(HALF, mean) == (0.2, 0.8)
    # 40%: the 30th and 70th percentiles; P(K <= 3) = 17.2%, P(K <= 4) = 37.7%, P(K <= 5) = 62.3%,
    # P(K <= 6) = 82.8%: 0.4 and 0.6 (margins of 7 points against a Monte-Carlo sd of about 1).
    assert bootstrap_ci(HALF, mean, confidence=0.4) == (0.4, 0.6)
    # P(X > 0.5) on resamples of x = HALF against ten runs of 0.5: the share of ones, K/10 again.
    assert probability_of_improvement_ci(HALF, [0.5] * 10) == (0.2, 0.8)
    assert probability_of_improvement_ci(HALF, [0.5] * 10, confidence=0.4) == (0.4, 0.6)


def test_bootstrap_is_stratified_by_task():
    # Each task's runs are resampled within the task: a task with equal runs never changes.
    # Runs x tasks [[1, 100]] x 10: every resample is ten 1s and ten 100s -> iqm (1+100)/2.
    assert bootstrap_ci([[1, 100]] * 10) == (50.5, 50.5)
    # Pooling the 20 scores instead would give resamples such as 1,...,1.
    # Task 0 = HALF, task 1 always 10, mean: task 0's mean is K/10 (95%: 0.2 to 0.8, as above),
    # task 1's always 10, so the mean of the task means is (K/10 + 10) / 2 -> (5.1, 5.4).
    assert bootstrap_ci([[h, 10] for h in HALF], mean) == pytest.approx((5.1, 5.4), abs=1e-12)


def test_tasks_are_resampled_independently():
    # Runs [0, 0] x 5 and [1, 1] x 5: with each column resampled on its own, a = mean(task 0) and
    # b = mean(task 1) are independent K/10, and a - b = D/10 with P(D <= -5) = 2.07%, P(D <= -4) =
    # 5.77%, P(D <= -6) = 0.59%: the 2.5th percentile lies in [-0.5, -0.4], the 97.5th in [0.4, 0.5].
    # (Resampling whole runs would give a - b = 0 always.)
    def gap(s):
        return s[:, 0].mean() - s[:, 1].mean()

    lo, hi = bootstrap_ci([[h, h] for h in HALF], gap)
    assert -0.5 <= lo <= -0.4 and 0.4 <= hi <= 0.5


def test_same_seed_same_interval():
    x = np.random.default_rng(3).normal(size=12)
    assert bootstrap_ci(x, seed=5) == bootstrap_ci(x, seed=5)
    assert bootstrap_ci(x, seed=5) != bootstrap_ci(x, seed=6)  # fixed data: deterministic
    y = x + 0.3
    assert probability_of_improvement_ci(x, y, seed=5) == probability_of_improvement_ci(x, y, seed=5)


@pytest.mark.parametrize("statistic", [iqm, mean, median])
@pytest.mark.parametrize("shape", [(13,), (10, 3)])
def test_batched_statistics_match_calling_them_on_each_resample(statistic, shape):
    # iqm, mean and median run on whole chunks of resamples; any other callable runs per resample.
    x = np.random.default_rng(1).exponential(size=shape)
    fast = bootstrap_ci(x, statistic, reps=300, seed=2)
    slow = bootstrap_ci(x, lambda s: statistic(s), reps=300, seed=2)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)


def test_probability_of_improvement_ci_matches_resampling_directly():
    # Rebuild the resamples (x's indices then y's, per task, from one generator; the module's
    # draw order for inputs this small) and apply the metric to each.
    rng_data = np.random.default_rng(4)
    x = rng_data.integers(0, 5, size=(12, 2)).astype(float)
    y = rng_data.integers(0, 5, size=(10, 2)).astype(float)
    reps = 300
    rng = np.random.default_rng(9)
    ix = rng.integers(0, 12, size=(reps, 12, 2))
    iy = rng.integers(0, 10, size=(reps, 10, 2))
    cols = np.arange(2)
    values = [probability_of_improvement(x[ix[r], cols], y[iy[r], cols]) for r in range(reps)]
    expected = tuple(np.percentile(values, [2.5, 97.5]))
    assert probability_of_improvement_ci(x, y, reps=reps, seed=9) == pytest.approx(expected, abs=1e-15)


def test_interval_narrows_as_runs_grow():
    # The same distribution (normal, sd 1) with 16x more runs: the IQM's interval should be about
    # 4x narrower; require at least 2x, and narrowing at every step. Fixed seeds: deterministic.
    rng = np.random.default_rng(123)
    widths = []
    for n in (10, 40, 160, 640):
        lo, hi = bootstrap_ci(rng.normal(size=n), iqm, reps=1000, seed=0)
        widths.append(hi - lo)
    assert widths == sorted(widths, reverse=True)
    assert widths[2] < widths[0] / 2
    assert widths[3] < widths[1] / 2


def test_percentile_interval_need_not_contain_the_point_estimate():
    # Why the property tests below check a weaker property. A percentile interval contains the
    # estimate only if at least (1 - confidence)/2 of the bootstrap values fall on each side of it.
    # |mean| of a sample whose mean is 0: almost every resample has |mean| > 0.
    # (Continuous scores: with small integers a resample's mean is exactly 0 often enough.)
    x = np.random.default_rng(0).normal(size=10)
    x -= x.mean()
    point = abs(x.mean())                                    # ~1e-17
    lo, hi = bootstrap_ci(x, lambda s: abs(s.mean()))
    assert point < lo < hi                                   # lo ~ 0.03: the estimate is outside
    # And with few reps the interval is a handful of resamples: reps=1 is one resample's value.
    lo, hi = bootstrap_ci([0.0, 1.0, 2.0, 3.0, 10.0] * 2, iqm, reps=1, seed=0)
    assert lo == hi
    # (For the IQM itself, with 2000 reps, no sample tried in developing this module gave an
    # interval missing the estimate; the smallest bootstrap mass on one side of it was ~37%.)


# --------------------------------------------------------------------------- properties

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
runs = st.lists(finite, min_size=1, max_size=40)


def _tol(*values):
    return 1e-9 * (1.0 + max(abs(v) for v in values))


@settings(max_examples=80, **SETTINGS)
@given(runs)
def test_iqm_lies_between_min_and_max(x):
    q = iqm(x)
    assert min(x) - _tol(*x) <= q <= max(x) + _tol(*x)


@settings(max_examples=50, **SETTINGS)
@given(st.lists(finite, min_size=1, max_size=3))
def test_iqm_is_the_mean_below_four_runs(x):
    # floor(n/4) = 0 for n < 4: nothing is cut
    assert iqm(x) == pytest.approx(float(np.mean(x)), rel=1e-12, abs=_tol(*x))


@settings(max_examples=50, **SETTINGS)
@given(st.data())
def test_iqm_is_invariant_to_permutation(data):
    x = data.draw(runs)
    assert iqm(data.draw(st.permutations(x))) == iqm(x)
    # runs x tasks: any reordering of the cells gives the same multiset of scores
    flat = [v for pair in data.draw(st.lists(st.tuples(finite, finite), min_size=1, max_size=15)) for v in pair]
    grid = np.array(flat).reshape(-1, 2)
    shuffled = np.array(data.draw(st.permutations(flat))).reshape(-1, 2)
    assert iqm(shuffled) == iqm(grid)


@settings(max_examples=60, **SETTINGS)
@given(runs, finite)
def test_iqm_shifts_with_a_constant_and_flips_with_sign(x, c):
    shifted = [v + c for v in x]
    assert iqm(shifted) == pytest.approx(iqm(x) + c, rel=1e-9, abs=_tol(*x, c))
    # the trimming is symmetric: iqm(-x) = -iqm(x)
    assert iqm([-v for v in x]) == pytest.approx(-iqm(x), rel=1e-12, abs=_tol(*x))


@settings(max_examples=50, **SETTINGS)
@given(runs)
def test_median_and_mean_of_one_task(x):
    assert median(x) == float(np.median(x))
    assert min(x) - _tol(*x) <= mean(x) <= max(x) + _tol(*x)


small_ints = st.lists(st.integers(-3, 3).map(float), min_size=1, max_size=12)  # many ties


@settings(max_examples=80, **SETTINGS)
@given(st.one_of(runs, small_ints), st.one_of(runs, small_ints))
def test_probability_of_improvement_is_complementary(x, y):
    p, q = probability_of_improvement(x, y), probability_of_improvement(y, x)
    assert 0.0 <= p <= 1.0
    assert p + q == pytest.approx(1.0, abs=1e-12)
    assert probability_of_improvement(x, x) == 0.5


enough_runs = st.lists(finite, min_size=10, max_size=40)  # an interval needs 10 runs
enough_small_ints = st.lists(st.integers(-3, 3).map(float), min_size=10, max_size=14)


@settings(max_examples=40, **SETTINGS)
@given(st.one_of(enough_runs, enough_small_ints), st.integers(0, 2**32 - 1), st.floats(0.5, 0.99))
def test_interval_is_ordered_and_within_the_range_of_the_scores(x, seed, confidence):
    # Guaranteed for the percentile interval of the IQM: every resample's IQM lies within
    # [min, max] of the scores, so both percentiles do (the weaker property; see above).
    lo, hi = bootstrap_ci(x, iqm, reps=200, confidence=confidence, seed=seed)
    assert lo <= hi
    assert min(x) - _tol(*x) <= lo and hi <= max(x) + _tol(*x)
    # The same seed gives the same interval; a wider level contains the narrower (same resamples).
    assert bootstrap_ci(x, iqm, reps=200, confidence=confidence, seed=seed) == (lo, hi)
    wlo, whi = bootstrap_ci(x, iqm, reps=200, confidence=0.995, seed=seed)
    assert wlo <= lo and hi <= whi


@settings(max_examples=30, **SETTINGS)
@given(enough_small_ints, enough_small_ints, st.integers(0, 2**32 - 1))
def test_probability_of_improvement_interval_is_a_probability_range(x, y, seed):
    lo, hi = probability_of_improvement_ci(x, y, reps=200, seed=seed)
    assert 0.0 <= lo <= hi <= 1.0
