"""The recurrent DQN's sequence loss checked by its value (issue 22): a hand-built batch of sequences
with known importance weights and padding, against sum_i w_i sum_t valid_it l(delta_it) / sum valid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from gymlab.agents.dqn import DQN, DQNConfig
from gymlab.agents.recurrent_dqn import RecurrentDQN
from gymlab.agents.sequence_replay import SequenceBatch

OBS = spaces.Box(-1.0, 1.0, (3,), np.float32)


def huber(x):
    return np.where(np.abs(x) < 1.0, 0.5 * x ** 2, np.abs(x) - 0.5)


@pytest.mark.parametrize("use_huber", [False, True])
def test_the_sequence_loss_weights_each_sequence_by_its_importance_weight(use_huber):
    """4 sequences (burn-in 2, 3 trained steps, n = 1), sequence 3 with its last trained step padding,
    IS weights 1, 0.5, 2 and 0.25. The TD errors delta_it do not depend on the weights; the loss must
    be sum_i w_i sum_t valid_it l(delta_it) / sum_it valid_it."""
    config = DQNConfig(policy="gru", hidden=(8,), burn_in=2, seq_len=3, n_step=1, huber=use_huber, prioritized=True)
    agent = DQN(OBS, spaces.Discrete(3), config, seed=0)
    assert type(agent) is RecurrentDQN
    for p in agent.q_target.parameters():  # TD errors above 1 and below
        p.data.normal_(0.0, 1.5, generator=torch.Generator().manual_seed(2))
    rng = np.random.default_rng(0)
    b, length = 4, 2 + 3 + 1
    valid = np.ones((b, length), bool)
    valid[3, 4:] = False  # sequence 3: its last trained step and the look-ahead are padding
    terminated = np.zeros((b, length), bool)
    terminated[3, 3] = True  # ... because its episode ended there
    weights = np.array([1.0, 0.5, 2.0, 0.25], np.float32)
    batch = SequenceBatch(np.arange(b), rng.normal(size=(b, length, 3)).astype(np.float32),
                          rng.integers(0, 3, (b, length)), rng.normal(size=(b, length)).astype(np.float32),
                          terminated, valid, np.zeros((b, length), bool), None,
                          rng.normal(size=(b, 1, 8)).astype(np.float32), weights)
    loss, td, trained = agent.loss(batch)
    td, trained = td.numpy(), trained.numpy()
    assert trained.sum() == 11  # 4 x 3 trained slots, one of them padding
    per_step = huber(td) if use_huber else td ** 2
    expected = (weights[:, None] * trained * per_step).sum() / trained.sum()
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert loss.item() != pytest.approx((trained * per_step).sum() / trained.sum(), rel=1e-3)  # weights matter
    # and the TD errors are the batch's own, not something weighted: unit weights give the same ones
    _, td_unit, _ = agent.loss(batch._replace(weights=np.ones(b, np.float32)))
    np.testing.assert_allclose(td_unit.numpy(), td, rtol=0, atol=0)
