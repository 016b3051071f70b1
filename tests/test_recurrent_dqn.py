"""The recurrent DQN (``--agent dqn --policy lstm|gru``, agents/recurrent_dqn.py): its sequence
replay, burn-in, stored state and targets against references written step by step, its
priorities and action masks. (That it learns a memory task a broken agent cannot, its
checkpoints, train.py and issue 14's findings: tests/test_recurrent_dqn_learning.py.)"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st

import gymlab  # noqa: F401  (registers gymlab/Recall-v0)
from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.recurrent_dqn import rescale, unrescale
from gymlab.agents.sequence_replay import SequenceBatch, SequenceReplayBuffer, SequenceWriter
from recurrent_helpers import recurrent


# ------------------------------------------------------------------ 1. sequences never mix episodes
@settings(max_examples=80, deadline=None)
@given(episodes=st.lists(st.tuples(st.integers(1, 25), st.booleans()), min_size=1, max_size=6),
       seq_len=st.integers(1, 10), overlap=st.floats(0.0, 0.99), burn_in=st.integers(0, 6), n_step=st.integers(1, 4),
       n_envs=st.integers(1, 3), data=st.data())
def test_sequences_never_mix_episodes_unmasked(episodes, seq_len, overlap, burn_in, n_step, n_envs, data):
    """Episodes of random lengths (each ending terminated or truncated), from envs that step in a random
    order, cut into sequences: in every sequence the buffer returns, the slots holding a step hold one
    episode's consecutive steps, slot k holding step start - burn_in + k; everything before the episode's
    start and after its end is masked (valid 0), but for the final observation just after the end; the
    stored state is the one recorded at slot 0; and the trained parts cover every step of every episode, in as
    few of the period's sequences as do (none whose trained steps others already hold)."""
    overlap_steps = min(seq_len - 1, int(overlap * seq_len))
    period, length = seq_len - overlap_steps, burn_in + seq_len + n_step
    writers = [SequenceWriter(burn_in, seq_len, overlap_steps, n_step) for _ in range(n_envs)]
    buffer = SequenceReplayBuffer(1000, length, (2,), np.float32, 3, True, (1, 2), np.random.default_rng(0))
    queues = [[] for _ in range(n_envs)]  # each env's episodes, played one after another
    for e, (steps, terminated) in enumerate(episodes, start=1):  # episode ids from 1: padding holds 0
        queues[data.draw(st.integers(0, n_envs - 1), label="env")].append((e, steps, terminated))
    position = [[0, 0] for _ in range(n_envs)]  # (episode in the queue, step)
    while any(p[0] < len(q) for p, q in zip(position, queues)):
        i = data.draw(st.sampled_from([i for i in range(n_envs) if position[i][0] < len(queues[i])]), label="next")
        (e, steps, terminated), s = queues[i][position[i][0]], position[i][1]
        end = s == steps - 1
        for seq in writers[i].push(np.array([e, s], np.float32), action=s % 3, reward=100.0 * e + s,
                                   terminated=end and terminated, truncated=end and not terminated,
                                   state=np.array([[e, s]], np.float32), mask=np.arange(3) != s % 3,
                                   next_obs=np.array([e, s + 1], np.float32), next_mask=np.ones(3, bool)):
            buffer.add(seq)
        position[i] = [position[i][0] + 1, 0] if end else [position[i][0], s + 1]

    lengths = {e: (steps, terminated) for e, (steps, terminated) in enumerate(episodes, start=1)}
    covered = {e: np.zeros(steps, int) for e, (steps, _) in lengths.items()}
    sampled = buffer.sample(64)
    everything = buffer._batch(np.arange(len(buffer)), np.ones(len(buffer), np.float32))
    for batch in (sampled, everything):
        for i in range(len(batch.index)):
            valid = batch.valid[i]
            held = np.flatnonzero(valid)
            assert len(held) and np.all(np.diff(held) == 1), "the steps held are one block"
            e = int(batch.obs[i, held[0], 0])
            steps, terminated = lengths[e]
            assert np.all(batch.obs[i, held, 0] == e), "one episode only"
            step = batch.obs[i, :, 1].astype(int)
            start = step[held[0]] - held[0] + burn_in  # the episode step of the first trained slot
            assert np.all(step[held] == start - burn_in + held), "consecutive steps, in order, at their slots"
            assert start % period == 0 and 0 <= start < steps
            assert held[0] == 0 or step[held[0]] == 0, "padding before the episode's first step only"
            assert held[-1] == length - 1 or step[held[-1]] == steps - 1, "padding after its last step only"
            np.testing.assert_array_equal(batch.rewards[i, held], 100.0 * e + step[held])
            np.testing.assert_array_equal(batch.starts[i], valid & (step == 0) & (batch.obs[i, :, 0] == e))
            np.testing.assert_array_equal(batch.terminated[i], valid & (step == steps - 1) & terminated)
            after = held[-1] + 1
            if after < length:  # the final observation follows the last step, then zeros
                np.testing.assert_array_equal(batch.obs[i, after], [e, steps])
                assert not batch.obs[i, after + 1:].any() and not batch.rewards[i, ~valid].any()
            assert not batch.obs[i, :held[0]].any()
            expected_state = [[e, step[0]]] if valid[0] else [[0, 0]]
            np.testing.assert_array_equal(batch.stored_state[i], expected_state)
            np.testing.assert_array_equal(batch.masks[i, held], (np.arange(3) != (step[held] % 3)[:, None]))
            if batch is everything:
                trained = np.arange(start, min(start + seq_len, steps))
                covered[e][trained] += 1
    for e, (steps, _) in lengths.items():
        assert covered[e].min() >= 1, f"episode {e}: a step in no sequence's trained part"
        starts = [0]  # the grid's starts up to the first whose trained part reaches the last step
        while starts[-1] + seq_len < steps:
            starts.append(starts[-1] + period)
        assert (covered[e] > 0).sum() == steps and sum(covered[e]) == sum(  # each window once, none twice
            min(seq_len, steps - s) for s in starts)


