"""``train.py``'s flags that are read from something else: one flag per field of an agent's
``Config`` (``add_config_flags``), and the values of ``--env-kwargs``, ``--seeds`` and ``--grid``."""

from __future__ import annotations

import argparse
import dataclasses
import typing

from gymlab.cli import UsageError


def _sizes(item):
    """An argparse type for hidden layer sizes: ``64,64`` -> ``(64, 64)``; ``""`` -> ``()``."""
    def parse(text: str):
        try:
            return tuple(item(v) for v in text.split(",") if v.strip() != "")
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected sizes separated by commas, e.g. 64,64, got {text!r}") from None

    parse.__name__ = "sizes"
    return parse


def add_config_flags(parser: argparse.ArgumentParser, agent_cls) -> None:
    """One flag per field of the agent's Config dataclass, defaulting to None (= not given).
    The values' ranges are the Config's own to check."""
    from gymlab.agents.base import flag
    from gymlab.cli import number

    group = parser.add_argument_group(f"hyper-parameters of agent {agent_cls.name!r}")
    hints = typing.get_type_hints(agent_cls.Config)
    for f in dataclasses.fields(agent_cls.Config):
        kind = hints[f.name]
        help_ = (f"{f.metadata.get('help', '')} (default {f.default!r}, or the env's entry in "
                 f"gymlab/hyperparams/{agent_cls.name}.yml)")
        if kind is bool:
            group.add_argument(flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction,
                               default=None, help=help_)
        elif typing.get_origin(kind) is tuple:  # e.g. hidden layer sizes: --hidden 256,256
            group.add_argument(flag(f.name), dest=f.name, type=_sizes(typing.get_args(kind)[0]),
                               default=None, metavar="N,N", help=help_)
        elif kind in (int, float):
            group.add_argument(flag(f.name), dest=f.name, type=number(kind), default=None,
                               metavar=kind.__name__.upper(), help=help_)
        else:
            group.add_argument(flag(f.name), dest=f.name, type=kind, default=None, metavar=kind.__name__.upper(),
                               help=help_)


def parse_env_kwargs(items: list[str] | None) -> dict:
    """``["difficulty=0.8", "obs_type=pixels"]`` -> ``{"difficulty": 0.8, "obs_type": "pixels"}``:
    each value read as ``gymlab.cli.literal`` reads it."""
    from gymlab.cli import literal

    kwargs = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(f"--env-kwargs takes KEY=VALUE pairs, got {item!r}")
        if key in kwargs:
            raise UsageError(f"--env-kwargs gives {key!r} twice")
        if key in ("render_mode", "max_episode_steps"):
            raise UsageError(f"--env-kwargs {key}: use --{'render' if key == 'render_mode' else 'max-episode-steps'}")
        kwargs[key] = literal(text)
    return kwargs


# Reported figures are measured on these seeds; tuning (every entry of gymlab/hyperparams/*.yml, every
# probe that chose a default, every search) uses seeds below. One convention, in one place, so a report
# never scores a setting on the seeds it was chosen on (issue 24).
REPORT_SEED_START = 1000


def seed_list(text: str) -> list[int]:
    """``--seeds 10`` -> seeds 0..9; ``--seeds 3,5,7`` -> those; ``--seeds 1000-1009`` -> 1000..1009."""
    first, dash, last = text.strip().partition("-")
    if dash:
        if not (first.isdigit() and last.isdigit()) or int(first) > int(last) or int(last) - int(first) >= 10_000:
            raise argparse.ArgumentTypeError(f"expected a range FIRST-LAST of at most 10000 seeds >= 0, got {text!r}")
        return list(range(int(first), int(last) + 1))
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count or seeds separated by commas, got {text!r}") from None
    if not values or any(v < 0 for v in values) or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected a positive count or distinct seeds >= 0, got {text!r}")
    if "," not in text:
        if values[0] < 1 or values[0] > 10_000:
            raise argparse.ArgumentTypeError(f"a count of seeds must be in [1, 10000], got {values[0]}")
        return list(range(values[0]))
    return values


seed_list.__name__ = "seeds"


def parse_grid(items: list[str] | None, agent_cls) -> dict[str, list]:
    """``["learning_rate=1e-3,3e-4", "hidden=64,64/256"]`` -> ``{"learning_rate": [0.001, 0.0003],
    "hidden": [(64, 64), (256,)]}``, each value read as the field's own flag reads it."""
    from gymlab.cli import number

    hints = typing.get_type_hints(agent_cls.Config)
    fields = {f.name for f in dataclasses.fields(agent_cls.Config)}
    grid = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        name = key.strip().lstrip("-").replace("-", "_")
        if not sep or name not in fields:
            raise UsageError(f"--grid takes FIELD=V1,V2 for fields of agent {agent_cls.name!r} ("
                             + ", ".join(sorted(fields)) + f"), got {item!r}")
        kind = hints[name]
        if typing.get_origin(kind) is tuple:
            parse_one, parts = _sizes(typing.get_args(kind)[0]), text.split("/")
        elif kind is bool:
            parse_one, parts = _boolean, text.split(",")
        elif kind in (int, float):
            parse_one, parts = number(kind), text.split(",")
        else:
            parse_one, parts = kind, text.split(",")
        try:
            grid[name] = [parse_one(p.strip()) for p in parts if p.strip()]
        except (argparse.ArgumentTypeError, ValueError) as err:
            raise UsageError(f"--grid {item}: {err}") from err
        if not grid[name]:
            raise UsageError(f"--grid {item}: no values")
    return grid


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")
