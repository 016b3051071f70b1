"""Tabular Q-learning: checked against an independent value iteration on each
env's own transition table, and against the lecture's printed table."""

import os

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from gymlab import envs  # noqa: F401
from gymlab.agents import CheckpointError, SpaceError, hyperparams
from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.q_learning import QConfig, QLearning
from gymlab.agents.rollout import evaluate

# The lecture's converged table (seed 001), normalised so the largest entry is 100.
LECTURE_Q = np.array([
    [0, 0, 0, 0, 80, 0],
    [0, 0, 0, 64, 0, 100],
    [0, 0, 0, 64, 0, 0],
    [0, 80, 51, 0, 80, 0],
    [64, 0, 0, 64, 0, 100],
    [0, 80, 0, 0, 80, 100],
])


def value_iteration(P, n_states, n_actions, gamma, allowed):
    """Q* from the Bellman optimality equation, swept to a fixed point."""
    q = np.zeros((n_states, n_actions))
    for _ in range(10_000):
        new = np.zeros_like(q)
        for s in range(n_states):
            for a in allowed(s):
                new[s, a] = sum(p * (r + (0.0 if done else gamma * q[s2, allowed(s2)].max()))
                                for p, s2, r, done in P[s][a])
        if np.abs(new - q).max() < 1e-12:
            return new
        q = new
    raise AssertionError("value iteration did not converge")


def train(env_id, seed=0, steps=None, **config):
    env = gym.make(env_id)
    overrides, budget = hyperparams.defaults("q", env_id)
    agent = QLearning(env.observation_space, env.action_space, QConfig(**{**overrides, **config}), seed=seed)
    agent.learn(env, Budget(steps=steps or budget["steps"]), RunLogger(progress=False))
    return agent, env


def test_rooms_matches_value_iteration_and_the_lecture():
    agent, env = train("gymlab/Rooms-v0")
    P, mask = env.unwrapped.P, env.unwrapped.action_mask
    q_star = value_iteration(P, 6, 6, 0.8, lambda s: np.flatnonzero(mask(s)))
    np.testing.assert_allclose(agent.q, q_star, atol=1e-9)
    assert np.abs(agent.normalised_q() - LECTURE_Q).max() <= 1


def test_rooms_without_the_mask_still_finds_the_optimum():
    agent, env = train("gymlab/Rooms-v0", steps=20_000, use_action_mask=False)
    q_star = value_iteration(env.unwrapped.P, 6, 6, 0.8, lambda s: np.arange(6))
    np.testing.assert_allclose(agent.q, q_star, atol=1e-6)
    # Walls cost -1 and lead nowhere, so the greedy policy still uses doors only.
    for s in range(5):
        a, _ = agent.predict(s, deterministic=True)
        assert env.unwrapped.door[s, a] == 1


def test_the_lectures_first_worked_steps():
    # From room 1, Q(1,5) = 100 + 0.8 * max{0,0,0} = 100; then from room 3,
    # Q(3,1) = 0 + 0.8 * max{Q(1,3), Q(1,5)} = 80.
    env = gym.make("gymlab/Rooms-v0")
    agent = QLearning(env.observation_space, env.action_space, QConfig(learning_rate=1.0, gamma=0.8,
                                                                       epsilon_start=0.0, epsilon_end=0.0))
    for start, action, expected in ((1, 5, 100.0), (3, 1, 80.0)):
        agent.q[start, action] = 1e-9  # make the greedy choice the lecture's
        one_step = gym.make("gymlab/Rooms-v0", start_room=start, max_episode_steps=1)
        agent.learn(one_step, Budget(steps=1), RunLogger(progress=False))
        assert agent.q[start, action] == pytest.approx(expected)


def test_cliff_walking_finds_the_optimal_path():
    agent, env = train("CliffWalking-v1")
    returns, _ = evaluate(agent, gym.make("CliffWalking-v1", max_episode_steps=200), 3, seed=0)
    assert returns.tolist() == [-13.0] * 3


def _one_step_agent(start, preset):
    env = gym.make("gymlab/Rooms-v0", start_room=start, max_episode_steps=1)
    agent = QLearning(env.observation_space, env.action_space,
                      QConfig(learning_rate=1.0, gamma=0.8, epsilon_start=0.0, epsilon_end=0.0))
    for (s, a), v in preset.items():
        agent.q[s, a] = v
    agent.learn(env, Budget(steps=1), RunLogger(progress=False))
    return agent


