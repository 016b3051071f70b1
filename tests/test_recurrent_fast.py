"""Issue 27: the recurrent DQN's fast update and acting compute what the plain ones did
(tests/recurrent_reference.py keeps the update as it was), on random batches laid out as the
sequence writer lays them out (episodes beginning in or before the burn-in, ending in or after
the trained part), to float tolerance: loss, TD errors at every slot holding a step, gradients;
and padding gets no recurrent step, and acting runs no sequence pass."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from recurrent_helpers import recurrent
from recurrent_reference import old_loss

from gymlab.agents.sequence_replay import SequenceBatch

OBS, ACTIONS = spaces.Box(-1.0, 1.0, (3,), np.float32), spaces.Discrete(3)


def writer_batch(agent, rng, size=12, first=None, end=None, masks=False) -> SequenceBatch:
    """Sequences as SequenceWriter cuts them: row i's episode begins at slot first[i] (0: at or
    before slot 0, with a stored state) and its last step is at slot end[i] (>= L: it goes on);
    padding (zeros) before and after, the final observation just after the last step."""
    c = agent.config
    l, length = c.burn_in, c.burn_in + c.seq_len + c.n_step
    first = rng.integers(0, l + 1, size) if first is None else np.asarray(first)
    end = rng.integers(l, length + 3, size) if end is None else np.asarray(end)
    slot = np.arange(length)
    valid = (slot >= first[:, None]) & (slot <= end[:, None])
    obs = rng.normal(size=(size, length, 3)).astype(np.float32) * (valid | (slot == end[:, None] + 1))[..., None]
    terminated = (slot == end[:, None]) & (rng.random(size) < 0.5)[:, None]
    starts = (slot == first[:, None]) & (first > 0)[:, None]
    k = 2 if c.policy == "lstm" else 1
    stored = rng.normal(size=(size, k, c.hidden[-1])).astype(np.float32) * (first == 0)[:, None, None]
    allowed = None
    if masks:
        allowed = rng.random((size, length, 3)) < 0.7
        allowed[..., 0] = True
    return SequenceBatch(np.arange(size), obs, rng.integers(0, 3, (size, length)) * valid,
                         rng.normal(size=(size, length)).astype(np.float32) * valid, terminated, valid, starts,
                         allowed, stored, rng.uniform(0.5, 1.5, size).astype(np.float32))


def gradients(agent, loss):
    agent.q.zero_grad()
    loss.backward()
    return torch.cat([p.grad.flatten() for p in agent.q.parameters()])


CASES = [dict(policy="lstm"), dict(policy="gru"), dict(policy="lstm", double_q=False),
         dict(policy="lstm", value_rescaling=True, dueling=False), dict(policy="gru", masks=True)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("layout", ["mixed", "all-short", "none-padded"])
def test_the_fast_loss_is_the_plain_one(case, layout):
    case = dict(case)
    masks = case.pop("masks", False)
    agent = recurrent(OBS, ACTIONS, seed=3, burn_in=4, seq_len=6, n_step=2, **case)
    for p in agent.q_target.parameters():  # a target network unlike the online one
        p.data.normal_(0.0, 0.4, generator=torch.Generator().manual_seed(1))
    rng = np.random.default_rng(7)
    l, length = 4, 12
    first, end = {"mixed": (None, None), "all-short": ([l] * 12, rng.integers(l, l + 4, 12)),
                  "none-padded": ([0] * 12, [length + 5] * 12)}[layout]
    for _ in range(3):
        batch = writer_batch(agent, rng, first=first, end=end, masks=masks)
        loss, td, valid = agent.loss(batch)
        ref_loss, ref_td, ref_valid = old_loss(agent, batch)
        assert torch.equal(valid, ref_valid)
        assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-5, abs=1e-7)
        np.testing.assert_allclose((td * valid).numpy(), (ref_td * ref_valid).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(gradients(agent, loss).numpy(), gradients(agent, ref_loss).numpy(),
                                   rtol=1e-4, atol=1e-6)


def recurrent_slots(agent, batch) -> int:
    """Slots (rows x time steps) the recurrent cores of both networks run through in one loss."""
    seen = []
    for net in (agent.q, agent.q_target):
        core = net.net.core
        original = core.forward
        core.forward = lambda x, state=None, original=original: (seen.append(x.shape[0] * x.shape[1]),
                                                                  original(x, state))[1]
    try:
        agent.loss(batch)
    finally:
        for net in (agent.q, agent.q_target):
            del net.net.core.forward
    return sum(seen)


def test_padding_gets_no_recurrent_step():
    """Episodes that begin on slot l (their burn-in all padding) and end two steps in: each network
    runs the 3 steps and the final observation only, not the 4 + 6 + 2 slots of the sequence."""
    agent = recurrent(OBS, ACTIONS, burn_in=4, seq_len=6, n_step=2)
    batch = writer_batch(agent, np.random.default_rng(0), size=5, first=[4] * 5, end=[6] * 5)
    assert recurrent_slots(agent, batch) == 2 * 5 * 4


def test_a_sequence_with_a_stored_state_runs_each_slot_once_per_network():
    agent = recurrent(OBS, ACTIONS, burn_in=4, seq_len=6, n_step=2)
    batch = writer_batch(agent, np.random.default_rng(0), size=5, first=[0] * 5, end=[20] * 5)
    assert recurrent_slots(agent, batch) == 2 * 5 * 12


@pytest.mark.parametrize("policy", ["lstm", "gru"])
def test_acting_is_the_one_step_pass_without_a_sequence_pass(policy, monkeypatch):
    """Q-values and memories from act_to_learn equal the network's own pass over one step with the
    memory reset where an episode begins; and no sequence pass of the core runs while acting."""
    agent = recurrent(OBS, ACTIONS, seed=1, policy=policy, num_envs=3)
    agent.begin_memories()
    agent.starts = np.ones(3, bool)
    agent.epsilon = 0.0
    rng = np.random.default_rng(0)
    memory = None
    for t in range(6):
        obs = rng.normal(size=(3, 3)).astype(np.float32)
        with torch.no_grad():
            state = agent.q.reset(memory, agent.starts)
            q, memory = agent.q(obs[:, None], state)
        expected_rows = agent.q.rows(state)
        monkeypatch.setattr(type(agent.q.net.core), "forward", lambda *a, **k: pytest.fail("a sequence pass"))
        actions = agent.act_to_learn(obs, [None] * 3)
        monkeypatch.undo()
        np.testing.assert_allclose(agent.acting_state, expected_rows, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(actions, q[:, 0].argmax(1).numpy())
        agent.starts = rng.random(3) < 0.3


def test_without_burn_in_a_sequence_that_begins_its_episode_starts_from_zero():
    """--burn-in 0: an episode beginning on slot 0 zeroes the memory there, whatever state is stored."""
    agent = recurrent(OBS, ACTIONS, seed=2, burn_in=0, seq_len=5, n_step=2)
    rng = np.random.default_rng(3)
    batch = writer_batch(agent, rng, size=8, first=[0] * 8)
    starts = batch.starts.copy()
    starts[::2, 0] = True
    batch = batch._replace(starts=starts, stored_state=rng.normal(size=batch.stored_state.shape).astype(np.float32))
    loss, td, valid = agent.loss(batch)
    ref_loss, ref_td, _ = old_loss(agent, batch)
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-5)
    np.testing.assert_allclose((td * valid).numpy(), (ref_td * valid).numpy(), rtol=1e-5, atol=1e-6)
