"""The rules the results renderer enforces, each on rows built by hand (tests/render_fixtures.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.rendering import rules, speed, sweeps  # noqa: E402
from render_fixtures import contestant, speed_row, stamp, sweep_row  # noqa: E402

DEEP_COMMAND = "python benchmarks/deep_agents.py --work-dir runs/deep_agents"


def deep(*rows, **file):
    return {"benchmark": "deep_agents", **stamp(command="python benchmarks/deep_agents.py"), "rows": list(rows), **file}


def test_an_interval_needs_ten_runs_below_it_every_value_the_range_and_n():
    assert rules.MIN_RUNS_FOR_INTERVAL == 10
    ten = sweeps.deep_agents(deep(sweep_row("CartPole-v1", "dqn", [500.0] * 9 + [489.0], 475)))
    # 10 runs: the IQM with its interval, as stored
    assert "| 498.9 [489, 500] |" in ten
    nine = sweeps.deep_agents(deep(sweep_row("CartPole-v1", "dqn", [500.0, 362.0, 452.5] + [500.0] * 6, 475)))
    assert "[" not in nine.split("\n\n")[0].replace("[95% CI]", "")  # no interval anywhere in the table
    assert "| range 362 to 500, n = 9 |" in nine
    assert "| 500 362 452.5 500 500 500 500 500 500 |" in nine  # every seed's value


def test_failed_seeds_are_shown_and_not_counted_as_runs():
    out = sweeps.deep_agents(deep(sweep_row("CartPole-v1", "hill", [500.0, None, 300.0], 475)))
    assert "| 500 x 300 |" in out and "range 300 to 500, n = 2" in out and "| 1/3 (>= 475) |" in out
    none = sweeps.deep_agents(deep(sweep_row("CartPole-v1", "hill", [None, None], 475, train_s=None)))
    assert "| no run finished | 0/2 (>= 475) | - | x x | - |" in none


def test_the_provenance_line_names_commit_dirty_aloud_date_machine_and_command():
    row = sweep_row("CartPole-v1", "dqn", [500.0] * 10, 475, commit="6017cfb77c5c+dirty", when="2026-12-07 15:17:00")
    out = sweeps.deep_agents(deep(row))
    line = [ln for ln in out.splitlines() if ln.startswith("Measured")][0]
    assert "`6017cfb77c5c+dirty` (uncommitted changes: not exactly that commit's code)" in line
    assert "2026-12-07" in line and "AMD EPYC 7B12 (2 cores)" in line
    assert "`python benchmarks/deep_agents.py`" in line
    clean = sweeps.deep_agents(deep(sweep_row("CartPole-v1", "dqn", [500.0] * 10, 475)))
    assert "dirty" not in clean and "uncommitted" not in clean


def test_rows_from_several_commits_and_days_name_each():
    a = sweep_row("CartPole-v1", "dqn", [500.0] * 10, 475, commit="aaaa", when="2026-12-06 23:00:00")
    b = sweep_row("CartPole-v1", "hill", [500.0] * 10, 475, commit="bbbb", when="2026-12-08 01:00:00")
    out = sweeps.deep_agents(deep(a, b))
    assert "commits `aaaa`, `bbbb`" in out and "2026-12-06 to 2026-12-08" in out


@pytest.mark.parametrize("load, busy", [(0.51, True), (3.2, True), (0.5, False), (0.0, False)])
def test_a_busy_machine_is_marked_beside_every_wall_time(load, busy):
    out = sweeps.deep_agents(deep(sweep_row("CartPole-v1", "dqn", [500.0] * 10, 475, train_s=82.0, load=load)))
    assert ("| 82 s (busy machine) |" in out) is busy and ("| 82 s |" in out) is not busy


@pytest.mark.parametrize("missing", ["commit", "command", "when", "machine", "machine.cpu"])
def test_a_row_without_its_stamp_is_not_rendered(missing):
    old = sweep_row("CartPole-v1", "hill", [123.0] * 10, 475)
    if missing == "machine.cpu":
        old["machine"] = {"python": "3.11.7", "processor": "x86_64"}  # the old stamp
    else:
        del old[missing]
    new = sweep_row("CartPole-v1", "dqn", [500.0] * 10, 475)
    out = sweeps.deep_agents(deep(old, new))
    assert "123" not in out and "--agent hill" not in out.split("not yet")[0]
    assert ("CartPole-v1 hill: not yet re-measured under the current protocol: run "
            f"`{DEEP_COMMAND}`") in out
    alone = sweeps.deep_agents(deep(old))
    assert alone == f"Not yet re-measured under the current protocol: run `{DEEP_COMMAND}`."
    assert sweeps.deep_agents({}) == alone  # no JSON at all


def test_the_cliff_sentence_from_its_row():
    row = sweep_row("CliffWalking-v1", "q", [-13.0] * 10, -13, steps=20_000, train_s=2.46)
    out = sweeps.cliff_walking(deep(row))
    assert out.startswith("`python train.py --env CliffWalking-v1 --agent q --seeds 1000-1009` (20,000 env steps): "
                          "10 of 10 seeds reach the optimal greedy return, -13 (IQM -13 [-13, -13]), "
                          "2.46 s a trial (median).")
    few = sweeps.cliff_walking(deep(sweep_row("CliffWalking-v1", "q", [-13.0, -17.0], -13, steps=300, load=2.0)))
    assert "1 of 2 seeds" in few and "(every seed: -13 -17; range -17 to -13, n = 2)" in few
    assert "(median, busy machine)" in few


def test_dqn_vs_sb3_probability_of_improvement_only_from_ten_runs_a_side_and_no_speed():
    d = {"env": "CartPole-v1", "steps": 50_000, "solved_threshold": 475.0,
         **stamp(command="python benchmarks/dqn_vs_sb3.py"),
         "rows": [contestant("dqn", [500.0] * 10, p=0.615),
                  contestant("dqn (as sb3)", [500.0] * 9, p=0.4),
                  contestant("sb3-dqn (same)", [480.0] * 10, p=0.5)]}
    out = sweeps.dqn_vs_sb3(d)
    assert "| 0.61 [0.41, 0.83] |" in out  # 10 runs against 10
    assert "0.40" not in out and "| - (10 runs a side needed) |" in out  # 9 against 10
    assert "| (the reference) |" in out
    assert "steps/s" not in out and "777" not in out and "1.7" not in out  # speed is measured alone, elsewhere
    assert "contestant (CartPole-v1, 50,000 steps)" in out


def test_a_speed_ratio_is_the_median_with_the_rounds_min_max_and_count():
    assert rules.ratio({"ref": "r", "per_round": [2.1, 1.8, 1.99], "median": 1.99, "min": 1.8, "max": 2.1}) == \
        "median 1.99x (rounds: 1.80-2.10, 3 rounds)"


def speed_file(*rows, busy=False, load_before=(0.2, 0.2, 0.2)):
    return {"benchmark": "dqn_speed", **stamp(command="python benchmarks/dqn_speed.py"), "rounds": 3, "busy": busy,
            "load_before": list(load_before), "load_after": [0.9, 0.5, 0.3], "rows": list(rows)}


def test_the_dqn_speed_table_per_task():
    ref = speed_row("sb3-dqn (same)", [560.0, 562.0, 570.0])
    ours = speed_row("dqn (as sb3)", [1118.0, 1010.0, 1200.0], vs=("sb3-dqn (same)", [1.99, 1.8, 2.1]))
    pix = speed_row("dqn", [141.0, 140.0, 150.0], vs=("sb3-dqn (same)", [1.07, 1.0, 1.1]), env="pong-pixels")
    pix_ref = speed_row("sb3-dqn (same)", [132.0, 130.0, 135.0], env="pong-pixels")
    out = speed.dqn_speed(speed_file(ref, ours, pix, pix_ref))
    assert "**CartPole-v1**" in out and "**pong-pixels**" in out
    assert "| `dqn (as sb3)` | nothing | 1,118 | median 1.99x (rounds: 1.80-2.10, 3 rounds) |" in out
    assert "| `sb3-dqn (same)` | nothing | 562 | (the reference) |" in out
    assert out.count("Measured at") == 2  # every table its provenance line
    busy = speed.dqn_speed(speed_file(ref, ours, busy=True))
    assert "| 1,118 (busy machine) | median 1.99x (rounds: 1.80-2.10, 3 rounds) (busy machine) |" in busy
    loaded = speed.dqn_speed(speed_file(ref, ours, load_before=(0.8, 0.2, 0.1)))
    assert "(busy machine)" in loaded


def test_the_cartpole_speed_sentence():
    ref = speed_row("sb3-dqn (same)", [560.0, 562.0, 570.0])
    ours = speed_row("dqn (as sb3)", [1118.0, 1010.0, 1200.0], vs=("sb3-dqn (same)", [1.99, 1.8, 2.1]))
    out = speed.dqn_speed_cartpole(speed_file(ref, ours))
    assert "against `sb3-dqn (same)` on CartPole-v1: `dqn (as sb3)` median 1.99x (rounds: 1.80-2.10, 3 rounds)" in out
    assert speed.dqn_speed_cartpole({}).startswith("Not yet re-measured under the current protocol: run "
                                                   "`python benchmarks/dqn_speed.py`")


def test_the_env_speed_table():
    pong = speed_row("Pong features, single", [534_068.0, 500_000.0, 540_000.0], key="case",
                     vs=("CartPole-v1, gym.make", [3.52, 3.3, 3.6]))
    pong["ref_env_steps_per_s_median"] = 151_867.0
    out = speed.env_speed({"benchmark": "env_speed", **stamp(command="python benchmarks/env_speed.py"), "rounds": 3,
                           "busy": False, "load_before": [0.1, 0.1, 0.1], "rows": [pong]})
    assert "| Pong features, single | 534,068 | CartPole-v1, gym.make | 151,867 | " \
           "median 3.52x (rounds: 3.30-3.60, 3 rounds) |" in out
    assert "busy" not in out
    busy = speed.env_speed({"benchmark": "env_speed", **stamp(command="python benchmarks/env_speed.py"), "rounds": 3,
                            "busy": True, "load_before": [0.9, 0.1, 0.1], "rows": [pong]})
    assert "151,867 (busy machine)" in busy


def test_the_untuned_matrix():
    rows = [sweep_row("Acrobot-v1", "random", [-500.0] * 10, -100), sweep_row("Acrobot-v1", "dqn", [-80.0] * 10, -100),
            sweep_row("Pendulum-v1", "random", [-1247.0, -1200.0, -1300.0], None),
            {"env": "Pendulum-v1", "agent": "dqn", "refused": "train.py: dqn needs discrete actions | exit 2",
             **stamp(command="python train.py --env Pendulum-v1 --agent dqn --seeds 1000-1009")}]
    out = sweeps.untuned_envs({"benchmark": "untuned_envs", **stamp(command="python benchmarks/untuned_envs.py"),
                               "rows": rows})
    assert "| env (solved at) | `random` | `dqn` |" in out
    assert "| Acrobot-v1 (>= -100) | -500 [-500, -500], 0/10 | -80 [-80, -80], 10/10 |" in out
    assert ("| Pendulum-v1 (no threshold) | -1,247 -1,200 -1,300 (range -1,300 to -1,200, n = 3) | "
            "(refused: train.py: dqn needs discrete actions \\| exit 2) |") in out