# ------------------------------------------------------------------ a batch made by hand
OBS = spaces.Box(-1.0, 1.0, (3,), np.float32)
ACTIONS = spaces.Discrete(3)


def hand_batch(agent, rng, size=4, obs_grad=False) -> SequenceBatch:
    """Random sequences without padding (every slot a step, no episode start): obs, stored state, all random."""
    c = agent.config
    length = c.burn_in + c.seq_len + c.n_step
    obs = torch.as_tensor(rng.normal(size=(size, length, 3)).astype(np.float32)).requires_grad_(obs_grad)
    k = 2 if c.policy == "lstm" else 1
    return SequenceBatch(np.arange(size), obs, rng.integers(0, 3, (size, length)),
                         rng.normal(size=(size, length)).astype(np.float32), np.zeros((size, length), bool),
                         np.ones((size, length), bool), np.zeros((size, length), bool), None,
                         rng.normal(size=(size, k, c.hidden[-1])).astype(np.float32), np.ones(size, np.float32))


def parameter_gradient(agent, batch) -> torch.Tensor:
    agent.q.zero_grad()
    agent.loss(batch)[0].backward()
    return torch.cat([p.grad.flatten() for p in agent.q.parameters()])


# ------------------------------------------------------------------ 2. burn-in carries no gradient
@pytest.mark.parametrize("policy", ["lstm", "gru"])
def test_burn_in_steps_carry_no_gradient(policy):
    agent = recurrent(OBS, ACTIONS, policy=policy, burn_in=3, seq_len=4, n_step=2, huber=False)
    rng = np.random.default_rng(0)
    for p in agent.q_target.parameters():  # a target network unlike the online one
        p.data.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(1))
    batch = hand_batch(agent, rng, obs_grad=True)
    agent.loss(batch)[0].backward()
    l, m = 3, 4
    assert torch.count_nonzero(batch.obs.grad[:, :l]) == 0, "the loss reaches back into the burn-in"
    assert torch.all(batch.obs.grad[:, l:l + m].abs().sum(dim=2) > 0), "every trained step has a gradient"

    # The burn-in's actions and rewards are in no loss; a trained step's reward is.
    base = parameter_gradient(agent, batch._replace(obs=batch.obs.detach()))
    actions, rewards = batch.actions.copy(), batch.rewards.copy()
    actions[:, :l], rewards[:, :l] = (actions[:, :l] + 1) % 3, rewards[:, :l] + 5.0
    same = parameter_gradient(agent, batch._replace(obs=batch.obs.detach(), actions=actions, rewards=rewards))
    torch.testing.assert_close(same, base, rtol=0, atol=0)
    rewards = batch.rewards.copy()
    rewards[:, l] += 5.0
    assert not torch.allclose(parameter_gradient(agent, batch._replace(obs=batch.obs.detach(), rewards=rewards)),
                              base)


# ------------------------------------------------------------------ 3. the stored state is the acting state
class Tagged(gym.Env):
    """Episodes of random length (1 to 7 steps), ended at random by termination or truncation; each
    observation says which episode and step it is (``tagged_obs``), so a test can replay any episode."""

    observation_space = spaces.Box(-np.inf, np.inf, (4,), np.float32)
    action_space = spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.code, self.t = float(self.np_random.random()), 0
        self.steps, self.terminates = int(self.np_random.integers(1, 8)), bool(self.np_random.random() < 0.5)
        return tagged_obs(self.code, 0), {}

    def step(self, action):
        self.t += 1
        end = self.t == self.steps
        return tagged_obs(self.code, self.t), float(action) - 1.0, end and self.terminates, \
            end and not self.terminates, {}


