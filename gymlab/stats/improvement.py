"""The probability of improvement (Agarwal et al. 2021): the chance that a run of one setting beats
a run of the other, and its stratified-bootstrap interval."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import (_CHUNK_ELEMENTS, _as_scores, _check_confidence, _check_enough_runs, _check_reps,
                     _percentile_interval, _runs_by_tasks)


# --------------------------------------------------------------------------- probability of improvement


def _pair(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    gx = _runs_by_tasks(_as_scores(x, "x"))
    gy = _runs_by_tasks(_as_scores(y, "y"))
    if gx.shape[1] != gy.shape[1]:
        raise ValueError(
            f"x and y must have the same number of tasks (columns), got {gx.shape[1]} and {gy.shape[1]}"
        )
    return gx, gy


def _wins(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """``w[i, j, task]`` = 1 if x_i > y_j, 1/2 if equal, 0 if less, on that task."""
    xs, ys = gx[:, None, :], gy[None, :, :]
    return (xs > ys) + 0.5 * (xs == ys)


def probability_of_improvement(x: Any, y: Any) -> float:
    """P(X > Y): the chance a run of X scores above a run of Y, ties counting 1/2.

    Per task this is the Mann-Whitney U statistic of x over y divided by
    ``n_x * n_y`` (over all pairs of runs: 1 for a win, 1/2 for a tie); for
    runs x tasks it is averaged over tasks, as rliable's
    ``metrics.probability_of_improvement``. The two sets may have different
    numbers of runs, but must have the same tasks.
    ``probability_of_improvement(x, y) + probability_of_improvement(y, x) == 1`` (up to rounding).

    >>> probability_of_improvement([1, 2], [1, 3])  # pairs (1,1) (1,3) (2,1) (2,3): (0.5 + 0 + 1 + 0) / 4
    0.375
    """
    gx, gy = _pair(x, y)
    return float(np.mean(_wins(gx, gy).mean(axis=(0, 1))))


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """``idx`` (reps, draws, tasks) of run numbers < n -> counts (reps, tasks, n)."""
    c, _, t = idx.shape
    cell = (np.arange(c)[:, None, None] * t + np.arange(t)[None, None, :]) * n
    return np.bincount((cell + idx).ravel(), minlength=c * t * n).reshape(c, t, n).astype(float)


def probability_of_improvement_ci(
    x: Any,
    y: Any,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Stratified-bootstrap percentile interval for ``probability_of_improvement(x, y)``.

    Each resample draws x's runs and y's runs with replacement, independently of
    each other and within each task, as rliable's
    ``StratifiedIndependentBootstrap`` does for this metric; otherwise as
    :func:`bootstrap_ci` (same percentiles, same ``seed`` same interval). Both
    x and y need at least ``MIN_RUNS_FOR_INTERVAL`` (10) runs, else ValueError.

    >>> probability_of_improvement_ci([5, 6, 7] * 4, [1, 2] * 5)  # every x beats every y
    (1.0, 1.0)
    """
    gx, gy = _pair(x, y)
    reps = _check_reps(reps)
    confidence = _check_confidence(confidence)
    (nx, t), ny = gx.shape, gy.shape[0]
    _check_enough_runs(nx, "x")
    _check_enough_runs(ny, "y")
    wins = _wins(gx, gy)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ELEMENTS // (t * (nx + ny)))
    values = np.empty(reps)
    for start in range(0, reps, chunk):
        c = min(chunk, reps - start)
        cx = _counts(rng.integers(0, nx, size=(c, nx, t)), nx)
        cy = _counts(rng.integers(0, ny, size=(c, ny, t)), ny)
        # A resample's wins over all pairs = cx . wins . cy: run i of x drawn cx[i] times
        # and run j of y cy[j] times meet in cx[i] * cy[j] pairs. Exact (multiples of 1/2).
        u = np.stack([((cx[:, k, :] @ wins[:, :, k]) * cy[:, k, :]).sum(axis=1) for k in range(t)], axis=1)
        values[start:start + c] = (u / (nx * ny)).mean(axis=1)
    return _percentile_interval(values, confidence)
