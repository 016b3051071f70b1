"""The sweeping benchmarks take ``--seeds`` as the report seeds (``benchmarks/_common.seeds_argument``:
a count N is 1000..1000+N-1): they label, plot and score those seeds, never ``0..N-1``.

Each benchmark's sweeps are replaced by a fake that records the seeds it was given, so these
tests run none of the training."""

from __future__ import annotations

import json

import numpy as np
import pytest
from benchmark_module import load_benchmark


def fake_row(calls):
    def sweep_row(flags, seeds, where, figure, **__):
        calls.append((flags, list(seeds)))
        figures = [figure(0.5 + i) for i in range(len(seeds))]
        return {"seeds": list(seeds), "figures": figures, "statuses": ["finished"] * len(seeds), "steps": 10,
                "train_s_median": 1.0, "eval_env_kwargs": {}, "iqm": float(np.mean(figures)),
                "iqm_ci": [min(figures), max(figures)]}
    return sweep_row


def test_memory_labels_its_rows_with_the_report_seeds(tmp_path, monkeypatch, capsys):
    memory = load_benchmark("memory")
    calls = []
    monkeypatch.setattr(memory, "sweep_row", fake_row(calls))
    monkeypatch.setattr(memory, "training_curve", lambda where: ([], [], [], []))
    assert memory.main(["--only", "recall-50", "--seeds", "2", "--json", str(tmp_path / "m.json")]) == 0
    assert calls and all(seeds == [1000, 1001] for _, seeds in calls)
    out = capsys.readouterr().out
    assert "seeds 1000-1001" in out and "seeds 0-" not in out
    assert json.loads((tmp_path / "m.json").read_text())["seeds"] == [1000, 1001]


def test_memory_plot_says_how_many_seeds(tmp_path, monkeypatch):
    memory = load_benchmark("memory")
    labels = []

    class Axis:
        def __getattr__(self, name):
            return lambda *a, **k: labels.append(a[0]) if name == "set_ylabel" else None

    class Fig:
        def __getattr__(self, name):
            return lambda *a, **k: None

    class Plt:
        def subplots(self, rows, cols, **kw):
            return Fig(), [[Axis() for _ in range(cols)]]

        def close(self, fig):
            pass

    monkeypatch.setattr("gymlab.runs.pyplot", lambda: Plt())
    memory.plot([("recall", "row", ([1], [1.0], [0.5], [1.5], "range"))], tmp_path / "p.png", [1000, 1001, 1002])
    assert labels == ["training return, IQM over seeds 1000-1002 (3)"]


def test_rl_vs_supervised_scores_no_change_on_each_report_seeds_evaluation_episodes(tmp_path, monkeypatch, capsys):
    rvs = load_benchmark("rl_vs_supervised")
    calls = []
    monkeypatch.setattr(rvs, "sweep_row", fake_row(calls))
    assert rvs.main(["--only", "sine", "--seeds", "1000-1001", "--json", str(tmp_path / "r.json")]) == 0
    assert calls and all(seeds == [1000, 1001] for _, seeds in calls)
    assert "seeds 1000-1001" in capsys.readouterr().out
    runs = json.loads((tmp_path / "r.json").read_text())["rows"]
    no_change = next(r for r in runs if r["label"].startswith("no change"))
    expected = [-ret / 200 for seed in (1000, 1001)  # each seed's own evaluation episodes, as its trial's
                for env, _, ret in rvs.no_learning_baselines(seed) if env == "sine"]
    assert no_change["figures"] == pytest.approx(expected)
    assert no_change["seeds"] == [1000, 1001]


def test_untuned_envs_sweeps_the_report_seeds(tmp_path, monkeypatch):
    untuned = load_benchmark("untuned_envs")
    calls = []

    def measured_sweep(flags, seeds, run_dir, *_):
        calls.append(list(seeds))
        trials = [{"seed": s, "status": "finished", "eval_return": -100.0 + s - 1000} for s in seeds]
        report = {"trials": trials, "reward_threshold": -100.0,
                  "statistics": {"defaults": {"iqm": -99.5, "iqm_ci": None, "n": 2, "range": [-100.0, -99.0], "mean": -99.5,
                                              "median": -99.5, "solved_fraction": 0.5}}}
        stamp = {"commit": "c", "command": "python train.py --env Acrobot-v1 --agent random --seeds 1000-1001",
                 "when": "now", "machine": {"cpu": "x", "cores": 2}, "load": [0.0, 0.0, 0.0]}
        return report, [{"wall_time_s": 1.0, "budget": {"steps": 5}} for _ in seeds], stamp

    monkeypatch.setattr(untuned, "measured_sweep", measured_sweep)
    path = tmp_path / "u.json"
    assert untuned.main(["--seeds", "2", "--envs", "Acrobot-v1", "--agents", "random", "--json", str(path)]) == 0
    assert calls == [[1000, 1001]]
    row = json.loads(path.read_text())["rows"][0]
    assert row["seeds"] == [1000, 1001] and row["command"].endswith("--seeds 1000-1001")


