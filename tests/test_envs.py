"""Checks every gymlab env must pass, parametrized over the registry: a new env
(or a new alias with its own arguments, such as an observation type) is tested
the moment it is registered."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

from gymlab import envs


def _variants():
    """Every gymlab id with its default arguments, plus every alias that adds arguments."""
    out = {(env_id, ()) for env_id in envs.gymlab_ids()}
    for env_id, kwargs in envs.ALIASES.values():
        if env_id.startswith(envs.NAMESPACE + "/"):
            out.add((env_id, tuple(sorted(kwargs.items()))))
    return sorted(out)


VARIANTS = _variants()
IDS = [env_id + "".join(f"[{k}={v}]" for k, v in kw) for env_id, kw in VARIANTS]

# Envs that keep CartPole-v1's observation space exactly, unbounded (+-inf) in the velocities, so
# a CartPole-v1 policy loads into them; there, and only there, the checker's hint that an infinite
# bound is "probably too low" is expected.
INFINITE_BOUNDS = {"gymlab/CartPoleFlicker-v1"}


def make(env_id, kw, **extra):
    return gym.make(env_id, **dict(kw), **extra)


@pytest.mark.parametrize("env_id,kw", VARIANTS, ids=IDS)
def test_gymnasium_check_env(env_id, kw):
    env = make(env_id, kw, render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning from the checker is a failure here
        if env_id in INFINITE_BOUNDS:
            warnings.filterwarnings("ignore", message=r".*A Box observation space (minimum|maximum) value is -?infinity")
        gym_check_env(env.unwrapped, skip_render_check=False)
    env.close()


@pytest.mark.parametrize("env_id,kw", VARIANTS, ids=IDS)
def test_sb3_check_env(env_id, kw):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = make(env_id, kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_check_env(env.unwrapped, warn=True)
    env.close()


@pytest.mark.parametrize("env_id,kw", VARIANTS, ids=IDS)
def test_registered_with_time_limit_and_docs(env_id, kw):
    spec = gym.spec(env_id)
    assert spec.max_episode_steps, "register a max_episode_steps rather than a hand-made time limit"
    doc = make(env_id, kw).unwrapped.__class__.__doc__
    for section in ("## Description", "## Action Space", "## Observation Space", "## Rewards",
                    "## Starting State", "## Episode End", "## Arguments", ">>> "):
        assert section in doc, f"{env_id}'s docstring lacks {section!r}"


def _rollout(env_id, kw, seed, n=200):
    env = make(env_id, kw)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    trace = [np.asarray(obs).copy()]
    for _ in range(n):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        trace += [np.asarray(obs).copy(), reward, terminated, truncated]
        if terminated or truncated:
            obs, _ = env.reset()
            trace.append(np.asarray(obs).copy())
    env.close()
    return trace


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("env_id,kw", VARIANTS, ids=IDS)
def test_seeded_determinism(env_id, kw):
    assert _same(_rollout(env_id, kw, seed=3), _rollout(env_id, kw, seed=3))
    # ...and the seed matters: some other seed gives another trajectory.
    assert any(not _same(_rollout(env_id, kw, seed=3), _rollout(env_id, kw, seed=s)) for s in range(4, 10))


@pytest.mark.parametrize("env_id,kw", VARIANTS, ids=IDS)
def test_rgb_array_render(env_id, kw):
    env = make(env_id, kw, render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3
    assert first.shape[0] >= 64 and first.shape[1] >= 64
    assert first.std() > 0, "a blank frame"
    frames = [first]
    for _ in range(10):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        frames.append(env.render())
        assert frames[-1].shape == first.shape
        if terminated or truncated:
            break
    assert any(not np.array_equal(first, f) for f in frames[1:]), "the picture never changes"
    env.close()


@pytest.mark.parametrize("env_id,kw", VARIANTS, ids=IDS)
def test_human_render_runs_headless(env_id, kw):
    env = make(env_id, kw, render_mode="human")  # SDL_VIDEODRIVER=dummy (conftest.py)
    env.reset(seed=0)
    for _ in range(3):
        assert env.step(env.action_space.sample())[0] is not None
    env.close()
