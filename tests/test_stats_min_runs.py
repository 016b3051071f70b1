"""gymlab.stats prints an interval only from at least ``MIN_RUNS_FOR_INTERVAL`` (10) runs (issue 24):
below that no interval is computed or printed, and an entry gives every run's value, the range and n.
The rule is the stats module's own, so no caller (the sweep's report, a benchmark) can print one by
mistake: ``bootstrap_ci`` and ``probability_of_improvement_ci`` refuse fewer runs."""

from __future__ import annotations

import json

import pytest

from gymlab import stats, sweep
from gymlab.experiment import RunConfig
from gymlab.stats import (MIN_RUNS_FOR_INTERVAL, bootstrap_ci, format_iqm, probability_of_improvement_ci,
                          summarize)

THREE = [14.6, 13.2, 15.9]
TEN = [float(v) for v in range(10)]


def test_the_threshold_is_ten_runs():
    assert MIN_RUNS_FOR_INTERVAL == 10


def test_bootstrap_ci_refuses_fewer_than_ten_runs():
    with pytest.raises(ValueError, match=r"at least 10 runs.*got 3"):
        bootstrap_ci(THREE)
    with pytest.raises(ValueError, match=r"at least 10 runs.*got 9"):
        bootstrap_ci([[1.0, 2.0]] * 9)  # runs x tasks: the runs are the rows
    assert bootstrap_ci([4.0] * 10) == (4.0, 4.0)


def test_probability_of_improvement_ci_needs_ten_runs_on_both_sides():
    with pytest.raises(ValueError, match=r"at least 10 runs.*y.*got 3"):
        probability_of_improvement_ci(TEN, THREE)
    with pytest.raises(ValueError, match=r"at least 10 runs.*x.*got 3"):
        probability_of_improvement_ci(THREE, TEN)
    assert probability_of_improvement_ci([5.0] * 10, [1.0] * 11) == (1.0, 1.0)


def test_summarize_below_ten_runs_gives_the_values_and_range_and_no_interval():
    out = summarize({"few": THREE, "many": TEN}, reps=200)
    few, many = out["few"], out["many"]
    assert few["n"] == 3 and few["scores"] == THREE
    assert few["range"] == [13.2, 15.9] and few["iqm_ci"] is None
    assert many["range"] == [0.0, 9.0] and many["iqm_ci"] == list(bootstrap_ci(TEN, reps=200, seed=0))
    # the probability of improvement: p always, its interval only when both sides have 10 runs
    assert few["probability_of_improvement"]["many"] == {"p": 1.0, "ci": None}
    assert many["probability_of_improvement"]["few"] == {"p": 0.0, "ci": None}
    both = summarize({"a": TEN, "b": [v + 0.5 for v in TEN]}, reps=200)
    assert both["a"]["probability_of_improvement"]["b"]["ci"] is not None
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_format_iqm_below_ten_runs_says_so_and_calls_nothing_a_ci():
    text = format_iqm(summarize({"few": THREE}, reps=50)["few"])
    assert "n = 3, no interval" in text
    assert "14.6, 13.2, 15.9" in text and "range [13.2, 15.9]" in text
    assert "(13.2, 15.9)" not in text and "CI" not in text
    # an interval handed in with fewer runs is not printed either
    text = format_iqm({"iqm": 14.6, "iqm_ci": [13.2, 15.9], "n": 3, "range": [13.2, 15.9]})
    assert text == "14.6 (n = 3, no interval; range [13.2, 15.9])"
    assert format_iqm({"iqm": 475.3, "iqm_ci": [466.0, 500.0], "n": 10}) == "475.3 [466.0, 500.0]"
    with pytest.raises(ValueError, match="n"):  # an interval whose number of runs is unknown
        format_iqm({"iqm": 475.3, "iqm_ci": [466.0, 500.0]})


def _trial(seed, ret, evals=()):
    return {"setting": "defaults", "seed": seed, "status": "finished", "eval_return": ret, "error": None,
            "run_dir": f"trials/defaults__seed{seed}",
            "periodic_eval": [dict(step=s, return_mean=r) for s, r in evals]}


def test_the_sweep_report_below_ten_seeds_gives_values_and_range(tmp_path):
    trials = [_trial(i, r, [(1000, r - 1), (2000, r)]) for i, r in enumerate(THREE)]
    cfg = sweep.SweepConfig(RunConfig(env="CartPole-v1", agent="dqn", steps=2000), seeds=[0, 1, 2], grid={},
                            run_dir=tmp_path)
    line = sweep.write_report(tmp_path, cfg, trials)["summary_line"]
    out = json.loads((tmp_path / "sweep.json").read_text())
    md = (tmp_path / "report.md").read_text()
    entry = out["statistics"]["defaults"]
    assert entry["iqm_ci"] is None and entry["range"] == [13.2, 15.9] and entry["scores"] == THREE
    for text in (line, md):
        assert "n = 3, no interval" in text and "(13.2, 15.9)" not in text
    assert "13.2, 15.9]" not in md.split("range")[0]  # no interval before the word range
    # the curve's band below 10 seeds is the range of the runs, and says so
    xs, mid, lo, hi, band = sweep.curve_points(trials, "defaults")
    assert band == "range" and lo == [12.2, 13.2] and hi == [14.9, 15.9]


def test_the_sweep_curve_band_from_ten_seeds_is_the_interval():
    trials = [_trial(i, float(i), [(1000, float(i))]) for i in range(10)]
    xs, mid, lo, hi, band = sweep.curve_points(trials, "defaults", reps=200)
    assert band == "95% CI" and [lo[0], hi[0]] == list(stats.bootstrap_ci(TEN, reps=200, seed=0))
