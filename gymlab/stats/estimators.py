"""Aggregates of scores (interquartile mean, mean, median), their stratified-bootstrap intervals,
and the fraction of runs that solve a task."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .checks import (_CHUNK_ELEMENTS, _as_scores, _check_confidence, _check_enough_runs, _check_reps, _number,
                     _percentile_interval, _runs_by_tasks)


# --------------------------------------------------------------------------- aggregates


def _trimmed_mean_rows(sorted_rows: np.ndarray) -> np.ndarray:
    """25% trimmed mean of each row of an array whose rows are sorted."""
    n = sorted_rows.shape[-1]
    k = n // 4  # scipy.stats.trim_mean: int(0.25 * n) cut from each end (0.25 * n is exact)
    return sorted_rows[..., k:n - k].mean(axis=-1)


def iqm(scores: Any) -> float:
    """Interquartile mean: the 25% trimmed mean over all runs (and all tasks).

    ``floor(n / 4)`` of the ``n`` scores are cut from each end and the rest
    averaged, as ``scipy.stats.trim_mean(scores, 0.25, axis=None)`` and
    rliable's ``metrics.aggregate_iqm`` do; a 2-D array is flattened first.
    With fewer than 4 scores nothing is cut and this is the mean.

    >>> iqm([1, 2, 3, 4, 5, 6, 7, 8])   # cut 2 each end: (3 + 4 + 5 + 6) / 4
    4.5
    >>> iqm([[1, 10], [2, 20]])         # all 4 scores 1, 2, 10, 20; cut 1 each end
    6.0
    """
    a = np.sort(_as_scores(scores).ravel())
    return float(_trimmed_mean_rows(a))


def mean(scores: Any) -> float:
    """Mean score; for runs x tasks, the mean over tasks of each task's mean
    (rliable's ``metrics.aggregate_mean``, equal to the mean of all scores).

    >>> mean([1, 2, 6])
    3.0
    """
    a = _as_scores(scores)
    return float(np.mean(a) if a.ndim == 1 else np.mean(np.mean(a, axis=0)))


def median(scores: Any) -> float:
    """Median: for 1-D, the median of the runs; for runs x tasks, the median over
    tasks of each task's mean score (rliable's ``metrics.aggregate_median``).

    >>> median([1, 2, 6, 100])
    4.0
    >>> median([[1, 10, 0], [3, 20, 0]])  # task means 2, 15, 0 -> median 2
    2.0
    """
    a = _as_scores(scores)
    return float(np.median(a) if a.ndim == 1 else np.median(np.mean(a, axis=0)))


def _iqm_batch(samples: np.ndarray) -> np.ndarray:
    flat = samples.reshape(samples.shape[0], -1)
    return _trimmed_mean_rows(np.sort(flat, axis=1))


def _mean_batch(samples: np.ndarray) -> np.ndarray:
    if samples.ndim == 2:
        return samples.mean(axis=1)
    return samples.mean(axis=1).mean(axis=1)


def _median_batch(samples: np.ndarray) -> np.ndarray:
    if samples.ndim == 2:
        return np.median(samples, axis=1)
    return np.median(samples.mean(axis=1), axis=1)


# The built-in aggregates evaluated on a whole chunk of resamples at once; the same
# numbers (up to rounding) as calling them on each resample.
_BATCHED: dict[Callable[[Any], float], Callable[[np.ndarray], np.ndarray]] = {
    iqm: _iqm_batch,
    mean: _mean_batch,
    median: _median_batch,
}


# --------------------------------------------------------------------------- intervals


def bootstrap_ci(
    scores: Any,
    statistic: Callable[[np.ndarray], float] = iqm,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Stratified-bootstrap percentile interval ``(low, high)`` for ``statistic(scores)``.

    Each of ``reps`` resamples draws the runs with replacement independently
    within each task (per column of a runs x tasks array; a 1-D array is one
    task), as rliable's ``StratifiedBootstrap``; ``statistic`` is applied to
    each resample (an array of the input's shape), and the interval is the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles of those
    values (numpy's linear interpolation: arch's 'percentile' method, which
    rliable's ``get_interval_estimates`` uses). The same ``seed`` gives the same
    interval; ``seed=None`` draws fresh entropy.

    Fewer than ``MIN_RUNS_FOR_INTERVAL`` (10) runs (per task) raise ValueError:
    the bootstrap of a handful of seeds looks precise and is not (with one run
    it collapses to the point), so no caller can print one by mistake; report
    every run's value, the range and n instead (as :func:`summarize` does). A
    percentile interval need not contain the point estimate (the bootstrap
    distribution of a trimmed mean can be skewed away from it); it always lies
    within the range of the bootstrap values.

    >>> bootstrap_ci([3.0] * 10)
    (3.0, 3.0)
    """
    a = _as_scores(scores)
    reps = _check_reps(reps)
    confidence = _check_confidence(confidence)
    grid = _runs_by_tasks(a)
    n, t = grid.shape
    _check_enough_runs(n)
    batched = _BATCHED.get(statistic)
    rng = np.random.default_rng(seed)
    columns = np.arange(t)
    chunk = max(1, _CHUNK_ELEMENTS // (n * t))
    values = np.empty(reps)
    for start in range(0, reps, chunk):
        c = min(chunk, reps - start)
        idx = rng.integers(0, n, size=(c, n, t))
        samples = grid[idx, columns]  # samples[r, i, j] = grid[idx[r, i, j], j]
        if a.ndim == 1:
            samples = samples[..., 0]
        if batched is not None:
            values[start:start + c] = batched(samples)
        else:
            values[start:start + c] = [float(statistic(s)) for s in samples]
    if not np.all(np.isfinite(values)):
        raise ValueError("statistic returned NaN or infinity on a bootstrap resample")
    return _percentile_interval(values, confidence)


# --------------------------------------------------------------------------- thresholds


def solved_fraction(scores: Any, threshold: float) -> float:
    """Fraction of runs (of all runs x tasks) scoring at least ``threshold``.

    >>> solved_fraction([400, 475, 500, 10], 475)
    0.5
    """
    a = _as_scores(scores)
    thr = _number(threshold, "threshold", "a finite number")
    if not math.isfinite(thr):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    return float(np.mean(a >= thr))
