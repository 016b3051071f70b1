"""The sweep's report from its trials' outcomes (``gymlab.sweep.write_report``), no Ray needed:
failed and early-stopped trials count where they must, curves have points whatever the budget's
unit, and the statistics do not depend on the order of the settings. (From an independent review
of gymlab/stats/ and the report against rliable's definitions.)"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from gymlab import stats, sweep
from gymlab.experiment import RunConfig


def trial(setting, seed, status="finished", ret=None, evals=()):
    return {"setting": setting, "seed": seed, "status": status, "eval_return": ret,
            "error": None if status == "finished" else "diverged: the final greedy return is not a finite number",
            "run_dir": f"trials/{setting}__seed{seed}", "periodic_eval": [dict(step=s, return_mean=r) for s, r in evals]}


def report(tmp_path: Path, trials, grid, scheduler=None, seeds=10):
    cfg = sweep.SweepConfig(RunConfig(env="CartPole-v1", agent="dqn", steps=1000), seeds=list(range(seeds)),
                            grid=grid, run_dir=tmp_path, scheduler=scheduler)
    line = sweep.write_report(tmp_path, cfg, trials)["summary_line"]
    return line, json.loads((tmp_path / "sweep.json").read_text()), (tmp_path / "report.md").read_text()


def test_failed_trials_count_as_unsolved_and_a_setting_with_failures_is_not_called_best(tmp_path):
    """Half of lr=0.01's seeds diverge, the rest reach 500; every seed of lr=0.001 reaches 490."""
    trials = [trial("learning_rate=0.001", i, ret=490.0) for i in range(10)]
    trials += [trial("learning_rate=0.01", i, ret=500.0) if i < 5 else trial("learning_rate=0.01", i, "failed")
               for i in range(10)]
    line, out, md = report(tmp_path, trials, {"learning_rate": [0.001, 0.01]})
    assert out["statistics"]["learning_rate=0.01"]["solved_fraction"] == 0.5  # 5 of the 10 seeds run, not 5 of 5
    assert out["statistics"]["learning_rate=0.001"]["solved_fraction"] == 1.0
    assert "best setting learning_rate=0.001" in line
    assert "5 of 10 seeds failed" in md


def test_early_stopped_trials_are_counted_and_the_statistics_say_they_are_survivors(tmp_path):
    trials = [trial("defaults", i, ret=500.0) for i in range(2)]
    trials += [{**trial("defaults", i, "stopped early", ret=20.0), "error": None} for i in range(2, 10)]
    line, out, md = report(tmp_path, trials, {}, scheduler="asha")
    assert "| stopped early |" in md.splitlines()[4]  # a column of the table
    assert "survivors" in md and "survivors" in line
    assert out["statistics"]["defaults"]["solved_fraction"] == 0.2  # of all 10 seeds


@pytest.mark.parametrize("steps", [[[1000, 2000, 3000]] * 3, [[812, 1650, 2411], [790, 1702, 2388],
                                                              [800, 1600, 2500]]])
def test_curves_have_points_for_step_and_episode_budgets(steps):
    """With an --episodes budget the periodic evaluations fall at other steps in every seed."""
    trials = [trial("defaults", i, ret=1.0, evals=[(s, 10.0 * k + i) for k, s in enumerate(st)])
              for i, st in enumerate(steps)]
    xs, mid, lo, hi, band = sweep.curve_points(trials, "defaults")
    assert len(xs) == 3 and xs == sorted(xs)
    assert mid == pytest.approx([1.0, 11.0, 21.0])
    assert all(a <= m <= b for a, m, b in zip(lo, mid, hi))


def test_a_non_finite_periodic_evaluation_is_left_out_of_the_curve(tmp_path):
    trials = [trial("defaults", i, ret=1.0, evals=[(1000, 5.0), (2000, math.nan if i == 0 else 6.0)])
              for i in range(3)]
    xs, mid, _, _, _ = sweep.curve_points(trials, "defaults")
    assert xs == [1000, 2000] and mid == pytest.approx([5.0, 6.0])
    report(tmp_path, trials, {}, seeds=3)  # and the report is written, no exception
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_probability_of_improvement_does_not_depend_on_the_order_of_the_settings():
    x, y = [1.0, 5.0, 3.0, 8.0, 2.0], [2.0, 4.0, 6.0, 1.0]
    one = stats.summarize({"x": x, "y": y})["y"]["probability_of_improvement"]["x"]
    two = stats.summarize({"y": y, "x": x})["y"]["probability_of_improvement"]["x"]
    assert one == two


@pytest.mark.parametrize("call", [lambda: stats.bootstrap_ci([1.0, 2.0], confidence="0.9"),
                                  lambda: stats.solved_fraction([400.0, 500.0], "475"),
                                  lambda: stats.iqm(["1", "2", "4"])])
def test_text_is_not_a_number(call):
    with pytest.raises((TypeError, ValueError)):
        call()
