"""Property-based checks of the resume state (``gymlab.resume``): what goes into a resume file
comes back out the same, and whatever is restored from one goes on exactly as the original.

- Envs: every gymlab env variant (and ``CartPole-v1``, ``CliffWalking-v1``), stepped a drawn
  number of drawn actions, its ``env_state`` written to a file and read back, then set into
  a fresh env made the same way but reset with another seed and stepped elsewhere: both then
  take the same drawn actions and give exactly the same observations, rewards, flags and
  infos, episode ends and resets included; the restored env's state is the saved one. The
  same for vector envs (Pong's own engine, features and pixels; Rooms as a ``SyncVectorEnv``
  of copies; CartPole's own vector env) with 1 to 4 sub-envs, their autoresets included.
- ``pack``/``unpack``, in memory and through a ``write``/``read`` file: arbitrary nested trees
  (dicts with str and int keys, lists, tuples, deques with a maxlen, floats with inf, nan and
  -0.0, integers past 2**53, numpy arrays of several dtypes and shapes, 0-d and empty ones
  included, numpy scalars, generators part way through their stream, torch tensors, ``Big``
  arrays read back with ``read_array`` into a given array and without) come back equal, of
  the same types, and generators go on with the same draws.
- Replay buffers (uniform and prioritized, with and without masks, empty, part full and
  wrapped round): the ``state()`` written and read back and loaded into a fresh buffer with a
  generator in the same state holds the same arrays, samples the same batches, takes the
  same priority updates and additions, and samples the same again.

About 8 x 12 + 4 x 12 + 100 + 80 = 324 examples in all (see the ``*_EXAMPLES`` constants).
"""

from __future__ import annotations

import collections
import copy
import json
import math
import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gymlab import resume
from gymlab.agents.replay import PrioritizedReplayBuffer, ReplayBuffer
from gymlab.agents.rollout import make_vector_env
from test_env_properties import _action_space, actions_in
from test_envs import IDS, VARIANTS  # every gymlab id, and every alias that adds arguments

ENV_EXAMPLES = 12  # per single-env variant (8 variants)
VECTOR_EXAMPLES = 12  # per vector-env variant (4 variants)
TREE_EXAMPLES = 100
REPLAY_EXAMPLES = 80
SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

SINGLE = VARIANTS + [("CartPole-v1", ()), ("CliffWalking-v1", ())]
SINGLE_IDS = IDS + ["CartPole-v1", "CliffWalking-v1"]


# ------------------------------------------------------------------ exact comparison of anything
def same(a, b, where: str = "") -> None:
    """``a`` and ``b`` equal, and of the same types, all the way down (arrays bit for bit,
    float nan as nan, -0.0 as -0.0)."""
    if isinstance(a, resume.Big):  # a Big comes back as a Stored (from a file) or the array itself
        for got in (resume.read_array(b), resume.read_array(b, out=np.empty(a.array.shape, a.array.dtype))):
            same(a.array, got, where + "<big>")
        return
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        bitwise = np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()  # no diff of bytes
        assert bitwise, f"{where}: {a!r} vs {b!r}, first difference at {np.flatnonzero(a.ravel() != b.ravel())[:1]}"
    elif isinstance(a, np.generic):
        bitwise = a.dtype == b.dtype and np.asarray(a).tobytes() == np.asarray(b).tobytes()
        assert bitwise, f"{where}: {a!r} vs {b!r}"
    elif isinstance(a, float):
        assert (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b)), \
            f"{where}: {a!r} vs {b!r}"
    elif isinstance(a, dict):
        assert list(a) == list(b) and [type(k) for k in a] == [type(k) for k in b], \
            f"{where}: keys {list(a)} vs {list(b)}"
        for k in a:
            same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple, collections.deque)):
        assert len(a) == len(b), f"{where}: length {len(a)} vs {len(b)}"
        if isinstance(a, collections.deque):
            assert a.maxlen == b.maxlen, f"{where}: maxlen {a.maxlen} vs {b.maxlen}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.random.Generator):
        assert type(a.bit_generator) is type(b.bit_generator), where
        same(a.bit_generator.state, b.bit_generator.state, where + ".state")
        a, b = copy.deepcopy(a), copy.deepcopy(b)  # the originals' streams stay where they are
        for draw in (lambda g: g.integers(0, 2**32, 3, dtype=np.uint32), lambda g: g.random(3),
                     lambda g: g.normal(size=2), lambda g: g.integers(-5, 5)):
            same(draw(a), draw(b), where + " (next draws)")
    elif type(a).__module__.startswith("torch"):
        assert a.dtype == b.dtype and a.shape == b.shape and a.device == b.device, where
        same(a.numpy(), b.numpy(), where)
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def same_state(a, b) -> None:
    """Two env states (or any trees) pack to the same description and the same arrays."""
    (spec_a, arrays_a), (spec_b, arrays_b) = resume.pack(a), resume.pack(b)
    assert spec_a == spec_b
    assert list(arrays_a) == list(arrays_b)
    for name in arrays_a:
        same(arrays_a[name], arrays_b[name], name)


