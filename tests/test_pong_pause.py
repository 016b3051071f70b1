"""Courts that wait (issue 27): ``PongVectorEnv.pause`` freezes some courts (not stepped: action
ignored, reward 0, not done, observation unchanged) while the others play on, and a paused court
later plays exactly the game a single env seeded alike plays when stepped only at its own steps."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from gymlab import envs  # noqa: F401
from gymlab.envs.pong_vector import PongVectorEnv


@pytest.mark.parametrize("obs_type", ["features", "pixels"])
def test_a_paused_court_plays_the_single_envs_game_at_its_own_steps(obs_type):
    n, steps = 3, 600
    venv = PongVectorEnv(num_envs=n, obs_type=obs_type, points_to_win=2)
    singles = [gym.make("gymlab/Pong-v0", obs_type=obs_type, points_to_win=2) for _ in range(n)]
    seeds = [11, 12, 13]
    obs, _ = venv.reset(seed=seeds)
    last = [single.reset(seed=s)[0] for single, s in zip(singles, seeds)]
    ending = [False] * n  # a single env that ended: the vector env's next step of that court resets it
    rng = np.random.default_rng(0)
    rewards = np.zeros(n)
    for t in range(steps):
        paused = rng.random(n) < 0.4  # a different set each step, sometimes none, sometimes all
        actions = rng.integers(0, 3, n)
        venv.pause(paused)
        obs, reward, terminated, truncated, _ = venv.step(actions)
        for i in range(n):
            if paused[i]:  # frozen: as it was, no reward, not done
                assert reward[i] == 0 and not terminated[i] and not truncated[i]
                np.testing.assert_array_equal(obs[i], last[i])
                continue
            if ending[i]:  # next-step autoreset: this step only resets the court
                expected, r, done, ending[i] = singles[i].reset()[0], 0.0, False, False
            else:
                expected, r, term, trunc, _ = singles[i].step(int(actions[i]))
                done = term or trunc
                ending[i] = done
            np.testing.assert_array_equal(obs[i], expected)
            assert reward[i] == r and bool(terminated[i] or truncated[i]) == done
            last[i] = expected
            rewards[i] += abs(r)
    assert (rewards > 0).all()  # every court scored points, paused in between


def test_pause_refuses_a_wrong_shape_and_none_means_every_court_plays():
    venv = PongVectorEnv(num_envs=2)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match="one flag per court"):
        venv.pause(np.zeros(3, bool))
    venv.pause(np.array([True, True]))
    venv.pause(None)
    obs0 = venv._obs()
    obs1 = venv.step(np.array([1, 1]))[0]
    assert not np.array_equal(obs0, obs1)  # both moved


@pytest.mark.parametrize("obs_type", ["features", "pixels"])
def test_paused_courts_keep_their_own_time_limit_and_meet_the_new_opponent(obs_type):
    """With a short time limit and set_difficulty while some courts are paused, each court plays the
    game a one-court env plays when stepped only at that court's steps: a paused court's clock stands
    still, and a court paused through a change meets the new opponent when it plays again."""
    n, steps = 3, 1500
    kw = dict(obs_type=obs_type, points_to_win=2, max_episode_steps=60, difficulty=0.8)
    venv = PongVectorEnv(num_envs=n, **kw)
    singles = [PongVectorEnv(num_envs=1, **kw) for _ in range(n)]
    seeds = [11, 12, 13]
    venv.reset(seed=seeds)
    for single, seed in zip(singles, seeds):
        single.reset(seed=[seed])
    rng = np.random.default_rng(1)
    cuts = 0
    for t in range(steps):
        if t % 300 == 150:
            difficulty = float(rng.random())
            venv.set_difficulty(difficulty)
            for single in singles:
                single.set_difficulty(difficulty)
        paused = rng.random(n) < 0.4
        actions = rng.integers(0, 3, n)
        venv.pause(paused)
        obs, reward, terminated, truncated, _ = venv.step(actions)
        for i in np.flatnonzero(~paused):
            o1, r1, te1, tr1, _ = singles[i].step(actions[i:i + 1])
            np.testing.assert_array_equal(obs[i], o1[0], err_msg=f"court {i}, step {t}")
            assert (reward[i], terminated[i], truncated[i]) == (r1[0], te1[0], tr1[0]), f"court {i}, step {t}"
            cuts += bool(tr1[0])
    assert cuts >= n  # the time limit cut every court's games
