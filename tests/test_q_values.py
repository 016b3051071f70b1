"""Tabular Q-learning's target checked by its value on a hand-built problem (issue 22): the max in
r + gamma max_b Q(s', b) runs over the actions the next state's mask allows."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import gymlab  # noqa: F401  (registers gymlab/Rooms-v0)
from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.q_learning import QConfig, QLearning


class TwoStates(gym.Env):
    """State 0: any action leads to state 1 with reward 0.5; state 1 allows only action 0 (its mask),
    and any action there ends the episode with reward 1."""

    observation_space = spaces.Discrete(2)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return 0, {"action_mask": np.array([1, 1], np.int8)}

    def step(self, action):
        if self.s == 0:
            self.s = 1
            return 1, 0.5, False, False, {"action_mask": np.array([1, 0], np.int8)}
        return 1, 1.0, True, False, {"action_mask": np.array([1, 1], np.int8)}


@pytest.mark.parametrize("use_action_mask", [True, False])
def test_the_target_maximises_over_the_next_states_allowed_actions(use_action_mask):
    """Q(1) = [2, 5] with action 1 forbidden in state 1: one step from state 0 (eta 0.5, gamma 0.9) gives
    Q(0, a) = 0.5 (0.5 + 0.9 * 2) = 1.15, not 0.5 (0.5 + 0.9 * 5) = 2.5; with --no-use-action-mask the
    max runs over every action: 2.5."""
    env = TwoStates()
    agent = QLearning(env.observation_space, env.action_space,
                      QConfig(learning_rate=0.5, gamma=0.9, use_action_mask=use_action_mask), seed=0)
    agent.q[1] = [2.0, 5.0]
    agent.learn(env, Budget(steps=1), RunLogger(progress=False))
    taken = int(np.flatnonzero(agent.q[0])[0])
    expected = 0.5 * (0.5 + 0.9 * (2.0 if use_action_mask else 5.0))
    assert agent.q[0, taken] == pytest.approx(expected)
    assert agent.q[0, 1 - taken] == 0.0 and list(agent.q[1]) == [2.0, 5.0]


def test_epsilon_at_chosen_steps():
    """40 steps, epsilon 1 -> 0.1 over the first half (--exploration-fraction 0.5): after s steps
    epsilon = 1 - 0.9 min(1, s / 20)."""
    env = gym.make("gymlab/Rooms-v0")
    agent = QLearning(env.observation_space, env.action_space,
                      QConfig(epsilon_start=1.0, epsilon_end=0.1, exploration_fraction=0.5), seed=0)
    logger, seen, explore = RunLogger(progress=False), {}, agent._explore

    def spy(obs, info):
        seen[logger.steps] = agent.epsilon
        return explore(obs, info)

    agent._explore = spy
    agent.learn(env, Budget(steps=40), logger)
    assert sorted(seen) == list(range(40))
    for s, value in {0: 1.0, 5: 0.775, 10: 0.55, 20: 0.1, 30: 0.1, 39: 0.1}.items():
        assert seen[s] == pytest.approx(value), s


def test_exploring_never_leaves_the_mask():
    """On Rooms (each room's doors are its mask; a move with no door stays put at -1) with epsilon 1:
    400 steps, every action allowed where it was taken, and every door tried."""
    env = gym.make("gymlab/Rooms-v0")
    agent = QLearning(env.observation_space, env.action_space, QConfig(epsilon_start=1.0, epsilon_end=1.0), seed=0)
    taken, explore = [], agent._explore

    def spy(obs, info):
        action = explore(obs, info)
        taken.append((int(obs), info["action_mask"].copy(), action))
        return action

    agent._explore = spy
    agent.learn(env, Budget(steps=400), RunLogger(progress=False))
    assert len(taken) == 400 and all(mask[a] for _, mask, a in taken)
    doors = {(s, int(a)) for s, mask, _ in taken for a in np.flatnonzero(mask)}
    assert {(s, a) for s, _, a in taken} == doors
