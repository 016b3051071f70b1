"""REINFORCE's switches do what they say (issue 10): the Gaussian scores the action it sampled,
the baseline is not undone by advantage normalisation, action masks reach vector rollouts, and
an update learns only from what the current weights played."""

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
from tiny_envs import CORRIDOR_ID


def spy_on_updates(agent, look):
    """Call ``look(batch)`` on every batch just before the agent updates on it."""
    update = agent.update

    def spy(batch, logger=None):
        look(batch)
        return update(batch, logger)

    agent.update = spy


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


# ------------------------------------------------------------------ returns that restart at each point (issue 13)
def test_point_returns_restart_after_each_nonzero_reward():
    """``--point-returns``: Karpathy's Pong recipe. A nonzero reward closes a round (a point), so
    a step's return counts the rewards up to the end of its own round only: G_t = r_t when r_t is
    nonzero, else r_t + gamma G_t+1. Hand-computed for gamma 0.5 on rewards 0 0 -1 0 +1 0."""
    from gymlab.agents.reinforce import Reinforce, ReinforceConfig
    from gymlab.agents.torch_agent import Episode

    ep = Episode()
    ep.rewards = [0.0, 0.0, -1.0, 0.0, 1.0, 0.0]
    ep.obs = [np.zeros(2, np.float32)] * 6
    space, actions = gym.spaces.Box(-1, 1, (2,), np.float32), gym.spaces.Discrete(2)
    point = Reinforce(space, actions, ReinforceConfig(gamma=0.5, point_returns=True))
    plain = Reinforce(space, actions, ReinforceConfig(gamma=0.5))
    np.testing.assert_allclose(point._returns(ep), [-0.25, -0.5, -1.0, 0.5, 1.0, 0.0])
    np.testing.assert_allclose(plain._returns(ep), [-0.1875, -0.375, -0.75, 0.5, 1.0, 0.0])


class Cut(gym.Env):
    """Reward 1 a step, cut by a time limit after 3 steps (never terminated)."""

    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.ones(2, np.float32), 1.0, False, False, {}


CUT_ID = "gymlab_tests/Cut-v0"
if CUT_ID not in gym.envs.registry:
    gym.register(CUT_ID, entry_point=Cut, max_episode_steps=3)


@pytest.mark.parametrize("point_returns", [False, True])
def test_a_value_baseline_is_never_bootstrapped_at_a_time_limit(point_returns):
    """The README says the value baseline is "a learned value, never bootstrapped": an episode cut
    by a time limit ends its return there, V(s_T) or not (issue 22; it used to be topped up with
    gamma V(s_T), in the policy's weight and the value's target alike). Gamma 0.5, V = 4 everywhere,
    rewards 1 1 1: the plain returns 1.75, 1.5, 1 (a nonzero reward closes each point)."""
    env = gym.make(CUT_ID)
    agent = Reinforce(env.observation_space, env.action_space,
                      ReinforceConfig(gamma=0.5, baseline="value", batch_episodes=1, point_returns=point_returns))
    with torch.no_grad():
        for p in agent.value.parameters():
            p.zero_()
        [p for n, p in agent.value.named_parameters() if n.endswith("bias")][-1].fill_(4.0)
    batches = []
    spy_on_updates(agent, batches.append)
    agent.learn(env, Budget(episodes=1), RunLogger(progress=False))
    expected = [1.0, 1.0, 1.0] if point_returns else [1.75, 1.5, 1.0]
    np.testing.assert_allclose(agent._returns(batches[0][0]), expected)


def test_point_returns_refuse_no_reward_to_go():
    """--point-returns is a reward to go that stops at each point: with --no-reward-to-go it used to
    win silently; now the combination is refused (review finding)."""
    from gymlab.agents.reinforce import ReinforceConfig

    with pytest.raises(ValueError, match="--point-returns"):
        ReinforceConfig(point_returns=True, reward_to_go=False)


# ------------------------------------------------------------------ a point as a batch unit (issue 13)
class Points(gym.Env):
    """A tiny pixel game for --round-batches: 3x3 uint8 frames of noise, a point (+1 or -1) now and
    then, 30 steps a game."""

    observation_space = gym.spaces.Box(0, 255, (3, 3, 1), np.uint8)
    action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.integers(0, 256, (3, 3, 1), dtype=np.uint8), {}

    def step(self, action):
        self.t += 1
        u = self.np_random.random()
        reward = 0.0 if u < 0.7 else (1.0 if u < 0.85 + 0.1 * action else -1.0)
        return self.np_random.integers(0, 256, (3, 3, 1), dtype=np.uint8), reward, self.t >= 30, False, {}


POINTS_ID = "gymlab-test/Points-v0"
if POINTS_ID not in gym.registry:
    gym.register(POINTS_ID, entry_point=Points)


def _point_agent(num_envs, rounds):
    from gymlab.agents.reinforce import Reinforce, ReinforceConfig

    env = gym.make(POINTS_ID)
    config = ReinforceConfig(policy="mlp", hidden=(8,), frame_diff=True, point_returns=True, round_batches=rounds,
                             num_envs=num_envs, batch_episodes=4)
    return env, Reinforce(env.observation_space, env.action_space, config, seed=3)


