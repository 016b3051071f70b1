"""sb3-contrib's RecurrentPPO behind gymlab's calls (``--agent sb3-recurrent-ppo``): its config
mirrors RecurrentPPO's own defaults, its LSTM's memory travels in ``predict``'s ``state`` (and
gymlab's greedy evaluation carries it from step to step), a checkpoint round-trips it exactly,
seeded runs repeat, and what it cannot act in is refused in one line.

Small networks and rollouts throughout, so each test takes seconds on one thread."""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import gymlab  # noqa: F401  (registers gymlab/Recall-v0)
from gymlab import agents
from gymlab.agents import SpaceError
from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.rollout import evaluate
from gymlab.agents.sb3_agents import WRAPPER_FIELDS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NAME = "sb3-recurrent-ppo"
SMALL = dict(n_steps=64, batch_size=64, n_epochs=2, lstm_hidden_size=16, net_arch=(16,))
N_SYMBOLS = 4  # Recall's default: observations are (symbol one-hot, blank, query), 6 numbers


def recall(**kwargs):
    return gym.make("gymlab/Recall-v0", **kwargs)


def make(seed=0, **overrides):
    env = recall()
    cls = agents.get(NAME)
    return cls(env.observation_space, env.action_space, cls.Config(**{**SMALL, **overrides}), seed=seed), env


def trained(seed=0, steps=128, **overrides):
    agent, env = make(seed, **overrides)
    agent.learn(env, Budget(steps=steps), RunLogger(progress=False))
    return agent, env


def one_hot(i: int) -> np.ndarray:
    obs = np.zeros(N_SYMBOLS + 2, np.float32)
    obs[i] = 1.0
    return obs


SYMBOL = [one_hot(k) for k in range(N_SYMBOLS)]
BLANK, QUERY = one_hot(N_SYMBOLS), one_hot(N_SYMBOLS + 1)


def play(agent, observations, deterministic=True):
    """``predict`` along ``observations`` as one episode, carrying the state: the actions and states."""
    state, actions, states = None, [], []
    for t, obs in enumerate(observations):
        action, state = agent.predict(obs, state, episode_start=np.array([t == 0]), deterministic=deterministic)
        actions.append(action)
        states.append(state)
    return actions, states


# ------------------------------------------------------------------ registry and config
def test_it_is_registered_and_its_config_mirrors_recurrent_ppo():
    from sb3_contrib import RecurrentPPO
    from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy

    assert NAME in agents.names()
    cls = agents.get(NAME)
    assert cls.name == NAME
    ours = dataclasses.asdict(cls.Config())
    theirs = {**inspect.signature(RecurrentPPO.__init__).parameters,
              **inspect.signature(RecurrentActorCriticPolicy.__init__).parameters}
    for field, value in ours.items():
        if field in WRAPPER_FIELDS:  # not RecurrentPPO's (net_arch: None there means (64, 64) here)
            continue
        assert theirs[field].default == value, f"{field}: ours {value!r}, RecurrentPPO's {theirs[field].default!r}"
    assert ours["n_steps"] == 128 and ours["batch_size"] == 128 and ours["lstm_hidden_size"] == 256


def test_config_rules_between_fields():
    cls = agents.get(NAME).Config
    with pytest.raises(ValueError, match="--n-steps.*--batch-size.*1 step") as err:
        cls(n_steps=65, batch_size=64)  # a last minibatch of one step: NaN weights in RecurrentPPO
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="--shared-lstm needs --no-enable-critic-lstm"):
        cls(shared_lstm=True)
    cls(shared_lstm=True, enable_critic_lstm=False)
    with pytest.raises(ValueError, match="--batch-size.*--n-steps"):
        cls(n_steps=64, batch_size=65)


def test_a_last_minibatch_of_two_steps_keeps_the_weights_finite():
    """The neighbour of the refused n_steps % batch_size == 1: accepted, and it learns without NaN."""
    agent, _ = trained(steps=66, n_steps=66, batch_size=64, n_epochs=1)
    assert all(np.isfinite(a).all() for a in agent.state_arrays().values())


