"""Issue 14's partially observed CartPoles and the longer Recall: what is hidden really is
hidden (and nothing else changes), the blanking is as random as ``p`` says and as
reproducible as its seed, the aliases resolve, the command line runs them, and ``recall-50``
is its own task for the tuned defaults.

The generic checks (both env checkers, rendering, seeding, the time limit) come from the
registry-parametrized tests in test_envs.py and test_env_properties.py."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gymlab import envs
from gymlab.agents import hyperparams

NOVEL, FLICKER = "gymlab/CartPoleNoVel-v1", "gymlab/CartPoleFlicker-v1"


def _actions(seed: int, n: int) -> list[int]:
    return [int(a) for a in np.random.default_rng(seed).integers(2, size=n)]


def _flicker_run(seed: int, p: float, n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``n`` observations of a flickering CartPole (episodes back to back, each reset's
    observation included), and CartPole's true state at each."""
    env = gym.make(FLICKER, p=p)
    obs, _ = env.reset(seed=seed)
    seen, true = [obs], [np.array(env.unwrapped.state, dtype=np.float32)]
    for action in _actions(seed, n - 1):
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            obs, _ = env.reset()
        seen.append(obs)
        true.append(np.array(env.unwrapped.state, dtype=np.float32))
    env.close()
    return seen, true


def _blanks(seen: list[np.ndarray]) -> list[bool]:
    return [not obs.any() for obs in seen]  # a true state is never exactly all zeros


# ------------------------------------------------------------------ CartPoleNoVel: positions only
def test_novel_sees_cartpole_positions_and_never_its_velocities():
    env, full = gym.make(NOVEL), gym.make("CartPole-v1")
    space, full_space = env.observation_space, full.observation_space
    assert space.shape == (2,) and space.dtype == np.float32
    np.testing.assert_array_equal(space.low, full_space.low[[0, 2]])
    np.testing.assert_array_equal(space.high, full_space.high[[0, 2]])
    steps = 0
    for seed in (0, 1):  # the same seed and actions: the same cart as CartPole-v1's, every step
        obs, _ = env.reset(seed=seed)
        ref, _ = full.reset(seed=seed)
        np.testing.assert_array_equal(obs, ref[[0, 2]])
        for action in _actions(seed, 500):
            obs, reward, terminated, truncated, _ = env.step(action)
            ref, ref_reward, ref_terminated, ref_truncated, _ = full.step(action)
            np.testing.assert_array_equal(obs, ref[[0, 2]])
            assert (reward, terminated, truncated) == (ref_reward, ref_terminated, ref_truncated)
            steps += 1
            if terminated or truncated:
                break
    assert steps > 10
    assert gym.spec(NOVEL).max_episode_steps == 500 and gym.spec(NOVEL).reward_threshold == 475.0


# ------------------------------------------------------------------ CartPoleFlicker: all or nothing
@settings(max_examples=30, deadline=None, database=None)
@given(p=st.floats(0.0, 0.99), seed=st.integers(0, 2**32 - 1))
def test_flicker_shows_the_whole_state_or_nothing(p, seed):
    seen, true = _flicker_run(seed, p, 60)
    for t, (obs, state) in enumerate(zip(seen, true)):
        assert obs.dtype == np.float32 and obs.shape == (4,)
        assert not obs.any() or np.array_equal(obs, state), f"observation {t}: {obs} is neither blank nor {state}"


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_flicker_blanks_a_fraction_p(p):
    n = 3000
    fraction = np.mean(_blanks(_flicker_run(0, p, n)[0]))
    assert abs(fraction - p) <= 5 * math.sqrt(p * (1 - p) / n), f"blanked {fraction:.3f} of {n}, p={p}"


def test_flicker_p0_never_blanks_and_the_start_is_cartpoles():
    seen, true = _flicker_run(5, 0.0, 1000)
    assert not any(_blanks(seen))
    assert all(np.array_equal(obs, state) for obs, state in zip(seen, true))
    # The seed draws CartPole's start first: the same start as CartPole-v1 with that seed.
    np.testing.assert_array_equal(seen[0], gym.make("CartPole-v1").reset(seed=5)[0])


