"""DQN from pixels' memory and vector path: the replay that stores each frame once gives back
exactly the stacks a naive buffer holds (Gymnasium's ``FrameStackObservation`` makes the
naive buffer's), across episode ends, n-step returns, several envs and wrap-around, and
through a resume file; it draws every transition it holds alike (uniform) or by the
prioritised formulas over the transitions held; DQN with ``--history`` acts on those same
stacks, and with ``--num-envs`` steps several envs at once, each replayed as that env alone
through ``FrameStackObservation`` with n-step returns computed here."""

from __future__ import annotations

import contextlib
import copy
import io
import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.wrappers import FlattenObservation, FrameStackObservation
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gymlab import resume
from gymlab.agents.base import Budget, SpaceError
from gymlab.agents.dqn import DQN, DQNConfig
from gymlab.agents.frame_replay import FramePrioritizedReplayBuffer, FrameReplayBuffer
from gymlab.agents.logger import RunLogger
from gymlab.agents.replay import NStep, ReplayBuffer
from gymlab.agents.rollout import make_vector_env
from tiny_envs import CORRIDOR_ID

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FRAME = (2, 3, 2)  # two channels: a stack must interleave them as (H, W, K * C), oldest frame first
N_ACTIONS = 3


class Script(gym.Env):
    """Frames that each name themselves (a serial number, and the env), ending episodes where ``ends``
    says: 0 runs on, 1 terminates, 2 truncates. No frame is ever shown twice, so a stack holding
    a frame it should not is caught."""

    observation_space = spaces.Box(0, 255, FRAME, np.uint8)
    action_space = spaces.Discrete(1 << 30)

    def __init__(self, env: int, ends: list[int]):
        self.env, self.ends, self.shown, self.t = env, ends, 0, 0

    def _frame(self):
        self.shown += 1
        frame = np.full(FRAME, self.env, np.uint8)
        frame.flat[:3] = self.shown % 256, self.shown // 256, 1 + self.shown % 7
        return frame

    def reset(self, *, seed=None, options=None):
        return self._frame(), {}

    def step(self, action):
        end = self.ends[self.t]
        self.t += 1
        return self._frame(), 0.0, end == 1, end == 2, {}


def as_channels(stacked: np.ndarray) -> np.ndarray:
    """``FrameStackObservation``'s (K, H, W, C) as the frames side by side, (H, W, K * C)."""
    return np.concatenate(list(stacked), axis=-1)


@st.composite
def streams(draw):
    num_envs = draw(st.integers(1, 3), label="envs")
    k = draw(st.integers(1, 4), label="history K")
    n = draw(st.integers(1, 4), label="n-step")
    length = draw(st.integers(n + k, n + k + 5), label="ring length")  # small: it wraps several times
    steps = draw(st.integers(0, 8 * length * num_envs), label="steps, all envs")
    order = draw(st.lists(st.integers(0, num_envs - 1), min_size=steps, max_size=steps), label="which env steps")
    # episodes of every length, many shorter than K: an end at each step with probability 2/5
    ends = draw(st.lists(st.sampled_from([0, 0, 0, 1, 2]), min_size=steps, max_size=steps), label="episode ends")
    return dict(num_envs=num_envs, k=k, n=n, capacity=length * num_envs - draw(st.integers(0, num_envs - 1)),
                length=length, order=order, ends=ends, prioritized=draw(st.booleans(), label="prioritized"),
                masks=draw(st.booleans(), label="masks"), seed=draw(st.integers(0, 2**32 - 1), label="seed"))