# ------------------------------------------------------------------ the LSTM's state
def test_the_state_carries_the_symbol_to_the_query():
    """At the query the observation is the same whatever the symbol was: only the carried state
    tells them apart. With the state carried, the four symbols leave four different memories and
    four different action distributions; with the state dropped at the query, they are identical."""
    agent, _ = make(seed=0)
    policy, delay = agent.model.policy, 3
    memories, probs = [], []
    for k in range(N_SYMBOLS):
        _, states = play(agent, [SYMBOL[k]] + [BLANK] * delay + [QUERY])
        hidden, cell = states[-2]  # the memory the query is read with
        assert hidden.shape == cell.shape == (1, 1, 16)
        memories.append(states[-1][0].ravel())
        with torch.no_grad():
            dist, _ = policy.get_distribution(torch.as_tensor(QUERY[None]), (torch.as_tensor(hidden),
                                              torch.as_tensor(cell)), torch.zeros(1))
        probs.append(dist.distribution.probs[0].numpy())
    for i in range(N_SYMBOLS):
        for j in range(i):
            assert not np.allclose(memories[i], memories[j], atol=1e-6), (i, j)
            assert not np.allclose(probs[i], probs[j], atol=1e-7), (i, j)
    # Without the state (as if it were reset every step), every symbol gives the same answer.
    dropped = [agent.predict(QUERY, None, np.array([False]), deterministic=True)[1][0] for _ in range(N_SYMBOLS)]
    assert all(np.array_equal(d, dropped[0]) for d in dropped)
    assert not np.allclose(dropped[0].ravel(), memories[0], atol=1e-6)


def test_episode_start_clears_the_state():
    agent, _ = make(seed=0)
    _, states = play(agent, [SYMBOL[2], BLANK, BLANK])
    carried = agent.predict(SYMBOL[1], states[-1], np.array([True]), deterministic=True)[1]
    fresh = agent.predict(SYMBOL[1], None, np.array([True]), deterministic=True)[1]
    assert all(np.array_equal(a, b) for a, b in zip(carried, fresh))


def test_greedy_evaluation_carries_the_state_through_each_episode():
    """``agents/rollout.py``'s ``evaluate`` hands each step the state the previous step returned,
    and sets episode_start on each episode's first step only: the memory is used, never reset
    mid-episode."""
    agent, env = make(seed=0)
    calls = []
    predict = agent.predict

    def spy(obs, state=None, episode_start=None, deterministic=False, action_mask=None):
        action, new_state = predict(obs, state, episode_start, deterministic, action_mask)
        calls.append((state, bool(np.asarray(episode_start).item()), new_state))
        return action, new_state

    agent.predict = spy
    delay = 10  # Recall's default: 12 steps an episode
    _, lengths = evaluate(agent, env, 2, seed=0)
    assert list(lengths) == [delay + 2] * 2 and len(calls) == 2 * (delay + 2)
    for t, (state, start, _) in enumerate(calls):
        first = t % (delay + 2) == 0
        assert start == first
        if first:
            assert state is None  # a new episode starts with a clear memory
        else:
            assert state is calls[t - 1][2]  # exactly the state the last step gave back
            assert not np.array_equal(state[0], np.zeros_like(state[0]))


# ------------------------------------------------------------------ checkpoints and seeds
def test_a_checkpoint_round_trip_acts_identically_over_episodes(tmp_path):
    agent, env = trained(seed=3)
    path = tmp_path / "checkpoint.npz"
    agent.save(path)
    with np.load(path, allow_pickle=False) as data:  # gymlab's npz: no pickle
        assert any(k.startswith("policy/lstm_actor.") for k in data.files)
    cls = agents.get(NAME)
    for loaded in (cls.load(path, env.observation_space, env.action_space), cls.load(path)):
        assert loaded.config == agent.config
        for symbol in range(N_SYMBOLS):
            episode = [SYMBOL[symbol]] + [BLANK] * 10 + [QUERY]
            actions, states = play(agent, episode)
            actions_, states_ = play(loaded, episode)
            assert actions == actions_
            for s, s_ in zip(states, states_):
                assert all(np.array_equal(a, b) for a, b in zip(s, s_))
        returns, lengths = evaluate(agent, env, 4, seed=10)
        returns_, lengths_ = evaluate(loaded, env, 4, seed=10)
        assert np.array_equal(returns, returns_) and np.array_equal(lengths, lengths_)


