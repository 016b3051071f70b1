"""REINFORCE's switches do what they say (issue 10): the Gaussian scores the action it sampled,
the baseline is not undone by advantage normalisation, action masks reach vector rollouts, and
an update learns only from what the current weights played. (Points, issue 13, and issue 22's
words and code: tests/test_reinforce_points.py.)"""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.reinforce import BASELINES, Reinforce, ReinforceConfig
from gymlab.agents.rollout import vector_transitions
from gymlab.agents.torch_agent import Episode
from reinforce_helpers import spy_on_updates
from tiny_envs import CORRIDOR_ID


# ------------------------------------------------------------------ 1. the Gaussian scores its raw sample
class Bandit(gym.Env):
    """One step; the reward is the action the env receives, which must lie in [-1, 1]."""

    observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        assert -1.0 <= float(action[0]) <= 1.0, f"the env was sent {action}, outside its bounds"
        return np.zeros(1, np.float32), float(action[0]), True, False, {}


BANDIT_ID = "gymlab_tests/Bandit-v0"
if BANDIT_ID not in gym.envs.registry:
    gym.register(BANDIT_ID, entry_point=Bandit)


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@pytest.mark.parametrize("num_envs", [1, 4])
def test_gaussian_reinforce_climbs_the_true_gradient_of_a_clipped_bandit(num_envs):
    # J(mu) = E[clip(a, -1, 1)] with a ~ N(mu, sigma): dJ/dmu = P(-1 < a < 1) > 0, however far out mu is.
    mu, sigma, n = 1.2, 0.5, 4000
    true_slope = normal_cdf((1 - mu) / sigma) - normal_cdf((-1 - mu) / sigma)  # 0.345
    env = gym.make(BANDIT_ID)
    agent = Reinforce(env.observation_space, env.action_space,
                      ReinforceConfig(baseline="none", normalize_advantages=False, batch_episodes=n,
                                      log_std_init=math.log(sigma), num_envs=num_envs), seed=0)
    with torch.no_grad():  # the policy's mean: the head's bias alone (its weights zero)
        agent.pi.head.weight.zero_()
        agent.pi.head.bias.fill_(mu)
    slopes = []
    update = agent.update

    def spy(batch, logger=None):
        loss = update(batch, logger)
        slopes.append(-float(agent.pi.head.bias.grad))  # the ascent direction on mu
        return loss

    agent.update = spy
    agent.learn(env, Budget(episodes=n), RunLogger(progress=False))
    assert len(slopes) == 1
    # The estimate's standard error is about 0.03 with 4000 episodes.
    assert slopes[0] == pytest.approx(true_slope, abs=0.12), f"ascent on mu {slopes[0]:.3f}, true {true_slope:.3f}"
    # What the agent hands a user stays inside the bounds.
    for _ in range(50):
        action, _ = agent.predict(np.zeros(1, np.float32))
        assert -1.0 <= action[0] <= 1.0


# ------------------------------------------------------------------ 2. baseline and normalisation
def corridor_batch(episodes=8):  # (seed 1's batch: Adam's first, sign-like step the same with and without a value baseline)
    env = gym.make(CORRIDOR_ID)
    player = Reinforce(env.observation_space, env.action_space, ReinforceConfig(batch_episodes=episodes), seed=0)
    batches = []
    spy_on_updates(player, batches.append)
    player.learn(env, Budget(episodes=episodes), RunLogger(progress=False))
    return env, batches[0]


def after_one_update(env, batch, **config):
    """The policy's gradient the update hands to Adam (whose first step is about lr x its sign:
    baselines that flip no sign would look alike in the weights)."""
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(**config), seed=0)
    agent.optimizer.step = lambda: None
    agent.update(batch)
    return torch.cat([p.grad.flatten() for p in agent.pi.parameters()])