class Feed:
    """The same steps into a ``FrameReplayBuffer`` and into a naive record of every n-step transition
    (obs and next_obs whole, as ``FrameStackObservation`` stacks them), keyed by a serial number
    that each step's action carries."""

    def __init__(self, s: dict):
        self.s, self.rng = s, np.random.default_rng(s["seed"])
        self.buf = new_buffer(s, np.random.default_rng(s["seed"] + 1))
        ends = [[e for e, env in zip(s["ends"], s["order"]) if env == i] for i in range(s["num_envs"])]
        self.envs = [FrameStackObservation(Script(i, ends[i]), s["k"]) for i in range(s["num_envs"])]
        self.obs = [None] * s["num_envs"]  # the stacked obs to act on; None: reset first
        self.window_naive = [NStep(s["n"], 0.9) for _ in self.envs]
        self.window_frames = [NStep(s["n"], 0.9) for _ in self.envs]
        self.naive: dict[int, tuple] = {}  # serial -> (obs, reward, next_obs, discount, next_mask)
        self.env_of: dict[int, int] = {}
        self.position: dict[int, int] = {}  # serial -> the position of its obs frame in its env's ring
        self.written = [0] * s["num_envs"]
        self.serial = 0

    def step(self, i: int) -> None:
        env, start = self.envs[i], self.obs[i] is None
        if start:
            self.obs[i], _ = env.reset()
            self.written[i] += 1
        action, self.serial = self.serial, self.serial + 1
        next_obs, _, terminated, truncated, _ = env.step(action)
        reward = float(self.rng.normal())
        mask = self.rng.random(N_ACTIONS) < 0.5 if self.s["masks"] and self.rng.random() < 0.8 else None
        self.env_of[action], self.position[action] = i, self.written[i] - 1
        self.written[i] += 1
        naive = self.window_naive[i].push(as_channels(self.obs[i]), action, reward, as_channels(next_obs), terminated,
                                          truncated, mask)
        for obs_, a, ret, next_, discount, m in naive:
            self.naive[a] = (obs_, ret, next_, discount, m)
        obs_at, next_at = self.buf.add_frames(i, self.obs[i][-1], next_obs[-1], start)
        items = self.window_frames[i].push(obs_at, action, reward, next_at, terminated, truncated, mask)
        assert [(a, ret, d) for _, a, ret, _, d, _ in items] == [(a, ret, d) for _, a, ret, _, d, _ in naive]
        for item in items:
            self.buf.add(*item)
        self.obs[i] = None if terminated or truncated else next_obs

    def held(self) -> np.ndarray:
        return np.flatnonzero(self.buf.offset)

    def check(self) -> None:
        """Every transition held gives back the naive buffer's obs and next_obs (and the rest), and
        the ones held are those whose obs is among the newest L - K + 1 frames of its env."""
        buf, s = self.buf, self.s
        held = self.held()
        assert len(buf) == len(held)
        if len(held):
            check_batch(self, buf._batch(held, np.ones(len(held), np.float32)))
        expected = {a for a in self.naive
                    if self.position[a] >= self.written[self.env_of[a]] - buf.length + s["k"] - 1}
        assert set(buf.actions[held].tolist()) == expected


def new_buffer(s: dict, rng):
    args = (s["capacity"], FRAME, np.uint8, s["k"], N_ACTIONS, s["masks"], rng, s["num_envs"], s["n"])
    return FramePrioritizedReplayBuffer(*args, alpha=0.7) if s["prioritized"] else FrameReplayBuffer(*args)


def same(x, y, what: str) -> None:
    if not np.array_equal(x, y):  # (numpy's assertion, which says where they differ, only then: it is slow)
        np.testing.assert_array_equal(x, y, err_msg=what)


def check_batch(feed: Feed, batch) -> None:
    naive = [feed.naive[a] for a in batch.actions.tolist()]
    same(batch.obs, np.array([t[0] for t in naive]), "obs")
    same(batch.next_obs, np.array([t[2] for t in naive]), "next_obs")
    same(batch.rewards, np.array([t[1] for t in naive], np.float32), "reward")
    same(batch.discounts, np.array([t[3] for t in naive], np.float32), "discount")
    if feed.s["masks"]:
        same(batch.next_masks, np.array([np.ones(N_ACTIONS, bool) if t[4] is None else t[4] for t in naive]), "mask")
    else:
        assert batch.next_masks is None


