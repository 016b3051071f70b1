"""DQN from pixels' memory and vector path: the replay that stores each frame once gives back
exactly the stacks a naive buffer holds (Gymnasium's ``FrameStackObservation`` makes the
naive buffer's), across episode ends, n-step returns, several envs and wrap-around, and
through a resume file; it draws every transition it holds alike (uniform) or by the
prioritised formulas over the transitions held. (DQN on those stacks, with ``--history`` and
``--num-envs``: tests/test_frame_replay_dqn.py.)"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.wrappers import FrameStackObservation
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gymlab import resume
from gymlab.agents.dqn import DQN
from gymlab.agents.frame_replay import FramePrioritizedReplayBuffer, FrameReplayBuffer
from gymlab.agents.replay import NStep, ReplayBuffer
from frame_replay_helpers import same, same_buffer

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
