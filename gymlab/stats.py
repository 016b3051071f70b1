"""Statistics for multi-seed RL results, as rliable defines them.

Agarwal et al. 2021, "Deep reinforcement learning at the edge of the
statistical precipice" (NeurIPS), and its library ``rliable``: the
interquartile mean, stratified-bootstrap percentile intervals and the
probability of improvement. This module matches those definitions with numpy
alone (rliable's pinned dependencies clash with this project's environment),
and importing it imports nothing heavier than numpy.

Scores are 1-D (one score per run, e.g. the final mean return of each seed)
or 2-D (runs x tasks, ``scores[run, task]``, rliable's layout); a 1-D array is
one task.

    >>> from gymlab.stats import iqm, bootstrap_ci, probability_of_improvement
    >>> iqm([1, 2, 3, 4, 5, 6, 7, 8])               # trims 2 each end: mean(3, 4, 5, 6)
    4.5
    >>> probability_of_improvement([2, 3], [1, 3])  # (1 + 1 + 0 + 0.5) / 4
    0.625
    >>> bootstrap_ci([7.0])                         # one run: the interval collapses
    (7.0, 7.0)

Failed runs. A NaN or infinite score (a diverged or crashed trial) is never
dropped silently: every function raises ``ValueError`` naming how many there
are. The caller decides what such a run scored (e.g. the environment's
minimum return, or a random policy's score) and passes that number, or leaves
the run out deliberately and says so.

Errors: bad scores (empty, NaN, None, not numbers, not 1-D or 2-D) and bad values
(``reps < 1``, ``confidence`` outside (0, 1), a non-finite threshold) raise
``ValueError``; arguments of the wrong type (a ``reps`` that is not an
integer, a ``confidence`` or threshold that is not a number, setting names
that are not strings) raise ``TypeError``.

Differences from rliable, on purpose:

* 1-D input is accepted (rliable needs runs x tasks). For it ``median`` is the
  sample median of the runs; rliable's ``aggregate_median`` is the median over
  tasks of each task's mean, which for one task is just the mean. 2-D input
  gets rliable's definition.
* Resampling uses ``numpy.random.default_rng(seed)``, so intervals are
  reproducible from ``seed`` alone (rliable draws from numpy's global random
  state and ignores its ``random_state`` argument). The intervals agree with
  rliable's up to Monte-Carlo error, not bit for bit. Default ``reps`` is 2000
  (rliable's ``get_interval_estimates`` defaults to 50000).
* ``solved_fraction`` counts ``score >= threshold`` (reaching the threshold
  solves the task, as Gymnasium's ``reward_threshold`` means it); rliable's
  score distributions count ``score > tau``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "iqm",
    "mean",
    "median",
    "bootstrap_ci",
    "probability_of_improvement",
    "probability_of_improvement_ci",
    "solved_fraction",
    "summarize",
    "format_iqm",
]

# Bootstrap resamples are built in chunks of about this many numbers, so memory
# stays small however many runs, tasks and reps there are.
_CHUNK_ELEMENTS = 1 << 20


# --------------------------------------------------------------------------- input checks


def _as_scores(scores: Any, name: str = "scores") -> np.ndarray:
    """``scores`` as a float array, 1-D (runs) or 2-D (runs x tasks), checked.

    Raises ValueError for anything that is not real numbers, the wrong number of
    dimensions, no runs (or no tasks), and NaN or infinite scores.
    """
    try:
        raw = np.asarray(scores)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of numbers: {err}") from None
    if raw.dtype.kind not in "biufO":
        raise ValueError(f"{name} must be real numbers, got dtype {raw.dtype}")
    if raw.dtype.kind == "O" and any(isinstance(v, (str, bytes)) for v in raw.ravel()):
        raise ValueError(f"{name} must be real numbers, not text")
    if raw.dtype.kind == "O":
        n_none = sum(v is None for v in raw.ravel())
        if n_none:  # numpy would turn None into NaN; say what it was
            raise ValueError(
                f"{name} contains {n_none} None value(s) out of {raw.size}: a run with no score is not "
                "dropped silently; pass the score it should count as, or leave it out deliberately"
            )
    try:
        a = raw.astype(float)
    except (TypeError, ValueError) as err:  # e.g. None for a run that produced no score
        raise ValueError(f"{name} must be real numbers (a missing run cannot be None): {err}") from None
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (runs) or 2-D (runs x tasks), got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape}): need at least one run of at least one task")
    bad = ~np.isfinite(a)
    if bad.any():
        n_nan = int(np.isnan(a).sum())
        n_inf = int(bad.sum()) - n_nan
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite value(s) out of {a.size}: a failed or "
            "diverged run is not dropped silently; pass the score it should count as (e.g. the "
            "environment's minimum return), or leave it out deliberately"
        )
    return a


def _runs_by_tasks(a: np.ndarray) -> np.ndarray:
    return a[:, None] if a.ndim == 1 else a


def _check_reps(reps: Any) -> int:
    if isinstance(reps, bool):
        raise TypeError(f"reps must be a positive integer, got {reps!r}")
    try:
        reps = operator.index(reps)
    except TypeError:
        raise TypeError(f"reps must be a positive integer, got {reps!r}") from None
    if reps < 1:
        raise ValueError(f"reps must be a positive integer, got {reps}")
    return reps


def _check_confidence(confidence: Any) -> float:
    if isinstance(confidence, (str, bytes, bool)):
        raise TypeError(f"confidence must be a number in (0, 1), got {confidence!r}")
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise TypeError(f"confidence must be a number in (0, 1), got {confidence!r}") from None
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return c


def _percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    # arch's two-sided 'percentile' method, which rliable calls: alpha = (1 - size) / 2
    alpha = (1.0 - confidence) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1.0 - alpha)])
    return float(low), float(high)


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

    With one run (per task) every resample is the sample itself, so the interval
    collapses to the point ``(statistic(scores), statistic(scores))``: it says
    nothing about uncertainty then. A percentile interval need not contain the
    point estimate (the bootstrap distribution of a trimmed mean can be skewed
    away from it); it always lies within the range of the bootstrap values.

    >>> bootstrap_ci([3.0, 3.0, 3.0])
    (3.0, 3.0)
    """
    a = _as_scores(scores)
    reps = _check_reps(reps)
    confidence = _check_confidence(confidence)
    grid = _runs_by_tasks(a)
    n, t = grid.shape
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
    :func:`bootstrap_ci` (same percentiles, same ``seed`` same interval). With
    one run each the interval collapses to the point.

    >>> probability_of_improvement_ci([5, 6, 7], [1, 2])  # every x beats every y
    (1.0, 1.0)
    """
    gx, gy = _pair(x, y)
    reps = _check_reps(reps)
    confidence = _check_confidence(confidence)
    (nx, t), ny = gx.shape, gy.shape[0]
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


# --------------------------------------------------------------------------- thresholds


def solved_fraction(scores: Any, threshold: float) -> float:
    """Fraction of runs (of all runs x tasks) scoring at least ``threshold``.

    >>> solved_fraction([400, 475, 500, 10], 475)
    0.5
    """
    a = _as_scores(scores)
    if isinstance(threshold, (str, bytes, bool)):
        raise TypeError(f"threshold must be a finite number, got {threshold!r}")
    try:
        thr = float(threshold)
    except (TypeError, ValueError):
        raise TypeError(f"threshold must be a finite number, got {threshold!r}") from None
    if not math.isfinite(thr):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    return float(np.mean(a >= thr))


# --------------------------------------------------------------------------- reports


def summarize(
    scores_by_setting: Mapping[str, Any],
    threshold: float | None = None,
    reps: int = 2000,
    seed: int | None = 0,
    confidence: float = 0.95,
) -> dict[str, dict[str, Any]]:
    """Per-setting statistics of multi-seed results, as plain JSON-able values.

    ``scores_by_setting`` maps a setting's name to its scores (one per run, or
    runs x tasks). Returns ``{name: entry}`` in the same order, each entry::

        {"scores": [...], "n": runs, "mean": m, "median": md, "iqm": q,
         "iqm_ci": [low, high], "confidence": 0.95,
         "solved_fraction": f,                       # only when threshold is given
         "probability_of_improvement": {other: {"p": P(this > other), "ci": [low, high]}, ...}}

    Every number is a Python float (``n`` an int) and finite. Each setting's
    interval uses ``seed`` itself, so it does not change when settings are added
    or reordered. Each pair's probability of improvement is bootstrapped once,
    for the setting whose name sorts first over the other (so it does not change
    with the order given either), and mirrored for the other direction:
    ``[low, high]`` becomes ``[1 - high, 1 - low]``, and its ``p`` is computed
    directly. NaN scores raise ValueError naming the setting.
    """
    if not isinstance(scores_by_setting, Mapping):
        raise TypeError(
            f"scores_by_setting must be a mapping of name -> scores, got {type(scores_by_setting).__name__}"
        )
    if not scores_by_setting:
        raise ValueError("scores_by_setting is empty: nothing to summarize")
    reps = _check_reps(reps)
    confidence = _check_confidence(confidence)
    arrays: dict[str, np.ndarray] = {}
    for name, scores in scores_by_setting.items():
        if not isinstance(name, str):
            raise TypeError(f"setting names must be strings (JSON keys), got {name!r}")
        arrays[name] = _as_scores(scores, f"scores for setting {name!r}")

    out: dict[str, dict[str, Any]] = {}
    for name, a in arrays.items():
        low, high = bootstrap_ci(a, iqm, reps=reps, confidence=confidence, seed=seed)
        entry: dict[str, Any] = {
            "scores": a.tolist(),
            "n": int(a.shape[0]),
            "mean": mean(a),
            "median": median(a),
            "iqm": iqm(a),
            "iqm_ci": [low, high],
            "confidence": confidence,
        }
        if threshold is not None:
            entry["solved_fraction"] = solved_fraction(a, threshold)
        entry["probability_of_improvement"] = {}
        out[name] = entry

    names = sorted(arrays)  # each pair bootstrapped in one fixed order, whatever the order given
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            try:
                p = probability_of_improvement(arrays[first], arrays[second])
                q = probability_of_improvement(arrays[second], arrays[first])
            except ValueError as err:
                raise ValueError(f"settings {first!r} and {second!r}: {err}") from None
            low, high = probability_of_improvement_ci(
                arrays[first], arrays[second], reps=reps, confidence=confidence, seed=seed
            )
            out[first]["probability_of_improvement"][second] = {"p": p, "ci": [low, high]}
            out[second]["probability_of_improvement"][first] = {"p": q, "ci": [1.0 - high, 1.0 - low]}
    for name in out:  # in the order given
        out[name]["probability_of_improvement"] = {
            other: out[name]["probability_of_improvement"][other] for other in arrays if other != name}
    return out


def format_iqm(d: Mapping[str, Any], digits: int = 1) -> str:
    """A :func:`summarize` entry's IQM and interval as text.

    >>> format_iqm({"iqm": 475.3, "iqm_ci": [466.0, 500.0]})
    '475.3 [466.0, 500.0]'
    """
    try:
        q, (low, high) = d["iqm"], d["iqm_ci"]
    except (KeyError, TypeError, ValueError):
        raise ValueError("format_iqm needs a summarize() entry, with 'iqm' and 'iqm_ci' [low, high]") from None
    return f"{q:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
