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


def open_npz(path, what: str, error):
    """``np.load(path)`` of a gymlab ``.npz`` (``what``: "checkpoint", "resume state"), with no pickle:
    opening one runs no code. The one policy for every such file: one that is not one raises
    ``error(message)``, a line naming ``path`` as corrupt, never numpy's advice to load it unsafely."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise error(f"{path} is corrupt or not a gymlab {what} (not an .npz archive)")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise error(corrupt_message(path, what, err)) from err


def corrupt_message(path, what: str, err: Exception) -> str:
    """``PATH is corrupt or not a gymlab WHAT: why``, in one line; numpy's words about pickled
    data (and loading it "unsafely") are not passed on: gymlab never writes any."""
    why = (str(err).splitlines() or [type(err).__name__])[0]
    if "pickle" in why:
        why = "it holds Python objects, which no gymlab file does"
    return f"{path} is corrupt or not a gymlab {what}: {why}"


def load(path) -> tuple[dict, dict]:
    """``(meta, arrays)`` from ``path``; ``CheckpointError`` if missing or unreadable, or if it is a
    resume state (``--resume``'s)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}", path)
    if not zipfile.is_zipfile(path) and path.suffix != ".npz":
        raise CheckpointError(f"{path} is not a checkpoint (a gymlab checkpoint is an .npz file)", path)

    def error(message):
        return CheckpointError(message, path, corrupt=True)

    try:
        with open_npz(path, "checkpoint", error) as data:
            arrays = {k: data[k] for k in data.files}  # reading every array checks every CRC
        meta = json.loads(str(arrays.pop(_META)))
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise error(corrupt_message(path, "checkpoint", err)) from err
    if not isinstance(meta, dict):
        raise error(f"{path} is corrupt or not a gymlab checkpoint: its header is not a JSON object")
    from gymlab.resume import KIND

    if meta.get("kind") == KIND:
        raise CheckpointError(f"{path} is a resume state, not a checkpoint: to go on with that run, "
                              f"--resume {path.parent}", path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {meta.get('format')!r}; this gymlab reads {FORMAT}",
                              path, corrupt=True)
    return meta, arrays


def read_meta(path, named: dict) -> dict:
    """A checkpoint's header, for a command about to rebuild what it names. Loading a file never
    runs code: a ``module:id`` env or ``module:Class`` agent recorded in it is imported only when
    the user names it again, ``named`` mapping each flag to what the user gave (``{"--env":
    None, "--agent": "q"}``; a flag the command lacks maps to nothing). Anything else that names
    a module is refused, saying how to trust it."""
    meta, _ = load(path)
    for key in ("env", "agent"):
        recorded, flag = meta.get(key), "--" + key
        if isinstance(recorded, str) and ":" in recorded and named.get(flag) is None:
            how = (f"give {flag} {recorded} if you trust it" if flag in named
                   else "this command imports no module a file names")
            raise CheckpointError(f"{path} names the {key} {recorded!r}, from module {recorded.split(':')[0]!r}: a "
                                  f"module a checkpoint names is imported only when you name it too; {how}", path)
    return meta


def require_finite(path, arrays: dict) -> None:
    """Refuse weights that are not finite (NaN or infinite: a run that diverged), which would act
    and evaluate as if nothing were wrong. (The file format itself keeps any value, bit for bit.)"""
    bad = [k for k, v in arrays.items() if v.dtype.kind in "fc" and not np.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{path} holds weights that are not finite (NaN or infinite: {', '.join(bad[:3])}"
                              f"{', ...' if len(bad) > 3 else ''}), from a run that diverged; it cannot be used",
                              path, corrupt=True)


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
