"""Checks of the statistics' inputs (scores, reps, confidence) and the percentile interval they share."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

# Bootstrap resamples are built in chunks of about this many numbers, so memory
# stays small however many runs, tasks and reps there are.
_CHUNK_ELEMENTS = 1 << 20

# An interval is computed and printed only from at least this many runs (per task, and on both sides
# of a comparison): below it the bootstrap of a handful of seeds looks precise and is not. Fewer runs
# are reported as every run's value, the range [min, max] and n.
MIN_RUNS_FOR_INTERVAL = 10


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


def _check_enough_runs(n: int, name: str = "scores") -> None:
    if n < MIN_RUNS_FOR_INTERVAL:
        raise ValueError(
            f"an interval needs at least {MIN_RUNS_FOR_INTERVAL} runs (gymlab.stats.MIN_RUNS_FOR_INTERVAL); "
            f"{name}: got {n}; report every run's value, the range and n instead")


def enough_runs(n: int) -> bool:
    """Whether ``n`` runs are enough for an interval (``n >= MIN_RUNS_FOR_INTERVAL``)."""
    return n >= MIN_RUNS_FOR_INTERVAL


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


def _number(value: Any, name: str, must_be: str) -> float:
    """``value`` as a float; TypeError (``name must be must_be``) for text, a bool or a non-number."""
    if isinstance(value, (str, bytes, bool)):
        raise TypeError(f"{name} must be {must_be}, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {must_be}, got {value!r}") from None


def _check_confidence(confidence: Any) -> float:
    c = _number(confidence, "confidence", "a number in (0, 1)")
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return c


def _percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    # arch's two-sided 'percentile' method, which rliable calls: alpha = (1 - size) / 2
    alpha = (1.0 - confidence) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1.0 - alpha)])
    return float(low), float(high)
