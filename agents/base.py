"""The few calls every agent answers, so ``train.py`` never special-cases one.

An agent is built from the spaces it will act in and a config dataclass of
hyper-parameters (each field with a ``help`` string, which ``train.py`` turns
into a command-line flag). It answers:

- ``check_spaces(observation_space, action_space)``: raise ``SpaceError``
  saying why it cannot act there (a classmethod, called before building);
- ``predict(obs, state, episode_start, deterministic, action_mask)
  -> (action, state)``: SB3's convention, which already fits recurrent
  policies (``state`` is their hidden state; ``None`` for the others);
- ``learn(env, budget, logger)``: train in ``env`` until the budget is spent;
- ``save(path)`` / ``load(path)``: an atomic, self-describing checkpoint;
- ``resume_state()`` / ``load_resume_state(state)`` / ``resume_in(env)``: what
  ``train.py --resume`` needs to go on exactly where a run stopped (optional);
- ``report(env, run_dir)``: agent-specific figures for ``summary.json`` and
  lines to print after training (empty by default).

Each Config field is declared with ``param``, which keeps the values it accepts
beside it; the Config's ``__post_init__`` calls ``validate``, so a bad value is
refused where it is defined, in one line that names the flag and the range:
``--gamma must be in [0, 1], got 1.5``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from gymlab.agents import checkpoint
from gymlab.agents.checkpoint import CheckpointError
from gymlab.cli import max_threads


class SpaceError(ValueError):
    """An agent cannot act in an env with these observation or action spaces."""


# ------------------------------------------------------------------ hyper-parameters
WIDTHS = "[1, 65536]"  # a hidden layer's width: wider would not fit in memory beside another layer
THREADS = f"[1, {max_threads()}]"  # torch CPU threads: at most the CPUs this process may run on
# Adam and RMSprop move each weight by about the learning rate a step, whatever the gradient's
# scale: above 1, by more than a weight's whole initial range (and at 1e30, into float32's inf).
LEARNING_RATE = "(0, 1]"


def param(default, help: str, rule: str | None = None, *, choices=(), why: str = "", empty: bool = False,
          arch: bool = False):
    """A Config field: its default, its help (the flag's ``--help``) and the values it accepts.

    - ``rule``: the range of a number, or of each size in a tuple: ``"> 0"``, ``">= 1"``,
      ``"[0, 1]"``, ``"(0, 1]"``, ``"finite"``; a float is always refused NaN and infinities;
    - ``choices``: the strings accepted; ``why``: why only those (said when a value is refused);
    - ``empty``: a tuple of sizes may be empty (no hidden layers: a linear policy);
    - ``arch``: the value shapes the network, so a checkpoint cannot be loaded with another.
    """
    if rule is not None:
        _parse_rule(rule)  # a typo in a rule fails at import, not at the first bad value
        help = f"{help} ({'each ' if isinstance(default, tuple) else ''}{_must_be(rule)})"
    return field(default=default, metadata={"help": help, "rule": rule, "choices": tuple(choices), "why": why,
                                            "empty": empty, "arch": arch})


def validate(config) -> None:
    """Check every field of a Config against its ``param`` declaration (type, range, choices),
    and store each value as a plain Python value (a list of sizes becomes a tuple, a numpy
    integer an int). Called by each Config's ``__post_init__``; raises ``ValueError`` naming
    the flag and what it accepts."""
    types = _types(config.__class__)
    for f in dataclasses.fields(config):
        setattr(config, f.name, _checked(f.name, types[f.name], getattr(config, f.name), f.metadata))


def check_field(config_cls, name: str, value):
    """One field's value as ``validate`` stores it (type, range, choices), without building the Config
    (a hyper-parameters file checks each field of an entry alone); ``ValueError`` naming the flag."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    return _checked(name, _types(config_cls)[name], value, fields[name].metadata)


def require(ok: bool, message: str) -> None:
    """A rule between fields, e.g. ``require(self.batch_size <= self.buffer_size, "...")``."""
    if not ok:
        raise ValueError(message)


def flag(name: str) -> str:
    """The command-line flag of a Config field, as ``train.py`` makes it: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def as_flags(values: dict) -> str:
    """``{"hidden": (64, 64), "dueling": False}`` -> ``--hidden 64,64 --no-dueling``: settings as typed."""
    out = []
    for name, value in values.items():
        if isinstance(value, bool):
            out.append(flag(name) if value else "--no-" + flag(name)[2:])
        elif isinstance(value, (tuple, list)):
            sizes = ",".join(map(str, value)) or '""'
            out.append(f"{flag(name)} {sizes}")
        else:
            out.append(f"{flag(name)} {value}")
    return " ".join(out)


def _checked(name: str, kind, value, meta):
    """``value`` for the field ``name`` of type ``kind``, as a plain Python value; ``ValueError`` if refused."""
    what, rule = flag(name), meta.get("rule")
    if kind is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{what} must be True or False, got {value!r}")
        return bool(value)
    if kind is int or kind is float:
        whole = kind is int
        if isinstance(value, bool) or not isinstance(value, numbers.Integral if whole else numbers.Real):
            raise ValueError(f"{what} must be {'a whole number' if whole else 'a number'}, got {value!r}")
        value = int(typing.cast(numbers.Integral, value)) if whole else float(value)  # (isinstance said so)
        if not whole and not math.isfinite(value) or rule is not None and not _in_range(value, rule):
            raise ValueError(f"{what} must be {_must_be(rule or 'finite')}, got {value!r}")
        return value
    if kind is str:
        choices = meta.get("choices")
        if not isinstance(value, str) or choices and value not in choices:
            why = f" ({meta['why']})" if meta.get("why") else ""
            raise ValueError(f"{what} must be " + (f"one of {', '.join(choices)}{why}" if choices else "a string")
                             + f", got {value!r}")
        return value
    if typing.get_origin(kind) is tuple:  # sizes, e.g. hidden layers (64, 64)
        if not isinstance(value, (tuple, list)) or any(isinstance(v, bool) or not isinstance(v, numbers.Integral)
                                                       for v in value):
            raise ValueError(f"{what} must be whole numbers separated by commas, e.g. 64,64, got {value!r}")
        value = tuple(int(v) for v in value)
        if not value and not meta.get("empty"):
            raise ValueError(f"{what} needs at least one size, e.g. 64,64, got ()")
        if rule is not None and not all(_in_range(v, rule) for v in value):
            raise ValueError(f"{what} sizes must each be {_must_be(rule)}, got {value!r}")
        return value
    raise TypeError(f"{what}: no check for a field of type {kind!r}")


@functools.cache
def _types(config_cls: Any) -> dict:
    return typing.get_type_hints(config_cls)


_BOUND = re.compile(r"(>=|>|<=|<)\s*(\S+)")
_INTERVAL = re.compile(r"([\[(])\s*(\S+)\s*,\s*(\S+)\s*([\])])")


def _parse_rule(rule: str) -> tuple:
    """``"> 0"`` -> ``(0, True, inf, False)``, ``"[0, 1]"`` -> ``(0, False, 1, False)``: (lo, lo_open, hi, hi_open)."""
    if rule == "finite":
        return -math.inf, False, math.inf, False
    if m := _BOUND.fullmatch(rule):
        op, x = m.group(1), float(m.group(2))
        return (x, op == ">", math.inf, False) if op[0] == ">" else (-math.inf, False, x, op == "<")
    if m := _INTERVAL.fullmatch(rule):
        return float(m.group(2)), m.group(1) == "(", float(m.group(3)), m.group(4) == ")"
    raise ValueError(f"not a range: {rule!r} (write e.g. '> 0', '>= 1', '[0, 1]', '(0, 1]' or 'finite')")


def _in_range(value, rule: str) -> bool:
    lo, lo_open, hi, hi_open = _parse_rule(rule)
    return (lo < value if lo_open else lo <= value) and (value < hi if hi_open else value <= hi)


def _must_be(rule: str) -> str:
    return "finite" if rule == "finite" else f"in {rule}" if rule[0] in "[(" else rule


@dataclass
class Budget:
    """How long to train: env steps, or whole episodes (exactly one is set)."""

    steps: int | None = None
    episodes: int | None = None
    done_early: bool = field(default=False, init=False, compare=False, repr=False)  # stop(): the work is done

    def __post_init__(self):
        if (self.steps is None) == (self.episodes is None):
            raise ValueError("a budget is either steps or episodes")
        if (self.steps or self.episodes) <= 0:
            raise ValueError("a budget must be positive")

    @property
    def total(self) -> int:
        total = self.steps if self.steps is not None else self.episodes
        assert total is not None  # (__post_init__: exactly one is set)
        return total

    @property
    def unit(self) -> str:
        return "steps" if self.steps is not None else "episodes"

    def stop(self) -> None:
        """The work is done before the budget (``gymlab/stopping.py``): spent from now on, for every agent's
        loop (each looks at ``spent`` between its steps)."""
        self.done_early = True

    def spent(self, steps: int, episodes: int) -> bool:
        if self.done_early:
            return True
        return steps >= self.steps if self.steps is not None else episodes >= self.total


A = TypeVar("A", bound="Agent")  # an agent's own class: DQN.load(...) is a DQN


class Agent:
    name: ClassVar[str]
    Config: ClassVar[type]

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        self.check_spaces(observation_space, action_space)
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config if config is not None else self.Config()
        self.seed = seed

    def env_seed(self, num_envs: int = 1):
        """The first reset's seed of the training env (an int), or of each of ``num_envs`` sub-envs
        (a list), from the run's seed (``agents/seeding.py``)."""
        from gymlab.agents import seeding

        seeds = seeding.env_seeds(self.seed, num_envs)
        return seeds[0] if num_envs == 1 else seeds

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        raise NotImplementedError

    def predict(self, obs: Any, state: Any = None, episode_start: Any = None, deterministic: bool = False,
                action_mask: Any = None) -> tuple[Any, Any]:
        raise NotImplementedError

    def learn(self: A, env: Any, budget: Budget, logger: Any = None) -> A:
        raise NotImplementedError

    def check_env(self, env) -> None:
        """Refuse (ValueError, one line) an env these settings cannot train in, before training starts."""

    def report(self, env, run_dir: Path | None = None) -> tuple[dict, list[str]]:
        return {}, []

    # --------------------------------------------------------------- resume state
    # ``train.py --resume`` needs an agent whose ``learn`` can stop at any safe point (between env
    # steps: ``logger.safe_point()``) and go on there in a new process, ending as if never stopped.
    def resume_state(self) -> dict:
        """Everything ``learn`` is in the middle of, at a safe point: the learned numbers, the
        optimizer's state, every random stream, counters, and the loop's own state (the env being
        stepped, a replay buffer, episodes under way), as a tree ``gymlab.resume.pack`` can store."""
        raise NotImplementedError(f"agent {self.name!r} cannot be resumed")

    def load_resume_state(self, state: dict) -> None:
        """Take back what ``resume_state`` gave, into an agent built with the same config and seed."""
        raise NotImplementedError(f"agent {self.name!r} cannot be resumed")

    def resume_in(self, env) -> None:
        """Bind the restored loop to ``env`` (made as the saved run's was), before ``learn`` goes on."""

    @classmethod
    def resumable(cls) -> bool:
        return cls.resume_state is not Agent.resume_state

    # --------------------------------------------------------------- checkpoints
    def state_arrays(self) -> dict[str, Any]:
        """The learned numbers, as named numpy arrays."""
        raise NotImplementedError

    def load_state_arrays(self, arrays: dict[str, Any]) -> None:
        raise NotImplementedError

    def save(self, path: str | os.PathLike[str]) -> None:
        meta = {
            "agent": self.name,
            "config": dataclasses.asdict(self.config),
            "observation_space": checkpoint.describe_space(self.observation_space),
            "action_space": checkpoint.describe_space(self.action_space),
            "seed": self.seed,
            **getattr(self, "env_spec", {}),  # the env it learned ("env", "env_kwargs"), when train.py says
        }
        checkpoint.save(path, meta, self.state_arrays())

    @classmethod
    def load(cls: type[A], path: str | os.PathLike[str], observation_space: Any = None, action_space: Any = None,
             seed: int | None = None, **config_overrides: Any) -> A:
        """Rebuild an agent from ``path``; spaces default to the ones it was trained on, and its
        random streams start from ``seed`` (default: the seed it was trained with)."""
        meta, arrays = checkpoint.load(path)
        if meta.get("agent") != cls.name:
            raise CheckpointError(f"{path} was written by agent {meta.get('agent')!r}, not {cls.name!r}", path)
        checkpoint.require_finite(path, arrays)
        for which, space in (("observation_space", observation_space), ("action_space", action_space)):
            if space is not None and checkpoint.describe_space(space) != meta[which]:
                raise CheckpointError(
                    f"{path} was trained with {which} {meta[which]['repr']}, but this env has {space}", path)
        spaces_ = [checkpoint.rebuild_space(meta[k]) if s is None else s
                   for k, s in (("observation_space", observation_space), ("action_space", action_space))]
        fields = {f.name: f for f in dataclasses.fields(cls.Config)}
        stored = {k: tuple(v) if isinstance(v, list) else v  # JSON has no tuples
                  for k, v in meta["config"].items() if k in fields}
        if isinstance(stored.get("threads"), int):  # saved on a machine with more cores: as many as there are here
            stored["threads"] = min(stored["threads"], max_threads())
        try:
            config = cls.Config(**{**stored, **config_overrides})
        except ValueError as err:
            if config_overrides:
                raise  # the message names the flag, which the user can set to a good value
            raise CheckpointError(f"{path} was saved with a setting this gymlab refuses: {err}", path) from err
        # A flag that shapes the network cannot be changed: the weights would not fit.
        changed = [k for k in config_overrides
                   if fields[k].metadata.get("arch") and k in stored and getattr(config, k) != stored[k]]
        if changed:
            raise CheckpointError(
                f"{path} holds a network built with {as_flags({k: stored[k] for k in changed})}; "
                f"{as_flags({k: getattr(config, k) for k in changed})} {'does' if len(changed) == 1 else 'do'} "
                f"not fit it (leave architecture flags out when loading)", path)
        agent = cls(spaces_[0], spaces_[1], config=config, seed=meta.get("seed", 0) if seed is None else seed)
        try:
            agent.load_state_arrays(arrays)
        except (KeyError, ValueError) as err:
            differs = {k: getattr(config, k) for k in config_overrides if getattr(config, k) != stored.get(k)}
            if differs:  # weights that may not fit what the overrides built
                raise CheckpointError(f"{path} does not fit the network that {as_flags(differs)} "
                                      f"{'builds' if len(differs) == 1 else 'build'} ({err}); leave architecture "
                                      f"flags out when loading", path) from err
            raise CheckpointError(f"{path} does not hold what a {cls.name!r} agent needs: {err}", path,
                                  corrupt=True) from err
        return agent
