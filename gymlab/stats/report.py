"""Per-setting summaries of multi-seed results (``summarize``), and their one-line form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .checks import _as_scores, _check_confidence, _check_reps
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
