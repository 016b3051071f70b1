"""Property-based checks of every gymlab env (issue 10): under arbitrary seeds and action
sequences, observations lie in the observation space, the flags are plain bools, the time
limit truncates exactly at ``max_episode_steps``, rewards are finite floats, a seed and
its actions replay the same trajectory, and Pong's vector engine plays court i exactly as
a single env seeded ``seed + i`` plays it, autoresets included.

Every gymlab id is covered with its default arguments, plus every alias that adds
arguments (Pong with ``obs_type="pixels"``), so a new env or alias is tested the moment it
is registered. Examples are short (tens of steps) under a short time limit.
"""

from __future__ import annotations

import functools
import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gymlab import envs
from test_envs import IDS, VARIANTS  # every gymlab id, and every alias that adds arguments

SINGLE_EXAMPLES = 40  # per variant
VECTOR_EXAMPLES = 60
SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def _action_space(env_id: str, kw: tuple) -> spaces.Space:
    env = gym.make(env_id, **dict(kw))
    space = env.action_space
    env.close()
    return space


def actions_in(space: spaces.Space) -> st.SearchStrategy:
    """Any action of ``space``, drawn by hypothesis (so a failure shrinks to a short sequence)."""
    if isinstance(space, spaces.Discrete):
        return st.integers(int(space.start), int(space.start + space.n - 1))
    if isinstance(space, spaces.Box):
        low, high = float(space.low.min()), float(space.high.max())
        assert np.all(space.low == low) and np.all(space.high == high), "per-dimension action bounds: extend me"
        width = 32 if space.dtype == np.float32 else 64
        return arrays(space.dtype, space.shape, elements=st.floats(low, high, width=width))
    raise NotImplementedError(f"no action strategy for {space}")


def check_obs(obs, space: spaces.Space, where: str) -> None:
    assert space.contains(obs), f"{where}: observation {obs!r} not in {space}"
    if isinstance(space, spaces.Box):
        assert isinstance(obs, np.ndarray) and obs.dtype == space.dtype and obs.shape == space.shape, \
            f"{where}: {type(obs).__name__} {getattr(obs, 'dtype', '')} {getattr(obs, 'shape', '')} for {space}"
    elif isinstance(space, spaces.Discrete):
        assert isinstance(obs, (int, np.integer)) and not isinstance(obs, bool), f"{where}: {obs!r} for {space}"


def play(env, seed: int, actions: list, limit: int) -> list[tuple]:
    """Reset with ``seed`` and take ``actions``, starting a new episode (reset with no seed)
    whenever one ends; check each step on the way. Returns the trajectory:
    ("reset", obs) and ("step", obs, reward, terminated, truncated) entries."""
    space = env.observation_space
    obs, _ = env.reset(seed=seed)
    check_obs(obs, space, "reset")
    out, t = [("reset", obs)], 0
    for i, action in enumerate(actions):
        obs, reward, terminated, truncated, _ = env.step(action)
        t += 1
        where = f"step {t} of an episode (action {i})"
        check_obs(obs, space, where)
        assert type(terminated) is bool and type(truncated) is bool, \
            f"{where}: flags {type(terminated).__name__}, {type(truncated).__name__}, not bool"
        assert isinstance(reward, float) and not isinstance(reward, bool) and math.isfinite(reward), \
            f"{where}: reward {reward!r}"
        # The time limit cuts the episode at exactly `limit` steps, never before, never after.
        assert truncated == (t == limit), f"{where}: truncated={truncated} with max_episode_steps={limit}"
        out.append(("step", obs, reward, terminated, truncated))
        if terminated or truncated:  # the episode is over: the next action starts a new one
            event("terminated" if terminated else "truncated")
            obs, _ = env.reset()
            check_obs(obs, space, "reset after an episode ended")
            out.append(("reset", obs))
            t = 0
    return out