def through_file(state, meta=None):
    """``state`` written to a resume file and read back (the file is deleted at once: nothing
    here is a ``Big``, so nothing read back refers to it)."""
    meta = {"note": "test"} if meta is None else meta
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / resume.FILE
        assert resume.write(path, meta, state) == path.stat().st_size
        got_meta, got = resume.read(path)
    assert got_meta == meta
    return got


# ------------------------------------------------------------------ single envs
def step_through(env, actions, reset_on_end: bool = True) -> list[tuple]:
    out = []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        out.append(("step", obs, reward, terminated, truncated, info))
        if reset_on_end and (terminated or truncated):
            out.append(("reset",) + env.reset())  # no seed: the env's own generator goes on
    return out


@pytest.mark.parametrize("env_id,kw", SINGLE, ids=SINGLE_IDS)
@settings(max_examples=ENV_EXAMPLES, **SETTINGS)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), other=st.integers(1, 2**31), limit=st.integers(1, 25))
def test_env_restored_from_a_file_goes_on_as_the_original(env_id, kw, data, seed, other, limit):
    action = actions_in(_action_space(env_id, kw))

    def actions(label, lo, hi):
        n = data.draw(st.integers(lo, hi), label=f"{label} steps")  # drawn first: hypothesis's lists run short
        return data.draw(st.lists(action, min_size=n, max_size=n), label=f"{label} actions")

    before, elsewhere, after = actions("before", 0, 40), actions("elsewhere", 1, 10), actions("after", 1, 40)
    make = lambda: gym.make(env_id, max_episode_steps=limit, **dict(kw))  # noqa: E731

    a = make()
    a.reset(seed=seed)
    step_through(a, before)
    state = through_file(resume.env_state(a))

    b = make()
    b.reset(seed=(seed + other) % 2**32)  # another seed, another place: all of it must be overwritten
    step_through(b, elsewhere)
    resume.set_env_state(b, state)
    same_state(resume.env_state(a), resume.env_state(b))

    got_a, got_b = step_through(a, after), step_through(b, after)
    same(got_a, got_b, "trajectory")
    if any(entry[0] == "reset" for entry in got_a):
        event("an episode ended (and a new one began) after the restore")


# ------------------------------------------------------------------ vector envs
VECTOR = [("gymlab/Pong-v0", ()), ("gymlab/Pong-v0", (("obs_type", "pixels"),)), ("gymlab/Rooms-v0", ()),
          ("CartPole-v1", ())]
VECTOR_IDS = ["Pong-features", "Pong-pixels", "Rooms-sync", "CartPole-vector"]


