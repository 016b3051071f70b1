"""TensorBoard carries SB3's metric names beside CleanRL's (issue 28), read back from the event
file itself: the same values under both names, and SB3's ``rollout/ep_rew_mean`` checked against
the last 100 episodes of ``episodes.csv``."""

from __future__ import annotations

import csv
import struct
from collections import defaultdict
from pathlib import Path

import pytest

import train

event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2", reason="no TensorBoard writer installed")


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the run's event files: tag -> [(step, value)], read record by record
    (TFRecord: length, its CRC, the Event, its CRC)."""
    out = defaultdict(list)
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        data, at = path.read_bytes(), 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = event_pb2.Event.FromString(data[at + 12:at + 12 + length])
            at += 12 + length + 4
            for value in event.summary.value:
                out[value.tag].append((event.step, value.simple_value))
    return dict(out)


def same(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> bool:
    """The same steps, and the same values (as float32, as TensorBoard keeps them)."""
    return [s for s, _ in a] == [s for s, _ in b] and [v for _, v in a] == pytest.approx([v for _, v in b], rel=1e-5)


def test_sb3_names_beside_cleanrl_names_in_the_event_file(tmp_path):
    run_dir = tmp_path / "run"
    assert train.main(["--env", "CartPole-v1", "--agent", "dqn", "--steps", "600", "--learning-starts", "100",
                       "--train-freq", "4", "--eval-every", "300", "--eval-episodes", "1", "--no-progress",
                       "--run-dir", str(run_dir)]) == 0
    tags = scalars(run_dir)
    pairs = {"losses/td_loss": "train/loss", "charts/SPS": "time/fps", "charts/epsilon": "rollout/exploration_rate",
             "eval/return_mean": "eval/mean_reward"}
    for cleanrl, sb3 in pairs.items():
        assert tags[cleanrl] and same(tags[sb3], tags[cleanrl]), (cleanrl, sb3)
    with open(run_dir / "episodes.csv") as f:
        episodes = [(int(r["global_step"]), float(r["return"]), int(r["length"])) for r in csv.DictReader(f)]
    assert len(episodes) > 10
    want_rew = [(step, sum(r for _, r, _ in episodes[max(0, i - 99):i + 1]) / len(episodes[max(0, i - 99):i + 1]))
                for i, (step, _, _) in enumerate(episodes)]
    want_len = [(step, sum(n for _, _, n in episodes[max(0, i - 99):i + 1]) / len(episodes[max(0, i - 99):i + 1]))
                for i, (step, _, _) in enumerate(episodes)]
    assert same(tags["rollout/ep_rew_mean"], want_rew) and same(tags["rollout/ep_len_mean"], want_len)
    assert [v for _, v in tags["time/episodes"]] == list(range(1, len(episodes) + 1))
    # metrics.csv keeps CleanRL's names only
    assert "train/loss" not in (run_dir / "metrics.csv").read_text()


def test_reinforce_entropy_is_sb3s_entropy_loss(tmp_path):
    """SB3's ``train/entropy_loss`` is the loss term, minus the entropy."""
    run_dir = tmp_path / "run"
    assert train.main(["--env", "CartPole-v1", "--agent", "reinforce", "--episodes", "6", "--batch-episodes", "2", "--eval-episodes", "1",
                       "--no-progress", "--run-dir", str(run_dir)]) == 0
    tags = scalars(run_dir)
    assert tags["losses/entropy"] and same(tags["train/entropy_loss"], [(s, -v) for s, v in tags["losses/entropy"]])
    assert same(tags["train/policy_gradient_loss"], tags["losses/policy_loss"])


def test_ep_rew_mean_is_over_the_last_100_episodes_only():
    """150 episodes (episode i: return i, i + 1 steps): SB3's window, by hand, once the run is past it
    (the run above stops short of 100 episodes)."""
    from gymlab.agents.logger import RunLogger

    class Recorder:
        def __init__(self):
            self.got = defaultdict(list)

        def metric(self, key, value, step):
            self.got[key].append(value)

        def flush(self):
            pass

    tracker = Recorder()
    logger = RunLogger(progress=False, tracker=tracker)
    for i in range(150):
        for t in range(i + 1):
            logger.step(float(i) if t == 0 else 0.0, done=t == i)
    logger.close()
    rew, length = tracker.got["rollout/ep_rew_mean"], tracker.got["rollout/ep_len_mean"]
    assert len(rew) == len(length) == 150
    assert rew[9] == pytest.approx(4.5) and rew[99] == pytest.approx(49.5)  # (0 + ... + 99) / 100
    assert rew[149] == pytest.approx(sum(range(50, 150)) / 100) and length[149] == pytest.approx(100.5)
    assert tracker.got["time/episodes"][-1] == 150
