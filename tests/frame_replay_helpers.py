"""Comparisons shared by the frame replay's tests (tests/test_frame_replay.py,
tests/test_frame_replay_dqn.py)."""

import numpy as np

from gymlab.agents.frame_replay import FramePrioritizedReplayBuffer


def same(x, y, what: str) -> None:
    if not np.array_equal(x, y):  # (numpy's assertion, which says where they differ, only then: it is slow)
        np.testing.assert_array_equal(x, y, err_msg=what)


def same_buffer(a, b) -> None:
    assert (a.capacity, a.length, a.num_envs, a.history, a.size) == (b.capacity, b.length, b.num_envs, b.history,
                                                                        b.size)
    for name in ("frames", "age", "offset", "actions", "rewards", "discounts", "written", "next_masks"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    if isinstance(a, FramePrioritizedReplayBuffer):
        np.testing.assert_array_equal(a.tree.tree, b.tree.tree)
        np.testing.assert_array_equal(a.min_tree.tree, b.min_tree.tree)
        assert a.max_priority == b.max_priority
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