def same_trajectory(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert x[0] == y[0], f"entry {i}: {x[0]} vs {y[0]}"
        assert np.array_equal(x[1], y[1]), f"entry {i}: observations differ"
        assert type(x[1]) is type(y[1])
        assert x[2:] == y[2:], f"entry {i}: (reward, terminated, truncated) {x[2:]} vs {y[2:]}"


@pytest.mark.parametrize("env_id,kw", VARIANTS, ids=IDS)
@settings(max_examples=SINGLE_EXAMPLES, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), limit=st.integers(1, 25))
def test_trajectories_are_valid_and_reproducible(env_id, kw, data, seed, limit):
    steps = data.draw(st.integers(1, 40), label="steps")  # drawn first: hypothesis's lists run short
    actions = data.draw(st.lists(actions_in(_action_space(env_id, kw)), min_size=steps, max_size=steps),
                        label="actions")
    env = gym.make(env_id, max_episode_steps=limit, **dict(kw))
    assert env.spec.max_episode_steps == limit
    first = play(env, seed, actions, limit)
    again = play(env, seed, actions, limit)  # the same env, reseeded: the seed alone decides
    fresh = play(gym.make(env_id, max_episode_steps=limit, **dict(kw)), seed, actions, limit)
    same_trajectory(first, again)
    same_trajectory(first, fresh)


@st.composite
def vector_runs(draw):
    n = draw(st.integers(1, 4), label="num_envs")
    steps = draw(st.integers(1, 90), label="steps")  # a point takes 20 to 100 steps
    actions = draw(st.lists(st.lists(st.integers(0, 2), min_size=n, max_size=n), min_size=steps, max_size=steps),
                   label="actions")
    return n, actions


@settings(max_examples=VECTOR_EXAMPLES, **SETTINGS)
@given(run=vector_runs(), seed=st.integers(0, 2**31 - 1), limit=st.integers(1, 60),
       points_to_win=st.integers(1, 2), obs_type=st.sampled_from(["features", "pixels"]))
def test_pong_vector_court_i_is_single_env_seeded_seed_plus_i(run, seed, limit, points_to_win, obs_type):
    n, actions = run
    kw = dict(max_episode_steps=limit, points_to_win=points_to_win, obs_type=obs_type)
    venv = gym.make_vec("gymlab/Pong-v0", num_envs=n, vectorization_mode="vector_entry_point", **kw)
    assert type(venv.unwrapped).__name__ == "PongVectorEnv"
    singles = [gym.make("gymlab/Pong-v0", **kw) for _ in range(n)]
    obs, _ = venv.reset(seed=seed)
    assert venv.observation_space.contains(obs) and obs.dtype == venv.observation_space.dtype
    for i, env in enumerate(singles):
        np.testing.assert_array_equal(obs[i], env.reset(seed=seed + i)[0], err_msg=f"court {i} at reset")
    ended = np.zeros(n, dtype=bool)
    for t, action in enumerate(actions):
        obs, rewards, terminated, truncated, _ = venv.step(np.array(action))
        assert venv.observation_space.contains(obs) and obs.dtype == venv.observation_space.dtype
        assert terminated.dtype == bool and truncated.dtype == bool and terminated.shape == truncated.shape == (n,)
        assert np.all(np.isfinite(rewards)) and rewards.shape == (n,)
        for i, env in enumerate(singles):
            if ended[i]:  # next-step autoreset: this step resets court i, ignores its action, pays 0
                ref = (env.reset()[0], 0.0, False, False)
            else:
                ref = env.step(action[i])[:4]
            where = f"court {i}, step {t}"
            np.testing.assert_array_equal(obs[i], ref[0], err_msg=where)
            assert (float(rewards[i]), bool(terminated[i]), bool(truncated[i])) == tuple(ref[1:]), where
        for kind, flags in (("termination", terminated), ("truncation", truncated)):
            if flags.any():
                event(f"a court's {kind} (then its autoreset, if steps remain)")
        ended = terminated | truncated
