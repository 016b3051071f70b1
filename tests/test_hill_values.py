"""Hill climbing's move towards a better mutant checked by its value (issue 22): with alpha < 1 the
new champion is (1 - alpha) champion + alpha mutant, the numbers of the trial that crowned it."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch
from torch.nn.utils import parameters_to_vector

from gymlab.agents.base import Budget
from gymlab.agents.hill_climbing import HillClimbing, HillConfig
from gymlab.agents.logger import RunLogger
from tiny_envs import CORRIDOR_ID


@pytest.mark.parametrize("alpha", [0.25, 1.0])
def test_a_better_mutant_moves_the_champion_alpha_of_the_way(alpha):
    env = gym.make(CORRIDOR_ID)
    agent = HillClimbing(env.observation_space, env.action_space, HillConfig(sigma=1.0, alpha=alpha), seed=0)
    crowned, judge = [], agent._judge

    def spy(trial, *rest):
        before, mutant = agent.champion.clone(), trial["mutant"].clone()
        judge(trial, *rest)
        if not torch.equal(agent.champion, before):
            crowned.append((before, mutant, agent.champion.clone()))

    agent._judge = spy
    agent.learn(env, Budget(episodes=60), RunLogger(progress=False))
    assert len(crowned) >= 2  # from the zero champion, and again from a blend
    for before, mutant, after in crowned:
        torch.testing.assert_close(after, (1.0 - alpha) * before + alpha * mutant)
    torch.testing.assert_close(parameters_to_vector(agent.net.parameters()), crowned[-1][2])
