"""REINFORCE's two estimators against the exact gradient (issue 22).

The method: the optimiser is swapped for a recorder (the gradient the update hands to Adam),
every possible batch of a tiny MDP is listed with its exact probability under the policy, and
the exact expected update, sum over batches of P(batch) x -grad loss(batch), is compared with
grad J, which autograd gives from the exact expected return J = sum over episodes of
P(episode) x sum_t gamma^t r_t. ``--estimator textbook`` must give grad J itself (unbiased);
the default ``common`` is shown where it points elsewhere. Values are checked one batch at a
time too, against weights worked out by hand (a baseline's sign, the divisor, V(s_t)), since a
baseline that is independent of the batch leaves the expectation unchanged whatever its sign.
"""

import itertools

import gymnasium as gym
import numpy as np
import pytest
import torch

from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.networks import Network
from gymlab.agents.reinforce import Reinforce, ReinforceConfig
from gymlab.agents.torch_agent import Episode

FORCED = np.array([1, 0], dtype=np.int8)  # a mask allowing action 0 only: log pi = 0, no gradient


def episode(obs, actions, rewards, masks=None):
    ep = Episode()
    ep.obs, ep.actions, ep.rewards = list(obs), list(actions), [float(r) for r in rewards]
    ep.masks, ep.versions = list(masks) if masks is not None else [None] * len(obs), [0] * len(obs)
    return ep


# ------------------------------------------------------------------ the MDPs, as every episode they can give
def two_step(distinct: bool):
    """Step 0: a = 0 pays 1; step 1: a = 1 pays 1.5. One observation at both steps, or (distinct)
    observation 0 then 1."""
    return [episode([0, 1 if distinct else 0], [a0, a1], [1.0 if a0 == 0 else 0.0, 1.5 if a1 == 1 else 0.0])
            for a0 in (0, 1) for a1 in (0, 1)]


def long_or_short():
    """Action 0 ends the episode with r = 1; action 1 leads through 10 forced steps to r = 2."""
    return [episode([0], [0], [1.0]),
            episode([0] + [1] * 10, [1] + [0] * 10, [0.0] * 10 + [2.0], [None] + [FORCED] * 10)]


def agent_for(n_obs=2, hidden=(), **config):
    """A REINFORCE agent on Discrete observations; ``hidden=()``: its policy (and value) made
    linear on the one-hot observation, a tabular softmax (plus a bias the observations share)."""
    agent = Reinforce(gym.spaces.Discrete(n_obs), gym.spaces.Discrete(2),
                      ReinforceConfig(hidden=hidden or (4,), **config), seed=0)
    if not hidden:
        agent.pi = Network(gym.spaces.Discrete(n_obs), 2, "mlp", ())
        params = list(agent.pi.parameters())
        if agent.value is not None:
            agent.value = Network(gym.spaces.Discrete(n_obs), 1, "mlp", ())
            params += list(agent.value.parameters())
        agent.optimizer = torch.optim.Adam(params)
    return agent


def log_pi(agent, ep) -> torch.Tensor:
    """log pi(a_t | s_t) for each step, from the policy network (masked actions at -inf)."""
    logits = agent.pi.sequence(np.asarray(ep.obs))
    masks = torch.as_tensor(np.array([m if m is not None else [1, 1] for m in ep.masks], dtype=bool))
    logp = torch.log_softmax(logits.masked_fill(~masks, -torch.inf), dim=-1)
    return logp.gather(1, torch.as_tensor(ep.actions)[:, None]).squeeze(1)


def flat_grad(agent, scalar) -> np.ndarray:
    params = list(agent.pi.parameters())
    grads = torch.autograd.grad(scalar, params, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params)]).double(
    ).numpy()


def exact_gradient(agent, episodes) -> np.ndarray:
    """grad J, J = sum over episodes of P(episode) x its discounted return."""
    gamma = agent.config.gamma
    J = sum(log_pi(agent, ep).sum().exp() * sum(gamma**t * r for t, r in enumerate(ep.rewards)) for ep in episodes)
    return flat_grad(agent, J)