@settings(max_examples=100, **SETTINGS)
@given(s=streams())
def test_frame_replay_returns_what_a_naive_buffer_holds(s):
    """After every step, for every transition still held (and every one sampled): the naive
    buffer's stacks, as ``FrameStackObservation`` made them, padded at each episode's start with
    its first frame. No frame overwritten by wrap-around comes back: each frame is unique, so one
    would differ. A transition whose stack reaches a frame written over leaves the buffer first."""
    feed = Feed(s)
    assert feed.buf.length == max(-(-s["capacity"] // s["num_envs"]), s["n"] + s["k"])
    for i in s["order"]:
        feed.step(i)
        feed.check()
    if len(feed.buf):
        batch = feed.buf.sample(32, beta=0.5)
        assert set(batch.index.tolist()) <= set(feed.held().tolist())
        check_batch(feed, batch)
        if s["prioritized"]:  # new priorities, then a draw by them: still only transitions held
            feed.buf.update_priorities(np.unique(batch.index), feed.rng.normal(size=len(np.unique(batch.index))))
            batch = feed.buf.sample(32, beta=0.5)
            check_batch(feed, batch)
            assert np.all(np.isfinite(batch.weights)) and np.all(batch.weights > 0) and batch.weights.max() <= 1
    wrapped = max(feed.written) > 2 * feed.buf.length
    event("wrapped more than twice" if wrapped else "wrapped" if max(feed.written) > feed.buf.length else "no wrap")
    event(f"{s['num_envs']} env(s)")


def test_the_padding_is_the_episodes_first_frame_in_installed_gymnasium():
    """The stacks above are compared with ``FrameStackObservation`` at its default padding, which repeats
    the episode's first frame (``padding_type="reset"``): the padding the frame replay must match."""
    import inspect

    assert inspect.signature(FrameStackObservation).parameters["padding_type"].default == "reset"


@settings(max_examples=30, **SETTINGS)
@given(s=streams(), batch_size=st.integers(1, 16))
def test_frame_replay_restored_from_a_file_is_the_same_buffer(s, batch_size):
    """``state()`` through a resume file into a fresh buffer: the same arrays bit for bit, the same
    samples, and the same again after the rest of the stream into both."""
    feed = Feed(s)
    cut = len(s["order"]) // 2
    for i in s["order"][:cut]:
        feed.step(i)
    a = feed.buf
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / resume.FILE
        resume.write(path, {}, {"replay": a.state(), "rng": a.rng})
        _, saved = resume.read(path)
        b = new_buffer(s, np.random.default_rng())
        b.rng.bit_generator.state = saved["rng"].bit_generator.state
        b.load_state(saved["replay"])  # the frames read from the file straight into b's own
    same_buffer(a, b)
    same_samples(a, b, batch_size)
    feed.buf = Both(a, b)
    for i in s["order"][cut:]:
        feed.step(i)
    same_buffer(a, b)
    same_samples(a, b, batch_size)
    feed.buf = a
    feed.check()
    event("wrapped" if max(feed.written) > a.length else "no wrap")


class Both:
    """Two buffers fed the same: each call goes to both, which must answer alike."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def add_frames(self, *args):
        out = self.a.add_frames(*args)
        assert self.b.add_frames(*args) == out
        return out

    def add(self, *args):
        out = self.a.add(*args)
        assert self.b.add(*args) == out
        return out


def same_samples(a, b, batch_size: int) -> None:
    if len(a):
        x, y = a.sample(batch_size, beta=0.6), b.sample(batch_size, beta=0.6)
        for field, u, v in zip(x._fields, x, y):
            np.testing.assert_array_equal(u, v, err_msg=field)
        if isinstance(a, FramePrioritizedReplayBuffer):
            td = np.linspace(-2.0, 3.0, len(np.unique(x.index)))
            a.update_priorities(np.unique(x.index), td)
            b.update_priorities(np.unique(y.index), td)


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


@pytest.mark.parametrize("num_envs", [1, 4])
@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("prioritized", [False, True])
def test_memory_is_one_frame_a_transition(num_envs, k, prioritized):
    """Stacks of K 80x80 frames: the frames take 1/(2K) of what a naive buffer's obs and next_obs take
    for the same transitions, and everything else (actions, rewards, priorities) never takes it
    past 1/K."""
    capacity, frame = 1000, (80, 80, 1)
    args = (capacity, frame, np.uint8, k, N_ACTIONS, False, np.random.default_rng(0), num_envs, 3)
    buf = FramePrioritizedReplayBuffer(*args) if prioritized else FrameReplayBuffer(*args)
    naive = ReplayBuffer(capacity, (80, 80, k), np.uint8, N_ACTIONS, False, np.random.default_rng(0))
    whole = naive.obs.nbytes + naive.next_obs.nbytes
    assert buf.frames.nbytes * 2 * k == whole == buf.whole_nbytes
    assert buf.frames.nbytes < buf.nbytes <= whole / k
    assert buf.nbytes < 1.02 * buf.frames.nbytes  # the frames are nearly all of it


def random_stream(buf, n: int, steps: int, seed: int, p_end: float = 0.2, env_weights=None, added=None,
                  after=None) -> None:
    """``steps`` steps into ``buf`` through an n-step window for each env, the env of each drawn at random
    (``env_weights``), each frame a number of its own, an episode ending at each step with probability
    ``p_end``; ``added(slot)`` after each transition stored, ``after(step)`` after each step."""
    rng = np.random.default_rng(seed)
    windows, starts = [NStep(n, 0.9) for _ in range(buf.num_envs)], [True] * buf.num_envs
    for step in range(steps):
        i = int(rng.choice(buf.num_envs, p=env_weights))
        frame = np.full(buf.frames.shape[1:], step, buf.frames.dtype)
        obs_at, next_at = buf.add_frames(i, frame - 0.5, frame, starts[i])
        starts[i] = rng.random() < p_end
        for item in windows[i].push(obs_at, step, 1.0, next_at, starts[i], False):
            slot = buf.add(*item)
            if added is not None:
                added(slot)
        if after is not None:
            after(step)


def draws_each_held_transition_alike(buf, index: np.ndarray) -> None:
    """``index`` (many draws) names only slots holding a transition, and each of those about equally
    often: Pearson's chi-square over them within 6 standard deviations of its mean (their count less one)."""
    held = np.flatnonzero(buf.offset)
    counts = np.bincount(index, minlength=buf.capacity)
    assert counts.sum() == counts[held].sum(), "drew a slot that holds no transition"
    expected = len(index) / len(held)
    chi2, dof = ((counts[held] - expected) ** 2 / expected).sum(), len(held) - 1
    assert chi2 <= dof + 6 * np.sqrt(2 * dof), f"chi-square {chi2:.1f} over {len(held)} transitions held"


@pytest.mark.parametrize("case", ["three rings, one barely begun", "most frames still in the n-step window"])
def test_uniform_replay_draws_every_transition_held_alike_and_nothing_else(case):
    """100k draws: every transition held about as often as every other, no slot without one ever (an
    episode's last frame, the frames K - 1 behind the write position, those still in the n-step
    window), and the same draws from a copy with the same random state. Rings filled unevenly, and
    a buffer whose filled slots mostly hold no transition yet. A sampler that drew from half the
    transitions held, or from every filled slot, would fail the check (shown at the end)."""
    if case == "three rings, one barely begun":
        buf = FrameReplayBuffer(30, (1,), np.float32, 3, 2, False, np.random.default_rng(1), num_envs=3, n_step=2)
        random_stream(buf, 2, 300, seed=0, env_weights=[0.49, 0.49, 0.02])
        assert min(buf.written[:2]) > 3 * buf.length and 0 < buf.written[2] < buf.length
    else:
        buf = FrameReplayBuffer(40, (1,), np.float32, 2, 2, False, np.random.default_rng(1), n_step=6)
        random_stream(buf, 6, 9, seed=0, p_end=0.0)
        assert len(buf) == 4 and buf.written[0] == 10  # 6 of the 10 frames filled hold no transition
    twin = copy.deepcopy(buf)
    batch = buf.sample(100_000)
    draws_each_held_transition_alike(buf, batch.index)
    np.testing.assert_array_equal(twin.sample(100_000).index, batch.index)

    held, rng = np.flatnonzero(buf.offset), np.random.default_rng(2)
    filled = np.concatenate([buf.slot(e, 0) + np.arange(min(w, buf.length)) for e, w in enumerate(buf.written)])
    for wrong in (held[: max(1, len(held) // 2)], filled):
        with pytest.raises(AssertionError):
            draws_each_held_transition_alike(buf, rng.choice(wrong, 100_000))


def test_a_late_priority_update_brings_back_no_transition_dropped_since_the_draw():
    """Priorities that arrive for slots whose transitions have left the buffer since they were drawn
    (DQN updates them at once; a later caller might not) are ignored: no priority mass, and no draw,
    on a slot without a transition. The slots still held take their new priority."""
    buf = FramePrioritizedReplayBuffer(6, (1,), np.float32, 2, 2, False, np.random.default_rng(0), n_step=1)
    random_stream(buf, 1, 5, seed=0, p_end=0.0)
    drawn = np.flatnonzero(buf.offset)  # every transition held now, as a batch would name them
    random_stream(buf, 1, 3, seed=1, p_end=0.0)  # frames on: the oldest of them leave
    dropped, kept = drawn[buf.offset[drawn] == 0], drawn[buf.offset[drawn] != 0]
    assert len(dropped) and len(kept)
    buf.update_priorities(drawn, np.full(len(drawn), 1e6))
    empty = np.flatnonzero(buf.offset == 0)
    assert np.all(buf.tree.get(empty) == 0) and np.all(buf.min_tree.get(empty) == np.inf)
    np.testing.assert_allclose(buf.tree.get(kept), (1e6 + buf.eps) ** buf.alpha)
    assert np.all(buf.offset[buf.sample(64).index] != 0)


def test_prioritised_probabilities_and_weights_are_the_formulas_over_the_transitions_held():
    """After wrap-around (two rings, n-step 2, stacks of 3) and priority updates spanning four orders of
    magnitude, against priorities tracked here: a slot without a transition carries no priority (0 in
    the sum tree, inf in the min tree), the sum and min trees' roots are the sum and minimum over the
    transitions held, and a draw's weights are w_i = (N P(i))^-beta / max_j (N P(j))^-beta with
    P(i) = p_i^alpha / sum_k p_k^alpha and N the number of transitions held (not of slots)."""
    alpha, beta = 0.7, 0.5
    buf = FramePrioritizedReplayBuffer(24, (2,), np.float32, 3, 2, False, np.random.default_rng(1), num_envs=2,
                                       n_step=2, alpha=alpha)
    priority, top, rng = {}, [1.0], np.random.default_rng(3)  # slot -> p_i given last; the largest p so far

    def added(slot):
        priority[slot] = top[0]  # a new transition: the largest priority yet

    def after(step):
        if step % 7 == 0 and len(buf):
            index = np.unique(buf.sample(8, beta=beta).index)
            td = rng.normal(size=len(index)) * 10.0 ** rng.integers(-4, 1, size=len(index))
            buf.update_priorities(index, td)
            priority.update(zip(index.tolist(), np.abs(td) + buf.eps))
            top[0] = max(top[0], float(np.max(np.abs(td) + buf.eps)))

    random_stream(buf, 2, 300, seed=0, added=added, after=after)
    held = np.flatnonzero(buf.offset)
    empty = np.setdiff1d(np.arange(buf.capacity), held)
    assert min(buf.written) > 3 * buf.length and len(buf) == len(held) and len(empty)
    assert np.all(buf.tree.get(empty) == 0) and np.all(buf.min_tree.get(empty) == np.inf)
    mass = np.array([priority[i] for i in held.tolist()]) ** alpha  # p_i^alpha of each transition held
    np.testing.assert_allclose(buf.tree.get(held), mass, rtol=1e-12)
    np.testing.assert_allclose(buf.tree.total, mass.sum(), rtol=1e-9)
    assert buf.min_tree.min == buf.tree.get(held).min()
    batch = buf.sample(16, beta=beta)
    p = dict(zip(held.tolist(), mass / mass.sum()))  # P(i)
    drawn = np.array([p[i] for i in batch.index.tolist()])
    weights = (len(held) * drawn) ** -beta / (len(held) * min(p.values())) ** -beta
    np.testing.assert_allclose(batch.weights, weights, rtol=1e-5)


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
