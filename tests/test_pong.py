"""Pong: the game is winnable but not trivially, the physics does what the docstring
says, and the vector engine plays exactly the single env's games."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from gymlab import envs  # noqa: F401
from gymlab.envs import pong_engine as E
from gymlab.envs.pong import PongEnv

ROOT = Path(__file__).resolve().parents[1]


def track_ball(obs):
    """A hand-written policy on features: keep the paddle's centre level with the ball."""
    gap = obs[1] - obs[4]  # ball y - paddle y
    return 0 if abs(gap) < 0.04 else (E.DOWN if gap > 0 else E.UP)


def play(policy, seed, **kwargs):
    env = gym.make("gymlab/Pong-v0", **kwargs)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(policy(obs, rng))
        total += reward
        done = terminated or truncated
    return total, env.unwrapped.score, truncated


def test_following_the_ball_beats_the_default_opponent():
    for seed in range(2):
        total, (mine, theirs), truncated = play(lambda o, _: track_ball(o), seed)
        assert not truncated
        assert mine == 21 and total > 0, (mine, theirs)


def test_random_play_loses():
    for seed in range(2):
        total, (mine, theirs), _ = play(lambda o, rng: int(rng.integers(3)), seed)
        assert theirs == 21 and total <= -15, (mine, theirs)


def test_the_hardest_opponent_beats_ball_following():
    total, (mine, theirs), _ = play(lambda o, _: track_ball(o), 0, difficulty=1.0)
    assert theirs == 21 and mine > 0  # it still scores some


def _court_heading_right(offset, speed=0.03):
    """One court, ball about to meet the agent's paddle ``offset`` (in paddle half-heights) off centre."""
    s, serves = E.new_courts(1, 0.5, 21, scripted=True), E.new_serves(1)
    E.reset_court(s, serves, 0, np.random.default_rng(0))
    s[0, E.AY] = 0.5
    s[0, E.BX], s[0, E.BY] = E.AGENT_X - E.BALL_R - speed / 2, 0.5 + offset * (E.PADDLE_HALF + E.BALL_R)
    s[0, E.VX], s[0, E.VY], s[0, E.SPEED] = speed, 0.0, speed
    return s, serves


@pytest.mark.parametrize("offset", [-0.9, -0.5, 0.0, 0.5, 0.9])
def test_bounce_angle_follows_where_the_ball_hits_and_the_rally_speeds_up(offset):
    s, serves = _court_heading_right(offset)
    E.step_courts(s, serves, np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros((1, 6), np.float32))
    assert s[0, E.VX] < 0  # sent back
    speed = np.hypot(s[0, E.VX], s[0, E.VY])
    assert speed == pytest.approx(0.03 * E.SPEEDUP)
    assert s[0, E.VY] / speed == pytest.approx(offset * E.MAX_SIN, abs=1e-9)


def test_a_miss_is_a_point_for_the_opponent():
    s, serves = _court_heading_right(1.5)  # above the paddle
    obs = np.zeros((1, 6), np.float32)
    for _ in range(10):
        E.step_courts(s, serves, np.zeros(1, np.int64), np.zeros(1, np.int64), obs)
        if s[0, E.REWARD]:
            break
    assert s[0, E.REWARD] == -1 and s[0, E.PTS_OPP] == 1
    assert s[0, E.BX] == 0.5  # served again from the middle


def test_serves_come_from_the_seed():
    first = [PongEnv().reset(seed=s)[0] for s in (1, 1, 2)]
    assert np.array_equal(first[0], first[1]) and not np.array_equal(first[0], first[2])
    # Serves go both ways, at varied heights.
    starts = np.array([PongEnv().reset(seed=s)[0] for s in range(40)])
    assert (starts[:, 2] > 0).any() and (starts[:, 2] < 0).any()
    assert starts[:, 1].std() > 0.1


