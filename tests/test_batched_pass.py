"""The update's one pass over a whole batch (``agents/batched_pass.py``, issue 27) gives the
per-episode passes' outputs, loss and gradient: exactly for the outputs where the sums are the
same, within float rounding (the order of the additions) for the gradient."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from gymlab import envs  # noqa: F401
from gymlab.agents import batched_pass
from gymlab.agents import reinforce as reinforce_module
from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.reinforce import Reinforce, ReinforceConfig

PONG = dict(policy="mlp", hidden=(16,), frame_diff=True, point_returns=True, round_batches=True, num_envs=4,
            batch_episodes=8, activation="relu")


def per_episode(net, episodes):
    """The old way: one ``Network.sequence`` pass per episode, concatenated."""
    return torch.cat([net.sequence(obs, prev) for obs, prev in episodes])


def _batch(env, kw, seed=5, steps=20000):
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(**kw), seed=seed)
    for batch in agent.episode_batches(env, Budget(steps=steps), RunLogger(progress=False), agent.pi,
                                       agent._sample, rounds=kw.get("round_batches", False)):
        return batch


def _grads(env, kw, batch, outputs):
    """The gradient (and loss) of ``Reinforce.update`` on ``batch`` with ``outputs`` as its pass."""
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(**kw), seed=7)
    seen = []
    agent.optimizer.step = lambda: seen.append([p.grad.detach().clone() for p in agent.optimizer.param_groups[0]
                                                ["params"] if p.grad is not None])
    old = reinforce_module.batch_outputs
    reinforce_module.batch_outputs = outputs
    try:
        loss = agent.update(batch)
    finally:
        reinforce_module.batch_outputs = old
    return loss, seen[0]


def test_a_batch_of_points_in_one_pass_gives_each_points_outputs():
    env = gym.make("gymlab/Pong-v0", obs_type="pixels", points_to_win=3)
    batch = _batch(env, PONG)
    assert any(ep.prev_obs is not None for ep in batch) and len(batch) == 8  # points cut out of games
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(**PONG), seed=7)
    episodes = [(np.asarray(ep.obs), ep.prev_obs) for ep in batch]
    with torch.no_grad():
        one, many = batched_pass.batch_outputs(agent.pi, episodes), per_episode(agent.pi, episodes)
    assert one.shape == many.shape == (sum(len(ep.obs) for ep in batch), env.action_space.n)
    np.testing.assert_allclose(one.numpy(), many.numpy(), rtol=1e-5, atol=1e-6)
    inputs = torch.cat([batched_pass.step_inputs(agent.pi, *e) for e in episodes])
    sparse = batched_pass.sparse_differences(agent.pi, episodes)  # built from the uint8 frames: the same floats
    assert torch.equal(sparse.to_dense(), inputs) and sparse._nnz() == int((inputs != 0).sum())
    first = 0
    for obs, prev in episodes:  # the difference frames themselves: exact (the same subtractions)
        x = agent.pi.prepare(obs)
        before = agent.pi.prepare(np.asarray(prev)[None]) if prev is not None else x[:1]
        assert torch.equal(inputs[first], x[0] - before[0])
        assert torch.equal(inputs[first + 1:first + len(obs)], x[1:] - x[:-1])
        first += len(obs)


@pytest.mark.parametrize("env_id, kw", [
    ("pong", {**PONG, "entropy_coef": 0.01}),
    ("CartPole-v1", dict(hidden=(8,), baseline="value", batch_episodes=3)),  # the value net's pass too
    ("CartPole-v1", dict(hidden=(8,), estimator="textbook", batch_episodes=3)),
    ("Pendulum-v1", dict(hidden=(8,), batch_episodes=2)),  # Box actions
])
def test_the_update_in_one_pass_has_the_per_episode_loss_and_gradient(env_id, kw):
    env = gym.make("gymlab/Pong-v0", obs_type="pixels", points_to_win=3) if env_id == "pong" else gym.make(env_id)
    batch = _batch(env, kw)
    assert len(batch) > 1
    loss1, g1 = _grads(env, kw, batch, per_episode)
    loss2, g2 = _grads(env, kw, batch, batched_pass.batch_outputs)
    assert loss2 == pytest.approx(loss1, rel=1e-5, abs=1e-7)
    assert len(g1) == len(g2) > 0
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-6)


def test_a_recurrent_policy_keeps_one_pass_per_episode():
    env = gym.make("CartPole-v1")
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(policy="gru", hidden=(8,)), seed=3)
    rng = np.random.default_rng(0)
    episodes = [(rng.normal(size=(n, 4)).astype(np.float32), None) for n in (5, 3)]
    with torch.no_grad():  # a single pass over the 8 steps would carry the memory from one episode into the next
        assert torch.equal(batched_pass.batch_outputs(agent.pi, episodes), per_episode(agent.pi, episodes))


class _Conn:
    """A pipe end for ``serve`` run in this process: it reads ``messages`` and keeps what is sent."""

    def __init__(self, messages):
        self.messages, self.sent = list(messages), []

    def recv(self):
        return self.messages.pop(0)

    def send(self, x):
        self.sent.append(x)


@pytest.mark.parametrize("pass_steps", [1, 300, 10 ** 9])  # 1: one pass a point, as before; 10^9: one a batch
def test_the_learner_adds_up_groups_of_points_as_it_added_them_one_by_one(monkeypatch, pass_steps):
    from gymlab.agents import reinforce_workers

    env = gym.make("gymlab/Pong-v0", obs_type="pixels", points_to_win=3)
    batch = _batch(env, PONG)
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(**PONG), seed=7)
    arrays = {k: v.detach().numpy().copy() for k, v in agent.pi.state_dict().items()}
    messages = [("weights", arrays, 0.25, True)]
    messages += [("episode", np.asarray(ep.obs), ep.prev_obs, list(ep.masks), np.asarray(ep.actions),
                  agent._returns(ep).astype(np.float32)) for ep in batch]
    messages += [("sums",), ("stop",)]
    results = []
    for steps in (1, pass_steps):
        monkeypatch.setattr(reinforce_workers, "PASS_STEPS", steps)
        conn = _Conn(messages)
        reinforce_workers.serve(conn, agent.pi, env.action_space.n, True)
        results.append(conn.sent[0])
    (sums1, scalars1, h1), (sums2, scalars2, h2) = results
    assert h2 == pytest.approx(h1, rel=1e-5) and scalars2 == pytest.approx(scalars1, rel=1e-5, abs=1e-6)
    for a, b in zip(sums1, sums2):  # S_G, S_1, S_H: each weight's sum
        for x, y in zip(a, b):
            np.testing.assert_allclose(y, x, rtol=1e-4, atol=1e-5)
