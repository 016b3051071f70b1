"""``gymlab export`` of CNN policies on pong-pixels (tests/test_export.py has the rest): the graph
gives DQN's greedy actions on 1,000 observations, its last frames (``--history 4``) carried
as the agent carries them, and REINFORCE's with frame differences (300: the same graph but for
the difference, which a game's first steps already exercise)."""

from __future__ import annotations

import gymnasium as gym

from test_export import build, check


def test_cnn_policies_agree_on_pong_pixels(tmp_path, capsys):
    env = gym.make("gymlab/Pong-v0", obs_type="pixels")
    dqn = build("dqn", env, policy="cnn", hidden=(8,), history=4, buffer_size=1000, scale=0.3)  # frames stacked: a memory
    check(dqn, env, tmp_path / "dqn", capsys, memory=["started", "frames"])
    reinforce = build("reinforce", env, policy="cnn", hidden=(8,), frame_diff=True, scale=0.3)  # frame differences
    check(reinforce, env, tmp_path / "reinforce", capsys, memory=["started", "prev"], steps=300)
