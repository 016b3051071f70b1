"""benchmarks/memory.py's parts: the controls' recipes and budgets, and the training curves it draws."""

from __future__ import annotations

import json

import numpy as np
import pytest
from benchmark_module import load_benchmark

from gymlab.agents.hyperparams import defaults

memory = load_benchmark("memory")


@pytest.mark.parametrize("env", sorted(memory.ENVS))
def test_each_env_has_a_recurrent_dqn_row_and_its_controls_get_its_budget(env):
    settings, budget = defaults("dqn", env)
    assert settings["policy"] in ("lstm", "gru")  # the table's entry is the recurrent DQN
    assert memory.rdqn_budget(env) == budget["steps"]
    rows = [r for r in memory.RUNS if r[0] == env]
    assert any(agent == "dqn" and not extra and recipe == "entry" for _, agent, _, extra, recipe in rows)
    controls = [recipe for _, agent, label, extra, recipe in rows if "control" in label]
    assert controls and all(recipe in memory.CONTROL_RECIPES for recipe in controls)
    for recipe in controls:
        flags = memory.control_flags(env, recipe, memory.rdqn_budget(env))
        assert flags[:2] == ["--policy", "mlp"] and flags[-2:] == ["--steps", str(budget["steps"])]


def _fake_sweep(tmp_path, seeds_rows):
    trials = []
    for seed, rows in enumerate(seeds_rows):
        d = tmp_path / "trials" / f"defaults__seed{seed}"
        d.mkdir(parents=True)
        (d / "episodes.csv").write_text("global_step,episode,return,length\n" + "".join(
            f"{step},{i + 1},{ret},1\n" for i, (step, ret) in enumerate(rows)))
        trials.append({"run_dir": f"trials/defaults__seed{seed}", "seed": seed, "status": "finished"})
    (tmp_path / "sweep.json").write_text(json.dumps({"trials": trials}))


def test_the_training_curve_averages_each_seed_in_its_stretch_then_takes_the_iqm(tmp_path):
    # Steps 1..100 in 2 stretches of 50: seed s returns s in the first, 10 + s in the second.
    _fake_sweep(tmp_path, [[(step, (s if step <= 50 else 10 + s)) for step in range(1, 101)] for s in range(4)])
    xs, mid, lo, hi, band = memory.training_curve(tmp_path, bins=2)
    assert xs == [50.0, 100.0]
    assert mid == pytest.approx([1.5, 11.5])  # the IQM of 0, 1, 2, 3: the mean of 1 and 2
    assert band == "range" and lo == [0.0, 10.0] and hi == [3.0, 13.0]  # 4 seeds: no interval, min to max


def test_the_training_curve_band_is_the_interval_from_ten_seeds(tmp_path):
    from gymlab import stats

    _fake_sweep(tmp_path, [[(step, float(s)) for step in (50, 100)] for s in range(10)])
    xs, mid, lo, hi, band = memory.training_curve(tmp_path, bins=2)
    assert band == "95% CI" and [lo[0], hi[0]] == list(stats.bootstrap_ci([float(s) for s in range(10)], seed=0))


def test_a_stretch_without_episodes_of_a_seed_leaves_that_seed_out(tmp_path):
    # Seed 0's only episode ends at step 100; seed 1 has one in each stretch.
    _fake_sweep(tmp_path, [[(100, 7.0)], [(10, 1.0), (100, 3.0)]])
    xs, mid, _, _, _ = memory.training_curve(tmp_path, bins=2)
    assert xs == [50.0, 100.0]
    assert mid[0] == 1.0 and np.isclose(mid[1], 5.0)
