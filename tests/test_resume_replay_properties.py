"""Property-based checks of a replay buffer's resume state (uniform and prioritized, with and
without masks, empty, part full and wrapped round): the ``state()`` written and read back and
loaded into a fresh buffer with a generator in the same state holds the same arrays, samples the
same batches, takes the same priority updates and additions, and samples the same again.

About 80 examples (``REPLAY_EXAMPLES``). (Envs and any tree: tests/test_resume_properties.py.)
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gymlab import resume
from gymlab.agents.replay import PrioritizedReplayBuffer, ReplayBuffer
from resume_helpers import same


REPLAY_EXAMPLES = 80
SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


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