def memory_rows(tmp_path, monkeypatch, only, steps=None):
    """memory.py's rows for one env, as written to its JSON (the sweeps faked)."""
    memory = load_benchmark("memory")
    monkeypatch.setattr(memory, "sweep_row", fake_row([]))
    monkeypatch.setattr(memory, "training_curve", lambda where: ([], [], [], []))
    path = tmp_path / f"{only}.json"
    assert memory.main(["--only", only, "--seeds", "1", "--json", str(path)] + (["--steps", str(steps)] if steps else [])) == 0
    return json.loads(path.read_text())["rows"]


@pytest.mark.parametrize("env,recipe", [("cartpole-novel", "CartPole-v1"), ("recall", None)])
def test_memory_controls_run_the_mlp_dqns_own_recipe(tmp_path, monkeypatch, env, recipe):
    """Each control's flags, run through train.py, give the MLP DQN's recipe: DQNConfig's defaults and (on
    CartPoleNoVel) the dqn CartPole-v1 entry, not the recurrent entry of the env; the budget is the recurrent DQN's."""
    import dataclasses

    import train
    from gymlab.agents.dqn_config import DQNConfig
    from gymlab.agents.hyperparams import defaults

    want = {**dataclasses.asdict(DQNConfig()), **(defaults("dqn", recipe)[0] if recipe else {}), "policy": "mlp"}
    controls = [r for r in memory_rows(tmp_path, monkeypatch, env) if "control" in r["label"]]
    assert len(controls) == 2
    for row in controls:
        flags = row["flags"]
        assert flags[flags.index("--steps") + 1] == str(defaults("dqn", env)[1]["steps"])
        assert ("CartPole-v1 entry" in row["recipe"]) == (recipe is not None) and "defaults" in row["recipe"]
        run = tmp_path / row["label"].replace(" ", "_")
        argv = [*flags, "--seed", "1", "--eval-episodes", "1", "--eval-every", "0", "--no-progress", "--run-dir", str(run)]
        argv[argv.index("--steps") + 1] = "1"
        assert train.main(argv) == 0
        config = json.loads((run / "summary.json").read_text())["config"]
        assert {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()} == want


def test_memory_reference_rows_say_how_they_differ_from_their_recipe(tmp_path, monkeypatch):
    from gymlab.agents.hyperparams import PUBLISHED

    rows = {r["label"]: r for r in memory_rows(tmp_path, monkeypatch, "cartpole-novel")}
    ppo = rows["SB3 RecurrentPPO (RL-Zoo's recipe)"]
    source, differences = PUBLISHED[("sb3-recurrent-ppo", "gymlab/CartPoleNoVel-v1")]
    assert ppo["recipe"] == source and "ppo_lstm.yml" in source
    assert ppo["differs_from_recipe"] == "; ".join(differences.values())
    assert rows["REINFORCE, LSTM 64"]["differs_from_recipe"].startswith("no published recipe; settings: --policy lstm")
    recall = {r["label"]: r for r in memory_rows(tmp_path, monkeypatch, "recall")}["SB3 RecurrentPPO"]
    assert recall["differs_from_recipe"] == ("no published recipe; settings: --lstm-hidden-size 64 --net-arch 64 "
                                             "--learning-rate 0.001 --ent-coef 0.01 --steps 100000 "
                                             "(the rest sb3-recurrent-ppo's defaults)")
    quick = {r["label"]: r for r in memory_rows(tmp_path, monkeypatch, "cartpole-novel", steps=3000)}
    assert quick["SB3 RecurrentPPO (RL-Zoo's recipe)"]["differs_from_recipe"] == (
        differences["env"] + "; --steps 3000 (the recipe's n_timesteps: 100000)")