@pytest.mark.parametrize("env_id,kw", VECTOR, ids=VECTOR_IDS)
@settings(max_examples=VECTOR_EXAMPLES, **SETTINGS)
@given(data=st.data(), n=st.integers(1, 4), seed=st.integers(0, 2**31 - 1), other=st.integers(1, 2**20),
       limit=st.integers(1, 25))
def test_vector_env_restored_from_a_file_goes_on_as_the_original(env_id, kw, data, n, seed, other, limit):
    single = actions_in(_action_space(env_id, kw))
    joint = st.lists(single, min_size=n, max_size=n).map(np.array)

    def actions(label, lo, hi):
        k = data.draw(st.integers(lo, hi), label=f"{label} steps")
        return data.draw(st.lists(joint, min_size=k, max_size=k), label=f"{label} actions")

    before, elsewhere, after = actions("before", 0, 40), actions("elsewhere", 1, 10), actions("after", 1, 40)
    make = lambda: make_vector_env(gym.make(env_id, max_episode_steps=limit, **dict(kw)), n)  # noqa: E731

    a = make()
    a.reset(seed=seed)
    step_through(a, before, reset_on_end=False)  # next-step autoreset: the vector env resets its sub-envs
    state = through_file(resume.env_state(a))

    b = make()
    assert type(b) is type(a)
    b.reset(seed=seed + other)
    step_through(b, elsewhere, reset_on_end=False)
    resume.set_env_state(b, state)
    same_state(resume.env_state(a), resume.env_state(b))

    got_a, got_b = step_through(a, after, reset_on_end=False), step_through(b, after, reset_on_end=False)
    same(got_a, got_b, "trajectory")
    if any(entry[3].any() or entry[4].any() for entry in got_a):
        event("a sub-env's episode ended (and autoreset) after the restore")


# ------------------------------------------------------------------ pack / unpack of any tree
BIT_GENERATORS = ["PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"]
DTYPES = [np.bool_, np.int8, np.uint16, np.int32, np.int64, np.uint64, np.float16, np.float32, np.float64,
          np.complex128]


@st.composite
def generators(draw):
    """A generator part way through its stream (32-bit draws leave half a word buffered)."""
    bit_generator = getattr(np.random, draw(st.sampled_from(BIT_GENERATORS)))(draw(st.integers(0, 2**128)))
    g = np.random.Generator(bit_generator)
    for kind, size in draw(st.lists(st.tuples(st.sampled_from(["u32", "float", "normal", "int"]),
                                              st.integers(0, 5)), max_size=4)):
        if kind == "u32":
            g.integers(0, 2**32, size, dtype=np.uint32)
        elif kind == "float":
            g.random(size)
        elif kind == "normal":
            g.normal(size=size)
        else:
            g.integers(-10, 10**12, size)
    return g


dtypes = st.sampled_from(DTYPES).map(np.dtype)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
nd_arrays = st.one_of(
    dtypes.flatmap(lambda dt: hnp.arrays(dt, shapes)),
    # not C-ordered: a transposed array, stored as it is
    dtypes.flatmap(lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=2, max_dims=2, max_side=4))).map(lambda a: a.T),
)
numpy_scalars = st.one_of(
    dtypes.flatmap(lambda dt: hnp.from_dtype(dt).map(dt.type)),
    st.text(st.characters(exclude_characters="\x00"), max_size=5).map(np.str_),  # numpy drops trailing NULs
)
ints = st.one_of(st.integers(), st.integers(-2**70, 2**70),
                 st.sampled_from([2**53 - 1, 2**53, -2**53, 2**53 + 1, 2**63, -2**63 - 1, 2**64]))
floats = st.one_of(st.floats(),
                   st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1.7976931348623157e308]))


def tensors():
    import torch

    return hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.bool_]).map(np.dtype),
                      hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3)).map(torch.from_numpy)


leaves = st.one_of(st.none(), st.booleans(), ints, floats, st.text(max_size=8), nd_arrays, numpy_scalars,
                   generators(), st.deferred(tensors))