def test_truncation_bootstraps_from_the_next_state():
    # 0 -> 4 is cut by the 1-step time limit: the episode ends, but room 4 keeps its value.
    agent = _one_step_agent(0, {(0, 4): 1.0, (4, 5): 100.0})
    assert agent.q[0, 4] == pytest.approx(0 + 0.8 * 100.0)


def test_termination_bootstraps_from_zero():
    # 1 -> 5 enters the goal: terminated, so whatever Q(5, .) holds does not count.
    agent = _one_step_agent(1, {(1, 5): 1.0, (5, 5): 50.0})
    assert agent.q[1, 5] == pytest.approx(100.0)


def test_same_seed_same_table_other_seed_other_run():
    a1, _ = train("gymlab/Rooms-v0", seed=5, steps=40)
    a2, _ = train("gymlab/Rooms-v0", seed=5, steps=40)
    a3, _ = train("gymlab/Rooms-v0", seed=6, steps=40)
    np.testing.assert_array_equal(a1.q, a2.q)
    assert not np.array_equal(a1.q, a3.q)


def test_save_load_round_trip(tmp_path):
    agent, env = train("gymlab/Rooms-v0", steps=300)
    path = tmp_path / "ckpt.npz"
    agent.save(path)
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    loaded = QLearning.load(path, env.observation_space, env.action_space)
    np.testing.assert_array_equal(loaded.q, agent.q)
    assert loaded.config == agent.config
    for s in range(6):
        assert loaded.predict(s, deterministic=True)[0] == agent.predict(s, deterministic=True)[0]


def test_corrupt_and_mismatched_checkpoints(tmp_path):
    agent, env = train("gymlab/Rooms-v0", steps=50)
    good = tmp_path / "good.npz"
    agent.save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(CheckpointError) as err:
        QLearning.load(truncated)
    assert err.value.corrupt
    with pytest.raises(CheckpointError, match="no checkpoint"):
        QLearning.load(tmp_path / "missing.npz")
    with pytest.raises(CheckpointError, match="Discrete\\(48\\)"):
        QLearning.load(good, gym.make("CliffWalking-v1").observation_space)


def test_refuses_continuous_spaces():
    env = gym.make("CartPole-v1")
    with pytest.raises(SpaceError, match="Discrete observation space.*Box"):
        QLearning(env.observation_space, env.action_space)


class ShiftedChain(gym.Env):
    """A corridor of rooms 1-4 (spaces that start at 1, not 0): action 1 goes left, 2 right;
    room 1 has a wall on its left (masked); entering room 4 ends the episode with +1.
    Like FrozenLake it publishes ``P[s][a]``, keyed by the states and actions themselves."""

    def __init__(self):
        self.observation_space = spaces.Discrete(4, start=1)
        self.action_space = spaces.Discrete(2, start=1)
        self.P = {s: {a: [(1.0, s2, float(s2 == 4), s2 == 4)]
                      for a, s2 in ((1, max(s - 1, 1)), (2, min(s + 1, 4)))} for s in range(1, 4)}
        self.P[4] = {a: [(1.0, 4, 0.0, True)] for a in (1, 2)}

    def action_mask(self, s):
        return np.array([s != 1, True], dtype=np.int8)  # {1: [0, 1], 2: [1, 1], ...}[s] would do too

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 1
        return self.s, {"action_mask": self.action_mask(self.s)}

    def step(self, action):
        assert self.action_space.contains(action), action
        _, self.s, reward, terminated = self.P[self.s][action][0]
        return self.s, reward, terminated, False, {"action_mask": self.action_mask(self.s)}


def test_spaces_that_start_at_one():
    env = gym.wrappers.TimeLimit(ShiftedChain(), 20)
    agent = QLearning(env.observation_space, env.action_space, QConfig(learning_rate=1.0, gamma=0.9), seed=0)
    agent.learn(env, Budget(steps=500), RunLogger(progress=False))
    assert all(agent.predict(s, deterministic=True)[0] == 2 for s in (1, 2, 3))  # always right
    returns, lengths = evaluate(agent, env, 2, seed=0)
    assert list(returns) == [1.0, 1.0] and list(lengths) == [3, 3]
    figures, lines = agent.report(env)
    assert figures["greedy_routes"] == {"1": [1, 2, 3, 4], "2": [2, 3, 4], "3": [3, 4], "4": [4, 4]}
    assert "  1 -> 2 -> 3 -> 4" in lines
    assert any("row = state 1-4, column = action 1-2" in line for line in lines)
