"""Prioritised replay and n-step returns checked by their values (issue 22): a new transition enters
with the largest priority seen so far (a running max, not the last batch's), and a window cut short
by the episode's end is discounted by gamma^k for its k steps."""

from __future__ import annotations

import numpy as np
import pytest

from gymlab.agents.replay import NStep, PrioritizedReplayBuffer


def test_a_new_transition_enters_with_the_largest_priority_seen_so_far():
    """alpha 0.5, eps 1e-6. Three items (priority 1 each); item 0's |TD| set to 4, then item 1's to
    0.25: the largest seen is still 4 + eps, so an item added after them holds (4 + eps)^0.5 = 2.0000..,
    and is drawn with probability 2 / (2 + 0.5 + 1 + 2)."""
    alpha, eps = 0.5, 1e-6
    buffer = PrioritizedReplayBuffer(8, (1,), np.float32, 2, False, np.random.default_rng(0), alpha=alpha, eps=eps)
    for i in range(3):
        buffer.add(np.array([i], np.float32), 0, 0.0, np.array([i], np.float32), 0.9)
    np.testing.assert_allclose(buffer.tree.get(np.arange(3)), 1.0)
    buffer.update_priorities(np.array([0]), np.array([-4.0]))
    buffer.update_priorities(np.array([1]), np.array([0.25]))
    assert buffer.max_priority == pytest.approx(4.0 + eps, rel=1e-12)
    buffer.add(np.array([3], np.float32), 1, 0.0, np.array([3], np.float32), 0.9)
    leaves = buffer.tree.get(np.arange(4))
    np.testing.assert_allclose(leaves, [(4 + eps) ** 0.5, (0.25 + eps) ** 0.5, 1.0, (4 + eps) ** 0.5], rtol=1e-9)
    assert buffer.tree.total == pytest.approx(leaves.sum(), rel=1e-12)
    counts = np.bincount(buffer.sample(4000, beta=1.0).index, minlength=4)  # stratified draws
    np.testing.assert_allclose(counts / 4000, leaves / leaves.sum(), atol=0.01)


@pytest.mark.parametrize("ending", ["terminated", "truncated"])
def test_a_window_cut_short_by_the_end_is_discounted_by_gamma_to_its_length(ending):
    """n = 3, gamma 0.5, rewards 1, 2, 4 then the episode ends at step 3 (of a 4-step window): the
    transitions are (s0, 1 + 0.5*2 + 0.25*4, 0.125), (s1, 2 + 0.5*4, 0.25) and (s2, 4, 0.5) after a
    truncation, discount 0 after a termination; a whole window earlier gives 0.5^3."""
    n_step = NStep(3, 0.5)
    out = []
    for t, r in enumerate([1.0, 2.0, 4.0, 8.0]):
        end = t == 3
        out += n_step.push(f"s{t}", t, r, f"s{t + 1}", end and ending == "terminated", end and ending == "truncated")
    got = [(obs, ret, next_obs, discount) for obs, _, ret, next_obs, discount, _ in out]
    last = (lambda d: 0.0) if ending == "terminated" else (lambda d: d)
    assert got == [("s0", 1 + 1 + 1, "s3", 0.125),
                   ("s1", 2 + 2 + 2, "s4", last(0.125)),
                   ("s2", 4 + 4, "s4", last(0.25)),
                   ("s3", 8.0, "s4", last(0.5))]
