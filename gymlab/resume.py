"""Resume state: everything a run needs to go on exactly where it stopped, in one file.

``train.py`` writes ``RUN_DIR/resume.npz`` at every periodic evaluation, every
``--save-every-minutes``, on Ctrl-C or SIGTERM and at the end of training, and ``train.py --resume RUN_DIR`` picks the run up from
it: a run stopped and resumed ends with the same weights and the same
``summary.json`` (timings aside) as the run left alone. This module holds the
parts no agent owns:

- ``pack(tree)`` / ``unpack(spec, arrays)``: a nested structure of dicts, lists,
  tuples, numbers, strings, numpy arrays and generators, torch tensors, to a JSON
  description plus named arrays, and back. No pickle: loading runs no code, as for
  checkpoints. An array wrapped in ``Big`` comes back as a ``Stored`` reference,
  read straight into memory its owner allocates (a replay buffer's frames), so a
  large resume state is never held twice;
- ``env_state(env)`` / ``set_env_state(env, state)``: the state of a Gymnasium env,
  wrappers and vector envs included, read from its attributes (positions,
  counters, its random generator, a time limit's step count, ...);
- ``write(path, meta, tree)`` / ``read(path)``: the file, written atomically;
(``gymlab/signals.py``'s ``DeferredStop``: Ctrl-C or SIGTERM sets a flag that the training
loop looks at between steps, where the state is whole, instead of raising wherever it lands.)

A run's loop reaches a *safe point* between env steps (the logger's ``safe_point``),
where nothing is half done; the resume state is written only there.
"""

from __future__ import annotations

import collections
import functools
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 1
KIND = "gymlab-resume"
FILE = "resume.npz"
_META = "__meta__"


class ResumeError(RuntimeError):
    """A resume state that is missing, unreadable, or does not fit the run."""


# ------------------------------------------------------------------ nested structures <-> JSON + arrays
class Big:
    """Marks an array to be read back lazily (``Stored``): its owner reads it into memory of its own."""

    def __init__(self, array: np.ndarray):
        self.array = array


class Stored:
    """An array in a resume file, not read yet: ``read_into(out)`` fills ``out`` from the file in
    chunks, without a second copy in memory; ``read()`` returns it as a new array."""

    def __init__(self, path: Path, name: str):
        self.path, self.name = path, name
        with zipfile.ZipFile(path) as zf, zf.open(name + ".npy") as f:
            self.shape, self.dtype = _npy_header(f)

    def read(self) -> np.ndarray:
        out = np.empty(self.shape, self.dtype)
        self.read_into(out)
        return out

    def read_into(self, out: np.ndarray, chunk: int = 1 << 24) -> None:
        if out.shape != self.shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ResumeError(f"{self.name}: stored {self.dtype}{list(self.shape)}, cannot read into "
                              f"{out.dtype}{list(out.shape)}")
        view = memoryview(out.reshape(-1).view(np.uint8))  # (memoryview.cast refuses an empty array)
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(self.name + ".npy") as f:
                _npy_header(f)
                for start in range(0, len(view), chunk):
                    part = view[start:start + chunk]
                    got = f.read(len(part))
                    if len(got) != len(part):
                        raise ResumeError(f"{self.path}: {self.name} is cut short")
                    part[:] = got
                f.read(1)  # to the end of the entry, where the zip checks its CRC
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise ResumeError(f"{self.path} is corrupt: {err}") from err


def _npy_header(f) -> tuple[tuple, np.dtype]:
    version = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(f)
    if fortran:
        raise ResumeError("a resume state holds C-ordered arrays only")
    return shape, dtype


def pack(tree) -> tuple[Any, dict[str, np.ndarray]]:
    """``tree`` as ``(spec, arrays)``: ``spec`` is JSON-able, ``arrays`` maps names to arrays."""
    arrays: dict[str, np.ndarray] = {}

    def array(value: np.ndarray, kind: str) -> dict:
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {kind: name}

    def enc(x):
        if isinstance(x, np.generic):  # before the Python types: np.float64 is a float, np.str_ a str
            return array(np.asarray(x), "scalar")
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, int):
            return {"int": str(x)} if abs(x) >= 2**53 else x  # JSON readers may round big integers
        if isinstance(x, float):
            return {"float": repr(x)}  # repr round-trips exactly, inf and nan included
        if isinstance(x, Big):
            return array(np.asarray(x.array, order="C"), "big")  # (ascontiguousarray makes a 0-d array 1-d)
        if isinstance(x, np.ndarray):
            if x.dtype.hasobject:
                raise TypeError("cannot store an array of Python objects in a resume state")
            return array(x, "array")
        if isinstance(x, np.random.Generator):
            return {"generator": type(x.bit_generator).__name__, "state": enc(x.bit_generator.state)}
        if isinstance(x, (list, tuple, collections.deque)):
            items = [enc(v) for v in x]
            if isinstance(x, collections.deque):
                return {"deque": items, "maxlen": x.maxlen}
            return {"tuple": items} if isinstance(x, tuple) else {"list": items}
        if isinstance(x, dict):
            if not all(isinstance(k, (str, int)) for k in x):
                raise TypeError(f"cannot store a dict with keys {list(x)!r} in a resume state")
            return {"dict": [[enc(k), enc(v)] for k, v in x.items()]}
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(x, torch.Tensor):
            return array(x.detach().cpu().numpy().copy(), "tensor")
        raise TypeError(f"cannot store a {type(x).__name__} in a resume state")

    return enc(tree), arrays


