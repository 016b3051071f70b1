"""benchmarks/dqn_speed.py runs, end to end, on tiny budgets (its runs in this process rather than
one process each): the table and the JSON come out, every contestant of a task takes the same
gradient steps, every row is stamped and marked quick, and SB3's DQN on stacked frames has our CNN's
Q-network, weight for weight. (The protocol's arithmetic, on fabricated timings: test_speed_protocol.py.)"""

import json

import pytest
from benchmark_module import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("dqn_speed")


def quick(bench, monkeypatch, tmp_path, capsys, task, steps, learning_starts):
    env, full_steps, full_starts, _, _ = bench.TASKS[task]
    monkeypatch.setitem(bench.TASKS, task, (env, full_steps, full_starts, steps, learning_starts))
    path = tmp_path / "dqn_speed.json"
    assert bench.main(["--quick", "--only", task, "--json", str(path)], runner=bench.measure) == 0
    out = capsys.readouterr().out
    report = json.loads(path.read_text())
    rows = {r["contestant"]: r for r in report["rows"]}
    assert set(rows) == {"dqn", "dqn (as sb3)", bench.REFERENCE, bench.SAVING} and report["checks_failed"] == []
    assert report["commit"] and report["command"] and report["quick"] is True and "busy" in report
    for r in rows.values():  # every row stamped when measured, and marked quick
        assert r["commit"] and r["when"] and r["machine"]["cpu"] and r["quick"] is True and r["rounds"] == 1
        assert "load_before" in r and "load_after" in r and "--threads 1" in r["command"]
    assert "vs sb3" in out and "NOT a speed figure" in out and f"written: {path}" in out
    counts = [r["gradient_steps"][0] for r in rows.values()]
    assert max(counts) - min(counts) <= 1 and min(counts) > 0
    assert rows["dqn (as sb3)"]["q_weights"] == rows[bench.REFERENCE]["q_weights"] == rows[bench.SAVING]["q_weights"]
    assert rows["dqn"]["vs_ref"]["median"] == pytest.approx(
        rows["dqn"]["env_steps_per_s_per_round"][0] / rows[bench.REFERENCE]["env_steps_per_s_per_round"][0])
    return rows


def test_cartpole_quick_run_writes_the_table_and_json(bench, monkeypatch, tmp_path, capsys):
    rows = quick(bench, monkeypatch, tmp_path, capsys, "cartpole", 300, 100)
    assert rows["dqn"]["gradient_steps"] == [100]  # (300 - 100) steps, one gradient step every 2
    assert rows["sb3-dqn (same)"]["agent"] == "sb3-dqn"


def test_pixels_sb3_gets_our_network_frames_and_gradient_steps(bench, monkeypatch, tmp_path, capsys):
    rows = quick(bench, monkeypatch, tmp_path, capsys, "pixels", 96, 32)
    assert rows["dqn (as sb3)"]["gradient_steps"] == [16]  # (96 - 32) transitions of 4 courts, one every 4
    sb3 = rows["sb3-dqn (same)"]["overrides"]
    assert (sb3["n_envs"], sb3["n_stack"], sb3["train_freq"], sb3["net_arch"]) == (4, 4, 1, [])
    assert rows[bench.SAVING]["agent"] == "benchmarks.sb3_stacked:SB3StackedDQN"


def test_the_extractor_is_our_cnn_layer_for_layer(bench):
    """Same layers, same shapes, in the same order: SB3's q_net against our Q-network (no dueling)."""
    import gymnasium as gym

    import gymlab  # noqa: F401  (registers gymlab/Pong-v0)
    from gymlab.agents.dqn import DQN, DQNConfig
    from gymlab.agents.sb3_agents import _SpacesOnly

    env = gym.make("gymlab/Pong-v0", obs_type="pixels")
    who = {w["contestant"]: w for w in bench.contestants("pixels", 1000, 100)}
    ours = DQN(env.observation_space, env.action_space, DQNConfig(**{**who["dqn (as sb3)"]["overrides"],
                                                                     "buffer_size": 1000}))
    from benchmarks.sb3_stacked import SB3StackedDQN, SB3StackedDQNConfig

    config = SB3StackedDQNConfig(**{**who["sb3-dqn (same)"]["overrides"], "buffer_size": 1000})
    sb3 = SB3StackedDQN(env.observation_space, env.action_space, config)
    assert isinstance(sb3.model.env.envs[0].unwrapped, _SpacesOnly)
    shapes = lambda net: [tuple(p.shape) for p in net.parameters()]  # noqa: E731
    assert shapes(sb3.model.q_net) == shapes(ours.q)
    assert shapes(ours.q)[0] == (16, 4, 8, 8)  # 4 frames in, as channels