keys = st.one_of(st.text(max_size=6), ints)


@st.composite
def deques(draw, children):
    items = draw(st.lists(children, max_size=4))
    maxlen = draw(st.none() | st.integers(len(items), len(items) + 3))
    return collections.deque(items, maxlen=maxlen)


def containers(children):
    return st.one_of(st.lists(children, max_size=4), st.lists(children, max_size=4).map(tuple),
                     deques(children), st.dictionaries(keys, children, max_size=4))


trees = st.recursive(leaves, containers, max_leaves=12)
trees_with_big = st.recursive(leaves | nd_arrays.map(resume.Big), containers, max_leaves=12)


def strip_big(tree):
    """What an in-memory ``unpack`` gives for ``tree``: each ``Big`` as its (C-ordered) array."""
    if isinstance(tree, resume.Big):
        return resume.Big(tree.array)  # ``same`` reads it with read_array, as from a file
    if isinstance(tree, dict):
        return {k: strip_big(v) for k, v in tree.items()}
    if isinstance(tree, collections.deque):
        return collections.deque((strip_big(v) for v in tree), maxlen=tree.maxlen)
    if isinstance(tree, (list, tuple)):
        return type(tree)(strip_big(v) for v in tree)
    return tree


@settings(max_examples=TREE_EXAMPLES, **SETTINGS)
@given(tree=trees_with_big, meta=st.dictionaries(st.text(max_size=5), st.integers(-10, 10) | st.text(max_size=5),
                                                 max_size=3))
def test_any_tree_comes_back_the_same_in_memory_and_through_a_file(tree, meta):
    spec, arrays = resume.pack(tree)
    assert json.loads(json.dumps(spec)) == spec  # plain JSON: no float or big int left to a JSON reader
    same(strip_big(tree), resume.unpack(spec, arrays), "memory")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / resume.FILE
        resume.write(path, meta, tree)
        got_meta, got = resume.read(path)
        assert got_meta == meta
        same(tree, got, "file")  # Big ones read (twice) while the file is still there
    if arrays:
        event("with arrays")
    if any(isinstance(v, resume.Big) for v in _leaves(tree)):
        event("with a Big array")


def _leaves(tree):
    if isinstance(tree, dict):
        for v in tree.values():
            yield from _leaves(v)
    elif isinstance(tree, (list, tuple, collections.deque)):
        for v in tree:
            yield from _leaves(v)
    else:
        yield tree


# ------------------------------------------------------------------ replay buffers
N_ACTIONS = 3


def item(k: int, obs_shape: tuple, obs_dtype) -> tuple:
    """Transition number k, recognisable in every field."""
    size = int(np.prod(obs_shape))
    obs = (np.arange(size) + 3 * k).reshape(obs_shape).astype(obs_dtype)
    mask = np.array([(k >> b) & 1 for b in range(N_ACTIONS)], dtype=bool)
    return obs, k % N_ACTIONS, float(k) / 2 - 3, obs + 1, (k % 5) / 4, mask


@st.composite
def replay_histories(draw):
    capacity = draw(st.integers(1, 12), label="capacity")
    obs_shape, obs_dtype = draw(st.sampled_from([((2,), np.float32), ((3, 4, 1), np.uint8), ((), np.int64)]),
                                label="observations")
    return dict(
        capacity=capacity, obs_shape=obs_shape, obs_dtype=obs_dtype,
        masks=draw(st.booleans(), label="masks"), prioritized=draw(st.booleans(), label="prioritized"),
        alpha=draw(st.floats(0.0, 1.0), label="alpha"),
        n_adds=draw(st.integers(0, 3 * capacity + 2), label="adds before saving"),  # 0, part full, wrapped
        updates=draw(st.lists(st.lists(st.tuples(st.integers(0, 100), st.floats(-1e3, 1e3)), min_size=1, max_size=5),
                              max_size=3), label="priority updates before saving"),
        seed=draw(st.integers(0, 2**32 - 1), label="rng seed"),
        batch_size=draw(st.integers(1, 16), label="batch size"),
        beta=draw(st.floats(0.0, 1.0), label="beta"),
        more_adds=draw(st.integers(0, capacity + 2), label="adds after restoring"),
        td=draw(st.lists(st.floats(-1e3, 1e3), min_size=16, max_size=16), label="td errors after restoring"),
    )


