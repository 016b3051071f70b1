"""Replay: the sum tree samples in proportion to priority; n-step transitions are exact."""

import numpy as np
import pytest

from gymlab.agents.replay import NStep, PrioritizedReplayBuffer, SumTree


def test_sum_tree_sums_and_finds():
    tree = SumTree(5)
    tree.set(np.arange(5), np.array([1.0, 2.0, 3.0, 4.0, 0.0]))
    assert tree.total == 10.0
    # Prefix sums 1, 3, 6, 10: each value lands in its leaf's interval.
    assert tree.find(np.array([0.0, 0.99, 1.0, 2.99, 3.0, 5.99, 6.0, 9.99])).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    tree.set(np.array([1, 1]), np.array([7.0, 7.0]))  # a repeated index must not be counted twice
    assert tree.total == 15.0


def test_prioritized_sampling_is_proportional_to_priority():
    rng = np.random.default_rng(0)
    buf = PrioritizedReplayBuffer(8, (1,), np.float32, 2, False, rng, alpha=1.0)
    for i in range(8):
        buf.add(np.array([i]), 0, 0.0, np.array([i]), 0.99)
    priorities = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    buf.update_priorities(np.arange(8), priorities - buf.eps)
    counts = np.zeros(8)
    for _ in range(2000):
        counts += np.bincount(buf.sample(32).index, minlength=8)
    expected = priorities / priorities.sum()
    np.testing.assert_allclose(counts / counts.sum(), expected, atol=0.01)


def test_importance_weights():
    rng = np.random.default_rng(0)
    buf = PrioritizedReplayBuffer(4, (1,), np.float32, 2, False, rng, alpha=1.0)
    for i in range(4):
        buf.add(np.array([i]), 0, 0.0, np.array([i]), 0.99)
    buf.update_priorities(np.arange(4), np.array([1.0, 1.0, 1.0, 5.0]) - buf.eps)
    batch = buf.sample(64, beta=1.0)
    p = np.array([1.0, 1.0, 1.0, 5.0])[batch.index] / 8.0
    w = (4 * p) ** -1.0
    np.testing.assert_allclose(batch.weights, w / w.max(), rtol=1e-5)
    assert sorted(set(np.round(batch.weights.astype(float), 4))) == [0.2, 1.0]


def test_n_step_returns_and_discounts():
    g = 0.9
    ns = NStep(3, g)
    out = []
    for t in range(4):  # rewards 1, 2, 3, 4; the 4th step terminates
        out += ns.push(t, t, float(t + 1), t + 1, terminated=(t == 3), truncated=False)
    assert [(o[0], o[3]) for o in out] == [(0, 3), (1, 4), (2, 4), (3, 4)]
    assert out[0][2] == pytest.approx(1 + g * 2 + g * g * 3) and out[0][4] == pytest.approx(g ** 3)
    assert out[1][2] == pytest.approx(2 + g * 3 + g * g * 4) and out[1][4] == 0.0  # ended: no bootstrap
    assert out[3][2] == pytest.approx(4.0) and out[3][4] == 0.0


def test_n_step_truncation_still_bootstraps():
    g = 0.9
    ns = NStep(3, g)
    out = ns.push(0, 0, 1.0, 1, terminated=False, truncated=False)
    out += ns.push(1, 1, 1.0, 2, terminated=False, truncated=True)
    assert [o[4] for o in out] == [pytest.approx(g ** 2), pytest.approx(g)]  # cut by a time limit: s' has a value
