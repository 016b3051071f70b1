"""DQN (issue 10): the dueling head has its own streams, learning never samples an empty
replay database, and a next state that allows no action gives a finite target."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from gymlab.agents.base import Budget
from gymlab.agents.dqn import DQN, DQNConfig, QNetwork
from gymlab.agents.logger import RunLogger
from gymlab.agents.networks import CNN, mlp
from gymlab.agents.replay import Batch, ReplayBuffer
from tiny_envs import CORRIDOR_ID

VECTOR = spaces.Box(-1.0, 1.0, (4,), np.float32)
FRAMES = spaces.Box(0, 255, (36, 36, 3), np.uint8)


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def random_obs(space, n, seed=0):
    rng = np.random.default_rng(seed)
    if space.dtype == np.uint8:
        return rng.integers(0, 256, (n, *space.shape), dtype=np.uint8)
    return rng.uniform(-1, 1, (n, *space.shape)).astype(np.float32)


def touched(q_net, scalar) -> set[str]:
    """The parameter tensors that ``scalar`` depends on (a non-zero gradient)."""
    q_net.zero_grad(set_to_none=True)
    scalar.backward(retain_graph=True)
    return {name for name, p in q_net.named_parameters() if p.grad is not None and p.grad.abs().max() > 1e-6}


# ------------------------------------------------------------------ 1. dueling streams (Wang et al. 2016)
@pytest.mark.parametrize("space, policy, hidden, trunk", [
    (VECTOR, "mlp", (32, 16), lambda: mlp([4, 32])),  # the MLP's layers but the last hidden one
    (VECTOR, "mlp", (16,), lambda: torch.nn.Identity()),  # one hidden layer: the streams read the inputs
    (FRAMES, "cnn", (24,), lambda: CNN(FRAMES.shape).convs),  # the conv layers
])
def test_dueling_streams_share_only_the_trunk(space, policy, hidden, trunk):
    """V(s) = mean_a Q(s, a) and A(s, a) - mean_b A(s, b) = Q(s, a) - mean_b Q(s, b) may depend on
    common parameters only in the trunk: after it, each stream has its own hidden layer."""
    torch.manual_seed(0)
    q_net = QNetwork(space, 3, DQNConfig(policy=policy, hidden=hidden, dueling=True))
    q = q_net(random_obs(space, 16))
    value = q.mean(dim=1)
    advantage = q - value[:, None]
    weights = torch.randn(advantage.shape)  # any direction in advantage space
    shared = touched(q_net, value.sum()) & touched(q_net, (weights * advantage).sum())
    params = dict(q_net.named_parameters())
    assert sum(params[name].numel() for name in shared) == n_params(trunk()), sorted(shared)


@pytest.mark.parametrize("space, policy, hidden", [(VECTOR, "mlp", (32, 16)), (VECTOR, "mlp", (16,)),
                                                   (FRAMES, "cnn", (24,))])
def test_dueling_is_not_a_reparametrisation_of_the_plain_net(space, policy, hidden):
    """A reparametrised head adds one output row (width + 1 weights); the value stream adds a
    hidden layer of its own beside the advantage stream's (which takes the plain net's place)."""
    plain = QNetwork(space, 3, DQNConfig(policy=policy, hidden=hidden, dueling=False))
    dueling = QNetwork(space, 3, DQNConfig(policy=policy, hidden=hidden, dueling=True))
    width = hidden[-1]
    if policy == "cnn":
        trunk_out = CNN(FRAMES.shape).dense[0].in_features  # the flattened conv features
    else:
        trunk_out = hidden[-2] if len(hidden) > 1 else VECTOR.shape[0]
    value_stream = (trunk_out * width + width) + (width + 1)
    assert n_params(dueling) - n_params(plain) == value_stream


def test_dueling_q_is_value_plus_centred_advantage():
    torch.manual_seed(0)
    q_net = QNetwork(VECTOR, 3, DQNConfig(hidden=(32, 16), dueling=True))
    obs = random_obs(VECTOR, 8)
    with torch.no_grad():
        h = q_net.net.body(q_net.net.prepare(obs))
        v, a = q_net.net.head.value(h), q_net.net.head.advantage(h)
        q = q_net(obs)
    assert v.shape == (8, 1) and a.shape == (8, 3)
    torch.testing.assert_close(q, v + a - a.mean(dim=1, keepdim=True))  # Q = V + A - mean_a A
    torch.testing.assert_close(q.mean(dim=1, keepdim=True), v)


@pytest.mark.parametrize("dueling", [True, False])
def test_dueling_and_plain_checkpoints_round_trip(dueling, tmp_path):
    agent = DQN(VECTOR, spaces.Discrete(3), DQNConfig(hidden=(32, 16), dueling=dueling), seed=1)
    agent.save(tmp_path / "q.npz")
    loaded = DQN.load(tmp_path / "q.npz", VECTOR, spaces.Discrete(3))
    assert loaded.config.dueling is dueling
    obs = random_obs(VECTOR, 8)
    with torch.no_grad():
        torch.testing.assert_close(loaded.q(obs), agent.q(obs), rtol=0, atol=0)


# ------------------------------------------------------------------ 2. learning before the first transition
@pytest.mark.parametrize("prioritized", [False, True])
def test_learning_from_step_one_with_n_step_returns(prioritized):
    """With --learning-starts 0 and 3-step returns the first transition reaches the buffer at
    step 3: learning must wait for it, not sample an empty buffer."""
    env = gym.make(CORRIDOR_ID)
    agent = DQN(env.observation_space, env.action_space,
                DQNConfig(hidden=(16,), learning_starts=0, train_freq=1, n_step=3, batch_size=8,
                          prioritized=prioritized), seed=0)
    sampled = []
    update = agent.update

    def spy(batch, buffer):
        sampled.append(len(buffer))
        assert np.isfinite(batch.weights).all() and (batch.index >= 0).all() and (batch.index < len(buffer)).all()
        return update(batch, buffer)

    agent.update = spy
    agent.learn(env, Budget(steps=300), RunLogger(progress=False))
    assert sampled and min(sampled) >= 1 and len(sampled) >= 290  # every step from the third on
    assert all(torch.isfinite(p).all() for p in agent.q.parameters())


# ------------------------------------------------------------------ 3. a next state that allows no action
@pytest.mark.parametrize("double_q", [False, True])
def test_a_next_state_without_allowed_actions_gives_a_finite_target(double_q):
    """Like every agent here (q_learning._allowed, TorchAgent.step_outputs, RandomAgent), DQN reads
    an all-False mask as no restriction: it bootstraps from the unmasked max (double Q: the online
    net's unmasked argmax), and a terminal one still bootstraps from 0."""
    agent = DQN(VECTOR, spaces.Discrete(3), DQNConfig(hidden=(16,), gamma=0.9, huber=False, double_q=double_q),
                seed=0)
    for group in agent.optimizer.param_groups:
        group["lr"] = 0.0
    torch.manual_seed(1)
    for p in agent.q_target.parameters():  # a target network unlike the online one
        p.data.normal_()
    obs, next_obs = random_obs(VECTOR, 3, seed=1), random_obs(VECTOR, 3, seed=5)
    masks = np.array([[False, False, False],   # running on, but nothing allowed
                      [False, False, False],   # terminal, nothing allowed
                      [True, False, True]])
    batch = Batch(np.arange(3), obs, np.array([0, 1, 2]), np.array([0.5, -1.0, 2.0], np.float32), next_obs,
                  np.array([0.9, 0.0, 0.9], np.float32), masks, np.ones(3, np.float32))
    with torch.no_grad():
        q_online_next, q_target_next = agent.q(next_obs).numpy(), agent.q_target(next_obs).numpy()
        q_taken = agent.q(obs).numpy()[[0, 1, 2], [0, 1, 2]]
    if double_q:
        best0 = q_online_next[0].argmax()
        assert best0 != 0  # else "argmax over all -inf = action 0" would pass unnoticed
        best2 = [0, 2][q_online_next[2, [0, 2]].argmax()]
        q_next = np.array([q_target_next[0, best0], 0.0, q_target_next[2, best2]])
    else:
        q_next = np.array([q_target_next[0].max(), 0.0, q_target_next[2, [0, 2]].max()])
    y = batch.rewards + batch.discounts * q_next
    loss = agent.update(batch, ReplayBuffer(3, (4,), np.float32, 3, True, np.random.default_rng(0))).item()
    assert loss == pytest.approx(np.mean((y - q_taken) ** 2), rel=1e-5)


def test_acting_where_no_action_is_allowed():
    agent = DQN(VECTOR, spaces.Discrete(3), DQNConfig(hidden=(16,)), seed=0)
    nothing = np.zeros(3, dtype=bool)
    obs = random_obs(VECTOR, 1)[0]
    with torch.no_grad():
        best = int(agent.q(obs[None]).argmax())
    assert agent.predict(obs, deterministic=True, action_mask=nothing)[0] == best
    agent.epsilon = 1.0
    assert {agent.predict(obs, action_mask=nothing)[0] for _ in range(50)} == {0, 1, 2}


@pytest.mark.parametrize("double_q", [False, True])
def test_the_target_ignores_the_actions_the_next_mask_forbids(double_q):
    """Found in review: no test made a forbidden action the one the unmasked max would pick. Here
    the mask forbids exactly that action, so a target that ignored the mask would differ."""
    agent = DQN(VECTOR, spaces.Discrete(3), DQNConfig(hidden=(16,), gamma=0.9, huber=False, double_q=double_q),
                seed=0)
    for group in agent.optimizer.param_groups:
        group["lr"] = 0.0
    obs, next_obs = random_obs(VECTOR, 2, seed=2), random_obs(VECTOR, 2, seed=7)
    with torch.no_grad():
        q_online_next, q_target_next = agent.q(next_obs).numpy(), agent.q_target(next_obs).numpy()
        q_taken = agent.q(obs).numpy()[[0, 1], [0, 1]]
    chooser = q_online_next if double_q else q_target_next
    masks = np.ones((2, 3), dtype=bool)
    masks[np.arange(2), chooser.argmax(axis=1)] = False  # forbid the unmasked favourite
    allowed = [np.flatnonzero(m) for m in masks]
    best = [a[chooser[i, a].argmax()] for i, a in enumerate(allowed)]
    q_next = q_target_next[[0, 1], best]
    batch = Batch(np.arange(2), obs, np.array([0, 1]), np.array([0.5, -1.0], np.float32), next_obs,
                  np.array([0.9, 0.9], np.float32), masks, np.ones(2, np.float32))
    y = batch.rewards + batch.discounts * q_next
    loss = agent.update(batch, ReplayBuffer(2, (4,), np.float32, 3, True, np.random.default_rng(0))).item()
    assert loss == pytest.approx(np.mean((y - q_taken) ** 2), rel=1e-5)


def test_every_hidden_size_of_a_cnn_is_a_layer():
    """Found in review: with --policy cnn only the last --hidden size was used (hidden (99, 24) built
    the same network as (24,)). Every size is now a dense layer after the convolutions."""
    frames = spaces.Box(0, 255, (36, 36, 1), np.uint8)
    for dueling in (False, True):
        one = DQN(frames, spaces.Discrete(3), DQNConfig(policy="cnn", hidden=(24,), dueling=dueling), seed=0)
        two = DQN(frames, spaces.Discrete(3), DQNConfig(policy="cnn", hidden=(99, 24), dueling=dueling), seed=0)
        linear = [m for m in two.q.modules() if isinstance(m, torch.nn.Linear)]
        assert any(m.out_features == 99 for m in linear), "the 99-unit layer is missing"
        assert sum(p.numel() for p in two.q.parameters()) != sum(p.numel() for p in one.q.parameters())


def test_the_buffer_keeps_masks_when_the_first_step_ends_without_one():
    """Whether replay stores next-state masks is decided at the first transition. An env that hands
    out masks but leaves one out of the info of a terminal step, whose first step terminates, used to
    get a maskless buffer for good (every later target's argmax then ran over forbidden actions too).
    The info the action was chosen with counts as well now (review finding)."""
    from gymlab.agents.rollout import Transition

    obs_space = spaces.Box(-1, 1, (2,), np.float32)
    agent = DQN(obs_space, spaces.Discrete(3), DQNConfig(hidden=(8,), buffer_size=16, batch_size=2, n_step=1))
    agent.begin(None)
    zero = np.zeros(2, np.float32)
    agent.remember(0, Transition(zero, 1, 1.0, zero, True, False,
                                 {"action_mask": np.array([1, 1, 0], np.int8)}, {}))
    agent.remember(0, Transition(zero, 0, 0.0, zero, False, False,
                                 {"action_mask": np.array([1, 1, 0], np.int8)},
                                 {"action_mask": np.array([0, 1, 1], np.int8)}))
    assert agent.buffer.next_masks is not None
    assert agent.buffer.next_masks[0].all()  # the terminal step's next state: no mask given
    np.testing.assert_array_equal(agent.buffer.next_masks[1], [False, True, True])
