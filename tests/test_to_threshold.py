"""Env steps and wall seconds to the env's threshold (issue 24): ``gymlab.stats.time_to_threshold``
on fabricated curves with known answers, censoring included; the periodic evaluations' wall time
that it reads (RunLogger, summary.json); the sweep's report and benchmarks' ``sweep_row``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gymlab import stats, sweep
from gymlab.agents.logger import RunLogger
from gymlab.experiment import RunConfig


def curve(*points):
    return [{"step": s, "return_mean": r, "wall_s": w} for s, r, w in points]


def test_first_evaluation_at_or_above_the_threshold_and_the_rest_censored():
    curves = [
        curve((1000, 100.0, 2.0), (2000, 475.0, 4.5), (3000, 500.0, 7.0)),  # exactly 475 reaches: 2000 steps
        curve((1000, 480.0, 1.5), (2000, 10.0, 3.0)),                          # the first at or above: 1000
        curve((1000, 474.9, 2.0), (2000, math.nan, 4.0)),                      # never (NaN never reaches)
        [],                                                                    # no evaluations: censored
    ]
    r = stats.time_to_threshold(curves, 475, budget="3000 steps")
    assert (r["n"], r["reached"], r["censored"]) == (4, 2, 2)
    assert r["runs"] == [{"step": 2000, "wall_s": 4.5}, {"step": 1000, "wall_s": 1.5}, None, None]
    assert r["steps"] == {"n": 2, "values": [2000.0, 1000.0], "median": 1500.0, "iqm": 1500.0,
                          "range": [1000.0, 2000.0], "iqm_ci": None}
    assert r["wall_s"]["values"] == [4.5, 1.5] and r["wall_s"]["median"] == 3.0 and r["wall_s"]["iqm_ci"] is None
    text = stats.format_to_threshold(r)
    assert "2 of 4 reached 475" in text and "2 of 4 censored at 3000 steps" in text
    assert "n = 2, no interval" in text


def test_an_interval_only_from_ten_runs_that_reached_it():
    # 12 runs, 11 reach at steps 100..1100, one never: the median over all 12 counts it beyond the
    # budget; the figures over the 11 that reached it get no interval while a run is censored
    curves = [curve((100 * (i + 1), 10.0, float(i))) for i in range(11)] + [curve((100, 0.0, 1.0))]
    r = stats.time_to_threshold(curves, 10, budget="1100 steps", reps=200)
    assert r["reached"] == 11 and r["censored"] == 1 and r["median_steps"] == 650.0
    steps = [100.0 * (i + 1) for i in range(11)]
    assert r["steps"]["iqm_ci"] is None
    assert r["steps"]["iqm"] == stats.iqm(steps) and r["steps"]["median"] == 600.0
    # 11 of 11 reached it: the interval over them
    r = stats.time_to_threshold(curves[:11], 10, budget="1100 steps", reps=200)
    assert r["steps"]["iqm_ci"] == list(stats.bootstrap_ci(steps, reps=200, seed=0))
    # 9 that reached it of 12 run: no interval, whatever the 12
    nine = stats.time_to_threshold(curves[:9] + [curve((100, 0.0, 1.0))] * 3, 10, reps=200)
    assert nine["reached"] == 9 and nine["steps"]["iqm_ci"] is None and nine["wall_s"]["iqm_ci"] is None


def test_no_run_reaches_it_and_tuples_and_no_wall_time():
    r = stats.time_to_threshold([[(100, 1.0)], [(100, 2.0)]], 5, budget="100 steps")
    assert r["reached"] == 0 and r["steps"]["median"] is None and r["steps"]["n"] == 0
    assert stats.format_to_threshold(r) == "0 of 2 reached 5; median over all 2: beyond the budget; 2 of 2 censored at 100 steps"
    r = stats.time_to_threshold([[(100, 9.0)]], 5)  # reached, but no wall time was logged
    assert r["steps"]["values"] == [100.0] and r["wall_s"] is None
    with pytest.raises(ValueError, match="threshold"):
        stats.time_to_threshold([[(100, 9.0)]], math.nan)


def test_periodic_evaluations_carry_their_wall_time_through_a_resume_state():
    logger = RunLogger(None, progress=False)
    logger.steps = 100
    logger.log_eval(1.0)
    logger.steps = 200
    logger.log_eval(2.0)
    assert logger.evals == [(100, 1.0), (200, 2.0)]
    assert len(logger.eval_wall_s) == 2 and 0 <= logger.eval_wall_s[0] <= logger.eval_wall_s[1] <= logger.elapsed
    again = RunLogger(None, progress=False, resume=logger.state())
    assert again.eval_wall_s == logger.eval_wall_s
    old = {k: v for k, v in logger.state().items() if k != "eval_wall_s"}  # a state from before wall times
    assert RunLogger(None, progress=False, resume=old).eval_wall_s == [None, None]


def test_a_run_summary_has_each_periodic_evaluations_wall_time(tmp_path):
    import train

    assert train.main(["--env", "CartPole-v1", "--agent", "random", "--steps", "600", "--eval-every", "200",
                       "--eval-episodes", "1", "--no-progress", "--run-dir", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    walls = s["periodic_eval_wall_s"]
    assert len(walls) == len(s["periodic_eval"]) == 3
    assert 0 < walls[0] <= walls[1] <= walls[2] <= s["wall_time_s"]


def _trial(seed, evals, setting="defaults"):
    return {"setting": setting, "seed": seed, "status": "finished", "eval_return": evals[-1][1], "error": None,
            "run_dir": f"trials/{setting}__seed{seed}", "periodic_eval": curve(*evals)}


def test_the_sweep_report_gives_steps_and_seconds_to_the_threshold(tmp_path):
    trials = [_trial(0, [(1000, 480.0, 3.0), (2000, 500.0, 6.0)]), _trial(1, [(1000, 100.0, 2.0), (2000, 476.0, 5.0)]),
              _trial(2, [(1000, 100.0, 2.0), (2000, 200.0, 4.0)])]
    cfg = sweep.SweepConfig(RunConfig(env="CartPole-v1", agent="dqn", steps=2000), seeds=[0, 1, 2], grid={},
                            run_dir=tmp_path)
    sweep.write_report(tmp_path, cfg, trials)
    out = json.loads((tmp_path / "sweep.json").read_text())
    r = out["to_threshold"]["defaults"]
    assert r["threshold"] == 475 and r["budget"] == "2000 steps" and (r["reached"], r["censored"]) == (2, 1)
    assert r["steps"]["values"] == [1000.0, 2000.0] and r["wall_s"]["values"] == [3.0, 5.0]
    md = (tmp_path / "report.md").read_text()
    assert "defaults: 2 of 3 reached 475; median over all 3: 2000 steps; of those that reached it, median 1500 steps" in md and "1 of 3 censored at 2000 steps" in md


def test_a_benchmark_row_has_steps_and_seconds_to_the_threshold(tmp_path):
    """``benchmarks/_common.sweep_row`` on a sweep read back from its work dir (3 seeds, no Ray)."""
    import sys

    from benchmark_module import ROOT

    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import _common
    finally:
        sys.path.remove(str(ROOT))
    flags, seeds = ["--env", "CartPole-v1", "--agent", "dqn"], [1000, 1001, 1002]
    trials = [_trial(1000, [(1000, 480.0, 3.0)]), _trial(1001, [(1000, 100.0, 2.0), (2000, 476.0, 5.0)]),
              _trial(1002, [(1000, 100.0, 2.0), (2000, 200.0, 4.0)])]
    for t in trials:
        (tmp_path / t["run_dir"]).mkdir(parents=True)
        (tmp_path / t["run_dir"] / "summary.json").write_text(json.dumps({"env_steps": 2000, "wall_time_s": 6.0}))
    (tmp_path / "sweep.json").write_text(json.dumps({"trials": trials, "reward_threshold": 475.0,
                                                     "budget": "2000 steps"}))
    now = _common.config_hashes(flags)["defaults"]  # measured with the config these flags resolve to now
    (tmp_path / "row.json").write_text(json.dumps({"flags": flags, "seeds": seeds, "stamp": {"when": "then"},
                                                   "configs": [{"setting": "defaults", "seed": s, "config_sha256": now}
                                                               for s in seeds]}))
    row = _common.sweep_row(flags, seeds, tmp_path, lambda r: r)
    assert row["iqm_ci"] is None and row["n"] == 3 and row["range"] == [200.0, 480.0]
    assert _common.iqm_cell(row) == f"{stats.iqm([480.0, 476.0, 200.0]):.4g} (n = 3, no interval; range [200, 480])"
    r = row["to_threshold"]
    assert (r["reached"], r["censored"], r["budget"]) == (2, 1, "2000 steps")
    assert r["steps"]["values"] == [1000.0, 2000.0] and r["wall_s"]["values"] == [3.0, 5.0]
    assert _common.sweep_row(flags, seeds, tmp_path, lambda r: r, threshold=500)["to_threshold"]["reached"] == 0


def test_the_median_counts_censored_runs_as_beyond_the_budget():
    """Kaplan-Meier's median with every censored run at the budget: finite only when more than half
    the runs reached the threshold; the reached-only figures get no interval while any run is censored."""
    reached = [[(s, 10.0)] for s in (100, 200, 300, 400, 500, 600)]
    never = [[(1000, 0.0)]] * 4
    r = stats.time_to_threshold(reached + never, 5, "1000 steps")
    assert r["median_steps"] == float(np.median([100, 200, 300, 400, 500, 600, np.inf, np.inf, np.inf, np.inf]))
    r = stats.time_to_threshold(reached[:2] + never * 2, 5, "1000 steps")
    assert r["median_steps"] is None  # more than half censored: "beyond the budget"
    many = [[(s, 10.0)] for s in range(100, 1300, 100)] + never * 5
    assert stats.time_to_threshold(many, 5)["steps"]["iqm_ci"] is None  # censored runs: no interval
    assert stats.time_to_threshold(many[:12], 5)["steps"]["iqm_ci"] is not None


def test_a_benchmark_rows_budget_is_the_configured_one_not_the_steps_a_run_overshot(tmp_path):
    """The hill climber's episodes end past its 200,000-step budget: the table said 201,478."""
    import sys

    from benchmark_module import ROOT

    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import _common
    finally:
        sys.path.remove(str(ROOT))
    flags, seeds = ["--env", "CartPole-v1", "--agent", "dqn"], [1000]
    trial = _trial(1000, [(1000, 480.0, 3.0)])
    (tmp_path / trial["run_dir"]).mkdir(parents=True)
    (tmp_path / trial["run_dir"] / "summary.json").write_text(
        json.dumps({"env_steps": 2013, "wall_time_s": 6.0, "budget": {"steps": 2000}}))
    (tmp_path / "sweep.json").write_text(json.dumps({"trials": [trial], "reward_threshold": 475.0}))
    now = _common.config_hashes(flags)["defaults"]
    (tmp_path / "row.json").write_text(json.dumps({"flags": flags, "seeds": seeds, "stamp": {"when": "then"},
                                                   "configs": [{"setting": "defaults", "seed": 1000,
                                                                "config_sha256": now}]}))
    assert _common.sweep_row(flags, seeds, tmp_path, lambda r: r)["steps"] == 2000
