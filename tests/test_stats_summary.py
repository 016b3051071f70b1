"""gymlab.stats: ``summarize`` and ``format_iqm`` (the report's numbers), the edge cases of every
estimator (empty, failed and malformed scores, bad arguments), and the module's import cost.
(Hand-computed aggregates, intervals and properties: tests/test_stats.py.)
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gymlab import stats
from gymlab.stats import (
    bootstrap_ci,
    format_iqm,
    iqm,
    mean,
    median,
    probability_of_improvement,
    probability_of_improvement_ci,
    solved_fraction,
    summarize,
)


NAN = float("nan")


# --------------------------------------------------------------------------- summarize and format_iqm


def test_summarize_hand_computed():
    out = summarize({"a": [1, 2, 3, 4, 5, 6, 7, 8], "b": [1, 3]}, threshold=5, reps=500)
    assert list(out) == ["a", "b"]
    a, b = out["a"], out["b"]
    assert a["scores"] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    assert a["n"] == 8 and b["n"] == 2
    assert a["mean"] == 4.5 and a["median"] == 4.5 and a["iqm"] == 4.5
    assert b["mean"] == 2.0 and b["iqm"] == 2.0      # n=2: no trimming, (1+3)/2
    assert a["range"] == [1.0, 8.0] and b["range"] == [1.0, 3.0]
    assert a["solved_fraction"] == 0.5               # 5,6,7,8 of 8 reach 5
    assert b["solved_fraction"] == 0.0
    assert a["confidence"] == 0.95
    assert a["iqm_ci"] is None and b["iqm_ci"] is None  # fewer than 10 runs: no interval
    # P(a > b): y=1: 7 of a above, one tie -> 7.5; y=3: 5 above (4..8), one tie -> 5.5; 13/16
    pab = a["probability_of_improvement"]["b"]
    pba = b["probability_of_improvement"]["a"]
    assert pab == {"p": 13 / 16, "ci": None} and pba == {"p": 3 / 16, "ci": None}
    assert "b" not in b["probability_of_improvement"]


def test_summarize_intervals_from_ten_runs():
    x, y = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 3] * 6
    out = summarize({"a": x, "b": y}, reps=500)
    a = out["a"]
    assert a["iqm_ci"] == list(bootstrap_ci(x, iqm, reps=500, seed=0))
    pab, pba = a["probability_of_improvement"]["b"], out["b"]["probability_of_improvement"]["a"]
    assert pab["ci"] == list(probability_of_improvement_ci(x, y, reps=500, seed=0))
    assert pba["ci"] == [1 - pab["ci"][1], 1 - pab["ci"][0]]


def test_summarize_is_plain_json():
    scores = {"dqn": [480.0, 500.0, 466.0, 500.0, 12.5] * 2, "ppo": np.array([500, 500, 495]), "one": [3]}
    out = summarize(scores, threshold=475, reps=200, seed=1)
    assert json.loads(json.dumps(out, allow_nan=False)) == out   # finite plain values round-trip

    def walk(v):
        if isinstance(v, dict):
            assert all(type(k) is str for k in v)
            for w in v.values():
                walk(w)
        elif isinstance(v, list):
            for w in v:
                walk(w)
        else:  # (None: no interval, from fewer than 10 runs)
            assert v is None or type(v) in (float, int), (v, type(v))

    walk(out)
    assert type(out["dqn"]["iqm_ci"][0]) is float and out["ppo"]["iqm_ci"] is None
    assert type(out["ppo"]["n"]) is int and type(out["ppo"]["iqm"]) is float
    assert out["one"]["iqm_ci"] is None and out["one"]["range"] == [3.0, 3.0]
    assert "solved_fraction" not in summarize({"x": [1, 2]}, reps=10)["x"]
    assert summarize({"x": [1, 2]}, reps=10)["x"]["probability_of_improvement"] == {}


def test_summarize_intervals_do_not_depend_on_the_other_settings():
    x = [1.0, 5.0, 2.0, 8.0, 3.0] * 2
    alone = summarize({"x": x}, reps=300)["x"]["iqm_ci"]
    assert alone is not None
    assert summarize({"w": [0, 9], "x": x, "z": [4]}, reps=300)["x"]["iqm_ci"] == alone


def test_format_iqm():
    assert format_iqm({"iqm": 475.3, "iqm_ci": [466.0, 500.0], "n": 10}) == "475.3 [466.0, 500.0]"
    assert format_iqm({"iqm": 475.26, "iqm_ci": [466.04, 500.0], "n": 12}) == "475.3 [466.0, 500.0]"
    assert format_iqm({"iqm": 0.5, "iqm_ci": [0.25, 0.75], "n": 10}, digits=2) == "0.50 [0.25, 0.75]"
    assert format_iqm(summarize({"s": [500] * 10}, reps=50)["s"]) == "500.0 [500.0, 500.0]"
    assert format_iqm(summarize({"s": [500, 500, 500]}, reps=50)["s"]) == \
        "500.0 (n = 3, no interval; range [500.0, 500.0]: 500.0, 500.0, 500.0)"
    with pytest.raises(ValueError, match="iqm_ci"):
        format_iqm({"iqm": 1.0})


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("f", [iqm, mean, median, bootstrap_ci, lambda s: solved_fraction(s, 1)])
def test_empty_scores_raise(f):
    for empty in ([], np.empty((0, 3)), np.empty((3, 0)), [[]]):
        with pytest.raises(ValueError, match="empty"):
            f(empty)


@pytest.mark.parametrize(
    "f",
    [iqm, mean, median, bootstrap_ci, lambda s: solved_fraction(s, 1),
     lambda s: probability_of_improvement(s, [1.0]), lambda s: probability_of_improvement([1.0], s),
     lambda s: probability_of_improvement_ci(s, [1.0])],
)
def test_failed_runs_are_never_dropped(f):
    with pytest.raises(ValueError, match="2 NaN and 0 infinite"):
        f([1.0, NAN, 2.0, NAN])
    with pytest.raises(ValueError, match="0 NaN and 1 infinite"):
        f([1.0, math.inf])
    with pytest.raises(ValueError, match="1 NaN"):
        f([[1.0, 2.0], [NAN, 3.0]])
    with pytest.raises(ValueError, match="None"):
        f([1.0, None])


def test_summarize_names_the_setting_with_nan():
    with pytest.raises(ValueError, match=r"'bad'.*1 NaN"):
        summarize({"good": [1, 2], "bad": [1, NAN]})


@pytest.mark.parametrize(
    "bad, match",
    [
        (["1", "2"], "real numbers"),
        ([1 + 2j], "real numbers"),
        (np.zeros((2, 2, 2)), "1-D .* or 2-D"),
        ([[1, 2], [3]], "rectangular"),
    ],
)
def test_malformed_scores_raise(bad, match):
    with pytest.raises(ValueError, match=match):
        iqm(bad)


def test_bad_arguments_raise():
    # wrong values: ValueError; wrong types: TypeError
    for reps, error in ((0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("10", TypeError)):
        with pytest.raises(error, match="reps"):
            bootstrap_ci([1, 2] * 5, reps=reps)
    for confidence, error in ((0, ValueError), (1, ValueError), (1.5, ValueError), (-0.1, ValueError),
                              (NAN, ValueError), ("high", TypeError), (None, TypeError)):
        with pytest.raises(error, match="confidence"):
            bootstrap_ci([1, 2] * 5, confidence=confidence)
        with pytest.raises(error, match="confidence"):
            probability_of_improvement_ci([1, 2] * 5, [1] * 10, confidence=confidence)
    for threshold, error in ((NAN, ValueError), (math.inf, ValueError), ("x", TypeError)):
        with pytest.raises(error, match="threshold"):
            solved_fraction([1, 2], threshold)
    with pytest.raises(ValueError, match="same number of tasks"):
        probability_of_improvement([[1, 2]], [[1, 2, 3]])
    with pytest.raises(ValueError, match="statistic returned NaN"):
        bootstrap_ci([1, 2] * 5, lambda s: NAN)
    with pytest.raises(ValueError, match="empty"):
        summarize({})
    with pytest.raises(TypeError, match="strings"):
        summarize({1: [1, 2]})
    with pytest.raises(TypeError, match="mapping"):
        summarize([[1, 2]])
    with pytest.raises(ValueError, match="'a' and 'b'.*same number of tasks"):
        summarize({"a": [[1, 2]], "b": [[1, 2, 3]]})


# --------------------------------------------------------------------------- import cost


def test_module_imports_only_numpy_and_the_standard_library():
    """(gymlab.stats is a package: each of its files, which import one another relatively.)"""
    files = sorted(Path(stats.__file__).parent.glob("*.py"))
    assert len(files) > 1
    top = set()
    for path in files:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                top |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                top.add(node.module.split(".")[0])
    assert top <= {"__future__", "collections", "math", "operator", "typing", "numpy"}, top


def test_importing_gymlab_stats_does_not_import_torch():
    # (what the package's own __init__ imports is checked here too; stats itself is checked above)
    code = "import sys, gymlab.stats; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
