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

About 8 x 12 + 4 x 12 + 100 = 244 examples in all (see the ``*_EXAMPLES`` constants). Replay
buffers: tests/test_resume_replay_properties.py; the comparison: tests/resume_helpers.py.
"""

from __future__ import annotations

import collections
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
from gymlab.agents.rollout import make_vector_env
from resume_helpers import same, same_state, through_file
from test_env_properties import _action_space, actions_in
from test_envs import IDS, VARIANTS  # every gymlab id, and every alias that adds arguments


ENV_EXAMPLES = 12  # per single-env variant (8 variants)
VECTOR_EXAMPLES = 12  # per vector-env variant (4 variants)
TREE_EXAMPLES = 100
SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

SINGLE = VARIANTS + [("CartPole-v1", ()), ("CliffWalking-v1", ())]
SINGLE_IDS = IDS + ["CartPole-v1", "CliffWalking-v1"]


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
