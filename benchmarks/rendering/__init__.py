"""Every rendered results block: its name, the JSON it reads, the function that renders it.

A block is a pure function of one JSON dict (``{}`` when the file is not there) to markdown, so
``benchmarks/render.py`` fills README.md with them and the docs can call the same functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, NamedTuple

from . import chars, more, sequence, speed, sweeps, words

RESULTS = Path(__file__).resolve().parents[1] / "results"


class Block(NamedTuple):
    json: str
    render: Callable[[dict], str]


BLOCKS = {
    "cliff_walking": Block("deep_agents.json", sweeps.cliff_walking),
    "deep_agents": Block("deep_agents.json", sweeps.deep_agents),
    "untuned_envs": Block("untuned_envs.json", sweeps.untuned_envs),
    "dqn_vs_sb3": Block("dqn_vs_sb3.json", sweeps.dqn_vs_sb3),
    "dqn_speed_cartpole": Block("dqn_speed.json", speed.dqn_speed_cartpole),
    "dqn_speed": Block("dqn_speed.json", speed.dqn_speed),
    "env_speed": Block("env_speed.json", speed.env_speed),
    "rooms_table": Block("rooms_table.json", more.rooms_table),
    "replay_memory": Block("replay_memory.json", more.replay_memory),
    "pong_pixels": Block("pong_pixels.json", more.pending("python benchmarks/pong_pixels.py", to_build="issue 27")),
    "rl_vs_supervised": Block("rl_vs_supervised.json",
                              more.pending("python benchmarks/rl_vs_supervised.py --work-dir runs/rl_vs_supervised")),
    "memory": Block("memory.json", more.pending("python benchmarks/memory.py --work-dir runs/memory --plot docs/memory.png")),
    "cells_vs_torch": Block("cells_vs_torch.json", more.cells_vs_torch),
    "resume_state": Block("resume_state.json", more.resume_state),
    "sine": Block("sine_vs_lecture.json", sequence.sine),
    "cosine": Block("cosine_seeds.json", sequence.cosine),
    "chars": Block("chars_vs_minchar.json", chars.chars),
    "words": Block("words.json", words.words),
}


def load(path: Path) -> dict:
    """A results JSON, ``{}`` when there is none; ``ValueError`` naming the file when it is not JSON."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None


def render_block(name: str, results: Path = RESULTS) -> str:
    """Block ``name`` rendered from its JSON in ``results``; ``ValueError`` when stamped rows are of
    another shape than its function reads (named, never guessed at)."""
    block = BLOCKS[name]
    path = Path(results) / block.json
    try:
        return block.render(load(path))
    except (KeyError, TypeError, IndexError) as e:
        field = repr(e.args[0]) if isinstance(e, KeyError) else f"({e})"
        raise ValueError(f"{path}: a stamped row lacks the field {field} that block {name!r} renders "
                         f"(the fields read: {block.render.__module__}'s docstring)") from None
