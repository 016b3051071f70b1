"""Hyper-parameter files in rl-baselines3-zoo's layout, read: ours (``gymlab/hyperparams/<agent>.yml``,
shipped in the package) and a user's (``train.py --hyperparams FILE``), by one reader.

A file is one agent's: a mapping from an env id or alias (or ``default``: any other env) to an entry.
An entry holds the agent's Config fields by name, and keys of its own::

    CartPole-v1:
      learning_rate: 2.3e-3          # a Config field (train.py --agent A --help lists them)
      hidden: [256, 256]             # sizes: a list
      n_timesteps: !!float 5e4       # the budget in env steps, as the zoo names it (n_episodes: in episodes)
      env_kwargs: {obs_type: pixels} # the env arguments that make the task the entry is for
      stop_at: 10                    # stop at a periodic evaluation's mean >= 10 (gymlab/stopping.py)
      eval_every: 10000              # the periodic evaluation's period, in env steps
      tuned_on: {seeds: [0, 1], how: "..."}  # which seeds chose it (ours always say; seeds: null, not recorded)

``read(path, label, task_of, config_cls)`` returns a ``File``: its entries by task key (``*`` for
``default``) in the table's shape (``steps``/``episodes`` for the budget, lists as tuples, ``tuned_on``
with ``seeds``, ``texts`` and ``how``), and each task's key as the file spells it. Anything wrong is a
``FileError``, one line naming the file, the entry and the field. YAML's own floats are read as YAML 1.2
reads them (``1e-3`` is a number, not the string PyYAML's 1.1 makes of it); a key given twice is an error.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT = "default"  # the zoo's key for any env without an entry of its own; "*" in the table
BUDGETS = {"n_timesteps": "steps", "n_episodes": "episodes"}  # the file's name of a budget -> the table's
STOP_KEYS = ("stop_at", "eval_every")  # a budget that stops when the work is done (gymlab/stopping.py)
OWN_KEYS = ("env_kwargs", "tuned_on", *BUDGETS, *STOP_KEYS)  # an entry's keys that are not Config fields


class FileError(ValueError):
    """A hyper-parameters file that cannot be used: one line, naming the file, the entry and the field."""


@dataclass
class File:
    label: str  # how summary.json names it: gymlab/hyperparams/dqn.yml, or a user's path
    table: dict = field(default_factory=dict)  # task key (or "*") -> entry
    names: dict = field(default_factory=dict)  # task key (or "*") -> the entry's key in the file


_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X)


@functools.cache
def _loader():
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

    Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
    return Loader


def parse_yaml(text: str, label: str):
    """The YAML document in ``text``; ``FileError`` (with the line) if it is not valid YAML."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506  (a SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).split("\n")[0]
        raise FileError(f"{label}: not valid YAML{where}: {problem}") from None


def read(path: Path, label: str, task_of, config_cls=None, record_required: bool = False) -> File:
    """The file at ``path`` (named ``label`` in messages), each entry's task from ``task_of(key,
    env_kwargs)``; with ``config_cls``, every field checked by the agent's Config, one by one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileError(f"{label}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise FileError(f"{label}: cannot be read ({getattr(err, 'strerror', None) or err})") from None
    doc = parse_yaml(text, label)
    if not isinstance(doc, dict) or not doc:
        raise FileError(f"{label}: expected a mapping from env ids (or aliases, or {DEFAULT!r}) to entries, got "
                        f"{type(doc).__name__ if doc is not None else 'an empty file'}")
    out = File(label)
    for key, entry in doc.items():
        where = f"{label}: entry {key!r}"
        if not isinstance(key, str) or not isinstance(entry, dict):
            raise FileError(f"{where}: expected an env id, alias or {DEFAULT!r} mapped to its fields, got "
                            f"{type(entry).__name__}")
        if key == DEFAULT and "env_kwargs" in entry:
            raise FileError(f"{where}: env_kwargs say which task an entry is for; {DEFAULT!r} is for any env")
        try:
            task = "*" if key == DEFAULT else task_of(key, _env_kwargs(entry.get("env_kwargs", {})))
        except FileError as err:
            raise FileError(f"{where}: {err}") from None
        if task in out.table:
            raise FileError(f"{where}: the same task as entry {out.names[task]!r} ({task})")
        out.table[task], out.names[task] = _entry(entry, where, config_cls, record_required), key
    return out


def _env_kwargs(value) -> dict:
    if not isinstance(value, dict) or not all(isinstance(k, str) and k.isidentifier() for k in value):
        raise FileError(f"env_kwargs must map argument names to values, got {value!r}")
    return value


def _entry(entry: dict, where: str, config_cls, record_required: bool) -> dict:
    out: dict = {}
    budgets = [k for k in BUDGETS if k in entry]
    if len(budgets) > 1:
        raise FileError(f"{where}: a budget is n_timesteps or n_episodes, not both")
    for name, value in entry.items():
        if name == "env_kwargs":
            continue
        if name == "tuned_on":
            out[name] = _record(value, where)
        elif name in BUDGETS:
            whole = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
                and value == int(value) and value >= 1
            if not whole:
                raise FileError(f"{where}: {name} must be a whole number >= 1, got {value!r}")
            out[BUDGETS[name]] = int(value)
        elif name in STOP_KEYS:
            out[name] = _stop_key(name, value, where)
        else:
            out[name] = _field(config_cls, name, value, where)
    if record_required and "tuned_on" not in out:
        raise FileError(f"{where}: says nothing of what it was tuned on (tuned_on: seeds, how)")
    return out


def _stop_key(name: str, value, where: str):
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if name == "stop_at":
        if not number:
            raise FileError(f"{where}: stop_at must be a finite number (a mean return), got {value!r}")
        return float(value)
    if not (number and value == int(value) and value >= 0):
        raise FileError(f"{where}: eval_every must be a whole number >= 0 (env steps; 0: none), got {value!r}")
    return int(value)


def _field(config_cls, name, value, where: str):
    value = tuple(value) if isinstance(value, list) else value
    if config_cls is None:
        return value
    from gymlab.agents.base import check_field, flag

    names = [f.name for f in dataclasses.fields(config_cls)]
    if name not in names:
        close = difflib.get_close_matches(str(name), names, n=1)
        raise FileError(f"{where}: unknown field {name!r}" + (f" (did you mean {close[0]}?)" if close else
                        f" (the fields: {', '.join(names + list(OWN_KEYS))})"))
    try:
        check_field(config_cls, name, value)
    except ValueError as err:
        raise FileError(f"{where}: {str(err).replace(flag(name), name, 1)}") from None
    return value


def _record(value, where: str) -> dict:
    """``tuned_on``: ``{seeds: [..] or null, texts: [..] (may be left out), how: "..."}``."""
    if not isinstance(value, dict) or not set(value) <= {"seeds", "texts", "how"} or "how" not in value:
        raise FileError(f"{where}: tuned_on must hold seeds (a list, or null: not recorded), how (a sentence) "
                        f"and may hold texts, got {value!r}")
    seeds, texts, how = value.get("seeds"), value.get("texts", []), value["how"]
    if seeds is not None and (not isinstance(seeds, list) or not all(isinstance(s, int) and not isinstance(s, bool)
                                                                     and s >= 0 for s in seeds)):
        raise FileError(f"{where}: tuned_on seeds must be a list of seeds >= 0 or null, got {seeds!r}")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or not isinstance(how, str):
        raise FileError(f"{where}: tuned_on texts must be a list of names and how a sentence")
    return dict(seeds=None if seeds is None else tuple(seeds), texts=tuple(texts), how=how)
