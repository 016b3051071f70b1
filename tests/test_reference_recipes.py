"""The references' settings said exactly: the sb3-dqn CartPole-v1 entry is RL-Zoo's dqn.yml entry line
for line, and benchmarks/dqn_vs_sb3.py's ``sb3-dqn (zoo)`` row states every way it differs from it
(the sweeps faked: no training here)."""

from __future__ import annotations

import json

import pytest
from benchmark_module import load_benchmark

from gymlab.agents.hyperparams import PUBLISHED, defaults

# rl-baselines3-zoo hyperparams/dqn.yml, CartPole-v1, line for line (n_timesteps: 5e4 is the budget)
ZOO_DQN = dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
               target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
               exploration_final_eps=0.04, net_arch=(256, 256))


def test_the_sb3_dqn_cartpole_entry_is_the_zoo_recipe():
    settings, budget = defaults("sb3-dqn", "CartPole-v1")
    assert settings == ZOO_DQN and budget == {"steps": 50_000}


@pytest.mark.parametrize("steps", [50_000, 20_000])
def test_dqn_vs_sb3_says_how_the_zoo_row_differs_from_the_zoo_recipe(tmp_path, monkeypatch, steps):
    bench = load_benchmark("dqn_vs_sb3")

    def measured_sweep(flags, seeds, where, *_):
        trials = [{"seed": s, "status": "finished", "error": None, "eval_return": 500.0, "run_dir": "t"} for s in seeds]
        report = {"trials": trials, "statistics": {"defaults": {"iqm": 500.0, "iqm_ci": None, "n": len(seeds), "range": [500.0, 500.0], "mean": 500.0}}}
        return report, [{"env_steps_per_s": 100.0, "wall_time_s": 1.0} for _ in seeds], {"commit": "x"}

    monkeypatch.setattr(bench, "measured_sweep", measured_sweep)
    monkeypatch.setattr(bench, "q_weights", lambda run_dir: 0)
    path = tmp_path / "d.json"
    assert bench.main(["--seeds", "1", "--steps", str(steps), "--only", "sb3-dqn (zoo)", "--json", str(path)]) == 0
    row = json.loads(path.read_text())["rows"][0]
    source, differences = PUBLISHED[("sb3-dqn", "CartPole-v1")]
    assert row["recipe"] == source == "rl-baselines3-zoo hyperparams/dqn.yml, CartPole-v1"
    if steps == 50_000:  # the zoo's own budget: only how it ends differs
        assert row["differs_from_recipe"] == differences["steps"]
        assert "196 rounds, 50,176 env steps" in row["differs_from_recipe"]
    else:
        assert row["differs_from_recipe"] == "--steps 20000 (the recipe's n_timesteps: 50000)"
    assert "another budget" not in row["differs_from_sb3_same"]
