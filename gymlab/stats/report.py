"""Per-setting summaries of multi-seed results (``summarize``), and their one-line form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .checks import MIN_RUNS_FOR_INTERVAL, _as_scores, _check_confidence, _check_reps, enough_runs
from .estimators import bootstrap_ci, iqm, mean, median, solved_fraction
from .improvement import probability_of_improvement, probability_of_improvement_ci


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
         "range": [min, max], "iqm_ci": [low, high] or None, "confidence": 0.95,
         "solved_fraction": f,                       # only when threshold is given
         "probability_of_improvement": {other: {"p": P(this > other), "ci": [low, high] or None}, ...}}

    An interval is there only from ``MIN_RUNS_FOR_INTERVAL`` (10) runs (for the
    probability of improvement, on both sides); below that it is None, and the
    entry's ``scores``, ``range`` and ``n`` say what there is. Every number is a
    Python float (``n`` an int) and finite. Each setting's
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
        ci = list(bootstrap_ci(a, iqm, reps=reps, confidence=confidence, seed=seed)) if enough_runs(len(a)) else None
        entry: dict[str, Any] = {
            "scores": a.tolist(),
            "n": int(a.shape[0]),
            "mean": mean(a),
            "median": median(a),
            "iqm": iqm(a),
            "range": [float(a.min()), float(a.max())],
            "iqm_ci": ci,
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
            ci = back = None
            if enough_runs(len(arrays[first])) and enough_runs(len(arrays[second])):
                low, high = probability_of_improvement_ci(
                    arrays[first], arrays[second], reps=reps, confidence=confidence, seed=seed
                )
                ci, back = [low, high], [1.0 - high, 1.0 - low]
            out[first]["probability_of_improvement"][second] = {"p": p, "ci": ci}
            out[second]["probability_of_improvement"][first] = {"p": q, "ci": back}
    for name in out:  # in the order given
        out[name]["probability_of_improvement"] = {
            other: out[name]["probability_of_improvement"][other] for other in arrays if other != name}
    return out


def format_iqm(d: Mapping[str, Any], digits: int = 1) -> str:
    """A :func:`summarize` entry's IQM and interval as text; below ``MIN_RUNS_FOR_INTERVAL`` runs
    (or with no interval) the IQM, n, the range and, when the entry has them, every run's value.
    An interval is printed only when the entry says how many runs (``n``) it came from.

    >>> format_iqm({"iqm": 475.3, "iqm_ci": [466.0, 500.0], "n": 10})
    '475.3 [466.0, 500.0]'
    >>> format_iqm({"iqm": 14.6, "n": 3, "range": [13.2, 15.9], "scores": [14.6, 13.2, 15.9]})
    '14.6 (n = 3, no interval; range [13.2, 15.9]: 14.6, 13.2, 15.9)'
    """
    try:
        q = d["iqm"]
        ci, n = d.get("iqm_ci"), d.get("n")
        if ci is not None and n is None:
            raise ValueError
        if ci is not None and n is not None and n >= MIN_RUNS_FOR_INTERVAL:
            low, high = ci
            return f"{q:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
        low, high = d["range"]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValueError("format_iqm needs a summarize() entry: 'iqm', 'n' and 'iqm_ci' [low, high] (from "
                         f">= {MIN_RUNS_FOR_INTERVAL} runs), or 'range' [min, max] (fewer)") from None
    values = d.get("scores")
    each = ": " + ", ".join(f"{v:.{digits}f}" for v in values) if values is not None else ""
    return f"{q:.{digits}f} (n = {n}, no interval; range [{low:.{digits}f}, {high:.{digits}f}]{each})"


def curve_band(columns: Any, reps: int = 2000, seed: int | None = 0) -> tuple[list, list, list, str]:
    """``(iqm, low, high, band)`` of a learning curve, a column of runs' values a point: each point's
    IQM, and one band for the whole curve, so it is never half one thing and half the other: the
    IQM's 95% interval (``band == "95% CI"``) when every point has ``MIN_RUNS_FOR_INTERVAL`` values,
    else the range over the runs, min to max (``band == "range"``), which a plot must label so.

    >>> curve_band([[1.0, 3.0, 2.0], [4.0, 6.0]])
    ([2.0, 5.0], [1.0, 4.0], [3.0, 6.0], 'range')
    """
    arrays = [_as_scores(c, "a curve's point") for c in columns]
    band = "95% CI" if arrays and all(enough_runs(len(a)) for a in arrays) else "range"
    mid, low, high = [], [], []
    for a in arrays:
        lo, hi = bootstrap_ci(a, iqm, reps=reps, seed=seed) if band == "95% CI" else (a.min(), a.max())
        mid.append(iqm(a))
        low.append(float(lo))
        high.append(float(hi))
    return mid, low, high, band
