"""The recurrent replay's episode ends (issue 22): one padded final sequence, as DeepMind Acme's
sequence adder writes it (pad at the end, the padding masked out of the loss), instead of a
redundant one whose trained steps another sequence already holds (on Recall: half the stored
sequences, the answer step sampled twice as often)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

import gymlab  # noqa: F401  (registers gymlab/Recall-v0)
from gymlab import agents
from gymlab.agents.dqn import DQNConfig
from gymlab.agents.sequence_replay import SequenceReplayBuffer, SequenceWriter


def _episode(writer: SequenceWriter, steps: int, terminated: bool = True) -> list[dict]:
    out = []
    for s in range(steps):
        end = s == steps - 1
        out += writer.push(np.array([s], np.float32), action=s % 2, reward=float(s), terminated=end and terminated,
                           truncated=end and not terminated, state=np.zeros((1, 1), np.float32),
                           next_obs=np.array([s + 1], np.float32))
    return out


def _starts_needed(steps: int, seq_len: int, period: int) -> list[int]:
    """The reference: the period's grid 0, p, 2p, ..., up to the first start whose trained part reaches
    the episode's last step (every step trained, in as few sequences as the grid allows)."""
    starts = [0]
    while starts[-1] + seq_len < steps:
        starts.append(starts[-1] + period)
    return starts


def _trained_start(seq: dict, burn_in: int) -> int:
    held = np.flatnonzero(seq["valid"])
    return int(seq["obs"][held[0], 0]) - int(held[0]) + burn_in


@pytest.mark.parametrize("seq_len,overlap,burn_in,n_step", [(16, 8, 4, 3), (5, 2, 0, 1), (4, 0, 2, 3), (6, 5, 1, 2),
                                                            (3, 1, 0, 4), (1, 0, 0, 1)])
@pytest.mark.parametrize("terminated", [True, False])
def test_an_episode_is_cut_into_as_few_sequences_as_cover_it(seq_len, overlap, burn_in, n_step, terminated):
    period = seq_len - overlap
    for steps in range(1, 40):
        seqs = _episode(SequenceWriter(burn_in, seq_len, overlap, n_step), steps, terminated)
        starts = [_trained_start(s, burn_in) for s in seqs]
        assert starts == _starts_needed(steps, seq_len, period), steps
        assert len(seqs) == max(1, 1 + math.ceil((steps - seq_len) / period)), steps
        padded = [s for s in seqs if not s["valid"][burn_in:].all()]
        if steps <= seq_len:  # e.g. Recall's 12 steps in sequences of 16: one sequence, padded at the end
            assert len(seqs) == 1 and len(padded) == 1
        if n_step == 1:  # no look-ahead to fill: only the last sequence reaches past the episode's end
            assert len(padded) <= 1 and (not padded or padded[-1] is seqs[-1])


def test_recalls_answer_step_is_in_exactly_one_stored_sequence():
    """Recall (delay 10: 12 steps) with the tuned entry's sequences (16, overlap 8, burn-in 4, 3-step):
    one sequence an episode, and the answer step trained in exactly one."""
    seq_len, overlap, burn_in, n_step, steps = 16, 8, 4, 3, 12
    seqs = _episode(SequenceWriter(burn_in, seq_len, overlap, n_step), steps)
    assert len(seqs) == 1
    trained = [s["obs"][burn_in:burn_in + seq_len, 0][s["valid"][burn_in:burn_in + seq_len]] for s in seqs]
    assert sum(int((t == steps - 1).sum()) for t in trained) == 1


def test_the_padding_is_masked_out_of_the_loss():
    """The padded slots of the final sequence carry no loss: whatever they hold (actions, rewards),
    the loss and the TD errors at the steps are the same, and their own TD errors are masked."""
    env = gym.make("gymlab/Recall-v0")
    agent = agents.get("dqn")(env.observation_space, env.action_space,
                              DQNConfig(policy="lstm", hidden=(8,), seq_len=16, burn_in=4, n_step=3), seed=0)
    seq_len, burn_in, n_step = 16, 4, 3
    length = burn_in + seq_len + n_step
    obs, _ = env.reset(seed=0)
    writer, seqs, done, state = SequenceWriter(burn_in, seq_len, 8, n_step), [], False, np.zeros((2, 8), np.float32)
    while not done:
        action = env.action_space.sample()
        next_obs, reward, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
        seqs += writer.push(obs, action, reward, terminated, truncated, state, next_obs=next_obs)
        obs = next_obs
    assert len(seqs) == 1
    buffer = SequenceReplayBuffer(4, length, env.observation_space.shape, np.float32, env.action_space.n, False,
                                  (2, 8), np.random.default_rng(0))
    buffer.add(seqs[0])
    batch = buffer._batch(np.array([0]), np.ones(1, np.float32))
    assert not batch.valid[0, burn_in + 12:].any()  # 12 steps, then padding
    loss, td, valid = agent.loss(batch)
    np.testing.assert_array_equal(valid.numpy()[0], batch.valid[0, burn_in:burn_in + seq_len])
    junk = batch._replace(actions=np.where(batch.valid, batch.actions, 3), rewards=np.where(batch.valid, batch.rewards,
                                                                                             1e3).astype(np.float32))
    loss2, td2, _ = agent.loss(junk)
    assert torch.equal(loss, loss2)
    steps = valid.bool()
    assert torch.equal(td[steps], td2[steps])