@pytest.mark.parametrize("num_envs", [1, 3])
def test_round_batches_cut_games_at_each_point_and_keep_the_frame_before(num_envs):
    """--round-batches: the units an update learns from are the stretches of a game that end at a
    nonzero reward (and the game's tail). Put back together, per env, they are exactly the game; each
    round after a game's first knows the frame before it, so the policy's frame differences over the
    rounds equal those over the whole game (what the acting network saw: the game's own test)."""
    from gymlab.agents.torch_agent import Rollout

    env, agent = _point_agent(num_envs, rounds=True)
    rollout = Rollout(env, agent.pi, agent._sample, num_envs, seed=3)
    rollout.rounds = True
    games, cut, checked = {}, 0, 0
    for i, unit in rollout.episodes(Budget(steps=900), RunLogger(progress=False)):
        assert np.all(np.asarray(unit.rewards)[:-1] == 0)  # no point inside a round
        game = games.setdefault(i, [])
        if game:
            np.testing.assert_array_equal(unit.prev_obs, game[-1].obs[-1])
            cut += 1
        else:
            assert unit.prev_obs is None
        game.append(unit)
        if sum(len(u.obs) for u in game) == 30:  # the game is over: its rounds add up to it
            with torch.no_grad():
                whole = agent.pi.sequence(np.concatenate([np.asarray(u.obs) for u in game]))
                by_round = torch.cat([agent.pi.sequence(np.asarray(u.obs), u.prev_obs) for u in game])
            torch.testing.assert_close(by_round, whole)
            games[i], checked = [], checked + 1
    assert cut > 20 and checked >= 8


def test_round_batches_update_every_few_points_not_games():
    """The switch's effect: on the same steps, an update every 4 points comes far more often than
    an update every 4 games (30-step games with about 9 points each)."""
    updates = {}
    for rounds in (False, True):
        env, agent = _point_agent(2, rounds)
        agent.learn(env, Budget(steps=1200), RunLogger(progress=False))
        updates[rounds] = agent.updates
    assert updates[False] <= 1200 // 30 // 4 + 1 and updates[True] >= 4 * updates[False]


def test_round_batches_need_point_returns_and_a_feed_forward_policy():
    from gymlab.agents.reinforce import ReinforceConfig

    with pytest.raises(ValueError, match="--point-returns"):
        ReinforceConfig(round_batches=True)
    with pytest.raises(ValueError, match="recurrent"):
        ReinforceConfig(round_batches=True, point_returns=True, policy="lstm")


# ------------------------------------------------------------------ words and code agree (issue 22)
def test_frame_differences_start_each_episode_at_zero():
    """Karpathy's pixel-Pong policy sees zeros at an episode's first frame (there is no frame
    before it), not the raw frame: in the update's pass over an episode, when acting one step at a
    time, and when a vector env's sub-env starts a new episode mid-stream. A linear policy
    (hidden=()) makes the input visible: out = W x + b, so zeros give b."""
    from gymlab.agents.networks import Network

    space = gym.spaces.Box(0, 255, (4, 4, 1), np.uint8)
    net = Network(space, 3, "mlp", (), frame_diff=True)
    frames = np.random.default_rng(0).integers(1, 256, (3, 4, 4, 1)).astype(np.uint8)
    x = torch.as_tensor(frames.reshape(3, -1), dtype=torch.float32) / 255.0
    with torch.no_grad():
        bias, expected = net.head.bias, net.head(torch.stack([torch.zeros(16), x[1] - x[0], x[2] - x[1]]))
        torch.testing.assert_close(net.sequence(frames), expected)  # the update
        out, state = net(frames[:1], None)  # acting: the episode's first step
        torch.testing.assert_close(out[0], bias)
        out, state = net(frames[1:2], state)
        torch.testing.assert_close(out[0], expected[1])
        # Two sub-envs side by side; the second starts a new episode at the third step.
        out, state = net(frames[[0, 0]], None)
        out, state = net(frames[[1, 1]], state, np.array([False, False]))
        out, state = net(frames[[2, 2]], state, np.array([False, True]))
        torch.testing.assert_close(out, torch.stack([expected[2], bias]))


def one_step_episode(reward, obs=None, action=0):
    ep = Episode()
    ep.obs, ep.actions, ep.rewards = [np.zeros(2, np.float32) if obs is None else obs], [action], [float(reward)]
    ep.masks, ep.versions = [None], [0]
    return ep


def test_the_mean_baseline_is_a_plain_mean_of_ten_batches_then_an_exponential_average():
    """``--baseline mean``: b is the plain mean of the earlier batches' mean returns while there are
    at most 10 of them, then an exponential average that gives the newest batch weight 0.1 (the
    README's words). Batches of returns 1, 2, ..., 14 (two one-step episodes each)."""
    space, actions = gym.spaces.Box(-1, 1, (2,), np.float32), gym.spaces.Discrete(2)
    agent = Reinforce(space, actions, ReinforceConfig(baseline="mean", normalize_advantages=False), seed=0)
    expected = None
    for k in range(1, 15):
        agent.update([one_step_episode(k), one_step_episode(k)])
        expected = k if expected is None else expected + (k - expected) / min(k, 10)
        assert agent.mean_return == pytest.approx(expected), f"after batch {k}"
    assert expected == pytest.approx(np.mean(range(1, 11)) * 0.9**4 + sum(0.1 * 0.9**(14 - k) * k for k in range(11, 15)))
