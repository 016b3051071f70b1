"""DQN's switches checked by their values, not by "it changes something" (issue 22): the loss of a
hand-built batch with known importance weights, the priorities after one update, epsilon, PER's beta
and the learning rate at chosen steps, gradient steps counted per env step, the target network after
k sync intervals and after Polyak steps with known numbers, and actions that never leave the mask.
Each test here turns red under one of the bugs planted by tests/mutants.py."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from gymlab.agents.base import Budget
from gymlab.agents.dqn import DQN, DQNConfig
from gymlab.agents.logger import RunLogger
from gymlab.agents.replay import Batch, PrioritizedReplayBuffer
from tiny_envs import CORRIDOR_ID

VECTOR = spaces.Box(-1.0, 1.0, (4,), np.float32)


def make(n_actions=3, **config) -> DQN:
    return DQN(VECTOR, spaces.Discrete(n_actions), DQNConfig(**{"hidden": (16,), **config}), seed=0)


def random_obs(n, seed):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 4)).astype(np.float32)


def huber(x):
    """Huber with threshold 1 (PyTorch's smooth_l1_loss), written out."""
    return np.where(np.abs(x) < 1.0, 0.5 * x ** 2, np.abs(x) - 0.5)


# ------------------------------------------------------------------ importance weights and priorities
@pytest.mark.parametrize("use_huber", [False, True])
def test_the_loss_weights_each_sample_and_the_priorities_become_abs_td_plus_eps_to_the_alpha(use_huber):
    """A batch of 4 with IS weights 1, 0.5, 0.25, 0: the loss is mean_i w_i l(y_i - Q(s_i, a_i)), with
    y_i = r_i + d_i max_b Q_w-(s'_i, b) (no double Q here); after the step, leaf i of the sum tree holds
    (|y_i - Q(s_i, a_i)| + eps)^alpha, the TD errors of before the step (and the total is their sum)."""
    alpha, eps = 0.6, 1e-6
    agent = make(prioritized=True, huber=use_huber, double_q=False, gamma=0.9, per_alpha=alpha)
    for p in agent.q_target.parameters():  # a target unlike the online net, with TD errors above 1 and below
        p.data.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(3))
    obs, next_obs = random_obs(4, 1), random_obs(4, 2)
    actions = np.array([0, 1, 2, 1])
    rewards = np.array([2.0, -1.0, 0.5, 3.0], np.float32)
    discounts = np.array([0.9, 0.9, 0.0, 0.81], np.float32)
    buffer = PrioritizedReplayBuffer(4, (4,), np.float32, 3, False, np.random.default_rng(0), alpha=alpha, eps=eps)
    for i in range(4):
        buffer.add(obs[i], actions[i], rewards[i], next_obs[i], discounts[i])
    weights = np.array([1.0, 0.5, 0.25, 0.0], np.float32)
    batch = Batch(np.arange(4), obs, actions, rewards, next_obs, discounts, None, weights)
    with torch.no_grad():
        q_taken = agent.q(obs).numpy()[np.arange(4), actions]
        y = rewards + discounts * agent.q_target(next_obs).numpy().max(axis=1)
    td = y - q_taken
    per_sample = huber(td) if use_huber else td ** 2
    loss = agent.update(batch, buffer).item()
    assert loss == pytest.approx(np.mean(weights * per_sample), rel=1e-5)
    assert loss != pytest.approx(np.mean(per_sample), rel=1e-3)  # the weights matter on this batch
    expected = (np.abs(td) + eps) ** alpha
    np.testing.assert_allclose(buffer.tree.get(np.arange(4)), expected, rtol=1e-5)
    assert buffer.tree.total == pytest.approx(expected.sum(), rel=1e-5)
    assert buffer.min_tree.min == pytest.approx(expected.min(), rel=1e-5)


# ------------------------------------------------------------------ the schedules, step by step
def learn_recording(budget_steps=40, **config):
    """Learn the corridor for ``budget_steps`` steps from step 0 (one transition a step, every step a
    round of updates), recording, by the env steps done before each: epsilon when acting, and PER's beta,
    the learning rate and the number of gradient steps of that step's round."""
    env = gym.make(CORRIDOR_ID)
    agent = DQN(env.observation_space, env.action_space,
                DQNConfig(**{"hidden": (8,), "learning_starts": 0, "train_freq": 1, "n_step": 1, "batch_size": 4,
                             **config}), seed=0)
    logger = RunLogger(progress=False)
    eps, beta, lr, grads = {}, {}, {}, {}
    act, update = agent.act_to_learn, agent.update

    def act_spy(obs, masks):
        eps[logger.steps] = agent.epsilon
        return act(obs, masks)

    def update_spy(batch, buffer):
        lr[logger.steps] = agent.optimizer.param_groups[0]["lr"]
        grads[logger.steps] = grads.get(logger.steps, 0) + 1
        return update(batch, buffer)

    agent.act_to_learn, agent.update = act_spy, update_spy
    make_buffer = agent.make_buffer

    def make_buffer_spy(*args, **kwargs):
        buffer = make_buffer(*args, **kwargs)
        sample = buffer.sample

        def sample_spy(batch_size, b=1.0):
            beta[logger.steps] = b
            return sample(batch_size, b)

        buffer.sample = sample_spy
        return buffer

    agent.make_buffer = make_buffer_spy
    agent.learn(env, Budget(steps=budget_steps), logger)
    return agent, eps, beta, lr, grads