def update(buf, updates) -> None:
    if not len(buf):
        return
    for batch in updates:
        last = {i % len(buf): e for i, e in batch}  # one error per slot
        buf.update_priorities(np.array(list(last)), np.array(list(last.values())))


def same_buffer(a, b) -> None:
    assert (a.capacity, a.pos, a.size, len(a)) == (b.capacity, b.pos, b.size, len(b))
    for name in ("obs", "next_obs", "actions", "rewards", "discounts", "next_masks"):
        same(getattr(a, name), getattr(b, name), name)
    if isinstance(a, PrioritizedReplayBuffer):
        same(a.tree.tree, b.tree.tree, "sum tree")
        same(a.min_tree.tree, b.min_tree.tree, "min tree")
        same(a.max_priority, b.max_priority, "max_priority")
        assert (a.alpha, a.eps) == (b.alpha, b.eps)
    same(a.rng, b.rng, "rng")


def same_samples(a, b, batch_size, beta) -> None:
    if not len(a):
        return
    x, y = a.sample(batch_size, beta=beta), b.sample(batch_size, beta=beta)
    for field, u, v in zip(x._fields, x, y):
        same(u, v, f"batch.{field}")


@settings(max_examples=REPLAY_EXAMPLES, **SETTINGS)
@given(h=replay_histories())
def test_replay_buffer_restored_from_a_file_samples_as_the_original(h):
    cls = PrioritizedReplayBuffer if h["prioritized"] else ReplayBuffer
    extra = {"alpha": h["alpha"]} if h["prioritized"] else {}

    def new(rng):
        return cls(h["capacity"], h["obs_shape"], h["obs_dtype"], N_ACTIONS, h["masks"], rng, **extra)

    a = new(np.random.default_rng(h["seed"]))
    for k in range(h["n_adds"]):
        a.add(*item(k, h["obs_shape"], h["obs_dtype"]))
    update(a, h["updates"])
    same_samples(a, copy.deepcopy(a), h["batch_size"], h["beta"])  # the generator moves on before saving

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / resume.FILE
        resume.write(path, {}, {"replay": a.state(), "rng": a.rng})
        _, saved = resume.read(path)
        b = new(np.random.default_rng())  # a generator of its own, put in the saved one's state below
        b.rng.bit_generator.state = saved["rng"].bit_generator.state
        b.load_state(saved["replay"])  # Big observations read from the file here
    same_buffer(a, b)

    same_samples(a, b, h["batch_size"], h["beta"])
    if len(a):
        index = a.sample(h["batch_size"], beta=h["beta"]).index
        assert np.array_equal(index, b.sample(h["batch_size"], beta=h["beta"]).index)
        td = np.array(h["td"][:len(np.unique(index))])
        a.update_priorities(np.unique(index), td)
        b.update_priorities(np.unique(index), td)
        same_samples(a, b, h["batch_size"], h["beta"])
    for k in range(h["n_adds"], h["n_adds"] + h["more_adds"]):  # the ring goes on from where it was
        assert a.add(*item(k, h["obs_shape"], h["obs_dtype"])) == b.add(*item(k, h["obs_shape"], h["obs_dtype"]))
    same_buffer(a, b)
    same_samples(a, b, h["batch_size"], h["beta"])
    event("empty" if h["n_adds"] == 0 else "wrapped" if h["n_adds"] > h["capacity"] else "part full or just full")
