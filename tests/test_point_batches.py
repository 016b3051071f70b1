"""No point thrown away (issue 27): with --point-returns --round-batches on Pong's vector env, a
court that has played its share of the batch waits, paused, until the update, so every point
played is learned from exactly once, by the weights that played it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from gymlab import envs  # noqa: F401
from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.reinforce import Reinforce, ReinforceConfig
from reinforce_helpers import spy_on_updates


class CountingLogger(RunLogger):
    """Counts the points (nonzero rewards) the courts played, as the rollout logs them."""

    def __init__(self):
        super().__init__(progress=False)
        self.points = 0

    def step(self, reward, done, env=0):
        self.points += reward != 0
        super().step(reward, done, env)


def _run(steps=6000, num_envs=4, batch=8, **kw):
    env = gym.make("gymlab/Pong-v0", obs_type="pixels", points_to_win=3)
    config = ReinforceConfig(policy="mlp", hidden=(16,), frame_diff=True, point_returns=True, round_batches=True,
                             num_envs=num_envs, batch_episodes=batch, learning_rate=1e-2, **kw)
    agent = Reinforce(env.observation_space, env.action_space, config, seed=3)
    logger = CountingLogger()
    seen = []  # (points played so far, the batch) at each update

    def look(b):
        seen.append((logger.points, b))

    spy_on_updates(agent, look)
    agent.keep_outputs = True
    agent.learn(env, Budget(steps=steps), logger)
    return agent, logger, seen


def test_every_point_played_is_in_exactly_one_batch():
    agent, logger, seen = _run()
    assert len(seen) >= 3
    units = 0
    ids = set()
    for played, batch in seen:
        units += len(batch)
        ids.update(id(e) for e in batch)
        assert all(e.rewards[-1] != 0 for e in batch)  # a unit is a whole point (no time limit here)
        # the logger counts a step once the agent has taken it in: by the update, all but the last step's
        assert 0 <= units - played <= 4
    assert len(ids) == units
    waiting = sum(len(t) for t in agent.rollout.taken)  # finished points of the batch the budget cut short
    assert logger.points == units + waiting  # every point played is in a batch: none lost, none counted twice
    assert agent.rollout.dropped == 0


def test_every_step_is_scored_in_the_update_as_it_was_played():
    """On-policy: each step's log-probability under the weights that chose it (recorded while
    acting) equals the one the update computes, and those weights are the update's."""
    checked = 0
    env = gym.make("gymlab/Pong-v0", obs_type="pixels", points_to_win=3)
    config = ReinforceConfig(policy="mlp", hidden=(16,), frame_diff=True, point_returns=True, round_batches=True,
                             num_envs=4, batch_episodes=8, learning_rate=1e-2)
    agent = Reinforce(env.observation_space, env.action_space, config, seed=4)
    errors = []

    def look(batch):
        nonlocal checked
        for ep in batch:
            assert set(ep.versions) == {agent.updates}
            with torch.no_grad():
                now = torch.log_softmax(agent.pi.sequence(np.asarray(ep.obs), ep.prev_obs), dim=1)
            then = torch.log_softmax(torch.stack(ep.outputs), dim=1)
            a = torch.as_tensor(np.asarray(ep.actions))
            errors.append(float((now.gather(1, a[:, None]) - then.gather(1, a[:, None])).abs().max()))
            checked += len(ep.actions)

    spy_on_updates(agent, look)
    agent.keep_outputs = True
    agent.learn(env, Budget(steps=3000), RunLogger(progress=False))
    assert agent.updates >= 3
    assert checked > 1000 and max(errors) < 1e-5