def test_pixels_show_the_ball_and_paddles_where_the_features_say():
    pix, feat = PongEnv(obs_type="pixels"), PongEnv()
    p, f = pix.reset(seed=3)[0], feat.reset(seed=3)[0]
    for _ in range(25):
        p, f = pix.step(0)[0], feat.step(0)[0]
    frame = p[:, :, 0]
    assert set(np.unique(frame)) == {0, 255}
    bx, by = (f[0] + 1) / 2 * 80, (f[1] + 1) / 2 * 80
    ball = frame[:, 10:70]  # between the paddles
    rows, cols = np.nonzero(ball)
    assert abs(rows.mean() - by) < 1.5 and abs(cols.mean() + 10 - bx) < 1.5
    right_rows = np.nonzero(frame[:, 76])[0]
    assert abs(right_rows.mean() - (f[4] + 1) / 2 * 80) < 1.5


def test_external_opponent_obeys_its_action():
    env = PongEnv(opponent="external")
    env.reset(seed=0)
    env.opponent_action = E.UP
    for _ in range(5):
        env.step(0)
    assert env._s[0, E.OY] == pytest.approx(0.5 - 5 * E.PADDLE_SPEED)


@pytest.mark.parametrize("obs_type", ["features", "pixels"])
def test_vector_env_plays_the_single_envs_games(obs_type):
    n, kw = 5, dict(points_to_win=2, max_episode_steps=130, obs_type=obs_type)
    fast = gym.make_vec("gymlab/Pong-v0", num_envs=n, vectorization_mode="vector_entry_point", **kw)
    ref = gym.make_vec("gymlab/Pong-v0", num_envs=n, vectorization_mode="sync", **kw)
    assert type(fast.unwrapped).__name__ == "PongVectorEnv"
    assert np.array_equal(fast.reset(seed=11)[0], ref.reset(seed=11)[0])
    rng, ended = np.random.default_rng(0), {"terminated": 0, "truncated": 0}
    for t in range(1500):
        actions = rng.integers(0, 3, n)
        a, b = fast.step(actions), ref.step(actions)
        for x, y in zip(a[:4], b[:4]):
            np.testing.assert_array_equal(x, y, err_msg=f"step {t}")
        ended["terminated"] += int(a[2].sum())
        ended["truncated"] += int(a[3].sum())
    assert ended["terminated"] > 5 and ended["truncated"] > 5  # both kinds of end and autoreset were exercised
    # Reseeding per court works as in Gymnasium: a list of seeds.
    seeds = [3, 1, 4, 1, 5]
    np.testing.assert_array_equal(fast.reset(seed=seeds)[0], ref.reset(seed=seeds)[0])


def test_vector_env_rgb_render():
    venv = gym.make_vec("gymlab/Pong-v0", num_envs=2, vectorization_mode="vector_entry_point", render_mode="rgb_array")
    venv.reset(seed=0)
    frames = venv.render()
    assert len(frames) == 2 and frames[0].shape == (480, 640, 3) and frames[0].dtype == np.uint8


def test_bad_arguments():
    for kwargs in ({"obs_type": "rgb"}, {"difficulty": 2.0}, {"points_to_win": 0}, {"opponent": "human"}):
        with pytest.raises(ValueError):
            PongEnv(**kwargs)
    with pytest.raises(ValueError, match="action"):
        PongEnv().step(3)


