"""Exact comparison of resume states and a trip through a resume file, for the resume property
tests (tests/test_resume_properties.py, tests/test_resume_replay_properties.py)."""

from __future__ import annotations

import collections
import copy
import math
import tempfile
from pathlib import Path

import numpy as np

from gymlab import resume


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