def test_epsilon_beta_and_the_learning_rate_at_chosen_steps():
    """40 steps, epsilon 1 -> 0.1 over the first half (--exploration-fraction 0.5), beta 0.4 -> 1 and the
    learning rate 1e-3 -> 0 over the whole budget; values after s steps, by hand:
    epsilon = 1 - 0.9 min(1, s / 20), beta = 0.4 + 0.6 s / 40, lr = 1e-3 (1 - s / 40)."""
    _, eps, beta, lr, _ = learn_recording(40, epsilon_start=1.0, epsilon_end=0.1, exploration_fraction=0.5,
                                          prioritized=True, per_beta=0.4, learning_rate=1e-3, lr_anneal=True)
    assert sorted(eps) == sorted(beta) == sorted(lr) == list(range(40))
    for s, value in {0: 1.0, 5: 0.775, 10: 0.55, 20: 0.1, 30: 0.1, 39: 0.1}.items():
        assert eps[s] == pytest.approx(value), s
    for s, value in {0: 0.4, 10: 0.55, 20: 0.7, 30: 0.85, 39: 0.985}.items():
        assert beta[s] == pytest.approx(value), s
    for s, value in {0: 1e-3, 10: 7.5e-4, 20: 5e-4, 39: 2.5e-5}.items():
        assert lr[s] == pytest.approx(value), s


def test_without_lr_anneal_the_learning_rate_stays():
    _, _, _, lr, _ = learn_recording(20, learning_rate=3e-3, lr_anneal=False)
    assert set(lr.values()) == {3e-3}


@pytest.mark.parametrize("gradient_steps", [1, 3])
def test_gradient_steps_are_taken_each_round(gradient_steps):
    """--gradient-steps 3, a round every env step (--train-freq 1) from the first: 3 updates per env
    step, 3 x 30 in all."""
    agent, _, _, _, grads = learn_recording(30, gradient_steps=gradient_steps)
    assert grads == {s: gradient_steps for s in range(30)}
    assert agent.updates == 30 * gradient_steps


# ------------------------------------------------------------------ the target network
def test_the_target_is_the_online_net_of_the_last_sync_after_k_intervals():
    """--target-update-interval 7 over 30 steps: copies at env steps 7, 14, 21 and 28 (4 intervals); at
    the end the target holds the online weights as they were at step 28, not at 7 nor now."""
    env = gym.make(CORRIDOR_ID)
    agent = DQN(env.observation_space, env.action_space,
                DQNConfig(hidden=(8,), learning_starts=0, train_freq=1, n_step=1, batch_size=4,
                          target_update_interval=7, learning_rate=1e-2, lr_anneal=False), seed=0)
    logger, synced = RunLogger(progress=False), []
    update_target = agent.update_target

    def spy():
        synced.append((logger.steps + 1, [p.detach().clone() for p in agent.q.parameters()]))
        update_target()

    agent.update_target = spy
    agent.learn(env, Budget(steps=30), logger)
    assert [step for step, _ in synced] == [7, 14, 21, 28]
    for tp, p_then, p_now in zip(agent.q_target.parameters(), synced[-1][1], agent.q.parameters()):
        torch.testing.assert_close(tp.detach(), p_then, rtol=0, atol=0)
    assert any(not torch.equal(p_then, p_now.detach()) for p_then, p_now in zip(synced[-1][1], agent.q.parameters()))


def test_polyak_steps_with_known_numbers():
    """tau 0.25, online weights all 1, target all -1: after one step 0.25 * 1 + 0.75 * -1 = -0.5, after a
    second 0.25 - 0.375 = -0.125; the online net is left alone. tau 1 copies."""
    agent = make(tau=0.25)
    with torch.no_grad():
        for p in agent.q.parameters():
            p.fill_(1.0)
        for p in agent.q_target.parameters():
            p.fill_(-1.0)
    for expected in (-0.5, -0.125):
        agent.update_target()
        for tp, p in zip(agent.q_target.parameters(), agent.q.parameters()):
            assert torch.allclose(tp, torch.full_like(tp, expected)) and torch.all(p == 1.0)
    agent = make(tau=1.0)
    with torch.no_grad():
        for p in agent.q.parameters():
            p.fill_(0.3)
    agent.update_target()
    assert all(torch.all(tp == 0.3) for tp in agent.q_target.parameters())


# ------------------------------------------------------------------ acting inside the mask
def test_actions_never_leave_the_mask():
    """500 observations, 5 actions, random masks (one or more allowed): greedy actions are the argmax
    over the allowed ones (by hand: -inf elsewhere), and with exploration every action stays allowed."""
    agent = make(n_actions=5)
    rng = np.random.default_rng(4)
    obs = random_obs(500, 5)
    masks = rng.random((500, 5)) < 0.4
    masks[np.arange(500), rng.integers(0, 5, 500)] = True
    with torch.no_grad():
        q = agent.q(obs).numpy()
    greedy = agent.act(obs, list(masks), explore=False)
    np.testing.assert_array_equal(greedy, np.where(masks, q, -np.inf).argmax(axis=1))
    assert (greedy != q.argmax(axis=1)).sum() > 100  # the mask moves many of them: a test with teeth
    for epsilon in (0.3, 1.0):
        agent.epsilon = epsilon
        for _ in range(3):
            chosen = agent.act(obs, list(masks), explore=True)
            assert masks[np.arange(500), chosen].all()
    agent.epsilon = 0.3
    assert all(masks[i, agent.predict(obs[i], action_mask=masks[i])[0]] for i in range(100))
    assert all(masks[i, agent.predict(obs[i], deterministic=True, action_mask=masks[i])[0]] for i in range(100))


def test_learning_starts_after_learning_starts_steps():
    """--learning-starts 5, a round every step: the first gradient step comes with env step 6 (5 steps
    done before it), as in SB3 (num_timesteps > learning_starts); 15 rounds in 20 steps."""
    _, _, _, _, grads = learn_recording(20, learning_starts=5)
    assert grads == {s: 1 for s in range(5, 20)}