def tagged_obs(code: float, t: int) -> np.ndarray:
    return np.array([code, t, np.sin(13 * code + t), np.cos(7 * code * t)], np.float32)


TAGGED = "gymlab_tests/Tagged-v0"
if TAGGED not in gym.envs.registry:
    gym.register(TAGGED, entry_point=Tagged)


def acting_states_and_q(agent, code: float, steps: int):
    """The acting network run step by step over an episode from its start, as ``predict`` runs it:
    the state it reads each observation with (rows as the buffer stores them), and its Q-values."""
    state, states, qs = agent.q.initial_state(1), [], []
    with torch.no_grad():
        for t in range(steps):
            states.append(agent.q.rows(state)[0])
            q, state = agent.q(tagged_obs(code, t)[None, None], state)
            qs.append(q[0, 0])
    return states, qs


@pytest.mark.parametrize("num_envs", [1, 3])
def test_the_stored_state_is_the_state_the_acting_network_had(num_envs):
    """Learning off (no update before the budget ends: the acting weights stay as they are), so each
    episode can be replayed afterwards with the same network."""
    env = gym.make(TAGGED)
    agent = recurrent(env.observation_space, env.action_space, burn_in=2, seq_len=3, seq_overlap=0.34, n_step=1,
                      learning_starts=10_000, num_envs=num_envs, epsilon_start=0.5, epsilon_end=0.5)
    agent.learn(env, Budget(steps=400), RunLogger(progress=False))
    batch = agent.buffer._batch(np.arange(len(agent.buffer)), np.ones(len(agent.buffer), np.float32))
    assert len(batch.index) > 100
    q_replayed = agent.unroll(agent.q, batch).detach()  # burned in from the stored state
    l = agent.config.burn_in
    checked = 0
    for i in range(len(batch.index)):
        held = np.flatnonzero(batch.valid[i])
        code, first = float(batch.obs[i, held[0], 0]), int(batch.obs[i, held[0], 1])
        states, qs = acting_states_and_q(agent, code, first + len(held))
        if batch.valid[i, 0]:  # slot 0 holds step `first`: the acting state there
            np.testing.assert_allclose(batch.stored_state[i], states[first], rtol=0, atol=1e-6)
            checked += first > 0
        else:
            assert not batch.stored_state[i].any()
        for k in held[held >= l]:  # the replayed Q-values are the ones the agent acted on
            torch.testing.assert_close(q_replayed[i, k - l], qs[first + k - held[0]], rtol=0, atol=1e-5)
    assert checked > 10  # stored states from inside an episode, not only zeros at its start


# ------------------------------------------------------------------ 4. the target, by hand
def episode(rng, steps: int, terminated: bool):
    obs = [rng.normal(size=3).astype(np.float32) for _ in range(steps + 1)]  # obs[steps]: the final one
    masks = [rng.random(3) < 0.6 for _ in range(steps + 1)]
    return obs, rng.integers(0, 3, steps), rng.normal(size=steps).round(2), masks, terminated


