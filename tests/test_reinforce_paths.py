"""REINFORCE through its real paths (the review of issue 22's estimator): what the update scores
is what the acting pass played (recurrent memory, masks, Box samples, on-policy batches); the
running mean follows ``learn``'s batches under ``--estimator textbook``; the value baseline takes
no gradient from the policy's loss; a clipped Gaussian bandit's expected update is grad J; and a
vector env's batches of unequal episodes average to grad J."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.reinforce import Reinforce, ReinforceConfig
from gymlab.agents.torch_agent import Episode
from test_reinforce_estimator import (HAND, HAND_DISCOUNT, TWO_STEP_ID, agent_for, exact_gradient, long_or_short,
                                      recorder, reference)


# ------------------------------------------------------------------ what acting played is what the update scores
class Jitter(gym.Env):
    """Episodes of 1 to 4 steps; each observation a fresh uniform draw (so no two repeat and an
    observation names its step), each step's mask forbidding one random action of three (Discrete),
    or a Box(-1, 1) action. Rewards 1 for action 0 (Discrete) or -(clip(a) - 0.6)^2 (Box)."""

    def __init__(self, box: bool = False):
        self.box = box
        self.observation_space = gym.spaces.Box(0.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32) if box else gym.spaces.Discrete(3)

    def _out(self):
        obs = self.np_random.random(2).astype(np.float32)
        if self.box:
            return obs, {}
        mask = np.ones(3, dtype=np.int8)
        mask[self.np_random.integers(3)] = 0
        return obs, {"action_mask": mask}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.length = 0, int(self.np_random.integers(1, 5))
        return self._out()

    def step(self, action):
        self.t += 1
        reward = -(float(action[0]) - 0.6) ** 2 if self.box else float(action == 0)
        obs, info = self._out()
        return obs, reward, self.t == self.length, False, info


for _box in (False, True):
    _id = f"gymlab_tests/Jitter{'Box' if _box else ''}-v0"
    if _id not in gym.envs.registry:
        gym.register(_id, entry_point=Jitter, kwargs={"box": _box})


def watch_acting_and_scoring(agent):
    """Record, while acting, log pi of each sampled action (by the observation it answered), and
    what the update scores; each update's episodes are checked against the record, then it is
    cleared (the next batch's weights are new). Returns the list of checked episode counts."""
    acting, last_obs, checked = {}, [None], []
    forward, sample, dist, update = agent.pi.forward, agent._sample, agent.dist, agent.update

    def watched_forward(obs, state=None, starts=None):
        if not torch.is_grad_enabled():  # acting (the update runs with gradients)
            last_obs[0] = np.asarray(obs)
        return forward(obs, state, starts)

    def watched_sample(out):
        actions = sample(out)
        with torch.no_grad():
            logp = dist(out.double()).log_prob(torch.as_tensor(np.asarray(actions)))
            logp = logp.sum(-1) if agent.continuous else logp
        for o, lp in zip(last_obs[0], logp):
            acting[np.asarray(o).tobytes()] = float(lp)
        return actions

    scored = []

    def watched_dist(out):
        d = dist(out)
        log_prob = d.log_prob
        d.log_prob = lambda a: (lambda lp: (scored.append(lp.detach()), lp)[1])(log_prob(a))
        return d

    def watched_update(batch, logger=None):
        scored.clear()
        result = update(batch, logger)
        assert len(scored) == 1  # one pass over the batch's steps (agents/batched_pass.py), episode after episode
        lps = torch.split(scored[0], [len(ep.obs) for ep in batch])
        assert len(lps) == len(batch) and sum(map(len, lps)) == len(scored[0])
        for ep, lp in zip(batch, lps):
            lp = lp.sum(-1) if agent.continuous else lp
            played = [acting.get(np.asarray(o).tobytes()) for o in ep.obs]
            assert None not in played, "an episode step the current weights did not play"
            np.testing.assert_allclose(lp.double().numpy(), played, rtol=1e-5, atol=1e-5)
        checked.append(len(batch))
        acting.clear()
        return result

    agent.pi.forward, agent._sample, agent.dist, agent.update = watched_forward, watched_sample, watched_dist, \
        watched_update
    return checked


@pytest.mark.parametrize("policy", ["lstm", "gru", "mlp"])
@pytest.mark.parametrize("num_envs", [1, 2])
@pytest.mark.parametrize("box", [False, True])
def test_the_update_scores_the_log_probabilities_the_acting_pass_used(policy, num_envs, box):
    """Memory cleared between episodes (--num-envs 1 too) and carried through each in the update,
    each step's own mask, the unclipped Box sample, and only episodes the current weights began."""
    env = gym.make(f"gymlab_tests/Jitter{'Box' if box else ''}-v0")
    agent = Reinforce(env.observation_space, env.action_space,
                      ReinforceConfig(policy=policy, hidden=(8,), num_envs=num_envs, batch_episodes=2,
                                      estimator="textbook", log_std_init=1.0, learning_rate=0.05), seed=1)
    checked = watch_acting_and_scoring(agent)
    agent.learn(env, Budget(episodes=40), RunLogger(progress=False))
    assert len(checked) >= 10 and all(n == 2 for n in checked), checked


# ------------------------------------------------------------------ the running mean through learn, textbook
def test_the_textbook_mean_baseline_follows_the_batches_learn_makes():
    """Through ``learn``, three batches: the first's b is 0, the second's the mean of the first
    batch's G_t over its steps, the third's the plain mean of the first two batches' means; each
    update is the hand-made gradient with that b (weights frozen by the recorder)."""
    agent = agent_for(2, (4,), gamma=0.5, baseline="mean", estimator="textbook", batch_episodes=2)
    with torch.no_grad():
        agent.pi.head.bias.copy_(torch.tensor([1.0, 0.0]))  # action 0 (paying 1 at step 0) likelier
    seen, batches = recorder(agent), []
    update = agent.update
    agent.update = lambda batch, logger=None: (batches.append(batch), update(batch, logger))[1]
    agent.learn(gym.make(TWO_STEP_ID), Budget(episodes=6), RunLogger(progress=False))
    assert len(batches) == 3 and len(seen) == 3
    g = [np.concatenate([[ep.rewards[0] + 0.5 * ep.rewards[1], ep.rewards[1]] for ep in b]) for b in batches]
    means = [float(np.mean(x)) for x in g]
    assert means[0] != 0 and means[0] != means[1]  # (so a b that stopped following them would show)
    for k, b in enumerate((0.0, means[0], (means[0] + means[1]) / 2)):
        np.testing.assert_allclose(seen[k], reference(agent, batches[k], HAND_DISCOUNT * (g[k] - b), 2),
                                   rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ the value baseline learns from its own loss only
@pytest.mark.parametrize("estimator", ["common", "textbook"])
def test_the_value_network_gets_the_gradient_of_its_own_loss_alone(estimator):
    """b_t = V(s_t) detached: V's gradient is that of value_coef x MSE(V, G), nothing of the policy's."""
    agent = agent_for(2, gamma=0.5, baseline="value", estimator=estimator, value_coef=0.7)
    with torch.no_grad():
        agent.value.head.weight.copy_(torch.tensor([[0.5, -1.0]]))
        agent.value.head.bias.fill_(0.25)
    grads = []
    agent.optimizer.step = lambda: grads.append([p.grad.clone() for p in agent.value.parameters()])
    agent.update(HAND)
    v = agent.value.sequence(np.concatenate([np.asarray(ep.obs) for ep in HAND])).squeeze(-1)
    loss = 0.7 * torch.nn.functional.mse_loss(v, torch.tensor([1.75, 1.5, 0.0, 0.0]))
    for got, want in zip(grads[0], torch.autograd.grad(loss, list(agent.value.parameters()))):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ Box: a clipped Gaussian bandit
def test_the_textbook_update_of_a_clipped_gaussian_bandit_is_the_exact_gradient():
    """r = -(clip(a, -1, 1) - 0.6)^2, the mean at 1.1 and sigma 1 (56% of the samples clipped).
    The expected update, E over a of r grad log pi(a), is taken on 4000 equally likely samples (the
    Gaussian's quantiles); grad J by autograd through J(mu, log sigma) = E_z r(clip(mu + sigma z)) on
    a fine grid. Scoring the clipped action instead moves the update by (0.06, 0.16)."""
    agent = Reinforce(gym.spaces.Discrete(1), gym.spaces.Box(-1, 1, (1,)),
                      ReinforceConfig(estimator="textbook", baseline="none", hidden=(4,), log_std_init=0.0), seed=0)
    with torch.no_grad():
        agent.pi.head.weight.zero_()
        agent.pi.head.bias.fill_(1.1)
    seen = []
    agent.optimizer.step = lambda: seen.append([-agent.pi.head.bias.grad[0].item(), -agent.pi.log_std.grad[0].item()])
    n = 4000
    u = torch.arange(n, dtype=torch.float64).add(0.5).div(n)
    actions = (1.1 + math.sqrt(2) * torch.erfinv(2 * u - 1)).numpy()  # the quantiles of N(1.1, 1)
    batch = []
    for a in actions:
        ep = Episode()
        ep.obs, ep.actions, ep.masks = [0], [np.array([a], np.float32)], [None]
        ep.rewards = [-(float(np.clip(a, -1, 1)) - 0.6) ** 2]
        batch.append(ep)
    agent.update(batch)
    mu, log_sigma = torch.tensor(1.1, dtype=torch.float64, requires_grad=True), torch.zeros((), dtype=torch.float64,
                                                                                           requires_grad=True)
    z = torch.linspace(-10, 10, 200_001, dtype=torch.float64)
    J = (-(torch.clamp(mu + log_sigma.exp() * z, -1, 1) - 0.6) ** 2 * torch.exp(-z**2 / 2)).sum() * (z[1] - z[0]) \
        / math.sqrt(2 * math.pi)
    grad_j = [g.item() for g in torch.autograd.grad(J, [mu, log_sigma])]
    np.testing.assert_allclose(seen[0], grad_j, atol=0.01)


# ------------------------------------------------------------------ a vector env, episodes of unequal length
class LongOrShort(gym.Env):
    """The estimator tests' long-or-short MDP as an env: action 0 ends the episode with 1, action 1
    leads through 10 forced steps (a mask allowing action 0 only) to 2."""

    observation_space, action_space = gym.spaces.Discrete(2), gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return 0, {"action_mask": np.array([1, 1], dtype=np.int8)}

    def step(self, action):
        if self.t == 0 and action == 0:
            return 0, 1.0, True, False, {"action_mask": np.array([1, 1], dtype=np.int8)}
        self.t += 1
        return 1, 2.0 * (self.t == 11), self.t == 11, False, {"action_mask": np.array([1, 0], dtype=np.int8)}


LONG_OR_SHORT_ID = "gymlab_tests/LongOrShort-v0"
if LONG_OR_SHORT_ID not in gym.envs.registry:
    gym.register(LONG_OR_SHORT_ID, entry_point=LongOrShort)


def test_a_vector_envs_batches_of_unequal_episodes_average_to_the_exact_gradient():
    """--num-envs 3, --batch-episodes 4 (batches of 6), a uniform policy frozen by the recorder: the
    mean textbook update over the batches ``learn`` makes is grad J, within 3 standard errors."""
    agent = agent_for(2, (), gamma=1.0, baseline="none", estimator="textbook", num_envs=3, batch_episodes=4)
    with torch.no_grad():
        for p in agent.pi.parameters():
            p.zero_()
    grad_j = exact_gradient(agent, long_or_short())
    seen = recorder(agent)
    agent.learn(gym.make(LONG_OR_SHORT_ID), Budget(episodes=3000), RunLogger(progress=False))
    updates = np.array(seen)
    assert len(updates) > 250
    se = updates.std(0) / np.sqrt(len(updates))
    assert np.all(np.abs(updates.mean(0) - grad_j) < 3 * se + 1e-9), (updates.mean(0), grad_j, se)


# ------------------------------------------------------------------ textbook with gamma 0: the first step only
def test_textbook_with_gamma_0_warns_once_that_it_learns_from_the_first_step_only(capsys):
    """gamma^t = 0 past step 0, so the update is step 0's term alone (J = E[r_0]): one line on
    stderr, once, when a batch has an episode longer than one step; none for one-step episodes or
    for common."""
    from test_reinforce_estimator import episode

    three = episode([0, 1, 1], [0, 1, 0], [1.0, 1.0, 1.0])
    agent = agent_for(2, gamma=0.0, baseline="none", estimator="textbook")
    seen = recorder(agent)
    agent.update([episode([0], [1], [1.0])])
    assert capsys.readouterr().err == ""
    agent.update([three])
    agent.update([three])
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "--gamma 0" in err and "first step" in err, err
    np.testing.assert_allclose(seen[1], reference(agent, [three], [1.0, 0.0, 0.0], 1), atol=1e-7)
    common = agent_for(2, gamma=0.0, baseline="none")
    recorder(common)
    common.update([three])
    assert capsys.readouterr().err == ""


def test_the_estimator_help_says_what_textbook_weighs_under_no_reward_to_go():
    """--no-reward-to-go: the textbook weighs every step by G_0 - b with no gamma^t (the update
    itself: test_reinforce_estimator's r_total test); the flag's help says so."""
    import dataclasses

    help_text = {f.name: f.metadata["help"] for f in dataclasses.fields(ReinforceConfig)}["estimator"]
    assert "--no-reward-to-go" in help_text and "G_0 - b" in help_text and "no gamma^t" in help_text, help_text
