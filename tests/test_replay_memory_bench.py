"""benchmarks/replay_memory.py: each contestant's replay buffer, as its agent builds it, filled to
capacity through its own ``add``; its bytes against a count by hand (small buffers here)."""

import json

import pytest
from benchmark_module import load_benchmark

FRAME = 80 * 80  # one pong-pixels frame, uint8


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("replay_memory")


def filled(bench, task, size):
    out = {}
    for job in bench.jobs(task, size):
        _, buffer = bench.build(job)
        bench.fill(buffer, int(size * bench.EXTRA))
        out[job["contestant"]] = buffer
    return out


def test_pixel_buffers_full_and_their_frames_counted_by_hand(bench):
    size = 400
    b = filled(bench, "pixels", size)
    ours, same, saving = b["dqn"], b["sb3-dqn (same)"], b["sb3-dqn (same, optimize_memory_usage)"]
    assert same.full and saving.full and min(ours.written) >= ours.length  # every slot written
    assert ours.frames.shape == (size, 80, 80, 1)  # 4 rings of 100 frames, each frame once
    assert same.observations.nbytes == same.next_observations.nbytes == size * 4 * FRAME  # stacks of 4, twice
    assert saving.observations.nbytes == size * 4 * FRAME and not hasattr(saving, "next_observations")
    assert saving.optimize_memory_usage and not saving.handle_timeout_termination
    assert same.observations.nbytes + same.next_observations.nbytes == 8 * ours.frames.nbytes
    assert bench.nbytes(same) > bench.nbytes(saving) > bench.nbytes(ours) == ours.nbytes
    assert (same.observations[:, 0] != 0).any() and (ours.frames != 0).any()  # written, not left as zeros


def test_cartpole_buffers_full(bench):
    b = filled(bench, "cartpole", 300)
    assert len(b["dqn"]) == len(b["dqn (as sb3)"]) == 300 and b["dqn"].obs.shape == (300, 4)
    assert b["sb3-dqn (same)"].full and b["sb3-dqn (same, optimize_memory_usage)"].full
    assert bench.nbytes(b["sb3-dqn (same)"]) - bench.nbytes(b["sb3-dqn (same, optimize_memory_usage)"]) == 300 * 4 * 4


def test_a_quick_run_writes_every_row_stamped(bench, tmp_path, capsys):
    path = tmp_path / "m.json"
    assert bench.main(["--quick", "--only", "cartpole", "--json", str(path)], runner=bench.measure) == 0
    report = json.loads(path.read_text())
    assert report["quick"] is True and len(report["rows"]) == 4
    for r in report["rows"]:
        assert r["commit"] and r["when"] and r["machine"]["cpu"] and r["quick"] is True
        assert r["buffer_size"] == bench.QUICK_BUFFER
        assert r["transitions_added"] == int(bench.QUICK_BUFFER * bench.EXTRA)
        assert r["peak_rss_mb"] >= r["rss_before_mb"] > 0 and r["replay_bytes"] > 0
    assert f"written: {path}" in capsys.readouterr().out


def test_a_contestant_without_a_buffer_size_flag_is_filled_to_its_own_capacity():
    """The CartPole contestants take the agent's default buffer (no --buffer-size): the full run
    stopped with KeyError: 'buffer_size'."""
    bench = load_benchmark("replay_memory")
    from gymlab.agents.dqn_config import DQNConfig

    res = bench.measure({"env": "CartPole-v1", "agent": "dqn", "overrides": {"learning_starts": 1000}})
    assert res["buffer_size"] == DQNConfig().buffer_size
    assert res["transitions_added"] >= res["buffer_size"]
