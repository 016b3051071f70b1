"""Replay: the sum tree samples in proportion to priority; n-step transitions are exact."""

import numpy as np
import pytest

from gymlab.agents.replay import NStep, PrioritizedReplayBuffer, ReplayBuffer, SumTree


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


# ------------------------------------------------------------------ issue 10: weights over the whole buffer
def filled(priorities, capacity=None, alpha=1.0, seed=0):
    buf = PrioritizedReplayBuffer(capacity or len(priorities), (1,), np.float32, 2, False,
                                  np.random.default_rng(seed), alpha=alpha)
    for i in range(len(priorities)):
        buf.add(np.array([i]), 0, 0.0, np.array([i]), 0.99)
    buf.update_priorities(np.arange(len(priorities)), np.asarray(priorities) - buf.eps)
    return buf


def test_importance_weights_are_normalised_by_the_smallest_priority_in_the_buffer():
    """w_i = (N P(i))^-beta / max_j (N P(j))^-beta, the max over the whole buffer: that of the least
    likely transition (Schaul et al. 2016), not of the batch. By hand, alpha = 1, beta = 1/2:
    p = 1, 2, 4, 8 (total 15), so w_i = (p_i / 1)^-1/2 whichever items the batch holds."""
    buf = filled([1.0, 2.0, 4.0, 8.0])
    by_hand = {0: 1.0, 1: 2 ** -0.5, 2: 0.5, 3: 8 ** -0.5}
    for _ in range(50):
        batch = buf.sample(1, beta=0.5)  # one item: normalised by the batch, its weight would be 1
        assert batch.weights[0] == pytest.approx(by_hand[int(batch.index[0])], rel=1e-5)
    # alpha = 0.5 changes P(i) to p_i^alpha / sum_k p_k^alpha: w_i = (p_i / p_min)^(-alpha beta).
    buf = filled([1.0, 2.0, 4.0, 8.0], alpha=0.5)
    batch = buf.sample(64, beta=1.0)
    np.testing.assert_allclose(batch.weights, (np.array([1.0, 2.0, 4.0, 8.0])[batch.index]) ** -0.5, rtol=1e-5)


def test_the_smallest_priority_follows_overwrites_and_updates():
    buf = filled([0.5, 4.0, 2.0], capacity=3)
    buf.add(np.array([9]), 0, 0.0, np.array([9]), 0.99)  # the ring overwrites item 0 (p 0.5) with p_max = 4
    for _ in range(20):  # priorities now 4, 4, 2: the least is 2 (one item a batch, so not the batch's)
        batch = buf.sample(1, beta=1.0)
        assert batch.weights[0] == pytest.approx(2.0 / [4.0, 4.0, 2.0][batch.index[0]], rel=1e-5)
    buf.update_priorities(np.array([1]), np.array([0.25 - buf.eps]))  # lowered below every other
    for _ in range(20):
        batch = buf.sample(1, beta=1.0)
        assert batch.weights[0] == pytest.approx(0.25 / [4.0, 0.25, 2.0][batch.index[0]], rel=1e-5)


# ------------------------------------------------------------------ issue 10: the sum tree finds stored items
def test_sum_tree_find_never_lands_on_an_empty_leaf():
    # Prefix sums 0.3, 0.6, 1.7000000000000002: rounding carries the value just below the total past
    # item 2's interval, into the empty leaf 3; values at or past the total are clamped to the last item.
    tree = SumTree(4)
    tree.set(np.arange(3), np.array([0.3, 0.3, 1.1]))
    total = tree.total
    assert tree.find(np.array([np.nextafter(total, 0), total, 2 * total])).tolist() == [2, 2, 2]
    rng = np.random.default_rng(0)
    for _ in range(300):
        capacity = int(rng.integers(2, 300))
        size = int(rng.integers(1, capacity + 1))
        tree = SumTree(capacity)
        tree.set(np.arange(size), rng.random(size) ** rng.uniform(0.1, 5) * 10 ** rng.uniform(-6, 3) + 1e-300)
        total = tree.total
        value = np.concatenate([rng.uniform(0, total, 100), total - np.abs(rng.normal(0, 1e-12 * total, 50))])
        index = tree.find(np.clip(value, 0, np.nextafter(total, 0)))
        assert (index < size).all() and (tree.get(index) > 0).all()


def test_sampled_items_are_stored_and_weighted_by_their_own_probability():
    """Many samples over random priorities, with part of the buffer still empty: each index is a
    stored item, and its weight is the one of P(i) = p_i^alpha / sum_k p_k^alpha."""
    rng = np.random.default_rng(1)
    for trial in range(30):
        capacity = int(rng.integers(3, 200))
        size = int(rng.integers(1, capacity + 1))
        priorities = rng.random(size) * 10 ** rng.uniform(-3, 3, size) + 1e-3
        buf = PrioritizedReplayBuffer(capacity, (1,), np.float32, 2, False, np.random.default_rng(trial), alpha=0.7)
        for i in range(size):
            buf.add(np.array([i]), 0, 0.0, np.array([i]), 0.99)
        buf.update_priorities(np.arange(size), priorities - buf.eps)
        p = priorities ** 0.7
        prob = p / p.sum()
        for _ in range(20):
            batch = buf.sample(64, beta=0.6)
            assert (batch.index >= 0).all() and (batch.index < size).all()
            w = (size * prob[batch.index]) ** -0.6 / (size * prob.min()) ** -0.6
            np.testing.assert_allclose(batch.weights, w, rtol=1e-4)


@pytest.mark.parametrize("prioritized", [False, True])
def test_sampling_an_empty_buffer_is_refused(prioritized):
    from gymlab.agents.replay import ReplayBuffer
    cls = PrioritizedReplayBuffer if prioritized else ReplayBuffer
    buf = cls(8, (1,), np.float32, 2, False, np.random.default_rng(0))
    with pytest.raises(ValueError, match="empty"):
        buf.sample(4)


def test_a_slot_written_without_a_mask_allows_every_action():
    """Found in review: a transition stored without a mask kept the mask of the slot's previous
    occupant (the ring wraps), so its target maxed over a stale set of actions."""
    buffer = ReplayBuffer(1, (2,), np.float32, 3, True, np.random.default_rng(0))
    obs = np.zeros(2, np.float32)
    buffer.add(obs, 0, 0.0, obs, 0.9, next_mask=np.array([True, False, False]))
    buffer.add(obs, 1, 1.0, obs, 0.9)  # overwrites the one slot, with no mask
    assert buffer.sample(1).next_masks.tolist() == [[True, True, True]]
