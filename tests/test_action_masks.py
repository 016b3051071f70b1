"""One rule for action masks (issue 22): "the mask, or every action if there is none or it allows
nothing" lives in ``agents.action_masks.allowed``, and every agent that reads a mask asks it."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gymlab.agents import action_masks
from gymlab.agents.action_masks import allowed


def reference(mask, n):
    """Brute force, one mask at a time."""
    if mask is None or len(mask) == 0 or not any(bool(x) for x in mask):
        return [True] * n
    return [bool(x) for x in mask]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(st.just(n), st.one_of(
    st.none(), st.just([]), st.just([0] * n), hnp.arrays(bool, n), st.lists(st.booleans(), min_size=n, max_size=n)))))
def test_one_mask(case):
    n, mask = case
    out = allowed(mask, n)
    assert out.dtype == bool and out.shape == (n,)
    assert out.tolist() == reference(mask, n)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.one_of(st.none(), hnp.arrays(bool, n)), min_size=1, max_size=6))))
def test_a_batch_of_masks_each_row_alone(case):
    n, rows = case
    out = allowed(rows, n)
    assert out.shape == (len(rows), n)
    assert out.tolist() == [reference(m, n) for m in rows]
    if all(m is not None for m in rows):  # the same as one (rows, n) array, and as a (1, rows, n) one
        assert allowed(np.array(rows), n).tolist() == out.tolist()
        assert allowed(np.array(rows)[None], n)[0].tolist() == out.tolist()


def test_edge_cases_by_hand():
    assert allowed(None, 3).tolist() == [True] * 3
    assert allowed([], 3).tolist() == [True] * 3
    assert allowed(np.zeros(3, bool), 3).tolist() == [True] * 3
    assert allowed([0, 1, 0], 3).tolist() == [False, True, False]
    assert allowed([[0, 0], [1, 0]], 2).tolist() == [[True, True], [True, False]]
    assert allowed([None, [0, 1]], 2).tolist() == [[True, True], [False, True]]


# ------------------------------------------------------------------ every reader delegates to it
VECTOR = spaces.Box(-1.0, 1.0, (4,), np.float32)
MASKS = [None, np.zeros(3, bool), np.array([False, True, True])]


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def spy(mask, n):
        seen.append(n)
        return allowed(mask, n)

    monkeypatch.setattr(action_masks, "allowed", spy)
    return seen


def _dqn(policy="mlp"):
    from gymlab.agents.dqn import DQN, DQNConfig

    return DQN(VECTOR, spaces.Discrete(3), DQNConfig(hidden=(8,), policy=policy), seed=0)


def _check(calls, act):
    """``act(mask)`` asks ``allowed`` for every mask, and its actions stay inside the allowed ones."""
    for mask in MASKS:
        calls.clear()
        actions = {int(act(mask)) for _ in range(30)}
        assert calls, "did not ask action_masks.allowed"
        assert actions <= set(np.flatnonzero(allowed(mask, 3)).tolist())


def test_dqn_acting_asks_it(calls):
    agent = _dqn()
    agent.epsilon = 0.5
    _check(calls, lambda m: agent.predict(np.zeros(4, np.float32), action_mask=m)[0])


def test_recurrent_dqn_acting_asks_it(calls):
    agent = _dqn("gru")
    agent.epsilon = 0.5
    _check(calls, lambda m: agent.predict(np.zeros(4, np.float32), action_mask=m)[0])


def test_dqn_target_asks_it(calls):
    from gymlab.agents.dqn import masked

    q = torch.tensor([[1.0, 5.0, 2.0], [1.0, 5.0, 2.0]])
    out = masked(q, np.array([[True, False, True], [False, False, False]]))
    assert calls and out.argmax(1).tolist() == [2, 1]


def test_step_outputs_asks_it(calls):
    from gymlab.agents.reinforce import Reinforce, ReinforceConfig

    agent = Reinforce(VECTOR, spaces.Discrete(3), ReinforceConfig(), seed=0)
    _check(calls, lambda m: agent.predict(np.zeros(4, np.float32), action_mask=m)[0])


def test_rollout_acting_asks_it(calls):
    from gymlab.agents.torch_agent import Rollout

    class Net:
        def __call__(self, obs, memory, starts):
            return torch.tensor([[9.0, 1.0, 2.0]] * len(obs)), None

    class Env:
        action_space = spaces.Discrete(3)

    rollout = Rollout.__new__(Rollout)
    rollout.net, rollout.memory, rollout.version, rollout.choose = Net(), None, lambda: 0, lambda out: out.argmax(1)
    for mask, best in zip(MASKS, [0, 0, 2]):  # outputs 9, 1, 2: the best allowed action
        calls.clear()
        assert int(rollout._act_single(np.zeros(4), {"action_mask": mask})) == best
        assert calls
    calls.clear()
    info = {"action_mask": np.array([np.zeros(3, bool) if m is None else m for m in MASKS]),
            "_action_mask": np.array([m is not None for m in MASKS])}  # env 0 gave none
    assert rollout._act_vector(np.zeros((3, 4)), np.zeros(3, bool), info).tolist() == [0, 0, 2]
    assert calls


def test_q_learning_asks_it(calls):
    from gymlab.agents.q_learning import QConfig, QLearning

    agent = QLearning(spaces.Discrete(2), spaces.Discrete(3), QConfig(), seed=0)
    agent.epsilon = 0.5
    _check(calls, lambda m: agent.predict(0, action_mask=m)[0])


def test_random_agent_asks_it(calls):
    """(With no mask at all it samples its space as Gymnasium does, asking nothing.)"""
    from gymlab.agents.random_agent import RandomAgent

    agent = RandomAgent(spaces.Discrete(2), spaces.Discrete(3), seed=0)
    for mask in MASKS[1:]:
        calls.clear()
        actions = {int(agent.predict(0, action_mask=mask)[0]) for _ in range(60)}
        assert calls, "did not ask action_masks.allowed"
        assert actions == set(np.flatnonzero(allowed(mask, 3)).tolist())