def test_flicker_same_seed_same_blanks():
    first, again, other = (_blanks(_flicker_run(seed, 0.5, 300)[0]) for seed in (7, 7, 8))
    assert first == again
    assert first != other  # ...and the seed decides it (chance of a tie: 2**-300)
    assert 0 < sum(first) < len(first)


def test_flicker_keeps_cartpoles_spaces_so_a_cartpole_policy_loads(tmp_path):
    """As Hausknecht & Stone evaluated MDP-trained networks under flicker: same spaces, same checkpoint."""
    from gymlab.agents.random_agent import RandomAgent

    env, full = gym.make(FLICKER), gym.make("CartPole-v1")
    assert env.observation_space == full.observation_space and env.action_space == full.action_space
    RandomAgent(full.observation_space, full.action_space).save(tmp_path / "cartpole.npz")
    RandomAgent.load(tmp_path / "cartpole.npz", env.observation_space, env.action_space)  # no CheckpointError


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), "0.5", True, None])
def test_flicker_bad_p_is_one_line(p):
    with pytest.raises(ValueError, match=r"^p \(the chance an observation is blanked\) must be a number in "
                                         r"\[0, 1\), got .*$") as err:
        gym.make(FLICKER, p=p)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ aliases, the command line, the tuned defaults
@pytest.mark.parametrize("alias,expected", [
    ("cartpole-novel", (NOVEL, {})),
    ("cartpole-flicker", (FLICKER, {})),
    ("recall-50", ("gymlab/Recall-v0", {"delay": 50})),
])
def test_aliases_resolve(alias, expected):
    assert envs.resolve(alias) == expected
    env_id, kwargs = expected
    assert env_id in envs.gymlab_ids() and gym.make(env_id, **kwargs).spec.id == env_id


def test_recall_50_episode_fits_the_time_limit():
    env_id, kwargs = envs.resolve("recall-50")
    env = gym.make(env_id, **kwargs)
    assert env.spec.max_episode_steps == 1000
    obs, _ = env.reset(seed=0)
    symbol, steps, terminated, truncated = int(obs[:4].argmax()), 0, False, False
    while not (terminated or truncated):
        obs, reward, terminated, truncated, _ = env.step(symbol)
        steps += 1
    assert (steps, terminated, truncated, reward) == (52, True, False, 1.0)  # symbol, 50 blanks, query


def test_recall_50_is_its_own_task_for_the_tuned_defaults():
    assert hyperparams.task_key("gymlab/Recall-v0", {"delay": 50}) == "gymlab/Recall-v0 delay=50"
    assert hyperparams.task_key("gymlab/Recall-v0", {"delay": 10, "n_symbols": 4}) == "gymlab/Recall-v0"
    tuned = hyperparams.defaults("reinforce", "recall")
    assert tuned[0]["policy"] == "lstm" and tuned[1] == {"steps": 600_000}
    assert hyperparams.defaults("reinforce", "gymlab/Recall-v0", {"delay": 10}) == tuned
    star = {"steps": hyperparams.TABLE["reinforce"]["*"]["steps"]}
    assert hyperparams.defaults("reinforce", "recall-50") == ({}, star)  # not the delay-10 LSTM
    assert hyperparams.defaults("reinforce", "gymlab/Recall-v0", {"n_symbols": 8}) == ({}, star)


@pytest.mark.parametrize("alias", ["cartpole-novel", "cartpole-flicker", "recall-50"])
def test_train_py_runs_them(alias, tmp_path, capsys):
    import train

    run_dir = tmp_path / "run"
    assert train.main(["--env", alias, "--agent", "random", "--steps", "200", "--eval-episodes", "1",
                       "--no-progress", "--run-dir", str(run_dir)]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["env_steps"] == 200 and summary["eval"]["episodes"] == 1
