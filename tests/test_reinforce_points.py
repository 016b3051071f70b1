"""REINFORCE on games scored in points (issue 13): returns that restart at each point, a value
baseline never bootstrapped at a time limit, a point as the batch unit; and words and code that
agree (issue 22): frame differences start at zero, the mean baseline's warm-up. (Issue 10's
switches: tests/test_reinforce_fixes.py.)"""

import gymnasium as gym
import numpy as np
import pytest
import torch

from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.reinforce import Reinforce, ReinforceConfig
from gymlab.agents.torch_agent import Episode
from reinforce_helpers import spy_on_updates


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
