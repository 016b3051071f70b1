"""Pong's vector env takes the single env's arguments and the run's time limit (issue 10, item 4):
a vector env made from a run's env (``train.make_env`` then ``make_vector_env``) plays the same
games as that env, to the same time limit, and refuses what the single env refuses."""

import inspect
import math
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from gymlab import envs  # noqa: F401
from gymlab.agents.rollout import make_vector_env
from gymlab.envs import pong_engine as E
from gymlab.envs.pong import PongEnv
from gymlab.envs.pong_vector import PongVectorEnv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import train  # noqa: E402  (make_env: the env a run trains and evaluates on)

ID = "gymlab/Pong-v0"
VECTOR_ONLY = ("num_envs", "max_episode_steps")  # the vector env's own arguments
NOT_DEFAULTS = dict(obs_type="pixels", difficulty=0.9, points_to_win=3, opponent="external")


def run_env(frame_stack=1, outer_limit=None, **kwargs):
    env = train.make_env(ID, kwargs, 50, frame_stack=frame_stack)
    return env if outer_limit is None else gym.wrappers.TimeLimit(env, outer_limit)


@pytest.mark.parametrize("frame_stack, outer_limit, limit", [(1, None, 50), (2, None, 50), (1, 30, 30)],
                         ids=["vector-entry-point", "sync-fallback", "outer-TimeLimit"])
def test_make_vector_env_keeps_the_runs_time_limit(frame_stack, outer_limit, limit):
    env = run_env(frame_stack, outer_limit)
    assert env.spec.max_episode_steps == limit
    venv = make_vector_env(env, 4)
    venv.reset(seed=0)
    for t in range(1, limit + 1):
        _, _, terminated, truncated, _ = venv.step(np.zeros(4, dtype=np.int64))
        assert not terminated.any()  # 21 points take far longer than 50 steps
        assert truncated.all() == (t == limit) and truncated.any() == (t == limit), f"step {t}: {truncated}"


def test_vector_env_from_a_run_plays_the_runs_single_env_games():
    """Court i of ``make_vector_env(env)`` plays ``env`` reset with ``seed + i``, through time limits,
    wins and autoresets, under every argument the single env takes."""
    n, seed, steps = 3, 7, 180
    kwargs = dict(points_to_win=2, difficulty=0.2, opponent="external")
    venv = make_vector_env(run_env(**kwargs), n)
    singles = [run_env(**kwargs) for _ in range(n)]
    rng = np.random.default_rng(0)
    actions, opp = rng.integers(0, 3, (steps, n)), rng.integers(0, 3, (steps, n))
    got = [venv.reset(seed=seed)[0]]
    for a, b in zip(actions, opp):
        venv.unwrapped.opponent_action = b
        got.append(venv.step(a))
    ends = {"terminated": 0, "truncated": 0}
    for i, env in enumerate(singles):
        obs, _ = env.reset(seed=seed + i)
        np.testing.assert_array_equal(got[0][i], obs)
        skip = False
        for t, (a, b) in enumerate(zip(actions[:, i], opp[:, i])):
            v_obs, v_rew, v_term, v_trunc, _ = got[t + 1]
            if skip:  # next-step autoreset: this step only reset court i
                obs, _ = env.reset()
                assert (v_rew[i], v_term[i], v_trunc[i]) == (0.0, False, False)
                skip = False
            else:
                env.unwrapped.opponent_action = int(b)
                obs, rew, term, trunc, _ = env.step(int(a))
                assert (v_rew[i], v_term[i], v_trunc[i]) == (rew, term, trunc), f"court {i}, step {t}"
                ends["terminated"] += term
                ends["truncated"] += trunc
                skip = term or trunc
            np.testing.assert_array_equal(v_obs[i], obs, err_msg=f"court {i}, step {t}")
    assert ends["terminated"] >= 1 and ends["truncated"] >= 1, ends  # both ends and autoreset exercised


def test_vector_and_single_env_take_the_same_arguments():
    single = inspect.signature(PongEnv.__init__).parameters
    vector = inspect.signature(PongVectorEnv.__init__).parameters
    assert [(p.name, p.default) for p in single.values()] == \
           [(p.name, p.default) for p in vector.values() if p.name not in VECTOR_ONLY]
    # ...and both take every one of them, away from its default.
    assert PongEnv(**NOT_DEFAULTS).reset(seed=0)[0].shape == (80, 80, 1)
    venv = gym.make_vec(ID, num_envs=2, vectorization_mode="vector_entry_point", **NOT_DEFAULTS)
    assert venv.reset(seed=0)[0].shape == (2, 80, 80, 1)


@pytest.mark.parametrize("bad", [dict(obs_type="rgb"), dict(difficulty=2.0), dict(difficulty=-0.1),
                                 dict(difficulty=math.nan), dict(difficulty="hard"), dict(points_to_win=0),
                                 dict(points_to_win=1.5), dict(points_to_win="3"), dict(points_to_win=math.inf),
                                 dict(opponent="human")])
def test_vector_and_single_env_refuse_the_same_bad_arguments(bad):
    with pytest.raises(ValueError) as single:
        PongEnv(**bad)
    with pytest.raises(ValueError) as vector:
        PongVectorEnv(num_envs=2, **bad)
    assert str(vector.value) == str(single.value)
    assert next(iter(bad)) in str(single.value)  # the message names the argument


@pytest.mark.parametrize("bad", [dict(num_envs=0), dict(max_episode_steps=0), dict(max_episode_steps=-5),
                                 dict(max_episode_steps=2.5), dict(render_mode="rgb"),
                                 dict(render_mode="human")])  # no window for N courts
def test_vector_env_refuses_its_own_bad_arguments(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        PongVectorEnv(**bad)


@pytest.mark.parametrize("bad", [3, -1, 1.5])
def test_vector_env_refuses_an_invalid_action_as_the_single_env_does(bad):
    single = PongEnv()
    single.reset(seed=0)
    with pytest.raises(ValueError, match=rf"action .*got {bad!r}"):
        single.step(bad)
    venv, ref = PongVectorEnv(num_envs=3), PongVectorEnv(num_envs=3)
    venv.reset(seed=0), ref.reset(seed=0)
    with pytest.raises(ValueError, match=rf"action .*got {bad!r}"):
        venv.step(np.array([0, bad, 2]))
    # The refused step changed nothing: the next one plays as if it had never been asked for.
    for x, y in zip(venv.step(np.array([0, 1, 2]))[:4], ref.step(np.array([0, 1, 2]))[:4]):
        np.testing.assert_array_equal(x, y)


def test_vector_env_wants_one_action_per_court():
    venv = PongVectorEnv(num_envs=3)
    venv.reset(seed=0)
    for actions in (1, [0, 1], np.zeros((3, 1), dtype=np.int64)):
        with pytest.raises(ValueError, match="one action per court"):
            venv.step(actions)
    venv.step([0, 1.0, 2])  # whole numbers of any type pass, as in the single env


def test_external_opponent_obeys_its_action_in_every_court():
    venv = PongVectorEnv(num_envs=2, opponent="external")
    venv.reset(seed=0)
    venv.opponent_action = np.array([E.UP, E.DOWN])
    for _ in range(5):
        obs = venv.step(np.zeros(2, dtype=np.int64))[0]
    assert obs[:, 5] == pytest.approx(2 * (0.5 + np.array([-5, 5]) * E.PADDLE_SPEED) - 1)