def test_screenshot_command(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gymlab", "play", "--screenshot", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    assert proc.returncode == 0, proc.stderr
    import pygame

    human = pygame.image.load(str(tmp_path / "pong_human.png"))
    pixels = pygame.image.load(str(tmp_path / "pong_pixels.png"))
    assert human.get_size() == (640, 480) and pixels.get_size() == (320, 320)


def test_keyboard_play_starts_and_quits(tmp_path):
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.run([sys.executable, "-m", "gymlab", "play", "--max-steps", "30", "--points", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args,words", [
    (["--difficulty", "2"], "--difficulty"), (["--difficulty", "nan"], "--difficulty"),
    (["--points", "0"], "--points"), (["--points", "x"], "--points"), (["--zoom", "-1"], "--zoom"),
    (["--max-steps", "-5"], "--max-steps"), ([], "no display"), (["--against", "/no/such.npz"], "no checkpoint"),
])
def test_keyboard_play_refuses_bad_input_in_one_line(args, words):
    """Headless (no DISPLAY, no SDL driver chosen), and with bad values: one line, exit 2."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    proc = subprocess.run([sys.executable, "-m", "gymlab", "play", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_keyboard_play_quits_cleanly_on_ctrl_c(spawn):
    proc = spawn([sys.executable, "-m", "gymlab", "play"], cwd=ROOT, env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    time.sleep(4)  # well into the game loop
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err


def test_envs_and_sequence_tasks_name_nothing_of_the_agents_or_the_command_line():
    """The layers, read from the source: no import of gymlab.agents, train or play below envs/ or
    sequence_tasks/ (and none at run time either: the test below)."""
    import re

    crossing = re.compile(r"^\s*(from|import)\s+(gymlab\.agents|gymlab\.train|gymlab\.play|agents|train)\b|"
                          r"^\s*from\s+gymlab\s+import\s+.*\b(agents|train|play)\b", re.M)
    offenders = [str(p.relative_to(ROOT)) for d in ("envs", "sequence_tasks") for p in (ROOT / d).rglob("*.py")
                 if crossing.search(p.read_text())]
    assert offenders == []


def test_envs_import_nothing_of_the_agents():
    """The layers: envs and sequence_tasks never import agents (nor the command line)."""
    code = ("import sys, gymnasium as gym, gymlab, gymlab.envs.pong_play, gymlab.envs.pong_vector, "
            "gymlab.sequence_tasks.common, gymlab.sequence_tasks.models, gymlab.sequence_tasks.data; "
            "[gym.make(i) for i in gymlab.envs.gymlab_ids()]; "
            "bad = [m for m in sys.modules if m.startswith(('gymlab.agents', 'gymlab.train', 'gymlab.play'))]; "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_play_against_a_checkpoint(tmp_path):
    from gymlab.agents.random_agent import RandomAgent
    from gymlab.envs.pong_play import AgainstAgent
    from gymlab.play import load_opponent

    ckpt = tmp_path / "pixels.npz"
    pixels_env = gym.make("gymlab/Pong-v0", obs_type="pixels")
    RandomAgent(pixels_env.observation_space, pixels_env.action_space).save(ckpt)
    agent, obs_type = load_opponent(ckpt)
    assert obs_type == "pixels"
    env = AgainstAgent(agent, obs_type, points_to_win=1)
    env.reset(seed=0)
    done, reward = False, 0.0
    while not done:  # the person stands still
        _, reward, terminated, truncated, _ = env.step(0)
        done = terminated or truncated
    assert reward in (-1.0, 1.0)  # from the person's side
    assert env.render().shape == (480, 640, 3)


def test_tabular_agent_refuses_pong(tmp_path):
    for alias in ("pong", "pong-pixels"):
        proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--env", alias, "--agent", "q"],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert proc.returncode == 2
        assert "Discrete observation space" in proc.stderr and "Box(shape=" in proc.stderr


def test_play_against_a_pixel_dqn_that_sees_stacked_frames(tmp_path):
    """A pixel DQN with --history 3 as the opponent: at every step it acts on the last 3 frames the
    game showed it (the first repeated at the start), as it did in training."""
    import torch

    from gymlab.agents.dqn import DQN, DQNConfig
    from gymlab.agents.frame_replay import stack_frames
    from gymlab.envs.pong_play import AgainstAgent
    from gymlab.play import load_opponent

    pixels_env = gym.make("gymlab/Pong-v0", obs_type="pixels")
    DQN(pixels_env.observation_space, pixels_env.action_space,
        DQNConfig(policy="cnn", history=3, hidden=(16,)), seed=0).save(tmp_path / "dqn.npz")
    agent, obs_type = load_opponent(tmp_path / "dqn.npz")
    assert obs_type == "pixels"
    acted = []  # (action, the frames it saw), as the game asks the agent
    predict = agent.predict
    agent.predict = lambda *a, **k: acted.append(predict(*a, **k)) or acted[-1]
    env = AgainstAgent(agent, obs_type, points_to_win=1)
    obs, _ = env.reset(seed=0)
    seen = [obs] * 3  # the episode's first frame, repeated, then each new one
    for _ in range(20):
        with torch.no_grad():
            expected = int(agent.q(stack_frames(np.stack(seen[-3:])[None])).argmax(dim=1))
        obs, *_ = env.step(0)
        action, frames = acted[-1]
        assert np.array_equal(frames[0], np.stack(seen[-3:])) and action == expected
        seen.append(obs)