def recorder(agent) -> list:
    """Swap the optimiser's step for a recorder of the update's direction, -grad loss, for pi."""
    seen = []

    def step():
        seen.append(np.concatenate([(-p.grad if p.grad is not None else torch.zeros_like(p)).double().flatten().numpy()
                                    for p in agent.pi.parameters()]))

    agent.optimizer.step = step
    return seen


def expected_update(agent, episodes, batch_size, updates=0, mean_return=0.0) -> np.ndarray:
    """The exact expectation of the update over every batch of ``batch_size`` episodes, made after
    ``updates`` earlier ones (the running mean then at ``mean_return``)."""
    seen = recorder(agent)
    with torch.no_grad():
        probs = [float(log_pi(agent, ep).sum().exp()) for ep in episodes]
    assert sum(probs) == pytest.approx(1.0)
    total = 0.0
    for batch in itertools.product(range(len(episodes)), repeat=batch_size):
        agent.updates, agent.mean_return = updates, mean_return
        agent.update([episodes[i] for i in batch])
        total = total + np.prod([probs[i] for i in batch]) * seen.pop()
    return total


def cosine(a, b) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


# ------------------------------------------------------------------ the textbook's update is grad J
TEXTBOOK_CASES = {  # (the MDP's episodes, observations, hidden layers, gamma, episodes a batch)
    "two-step, one observation": (two_step(distinct=False), 1, (), 0.5, 2),
    "long or short": (long_or_short(), 2, (), 1.0, 4),
    "two-step, distinct observations, shared weights": (two_step(distinct=True), 2, (4,), 0.5, 2),
}


@pytest.mark.parametrize("baseline", ["none", "mean", "value"])
@pytest.mark.parametrize("case", list(TEXTBOOK_CASES))
def test_the_textbook_update_is_the_exact_gradient(case, baseline):
    episodes, n_obs, hidden, gamma, size = TEXTBOOK_CASES[case]
    agent = agent_for(n_obs, hidden, gamma=gamma, baseline=baseline, estimator="textbook")
    grad_j = exact_gradient(agent, episodes)
    update = expected_update(agent, episodes, size)  # the first batch: b = 0 under --baseline mean
    assert cosine(update, grad_j) > 0.999
    np.testing.assert_allclose(update, grad_j, rtol=1e-4, atol=1e-6)
    if baseline == "mean":  # a later batch: b, the mean of earlier ones, is independent of it
        np.testing.assert_allclose(expected_update(agent, episodes, size, updates=3, mean_return=0.8), grad_j,
                                   rtol=1e-4, atol=1e-6)


