"""Tabular Q-learning's target checked by its value on a hand-built problem (issue 22): the max in
r + gamma max_b Q(s', b) runs over the actions the next state's mask allows."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

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