def unpack(spec, arrays) -> Any:
    """The tree ``pack`` described; ``arrays`` maps names to arrays (or to ``Stored``, for ``Big`` ones)."""
    def dec(x):
        if not isinstance(x, (dict, list)):
            return x
        if isinstance(x, list):  # never made by pack: a corrupt file
            raise ResumeError("malformed resume state")
        (key, value), *rest = x.items()
        if key == "int":
            return int(value)
        if key == "float":
            return float(value)
        if key in ("array", "big"):
            return arrays[value]
        if key == "scalar":
            return arrays[value][()]
        if key == "tensor":
            import torch

            return torch.from_numpy(np.array(arrays[value]))
        if key == "generator":
            bit_generator = getattr(np.random, value)()
            bit_generator.state = dec(x["state"])
            return np.random.Generator(bit_generator)
        if key in ("list", "tuple"):
            items = [dec(v) for v in value]
            return tuple(items) if key == "tuple" else items
        if key == "deque":
            return collections.deque((dec(v) for v in value), maxlen=x["maxlen"])
        if key == "dict":
            return {dec(k): dec(v) for k, v in value}
        raise ResumeError(f"malformed resume state (unknown entry {key!r})")

    return dec(spec)


def read_array(value, out: np.ndarray | None = None) -> np.ndarray:
    """A stored array (a ``Stored`` or an array), into ``out`` when given (whose shape it must have)."""
    if out is None:
        return value.read() if isinstance(value, Stored) else np.asarray(value)
    if isinstance(value, Stored):
        value.read_into(out)
    else:
        out[...] = value
    return out


# ------------------------------------------------------------------ the state of an env
_SKIP = {"spec", "metadata", "render_mode", "_saved_kwargs", "env_fns", "_cached_spec", "_action_space",
         "_observation_space", "_metadata", "autoreset_mode", "observation_mode", "copy"}


def _plain(x) -> bool:
    """Whether ``x`` is data (not a space, a window, a function, another env ...)."""
    if x is None or isinstance(x, (bool, int, float, str, np.ndarray, np.generic, np.random.Generator)):
        return not (isinstance(x, np.ndarray) and x.dtype.hasobject)
    if isinstance(x, (list, tuple, collections.deque)):
        return all(_plain(v) for v in x)
    if isinstance(x, dict):
        return all(isinstance(k, (str, int)) and _plain(v) for k, v in x.items())
    return False


def _constant(x) -> bool:
    """Whether ``x`` is something an env is built with and never changes (a space, a spec, a frozen
    settings dataclass, an enum, a function or class), so nothing of it needs saving."""
    import dataclasses
    import enum
    import types

    import gymnasium as gym

    if isinstance(x, (gym.Space, gym.envs.registration.EnvSpec, enum.Enum, type, types.FunctionType,
                      types.MethodType, types.BuiltinFunctionType, types.ModuleType, functools.partial)):
        return True
    return dataclasses.is_dataclass(x) and getattr(type(x), "__dataclass_params__").frozen


def _children(env) -> list:
    import gymnasium as gym

    kinds = (gym.Env, gym.Wrapper, gym.vector.VectorEnv, gym.vector.VectorWrapper)
    out = []
    for name, value in vars(env).items():
        if isinstance(value, kinds):
            out.append((name, value))
        elif isinstance(value, list) and value and all(isinstance(v, kinds) for v in value):
            out.extend((f"{name}[{i}]", v) for i, v in enumerate(value))
    return out