@pytest.mark.parametrize("burn_in", [1, 4])
@pytest.mark.parametrize("ending", ["terminated", "truncated"])
@pytest.mark.parametrize("double_q,rescaling", [(True, False), (False, False), (True, True)])
def test_the_target_equals_one_computed_step_by_step(burn_in, ending, double_q, rescaling):
    """A 5-step episode ending in a termination (no bootstrap past it) or a truncation (bootstrap from
    its final observation), cut with n = 2, gamma = 0.9, trained parts of 3 steps one starting every 2;
    every y_t computed here from the episode's own rewards and the two networks stepped one observation
    at a time from the sequence's stored state (the acting state), against the agent's batched target."""
    gamma, n, m = 0.9, 2, 3
    agent = recurrent(OBS, ACTIONS, burn_in=burn_in, seq_len=m, seq_overlap=0.34, n_step=n, gamma=gamma,
                      double_q=double_q, value_rescaling=rescaling)
    for p in agent.q_target.parameters():
        p.data.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(2))
    rng = np.random.default_rng(3)
    obs, actions, rewards, masks, _ = episode(rng, 5, ending == "terminated")
    steps = len(actions)
    writer = SequenceWriter(burn_in, m, 1, n)
    state, seqs = agent.q.initial_state(1), []
    for t in range(steps):  # acting: the state each observation is read with goes with its step
        end = t == steps - 1
        seqs += writer.push(obs[t], actions[t], rewards[t], end and ending == "terminated",
                            end and ending == "truncated", agent.q.rows(state)[0], masks[t], obs[t + 1], masks[t + 1])
        with torch.no_grad():
            state = agent.q(obs[t][None, None], state)[1]
    assert len(seqs) == 2  # trained parts from steps 0 and 2 (step 4: in the second already)
    buffer = SequenceReplayBuffer(8, writer.length, (3,), np.float32, 3, True, agent.q.rows(state).shape[1:],
                                  np.random.default_rng(0))
    for seq in seqs:
        buffer.add(seq)
    batch = buffer._batch(np.arange(2), np.ones(2, np.float32))
    target = agent.targets(batch, agent.unroll(agent.q, batch))

    h, h_inv = (rescale, unrescale) if rescaling else (lambda x: x, lambda x: x)
    for i, start in enumerate((0, 2)):
        first = max(0, start - burn_in)  # the episode step at slot 0 (or the start, after padding)
        q_on, q_tg = {}, {}  # each network stepped from the stored state, one observation at a time
        s_on = s_tg = agent.q.from_rows(batch.stored_state[i:i + 1])
        with torch.no_grad():
            for t in range(first, min(steps + 1, start + m + n)):
                if t == 0:
                    s_on, s_tg = agent.q.initial_state(1), agent.q.initial_state(1)
                out, s_on = agent.q(obs[t][None, None], s_on)
                q_on[t] = out[0, 0].double()
                out, s_tg = agent.q_target(obs[t][None, None], s_tg)
                q_tg[t] = out[0, 0].double()
        for t in range(start, min(start + m, steps)):
            y, k = 0.0, 0
            while k < n and t + k < steps:
                y += gamma ** k * rewards[t + k]
                k += 1
                if t + k == steps and ending == "terminated":
                    break
            if not (t + k == steps and ending == "terminated"):  # bootstrap from s_t+k
                allowed = np.flatnonzero(masks[t + k]) if masks[t + k].any() else np.arange(3)
                if double_q:
                    best = allowed[int(torch.argmax(q_on[t + k][allowed]))]
                    value = q_tg[t + k][best]
                else:
                    value = q_tg[t + k][allowed].max()
                y = float(h(torch.tensor(y + gamma ** k * float(h_inv(value)), dtype=torch.float64)))
            elif rescaling:
                y = float(h(torch.tensor(y, dtype=torch.float64)))
            assert float(target[i, t - start]) == pytest.approx(y, abs=1e-5), (i, t)


def test_value_rescaling_is_inverted_exactly():
    x = torch.tensor([-1e5, -37.5, -1.0, -1e-3, 0.0, 1e-3, 0.5, 1.0, 250.0, 1e5], dtype=torch.float64)
    torch.testing.assert_close(unrescale(rescale(x)), x, rtol=1e-9, atol=1e-9)
    small = torch.linspace(-3.0, 3.0, 601)  # in float32 too, to float32's precision (the agent's)
    torch.testing.assert_close(unrescale(rescale(small)), small, rtol=0, atol=2e-6)
    assert float(rescale(torch.tensor(1e4))) == pytest.approx(109.005, abs=1e-3)  # sqrt(10001) - 1 + 10


# ------------------------------------------------------------------ 5. priorities and action masks
def test_prioritized_replay_sets_r2d2_priorities():
    """p_i = eta max_t |delta_t| + (1 - eta) mean_t |delta_t| over the trained steps that hold a step."""
    agent = recurrent(OBS, ACTIONS, burn_in=1, seq_len=3, n_step=1, prioritized=True, priority_eta=0.9)
    rng = np.random.default_rng(0)
    batch = hand_batch(agent, rng, size=2)
    valid = batch.valid.copy()
    valid[1, 1 + 2:] = False  # sequence 1: its last trained step is padding
    batch = batch._replace(valid=valid)
    _, td, _ = agent.loss(batch)
    seen = {}

    class Recorder:
        def update_priorities(self, index, priorities):
            seen.update(zip(index, priorities))

    agent.update(batch, Recorder())  # (the update's own TD errors come before its step)
    for i, n in ((0, 3), (1, 2)):
        d = td[i, :n].abs()
        assert seen[i] == pytest.approx(float(0.9 * d.max() + 0.1 * d.mean()), rel=1e-5)


def test_action_masks_are_respected_in_acting():
    agent = recurrent(OBS, ACTIONS)
    q = torch.tensor([[3.0, 2.0, 1.0]] * 200)
    masks = [np.array([False, True, True])] * 200
    agent.epsilon = 0.0
    assert set(agent.choose(q, masks, explore=True)) == {1}  # greedy among the allowed
    agent.epsilon = 1.0
    assert set(agent.choose(q, masks, explore=True)) == {1, 2}  # exploring among the allowed
