"""Env steps and wall seconds to a return threshold, from each run's periodic greedy evaluations,
with the runs that never reach it censored (counted, never dropped)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .checks import _check_confidence, _check_reps, _number, enough_runs
from .estimators import bootstrap_ci, iqm


def describe(values: Sequence[float], reps: int = 2000, seed: int | None = 0,
             confidence: float = 0.95) -> dict[str, Any]:
    """One sample's figures: ``{"n", "values", "median", "iqm", "range": [min, max], "iqm_ci"}``,
    ``iqm_ci`` the IQM's interval from ``MIN_RUNS_FOR_INTERVAL`` values, else None (and everything
    but ``n`` and ``values`` None for no values).

    >>> describe([3.0, 1.0, 2.0])["range"], describe([3.0, 1.0, 2.0])["iqm_ci"]
    ([1.0, 3.0], None)
    """
    a = np.asarray(values, dtype=float)
    if not len(a):
        return {"n": 0, "values": [], "median": None, "iqm": None, "range": None, "iqm_ci": None}
    ci = list(bootstrap_ci(a, iqm, reps=reps, confidence=confidence, seed=seed)) if enough_runs(len(a)) else None
    return {"n": len(a), "values": a.tolist(), "median": float(np.median(a)), "iqm": iqm(a),
            "range": [float(a.min()), float(a.max())], "iqm_ci": ci}


def _point(evaluation: Any) -> tuple[float, float, float | None]:
    """``(step, return, wall seconds or None)`` of one periodic evaluation: a mapping with ``step``,
    ``return_mean`` and optionally ``wall_s`` (a run summary's entries), or a tuple of them."""
    if isinstance(evaluation, Mapping):
        return evaluation["step"], evaluation["return_mean"], evaluation.get("wall_s")
    step, ret, *wall = evaluation
    return step, ret, (wall[0] if wall else None)


def time_to_threshold(curves: Sequence[Sequence[Any]], threshold: float, budget: Any = None,
                      reps: int = 2000, seed: int | None = 0, confidence: float = 0.95) -> dict[str, Any]:
    """Env steps and wall seconds until each run's first periodic greedy evaluation at or above
    ``threshold`` (reaching it counts, as Gymnasium's ``reward_threshold`` means it).

    ``curves`` holds one run's periodic evaluations each (``{"step", "return_mean", "wall_s"}``, as a
    sweep's trials carry them, or ``(step, return[, wall_s])``), in order. A run that never reaches
    the threshold (a NaN or missing return never does) is censored at ``budget`` (a label such as
    ``"50000 steps"``): counted, never dropped. ``median_steps`` (and ``median_wall_s``) is the median
    over every run with the censored ones beyond the budget: None, "beyond the budget", unless more
    than half reached it. ``steps`` and ``wall_s`` describe the runs that reached it (conditional on
    reaching; their interval only when no run is censored). Returns::

        {"threshold": t, "budget": budget, "n": runs, "reached": k, "censored": runs - k,
         "runs": [{"step": s, "wall_s": w} or None (censored), ...],
         "median_steps": m or None, "median_wall_s": m or None,
         "steps": describe(steps of the k runs), "wall_s": describe(their seconds) or None}

    (``describe``: ``n``, ``values``, ``median``, ``iqm``, ``range``, ``iqm_ci`` only from 10 runs;
    ``wall_s`` is None when a run that reached it has no wall time logged.)

    Examples:
        >>> r = time_to_threshold([[(100, 5.0, 1.5), (200, 9.0, 3.0)], [(100, 2.0, 1.0), (200, 4.0, 2.0)]],
        ...                       threshold=5, budget="200 steps")
        >>> r["reached"], r["censored"], r["runs"], r["steps"]["values"]
        (1, 1, [{'step': 100, 'wall_s': 1.5}, None], [100.0])
    """
    thr = _number(threshold, "threshold", "a finite number")
    if not math.isfinite(thr):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    reps, confidence = _check_reps(reps), _check_confidence(confidence)
    per_run: list[dict | None] = []
    for curve in curves:
        hit = None
        for evaluation in curve:
            step, ret, wall = _point(evaluation)
            if ret is not None and math.isfinite(ret) and ret >= thr:
                hit = {"step": step, "wall_s": wall}
                break
        per_run.append(hit)
    reached = [h for h in per_run if h is not None]
    timed = all(h["wall_s"] is not None for h in reached)
    censored = len(per_run) - len(reached)

    def over_reached(values):  # conditional on reaching it: no interval while a run is censored
        d = describe(values, reps, seed, confidence)
        return {**d, "iqm_ci": None} if censored else d

    return {"threshold": thr, "budget": budget, "n": len(per_run), "reached": len(reached),
            "censored": censored, "runs": per_run,
            "median_steps": _censored_median([h["step"] for h in reached], censored),
            "median_wall_s": _censored_median([h["wall_s"] for h in reached], censored) if timed else None,
            "steps": over_reached([h["step"] for h in reached]),
            "wall_s": over_reached([h["wall_s"] for h in reached]) if timed else None}


def _censored_median(values: Sequence[float], censored: int) -> float | None:
    """The median over every run, a censored one counted as beyond the budget (+inf, as Kaplan-Meier's
    median with all censoring at the budget): None ("beyond the budget") unless more than half reached."""
    if not values and not censored:
        return None
    m = float(np.median(np.concatenate([np.asarray(values, dtype=float), np.full(censored, np.inf)])))
    return m if math.isfinite(m) else None


def _figure(d: Mapping[str, Any], unit: str, digits: int) -> str:
    def f(x):
        return f"{x:.{digits}f}"

    if d["iqm_ci"] is not None:
        low, high = d["iqm_ci"]
        return f"median {f(d['median'])} {unit}, IQM {f(d['iqm'])} [{f(low)}, {f(high)}]"
    low, high = d["range"]
    return f"median {f(d['median'])} {unit} (n = {d['n']}, no interval; range [{f(low)}, {f(high)}])"


def format_to_threshold(r: Mapping[str, Any]) -> str:
    """A :func:`time_to_threshold` result as one line of text.

    >>> print(format_to_threshold(time_to_threshold([[(100, 5.0)], [(100, 2.0)]], 5, "100 steps")))
    1 of 2 reached 5; median over all 2: beyond the budget; of those that reached it, median 100 steps (n = 1, no interval; range [100, 100]), no wall time logged; 1 of 2 censored at 100 steps
    """
    head = f"{r['reached']} of {r['n']} reached {r['threshold']:g}"
    if r["n"]:
        m = r.get("median_steps")
        head += f"; median over all {r['n']}: " + ("beyond the budget" if m is None else f"{m:.0f} steps")
    if r["reached"]:
        head += "; of those that reached it, " + _figure(r["steps"], "steps", 0)
        head += ", " + (_figure(r["wall_s"], "s", 1) if r["wall_s"] is not None else "no wall time logged")
    budget = f" at {r['budget']}" if r["budget"] is not None else ""
    return head + (f"; {r['censored']} of {r['n']} censored{budget}" if r["censored"] else "")
