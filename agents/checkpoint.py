"""Checkpoints: one ``.npz`` file of named arrays plus a JSON header, written atomically.

No pickle anywhere: a checkpoint loads with ``allow_pickle=False``, so opening
one runs no code, and any agent's file can be read with numpy alone. Writes go
to a temporary file in the same directory and then ``os.replace`` it over the
target, so an interrupted run never leaves a half-written checkpoint behind:
the last good one stays.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
from gymnasium import spaces

from gymlab.runs import atomic_write, write_json  # noqa: F401  (write_json: re-exported)

FORMAT = 1
_META = "__meta__"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, or was written by another agent."""

    def __init__(self, message: str, path=None, corrupt: bool = False):
        super().__init__(message)
        self.path = None if path is None else Path(path)
        self.corrupt = corrupt  # unreadable, as opposed to missing or meant for another agent or env


_RESERVED = (_META, "file", "allow_pickle")  # the header's name and np.savez's own parameters


def save(path, meta: dict, arrays: dict) -> None:
    """Write ``arrays`` (named numpy arrays) and ``meta`` (JSON) to ``path``, atomically. Array
    names are zip entry names: text without NUL or lone surrogates, none of ``_RESERVED``."""
    for name in arrays:
        if name in _RESERVED or "\x00" in name or not name.encode("utf-8", "surrogatepass").decode("utf-8", "ignore") \
                == name:
            raise ValueError(f"cannot store an array named {name!r} in a checkpoint")
    header = np.array(json.dumps({"format": FORMAT, **meta}, sort_keys=True))
    atomic_write(path, lambda f: np.savez(f, **{_META: header}, **arrays))


def load(path) -> tuple[dict, dict]:
    """``(meta, arrays)`` from ``path``; ``CheckpointError`` if missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}", path)
    if not zipfile.is_zipfile(path):  # a broken .npz is a corrupt checkpoint; any other file, a wrong path
        if path.suffix != ".npz":
            raise CheckpointError(f"{path} is not a checkpoint (a gymlab checkpoint is an .npz file)", path)
        raise CheckpointError(f"{path} is not a gymlab checkpoint (not an .npz archive; corrupt or another kind "
                              f"of file)", path, corrupt=True)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}  # reading every array checks every CRC
        meta = json.loads(str(arrays.pop(_META)))
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is corrupt or not a gymlab checkpoint: {err}", path, corrupt=True) from err
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {meta.get('format')!r}; this gymlab reads {FORMAT}",
                              path, corrupt=True)
    return meta, arrays


def short_space(space) -> str:
    """``Box(shape=(4,), float32)`` rather than a Box's full bounds."""
    if isinstance(space, spaces.Box):
        return f"Box(shape={space.shape}, {space.dtype})"
    return str(space)


def describe_space(space) -> dict:
    """A JSON description of a space, enough to compare it and rebuild it."""
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start), "repr": str(space)}
    if isinstance(space, spaces.Box):
        def bound(a):
            return float(a.flat[0]) if a.size and np.all(a == a.flat[0]) else a.tolist()
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype),
                "low": bound(space.low), "high": bound(space.high), "repr": str(space)}
    return {"type": type(space).__name__, "repr": str(space)}


def rebuild_space(desc: dict):
    if desc["type"] == "Discrete":
        return spaces.Discrete(desc["n"], start=desc["start"])
    if desc["type"] == "Box":
        # describe_space keeps a bound that is the same everywhere as one number: spread it over the shape.
        shape, dtype = tuple(desc["shape"]), np.dtype(desc["dtype"])
        low, high = (np.broadcast_to(np.asarray(desc[k], dtype=dtype), shape) for k in ("low", "high"))
        return spaces.Box(low, high, shape, dtype)
    raise CheckpointError(f"cannot rebuild a {desc['type']} space from a checkpoint")