def test_seeded_runs_repeat_exactly():
    first, second, other = (trained(seed=s)[0].state_arrays() for s in (5, 5, 6))
    assert first.keys() == second.keys()
    assert all(np.array_equal(first[k], second[k]) for k in first)
    assert any(not np.array_equal(first[k], other[k]) for k in first)


def test_a_shared_lstm_learns_and_carries_its_state():
    agent, _ = trained(steps=64, shared_lstm=True, enable_critic_lstm=False)
    assert not any(k.startswith("policy/lstm_critic.") for k in agent.state_arrays())
    _, states = play(agent, [SYMBOL[0], BLANK, QUERY])
    assert not np.array_equal(states[1][0], states[2][0])


# ------------------------------------------------------------------ spaces
@pytest.mark.parametrize("obs_space,action_space,words", [
    (spaces.Dict({"x": spaces.Box(-1, 1, (2,))}), spaces.Discrete(2), ["Box or Discrete observations", "Dict"]),
    (spaces.Box(-1, 1, (2,)), spaces.Tuple([spaces.Discrete(2)]),
     ["Box, Discrete, MultiDiscrete or MultiBinary action space", "Tuple"]),
])
def test_a_space_it_cannot_act_in_is_refused_in_one_line(obs_space, action_space, words):
    with pytest.raises(SpaceError) as err:
        agents.get(NAME)(obs_space, action_space)
    assert "\n" not in str(err.value) and "RecurrentPPO" in str(err.value)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_acts_in_a_box_action_space():
    env = gym.make("Pendulum-v1", max_episode_steps=20)
    cls = agents.get(NAME)
    agent = cls(env.observation_space, env.action_space, cls.Config(**SMALL), seed=0)
    agent.learn(env, Budget(steps=64), RunLogger(progress=False))
    _, lengths = evaluate(agent, env, 1, seed=0)
    assert lengths[0] == 20
    assert env.action_space.contains(agent.predict(env.reset(seed=0)[0], deterministic=True)[0])


# ------------------------------------------------------------------ through train.py
def test_through_train_py_on_recall(tmp_path):
    """(In this process: ``train.main`` is the command line.)"""
    import train

    argv = ["--env", "recall", "--agent", NAME, "--steps", "256", "--n-steps", "64", "--batch-size", "64",
            "--n-epochs", "2", "--lstm-hidden-size", "32", "--eval-episodes", "2", "--no-progress"]
    assert train.main([*argv, "--run-dir", str(tmp_path / "a")]) == 0
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["agent"] == NAME and summary["env_steps"] == 256 and summary["eval"]["episodes"] == 2
    assert summary["config"]["lstm_hidden_size"] == 32
    assert train.main([*argv, "--run-dir", str(tmp_path / "b")]) == 0  # the same seed: the same weights
    a, b = (np.load(tmp_path / run / "checkpoint.npz", allow_pickle=False) for run in ("a", "b"))
    assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files if k != "__meta__")
    assert train.main(["--load", str(tmp_path / "a" / "checkpoint.npz"), "--eval-episodes", "2", "--no-progress",
                       "--run-dir", str(tmp_path / "eval")]) == 0
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["eval"] == summary["eval"]


def test_train_py_refuses_a_tuple_observation_in_one_line(tmp_path, capsys):
    import train

    assert train.main(["--env", "Blackjack-v1", "--agent", NAME, "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "Tuple" in err and "RecurrentPPO" in err, err
    assert not (tmp_path / "r").exists()