def env_state(env, _where: str = "env") -> dict:
    """The data attributes of ``env`` and of every env or wrapper inside it (a vector env's
    copies too), and of any plain object it keeps (e.g. a vocabulary), as a nested dict: what
    ``set_env_state`` needs to put a fresh env made the same way into the very same state.
    Spaces, specs, frozen settings and functions are left out, and so are render windows when
    the env is not rendering (None). Anything else (an engine's C object, a render window that is
    open) cannot be saved: ``ResumeError`` names it, rather than a resume that silently differs."""
    kids = dict(_children(env))
    kid_attributes = {k.split("[")[0] for k in kids}  # "envs" for the children "envs[0]", "envs[1]", ...
    state = {}
    for name, value in vars(env).items():
        if name in _SKIP or name in kid_attributes:
            continue
        if _plain(value):
            state[name] = value
        elif isinstance(value, np.random.RandomState):
            state[f"~{name}"] = list(value.get_state())
        elif _constant(value):
            continue
        elif hasattr(value, "__dict__") and not callable(value):
            state[f"({name})"] = env_state(value, f"{_where}.{name}")  # a helper object: its data too
        else:
            raise ResumeError(f"cannot save the state of {_where}.{name} (a {type(value).__name__}): a run in "
                              f"this env cannot be resumed exactly")
    for name, child in kids.items():
        state[f"<{name}>"] = env_state(child, f"{_where}.{name}")
    return state


def set_env_state(env, state: dict) -> None:
    """Put ``env`` (made as the one ``state`` was read from) into that state."""
    children = dict(_children(env))
    for name, value in state.items():
        if name.startswith("<") or name.startswith("("):
            inner = name[1:-1]
            target = children.get(inner) if name[0] == "<" else getattr(env, inner, None)
            if target is None:
                raise ResumeError(f"the env has no {inner!r} inside it, as the saved one had")
            set_env_state(target, value)
            continue
        if name.startswith("~"):  # a legacy numpy RandomState
            getattr(env, name[1:]).set_state(tuple(value))
            continue
        old = getattr(env, name, None)
        if isinstance(old, np.random.Generator) and isinstance(value, np.random.Generator) \
                and type(old.bit_generator) is type(value.bit_generator):
            old.bit_generator.state = value.bit_generator.state  # in place: whoever holds it sees it
        elif isinstance(old, np.ndarray) and isinstance(value, np.ndarray) and old.shape == value.shape \
                and old.dtype == value.dtype and old.flags.writeable and old.base is None:
            old[...] = value  # in place: views of it stay views of it (not into a view: that would write
            # into the array it views, e.g. a text's window into the text, at this env's position)
        elif old is None or _plain(old):
            setattr(env, name, value)
        else:
            raise ResumeError(f"cannot restore the env's {name!r}: it holds a {type(old).__name__} here")


# ------------------------------------------------------------------ the file
def write(path, meta: dict, tree) -> int:
    """Write ``tree`` (and JSON ``meta``) to ``path`` atomically; its size in bytes."""
    from gymlab.runs import atomic_write

    spec, arrays = pack(tree)
    header = np.array(json.dumps({"format": FORMAT, "kind": KIND, "meta": meta, "tree": spec}))
    atomic_write(path, lambda f: np.savez(f, **{_META: header}, **arrays))  # each array streamed, not copied
    return Path(path).stat().st_size


def read(path) -> tuple[dict, Any]:
    """``(meta, tree)`` from a resume file; ``ResumeError`` if missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ResumeError(f"no resume state at {path}")
    from gymlab.agents.checkpoint import corrupt_message, open_npz  # one policy for every gymlab .npz

    try:
        with open_npz(path, "resume state", ResumeError) as data:
            header = json.loads(str(data[_META]))
            if header.get("kind") != KIND or header.get("format") != FORMAT:
                raise ResumeError(f"{path} is not a gymlab resume state this gymlab reads")
            big = _big_names(header["tree"])
            arrays = {k: Stored(path, k) if k in big else data[k] for k in data.files if k != _META}
        return header["meta"], unpack(header["tree"], arrays)
    except ResumeError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise ResumeError(corrupt_message(path, "resume state", err)) from err


def _big_names(spec) -> set[str]:
    out = set()
    if isinstance(spec, dict):
        if "big" in spec and len(spec) == 1:
            out.add(spec["big"])
        for v in spec.values():
            out |= _big_names(v)
    elif isinstance(spec, list):
        for v in spec:
            out |= _big_names(v)
    return out



class Writer:
    """A run's resume state, written to ``path`` when called (at a safe point). A failure (a full disk,
    an env whose state cannot be saved) is said in one warning line, the first time only, and training
    goes on: the last good resume state stays as it was."""

    def __init__(self, path: Path, spec: dict, agent, logger):
        self.path, self.spec, self.agent, self.logger = path, spec, agent, logger
        self.failures = 0

    def __call__(self) -> bool:
        try:
            write(self.path, {"run": self.spec, "step": self.logger.steps},
                  {"agent": self.agent.resume_state(), "logger": self.logger.state()})
            return True
        except (OSError, ResumeError, TypeError) as err:
            if not self.failures:
                print(f"train.py: warning: resume state not written at step {self.logger.steps}: "
                      f"{getattr(err, 'strerror', None) or err} (later failures to write it are not repeated)",
                      file=sys.stderr)
            self.failures += 1
            return False