def test_the_textbook_update_without_reward_to_go_is_the_exact_gradient():
    """--no-reward-to-go: the lecture's r_total form, G_0 at every step and no gamma^t (a gamma^t
    there would weigh the later steps' share of grad J down: biased). Still unbiased."""
    episodes = two_step(distinct=False)
    agent = agent_for(1, gamma=0.5, baseline="none", estimator="textbook", reward_to_go=False)
    grad_j = exact_gradient(agent, episodes)
    np.testing.assert_allclose(expected_update(agent, episodes, 2), grad_j, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ the default's is not
@pytest.mark.parametrize("baseline", ["none", "mean"])
def test_the_common_update_points_against_the_gradient_when_an_observation_repeats(baseline):
    """The issue's two-step MDP (gamma 0.5): dropping gamma^t weighs step 1, where a = 1 pays, twice
    as much as the return does, and the expected update points against grad J (cosine -1.0: the
    gradient lives in one dimension here, so only its sign can differ)."""
    episodes = two_step(distinct=False)
    agent = agent_for(1, gamma=0.5, baseline=baseline)
    assert cosine(expected_update(agent, episodes, 4), exact_gradient(agent, episodes)) < -0.999


@pytest.mark.parametrize("normalize", [True, False])
def test_the_common_update_points_against_the_gradient_when_episode_lengths_differ(normalize):
    """gamma 1, 4 episodes a batch, a uniform policy, no baseline: the mean over the batch's steps
    (a divisor that grows with the long episodes) turns the expected update round (-1.0), with or
    without the division by the root mean square. (The mean baseline keeps its sign here.)"""
    episodes = long_or_short()
    agent = agent_for(2, gamma=1.0, baseline="none", normalize_advantages=normalize)
    with torch.no_grad():
        for p in agent.pi.parameters():
            p.zero_()
    assert cosine(expected_update(agent, episodes, 4), exact_gradient(agent, episodes)) < -0.999


# The cosines the README and reinforce.py's docstring quote for the two-step MDP with distinct
# observations and a shared hidden layer of 4 (at agent_for's seed-0 initial weights: they depend on
# them): settings -> (episodes a batch, baseline, normalised, cosine).
SHARED_WEIGHTS_COSINES = {
    "1 episode a batch, no baseline, not normalised": (1, "none", False, 0.58),
    "the defaults: 4 episodes a batch, the mean baseline (the first batch's: its own mean), normalised":
        (4, "mean", True, 0.68),
}


@pytest.mark.parametrize("setting", list(SHARED_WEIGHTS_COSINES))
def test_the_common_update_leaves_the_gradient_when_steps_share_weights(setting):
    """No observation repeats, but the steps share weights (a hidden layer): without gamma^t the
    expected update is off grad J's direction, by the cosine the words quote for these settings."""
    size, baseline, normalize, quoted = SHARED_WEIGHTS_COSINES[setting]
    episodes = two_step(distinct=True)
    agent = agent_for(2, (4,), gamma=0.5, baseline=baseline, normalize_advantages=normalize)
    c = cosine(expected_update(agent, episodes, size), exact_gradient(agent, episodes))
    assert c == pytest.approx(quoted, abs=0.005), c


def test_the_words_quote_the_cosines_the_test_measures():
    """The site's page on the estimators and reinforce.py's docstring give each cosine above, to two places."""
    from pathlib import Path

    import gymlab.agents.reinforce as reinforce

    readme = (Path(__file__).resolve().parent.parent / "docs" / "reference" / "reinforce-estimators.md").read_text()
    for *_, quoted in SHARED_WEIGHTS_COSINES.values():
        assert f"{quoted:.2f}" in readme and f"{quoted:.2f}" in reinforce.__doc__, quoted


# ------------------------------------------------------------------ one batch, by hand
def reference(agent, batch, weights, divisor) -> np.ndarray:
    """The direction sum over the batch's steps of weight_t grad log pi(a_t | s_t), / divisor."""
    logp = torch.cat([log_pi(agent, ep) for ep in batch])
    return flat_grad(agent, (logp * torch.as_tensor(weights, dtype=torch.float32)).sum()) / divisor


# Two episodes of the two-step MDP with distinct observations, gamma 0.5: actions (0, 1) and (1, 0).
HAND = [episode([0, 1], [0, 1], [1.0, 1.5]), episode([0, 1], [1, 0], [0.0, 0.0])]
HAND_G = np.array([1.75, 1.5, 0.0, 0.0])  # G_t: 1 + 0.5 x 1.5, 1.5; 0, 0
HAND_DISCOUNT = np.array([1.0, 0.5, 1.0, 0.5])


def test_a_textbook_update_with_a_value_baseline_on_a_hand_batch():
    """b_t = V(s_t), detached: a linear V with V(0) = 0.75, V(1) = -0.75."""
    agent = agent_for(2, gamma=0.5, baseline="value", estimator="textbook")
    with torch.no_grad():
        agent.value.head.weight.copy_(torch.tensor([[0.5, -1.0]]))
        agent.value.head.bias.fill_(0.25)
    seen = recorder(agent)
    agent.update(HAND)
    v = np.array([0.75, -0.75, 0.75, -0.75])
    np.testing.assert_allclose(seen[0], reference(agent, HAND, HAND_DISCOUNT * (HAND_G - v), 2), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("estimator, normalize", [("textbook", False), ("common", False), ("common", True)])
def test_the_mean_baseline_is_subtracted_on_a_hand_batch(estimator, normalize):
    """b = 0.8, the running mean after earlier batches: (G_t - b), gamma^t and over 2 episodes for
    the textbook; over the 4 steps (and divided by the root mean square, normalised) for common."""
    agent = agent_for(2, gamma=0.5, baseline="mean", estimator=estimator, normalize_advantages=normalize)
    agent.updates, agent.mean_return = 3, 0.8
    seen = recorder(agent)
    agent.update(HAND)
    advantage = HAND_G - 0.8
    if estimator == "textbook":
        expected = reference(agent, HAND, HAND_DISCOUNT * advantage, 2)
    else:
        scale = np.sqrt(np.mean(advantage**2)) if normalize else 1.0
        expected = reference(agent, HAND, advantage / scale, 4)
    np.testing.assert_allclose(seen[0], expected, rtol=1e-4, atol=1e-6)


class TwoStep(gym.Env):
    """The two-step MDP with distinct observations, as an env."""

    observation_space, action_space = gym.spaces.Discrete(2), gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return 0, {}

    def step(self, action):
        reward = float(action == 0) if self.t == 0 else 1.5 * float(action == 1)
        self.t += 1
        return 1, reward, self.t == 2, False, {}


TWO_STEP_ID = "gymlab_tests/TwoStep-v0"
if TWO_STEP_ID not in gym.envs.registry:
    gym.register(TWO_STEP_ID, entry_point=TwoStep)


def test_the_textbook_divides_by_the_episodes_in_the_batch_not_the_flag():
    """--batch-episodes 3 with --num-envs 2 gives batches of ceil(3/2) x 2 = 4 episodes: the sum
    is divided by 4, the episodes it holds."""
    env = gym.make(TWO_STEP_ID)
    agent = agent_for(2, (4,), gamma=0.5, baseline="none", estimator="textbook", batch_episodes=3, num_envs=2)
    seen, batches = recorder(agent), []
    update = agent.update
    agent.update = lambda batch, logger=None: (batches.append(batch), update(batch, logger))[1]
    agent.learn(env, Budget(episodes=4), RunLogger(progress=False))
    assert len(batches) == 1 and len(batches[0]) == 4
    # gamma^t G_t: G_0 = r_0 + 0.5 r_1 at step 0, 0.5 x r_1 at step 1
    weights = np.concatenate([[ep.rewards[0] + 0.5 * ep.rewards[1], 0.5 * ep.rewards[1]] for ep in batches[0]])
    np.testing.assert_allclose(seen[0], reference(agent, batches[0], weights, 4), rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------ what textbook refuses, and what it turns off
def test_textbook_alone_turns_normalisation_off():
    assert not ReinforceConfig(estimator="textbook").normalize_advantages
    assert ReinforceConfig().normalize_advantages and ReinforceConfig().estimator == "common"


@pytest.mark.parametrize("flag", [["--entropy-coef", "0.1"], ["--max-grad-norm", "1"], ["--point-returns"]])
def test_textbook_refuses_what_biases_it_in_one_line(flag, tmp_path, capsys):
    import train

    code = train.main(["--env", "CartPole-v1", "--agent", "reinforce", "--estimator", "textbook", *flag,
                       "--steps", "100", "--no-progress", "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and flag[0] in err, err


# ------------------------------------------------------------------ charts/baseline: the b subtracted
class Logged:
    def __init__(self):
        self.values = {}

    def log(self, name, value):
        self.values[name] = value


@pytest.mark.parametrize("estimator", ["common", "textbook"])
@pytest.mark.parametrize("baseline, updates, logged", [
    ("none", 3, 0.0),
    ("mean", 3, 0.8),  # the running mean before this batch, not after it
    ("mean", 0, None),  # the first batch: its own mean (common), 0 (textbook)
    ("value", 3, 0.0),  # mean V(s_t) over the batch's steps: (0.75 - 0.75 + 0.75 - 0.75) / 4
])
def test_the_logged_baseline_is_the_one_subtracted(estimator, baseline, updates, logged):
    agent = agent_for(2, gamma=0.5, baseline=baseline, estimator=estimator)
    if agent.value is not None:
        with torch.no_grad():
            agent.value.head.weight.copy_(torch.tensor([[0.5, -1.0]]))
            agent.value.head.bias.fill_(0.25)
    agent.updates, agent.mean_return = updates, 0.8
    recorder(agent)
    logger = Logged()
    agent.update(HAND, logger)
    if logged is None:
        logged = HAND_G.mean() if estimator == "common" else 0.0
    assert logger.values["charts/baseline"] == pytest.approx(logged, abs=1e-6)
