"""DQN on stacked frames with the replay that stores each frame once: with ``--history`` it acts
on and replays the stacks Gymnasium's ``FrameStackObservation`` makes; with ``--num-envs`` it
steps several envs at once, each replayed as that env alone through ``FrameStackObservation``
with n-step returns computed here; its resume state holds the frames the envs showed last.
(The buffer itself: tests/test_frame_replay.py.)"""

from __future__ import annotations

import contextlib
import io

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.wrappers import FlattenObservation, FrameStackObservation

from gymlab import resume
from gymlab.agents.base import Budget, SpaceError
from gymlab.agents.dqn import DQN, DQNConfig
from gymlab.agents.logger import RunLogger
from gymlab.agents.replay import NStep
from gymlab.agents.rollout import make_vector_env
from frame_replay_helpers import same, same_buffer
from tiny_envs import CORRIDOR_ID


# ------------------------------------------------------------------ DQN on stacked frames and several envs
def quiet(fn, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):  # (the replay buffer's one line on its memory)
        return fn(*args, **kwargs)


def record_acting(agent) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(observations, actions)`` of each call of ``agent.act``: the batch as the Q-network reads it."""
    calls, act = [], agent.act

    def spy(obs, masks, explore=True):
        calls.append((np.array(obs), act(obs, masks, explore)))
        return calls[-1][1]

    agent.act = spy
    return calls


def test_dqn_acts_on_and_replays_the_stacks_frame_stack_observation_makes():
    """On a corridor cut to 5 steps (episodes shorter and longer than K = 3), acting while learning
    and greedy ``predict`` with its state see what FlattenObservation(FrameStackObservation(env, 3))
    shows; the buffer (wrapped several times) holds only such transitions; and its stack of each
    env's newest frame is the one the agent acts on next."""
    k, limit = 3, 5
    env = gym.make(CORRIDOR_ID, max_episode_steps=limit)
    config = DQNConfig(hidden=(8,), history=k, n_step=1, buffer_size=40, batch_size=8, learning_starts=10**6,
                       epsilon_start=0.6, epsilon_end=0.6)
    agent = DQN(env.observation_space, env.action_space, config, seed=1)
    calls = record_acting(agent)
    quiet(agent.learn, env, Budget(steps=200), RunLogger(progress=False))

    reference = FlattenObservation(FrameStackObservation(gym.make(CORRIDOR_ID, max_episode_steps=limit), k))
    obs, _ = reference.reset(seed=agent.env_seed())  # as the agent's loop resets: its env's seed, then none
    transitions = set()
    for seen, action in calls:
        np.testing.assert_array_equal(seen[0], obs)
        next_obs, reward, terminated, truncated, _ = reference.step(int(action[0]))
        discount = np.float32(0.0 if terminated else config.gamma)
        transitions.add((obs.tobytes(), next_obs.tobytes(), np.float32(reward), discount))
        obs = reference.reset()[0] if terminated or truncated else next_obs
    buf = agent.buffer
    held = np.flatnonzero(buf.offset)
    assert max(buf.written) > 3 * buf.length and len(held) >= buf.length // 2
    batch = buf._batch(held, np.ones(len(held), np.float32))
    for row in zip(batch.obs, batch.next_obs, batch.rewards, batch.discounts):
        assert (row[0].tobytes(), row[1].tobytes(), row[2], row[3]) in transitions
    if not agent.starts[0]:  # mid-episode: the newest frame's stack is what the agent sees next
        newest = buf.stacks(np.array([buf.slot(0, int(buf.written[0]) - 1)]))
        np.testing.assert_array_equal(newest[0], obs)

    # Greedy evaluation: predict carries the frames in its state and starts afresh at each episode.
    calls.clear()
    obs, _ = env.reset(seed=5)
    ref_obs, _ = reference.reset(seed=5)
    state, start = None, True
    for _ in range(12):
        action, state = agent.predict(obs, state, episode_start=np.array([start]), deterministic=True)
        np.testing.assert_array_equal(calls[-1][0][0], ref_obs)
        obs, _, terminated, truncated, _ = env.step(action)
        ref_obs, *_ = reference.step(action)
        start = terminated or truncated
        if start:
            obs, ref_obs = env.reset()[0], reference.reset()[0]


