"""REINFORCE on both cores (issue 27): ``--workers 2`` forms the single process's gradient from a
second process's sums and plays on-policy. (Same seed, same run, and exact resume: the
``reinforce-pong-points-2workers`` case of tests/test_resume.py; Ctrl-C: tests/test_workers_interrupt.py.)"""

from __future__ import annotations


import gymnasium as gym
import numpy as np
import pytest
import torch

from gymlab import envs  # noqa: F401
from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.reinforce import Reinforce, ReinforceConfig
from gymlab.agents.reinforce_workers import SplitUpdates

pytestmark = pytest.mark.workers  # starts a second process (conftest.py SEPARATE)

KW = dict(policy="mlp", hidden=(16,), frame_diff=True, point_returns=True, round_batches=True, num_envs=4,
          batch_episodes=8, activation="relu")


def _batches(n=2):
    """Two batches of points played by a one-process agent (the weights that played them: seed 5's)."""
    env = gym.make("gymlab/Pong-v0", obs_type="pixels", points_to_win=3)
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(**KW), seed=5)
    batches = []
    for batch in agent.episode_batches(env, Budget(steps=20000), RunLogger(progress=False), agent.pi,
                                       agent._sample, rounds=True):
        batches.append(batch)
        if len(batches) == n:
            break
    return env, batches


def _grads_at_step(agent):
    seen = []
    step = agent.optimizer.step

    def spy():
        seen.append([p.grad.detach().clone() for p in agent.pi.parameters()])
        step()

    agent.optimizer.step = spy
    return seen


@pytest.mark.parametrize("baseline, entropy_coef, normalize", [("mean", 0.01, True), ("none", 0.0, False)])
def test_the_split_gradient_is_the_single_process_one(baseline, entropy_coef, normalize):
    """Batch 1 (b = its own mean, known only at its end) and batch 2 (b = the running mean)."""
    env, batches = _batches()
    kw = {**KW, "baseline": baseline, "entropy_coef": entropy_coef, "normalize_advantages": normalize}
    one = Reinforce(env.observation_space, env.action_space, ReinforceConfig(**kw), seed=7)
    two = Reinforce(env.observation_space, env.action_space, ReinforceConfig(**kw, workers=2), seed=7)
    g1, g2 = _grads_at_step(one), _grads_at_step(two)
    split = SplitUpdates(two)
    try:
        for batch in batches:
            loss1 = one.update(batch)
            split.begin([])
            for ep in batch:
                split.episode(ep)
            loss2 = split.update(batch)
            assert loss2 == pytest.approx(loss1, rel=1e-4, abs=1e-6)
    finally:
        split.close()
    assert len(g1) == len(g2) == 2
    for a, b in zip(g1, g2):
        for x, y in zip(a, b):
            np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=2e-4, atol=1e-6)
    assert two.mean_return == pytest.approx(one.mean_return) and two.updates == one.updates == 2
    for p, q in zip(one.pi.parameters(), two.pi.parameters()):  # (Adam's step is lr = 3e-3 a weight where the
        # gradient is tiny, whatever its rounding: the weights agree to a thirtieth of one step)
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), atol=1e-4)


def test_two_workers_play_on_policy_and_lose_no_point():
    env = gym.make("gymlab/Pong-v0", obs_type="pixels", points_to_win=3)
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(**KW, workers=2), seed=4)
    agent.keep_outputs = True
    checked = []
    update = SplitUpdates.update

    def look(self, batch, logger=None):
        for ep in batch:  # each step chosen by the weights this update starts from
            assert set(ep.versions) == {agent.updates}
            with torch.no_grad():
                now = torch.log_softmax(agent.pi.sequence(np.asarray(ep.obs), ep.prev_obs), dim=1)
            a = torch.as_tensor(np.asarray(ep.actions))[:, None]
            then = torch.log_softmax(torch.stack(ep.outputs), dim=1)
            checked.append(float((now.gather(1, a) - then.gather(1, a)).abs().max()))
        return update(self, batch, logger)

    SplitUpdates.update = look
    try:
        agent.learn(env, Budget(steps=3000), RunLogger(progress=False))
    finally:
        SplitUpdates.update = update
    assert agent.updates >= 3 and max(checked) < 1e-5 and agent.rollout.dropped == 0