def test_each_baseline_gives_its_own_update_under_the_defaults():
    env, batch = corridor_batch()
    assert ReinforceConfig().normalize_advantages  # the default this test is about
    params = {b: after_one_update(env, batch, baseline=b) for b in BASELINES}
    for i, a in enumerate(BASELINES):
        for b in BASELINES[i + 1:]:
            gap = float((params[a] - params[b]).abs().max())
            assert gap > 1e-4, f"--baseline {a} and --baseline {b} give the same policy (max difference {gap:.1e})"


def test_normalising_scales_the_advantage_and_leaves_the_baseline_alone():
    env = gym.make(CORRIDOR_ID)
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(baseline="none"), seed=0)
    seen = {}
    original = agent.dist

    def spy(out):  # the advantages are what multiplies log pi in the loss: catch them through its gradient
        d = original(out)
        log_prob = d.log_prob

        def recorded(actions):
            lp = log_prob(actions)
            lp.register_hook(lambda grad: seen.setdefault("advantage", -grad * grad.numel()))
            return lp

        d.log_prob = recorded
        return d

    _, batch = corridor_batch(episodes=1)
    agent.dist = spy
    agent.update(batch)
    g = torch.as_tensor(agent._returns(batch[0]), dtype=torch.float32)
    # b = 0 (no baseline), then divided by the root mean square: G / rms(G), not centred to mean 0.
    rms = g.pow(2).mean().sqrt()
    np.testing.assert_allclose(seen["advantage"].numpy(), (g / (rms + 1e-8)).numpy(), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ 3. action masks with several envs
def test_vector_rollouts_respect_action_masks_when_acting_and_learning():
    env = gym.make("gymlab/Rooms-v0")
    door = env.unwrapped.door.astype(bool)  # door[s, a]: action a is allowed in room s
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(num_envs=4, batch_episodes=4),
                      seed=0)
    taken = forbidden = 0
    masks_right = []

    def look(batch):
        nonlocal taken, forbidden
        for ep in batch:
            rooms, actions = np.asarray(ep.obs), np.asarray(ep.actions)
            taken += len(actions)
            forbidden += int((~door[rooms, actions]).sum())
            masks_right.append(all(m is not None and np.array_equal(np.asarray(m, bool), door[s])
                                   for s, m in zip(rooms, ep.masks)))

    spy_on_updates(agent, look)
    logger = RunLogger(progress=False)
    entropies = []
    log = logger.log
    logger.log = lambda key, value, step=None: (entropies.append(value) if key == "losses/entropy" else None,
                                                log(key, value, step))
    agent.learn(env, Budget(steps=2000), logger)
    assert taken > 500
    assert forbidden == 0, f"{forbidden} of {taken} actions went through a wall"
    assert all(masks_right), "the update did not get each step's mask"
    # Under the masks no room offers more than 3 doors, so the entropy is at most log 3 (log 6 without).
    assert entropies and max(entropies) <= math.log(3) + 1e-6, f"entropy {max(entropies):.3f} > log 3"


# ------------------------------------------------------------------ 4. on-policy batches with several envs
class Clock(gym.Env):
    """Observes how many times it was reset or stepped before (so, in a vector env, which vector
    step will answer this observation); episodes last 2 to 6 steps, so sub-envs fall out of step."""

    observation_space = gym.spaces.Box(0.0, 1e9, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self):
        self.ticks = -1

    def _obs(self):
        return np.array([self.ticks], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.ticks += 1
        self.left = int(self.np_random.integers(2, 7))
        return self._obs(), {}

    def step(self, action):
        self.ticks += 1
        self.left -= 1
        return self._obs(), float(action), self.left == 0, False, {}


CLOCK_ID = "gymlab_tests/Clock-v0"
if CLOCK_ID not in gym.envs.registry:
    gym.register(CLOCK_ID, entry_point=Clock)


def test_every_update_learns_only_from_what_its_weights_played():
    env = gym.make(CLOCK_ID)
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(num_envs=4, batch_episodes=3),
                      seed=0)
    chosen_by = []  # chosen_by[k]: how many updates the weights had when they chose vector step k's actions
    sample = agent._sample

    def tagged(out):
        chosen_by.append(agent.updates)
        return sample(out)

    agent._sample = tagged
    stale, used_steps = [], 0

    def look(batch):
        nonlocal used_steps
        for ep in batch:
            versions = {chosen_by[int(o[0])] for o in ep.obs}
            used_steps += len(ep.obs)
            if versions != {agent.updates}:
                stale.append((agent.updates, sorted(versions)))

    spy_on_updates(agent, look)
    logger = RunLogger(progress=False)
    agent.learn(env, Budget(steps=600), logger)
    assert agent.updates >= 10
    assert not stale, f"episodes played partly by older weights reached updates (update, versions): {stale[:3]}"
    # The episodes left out still spent the budget and were logged.
    assert logger.steps >= 600 and used_steps < logger.steps and sum(logger.lengths) <= logger.steps