def test_history_needs_frames_with_an_axis():
    with pytest.raises(SpaceError, match="--history 2"):
        DQN(spaces.Discrete(5), spaces.Discrete(2), DQNConfig(history=2))
    agent = DQN(spaces.Box(0, 255, (80, 80, 1), np.uint8), spaces.Discrete(3), DQNConfig(policy="cnn", history=4))
    assert agent.q.net.body.convs[0].in_channels == 4  # the 4 frames as channels


@pytest.mark.parametrize("num_envs", [1, 4])
def test_four_envs_step_together_and_all_their_transitions_are_replayed(num_envs):
    """With --num-envs 4: one batched forward pass acts in four envs at each step, each env's
    transitions reach the buffer (four a step), and train_freq counts the steps of all four."""
    env = gym.make(CORRIDOR_ID, length=50)  # no episode ends within the budget: every env steps every time
    agent = DQN(env.observation_space, env.action_space,
                DQNConfig(hidden=(8,), num_envs=num_envs, n_step=1, learning_starts=0, train_freq=4, batch_size=4,
                          target_update_interval=10**6, epsilon_start=0.5, epsilon_end=0.5), seed=0)
    calls = record_acting(agent)
    remembered, remember = [], agent.remember
    agent.remember = lambda i, t: remembered.append((i, t)) or remember(i, t)
    logger = RunLogger(progress=False)
    quiet(agent.learn, env, Budget(steps=40), logger)
    assert logger.steps == len(agent.buffer) == 40
    assert [len(obs) for obs, _ in calls] == [num_envs] * (40 // num_envs)
    assert [sum(i == j for i, _ in remembered) for j in range(num_envs)] == [40 // num_envs] * num_envs
    assert agent.updates == 40 // 4  # a round each 4 env steps, whichever env made them
    if num_envs > 1:  # four courts of their own: obs of different envs, each env's stream unbroken
        steps = [[t for i, t in remembered if i == j] for j in range(num_envs)]
        for stream in steps:
            for before, after in zip(stream, stream[1:]):
                np.testing.assert_array_equal(before.next_obs, after.obs)


def test_dqn_resume_state_holds_the_frames_the_envs_showed_last(tmp_path):
    """A resume state taken mid-run (stacked frames, several envs, prioritised n-step replay that has
    wrapped) and loaded into a fresh agent: the same loop state, and both go on to the same weights,
    buffer and frame stacks. (End to end, ``tests/test_resume.py`` runs pixel Pong so; here the
    frames each env showed last are compared directly, which a few greedy actions might not reveal.)"""
    config = DQNConfig(hidden=(8,), history=3, num_envs=3, prioritized=True, n_step=2, buffer_size=45,
                       batch_size=8, learning_starts=30, train_freq=2, target_update_interval=20)

    def agent_and_env():
        env = gym.make(CORRIDOR_ID, max_episode_steps=6)
        return DQN(env.observation_space, env.action_space, config, seed=4), env

    a, env_a = agent_and_env()
    logger_a = RunLogger(progress=False)
    quiet(a.learn, env_a, Budget(steps=120), logger_a)
    path = tmp_path / resume.FILE
    resume.write(path, {}, {"agent": a.resume_state(), "logger": logger_a.state()})
    _, saved = resume.read(path)
    b, env_b = agent_and_env()
    b.load_resume_state(saved["agent"])
    quiet(b.resume_in, env_b)
    logger_b = RunLogger(progress=False, resume=saved["logger"])

    def same_loop():
        same_buffer(a.buffer, b.buffer)
        same(a.stacks, b.stacks, "stacks")
        same(a.starts, b.starts, "starts")
        assert [list(n.window) for n in a.n_steps] == [list(n.window) for n in b.n_steps]

    same_loop()
    assert max(a.buffer.written) > a.buffer.length  # wrapped already
    quiet(a.learn, env_a, Budget(steps=240), logger_a)
    quiet(b.learn, env_b, Budget(steps=240), logger_b)
    same_loop()
    for (k, x), (_, y) in zip(a.state_arrays().items(), b.state_arrays().items()):
        same(x, y, k)
    assert a.updates == b.updates > 0


class Tagged(gym.Env):
    """Frames that name themselves (the seed the env was first reset with, a serial number, the
    episode), so no two are alike, in this env or another; an episode terminates at each step with
    probability 1/4, and the registered limit truncates it after 5."""

    observation_space = spaces.Box(-1.0, 1e6, (3,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self):
        self.tag, self.serial, self.episode = -1, 0, -1

    def _frame(self):
        self.serial += 1
        return np.array([self.tag, self.serial, self.episode], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self.tag = seed % 999_983  # (a run's seeds are 64-bit: kept inside the observation space)
        self.episode += 1
        return self._frame(), {}

    def step(self, action):
        terminated = bool(self.np_random.random() < 0.25)
        return self._frame(), float(action) + 0.1 * (self.serial % 7), terminated, False, {}


TAGGED_ID = "gymlab_tests/TaggedFrames-v0"
if TAGGED_ID not in gym.envs.registry:
    gym.register(TAGGED_ID, entry_point=Tagged, max_episode_steps=5)


def n_step_transitions(steps: list[tuple], n: int, gamma: float) -> dict[bytes, tuple]:
    """One env's steps ``(obs, action, reward, next_obs, terminated, truncated)`` as n-step transitions,
    computed here rather than by ``NStep``: from each step, the discounted sum of the next m rewards, m
    = n or fewer where the episode ends first, the observation after them, and gamma^m (0 if the
    episode terminated there). Keyed by obs (every one unique); steps the stream has not yet followed
    by n rewards or an episode's end make none."""
    out = {}
    for t, (obs, action, *_) in enumerate(steps):
        for m in range(1, min(n, len(steps) - t) + 1):
            _, _, _, next_obs, terminated, truncated = steps[t + m - 1]
            if terminated or truncated or m == n:
                ret = sum(gamma ** j * steps[t + j][2] for j in range(m))
                out[obs.tobytes()] = (action, next_obs, ret, 0.0 if terminated else gamma ** m)
                break
    return out


@pytest.mark.parametrize("prioritized", [False, True])
def test_several_envs_each_replayed_as_frame_stack_observation_and_n_step_returns_make_it(prioritized):
    """Three envs (--num-envs 3) with stacks of 3 and 3-step returns, on episodes of 1 to 5 steps ended by
    terminations and by the time limit: every stack the agent acts on for env i is what
    FlattenObservation(FrameStackObservation(env_i, 3)) shows, replaying the agent's actions for env i;
    every transition, as the buffer gives it back when it is stored, in every minibatch trained on,
    and among those held at the end (the rings wrapped), is env i's (obs, action, n-step return, next_obs
    n steps on, discount) computed by ``n_step_transitions``; and all of them reach the buffer. The
    budget of 301 env steps ends after a whole step of the vector env: at most 2 more."""
    k, n, num_envs, gamma, seed, budget = 3, 3, 3, 0.9, 11, 301
    env = gym.make(TAGGED_ID)
    config = DQNConfig(hidden=(8,), history=k, num_envs=num_envs, n_step=n, gamma=gamma, buffer_size=60,
                       batch_size=8, learning_starts=50, train_freq=2, prioritized=prioritized)
    agent = DQN(env.observation_space, env.action_space, config, seed=seed)
    events, stored, trained = [], [], []  # ("act", batch) / ("step", env, transition); batches stored, trained on
    act, remember, make_buffer, update = agent.act, agent.remember, agent.make_buffer, agent.update

    def spy_act(obs, masks, explore=True):
        events.append(("act", np.array(obs)))
        return act(obs, masks, explore)

    def spy_remember(i, t):
        events.append(("step", i, t))
        return remember(i, t)

    def spy_make_buffer(space, masks):
        buf = make_buffer(space, masks)
        add = buf.add

        def spy_add(*args, **kwargs):
            slot = add(*args, **kwargs)
            stored.append(buf._batch(np.array([slot]), np.ones(1, np.float32)))
            return slot

        buf.add = spy_add
        return buf

    def spy_update(batch, buffer):
        trained.append(batch)
        return update(batch, buffer)

    agent.act, agent.remember, agent.make_buffer, agent.update = spy_act, spy_remember, spy_make_buffer, spy_update
    logger = RunLogger(progress=False)
    quiet(agent.learn, env, Budget(steps=budget), logger)
    assert budget <= logger.steps <= budget + num_envs - 1

    references = [FlattenObservation(FrameStackObservation(gym.make(TAGGED_ID), k)) for _ in range(num_envs)]
    obs = [r.reset(seed=s)[0] for s, r in zip(agent.env_seed(num_envs), references)]  # sub-env i: its own seed
    steps = [[] for _ in references]  # env i's steps, as the reference made them
    for record in events:
        if record[0] == "act":
            acted_on = record[1]
            continue
        _, i, t = record
        same(acted_on[i], obs[i], f"env {i}'s stack acted on")
        next_obs, reward, terminated, truncated, _ = references[i].step(int(t.action))
        assert (reward, terminated, truncated) == (t.reward, t.terminated, t.truncated)
        steps[i].append((obs[i], int(t.action), reward, next_obs, terminated, truncated))
        obs[i] = references[i].reset()[0] if terminated or truncated else next_obs
    assert sum(map(len, steps)) == logger.steps
    for stream in steps:  # episodes ended both ways in every env, some shorter than the stack
        assert any(s[4] for s in stream) and any(s[5] for s in stream)
    expected = {}
    for stream in steps:
        expected.update(n_step_transitions(stream, n, gamma))

    def check(batch, what: str) -> None:
        for row in zip(batch.obs, batch.actions, batch.next_obs, batch.rewards, batch.discounts):
            action, next_obs, ret, discount = expected[row[0].tobytes()]  # a KeyError: an obs no env showed
            assert row[1] == action, what
            same(row[2], next_obs, f"{what}: next_obs")
            np.testing.assert_allclose(row[3:], [ret, discount], rtol=1e-6, err_msg=what)

    assert len(stored) == len(expected) and {b.obs[0].tobytes() for b in stored} == set(expected)
    for batch in stored:
        check(batch, "stored")
    assert len(trained) == agent.updates > 100
    for batch in trained:
        check(batch, "trained on")
    buf = agent.buffer
    assert min(buf.written) > 2 * buf.length
    held = np.flatnonzero(buf.offset)
    check(buf._batch(held, np.ones(len(held), np.float32)), "held at the end")


def test_several_envs_need_an_env_made_by_gym_make():
    """--num-envs makes its copies from the env's spec: an env built directly has none, and is refused
    with a message that says so (not an AttributeError from inside the vector env's making)."""
    env = Tagged()
    with pytest.raises(ValueError, match=r"--num-envs 2 .*gym\.make"):
        make_vector_env(env, 2)
    agent = DQN(env.observation_space, env.action_space, DQNConfig(hidden=(8,), num_envs=2), seed=0)
    with pytest.raises(ValueError, match=r"--num-envs 2 .*gym\.make"):
        agent.learn(env, Budget(steps=10), RunLogger(progress=False))
    make_vector_env(gym.make(TAGGED_ID), 2).close()  # the same env made by gym.make: copied