def test_vector_rollouts_refuse_a_same_step_autoreset():
    venv = gym.make_vec(CORRIDOR_ID, 2, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})
    with pytest.raises(ValueError, match="next-step autoreset"):
        next(vector_transitions(venv, lambda obs, starts: np.ones(len(obs), dtype=np.int64), Budget(steps=8),
                                RunLogger(progress=False), seed=0))


class Fork(gym.Env):
    """The first action picks a short episode (1 step) or a long one (10 steps): a policy at
    pi(long) = 0.5 plays long episodes half the time, and an unbiased batch holds half."""

    observation_space, action_space = spaces.Box(0, 1, (1,), np.float32), spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.left = None
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.left = (9 if action == 1 else 0) if self.left is None else self.left - 1
        return np.ones(1, np.float32), 0.0, self.left == 0, False, {}


@pytest.mark.parametrize("num_envs,batch", [(4, 8), (8, 4), (16, 8)])
def test_batches_are_not_biased_towards_short_episodes(num_envs, batch):
    """Found in review: the first episodes to *finish* went into a batch, so with several envs
    short episodes crowded out long ones (P(long) 0.06 in batches at 8 envs, 0.00 at 32, where the
    policy played 0.5). A batch now takes the first episodes each env *begins* under its weights."""
    if "gymlab-test/Fork-v0" not in gym.envs.registry:
        gym.register("gymlab-test/Fork-v0", entry_point=Fork)
    env = gym.make("gymlab-test/Fork-v0")
    agent = Reinforce(env.observation_space, env.action_space,
                      ReinforceConfig(num_envs=num_envs, batch_episodes=batch), seed=0)
    with torch.no_grad():  # pi(long) = 0.5 exactly, and held there
        agent.pi.head.weight.zero_()
        agent.pi.head.bias.zero_()
    seen = []

    def update(episodes, logger=None):
        seen.extend(len(ep.rewards) == 10 for ep in episodes)
        agent.updates += 1
        return 0.0

    agent.update = update
    agent.learn(env, Budget(steps=20_000), RunLogger(progress=False))
    assert len(seen) >= 400
    assert abs(np.mean(seen) - 0.5) < 0.07, f"P(long) in batches {np.mean(seen):.2f}, played 0.5"


def test_normalising_a_batch_of_equal_advantages_does_not_blow_up():
    """Found in review: scaled by the standard deviation, a batch whose G - b are all equal (eight
    failures on Recall) was divided by 1e-8 (losses of -1e7). The root mean square keeps it finite."""
    env = gym.make(CORRIDOR_ID)
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(baseline="mean"), seed=0)
    agent.mean_return, agent.updates = 0.5, 1
    episode = Episode()
    episode.obs, episode.actions, episode.rewards = [env.observation_space.sample()] * 3, [0, 1, 0], [0.0] * 3
    episode.masks, episode.version = [None] * 3, 1
    loss = agent.update([episode] * 4)
    assert np.isfinite(loss) and abs(loss) < 10
