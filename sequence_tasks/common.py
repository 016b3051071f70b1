"""What every experiment shares: seeding, the run directory, the summary, plots, a progress bar,
and the checks every experiment's options go through before anything is written."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from gymlab.cli import UsageError, max_threads, number  # noqa: F401  (max_threads: re-exported)
from gymlab.runs import atomic_write, claim, pyplot, write_json

# Caps on the sizes a flag can ask for: far above anything the experiments need, far below
# what would ask the allocator for absurd amounts of memory. Each refusal names its cap.
MAX_HIDDEN, MAX_LAYERS = 4096, 16
MAX_COUNT = 10_000_000  # iterations, evaluation intervals
MAX_SIZE = 1_000_000  # steps per wave or chunk, waves, streams
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


class Experiment:
    """One run of an experiment: ``seed`` seeds numpy (``self.rng``) and torch; ``run_dir`` is a
    directory already checked and made (``gymlab.runs.prepare_run_dir``), and
    ``finish(summary)`` writes ``summary.json`` there with the wall time since the start."""

    def __init__(self, name: str, seed: int, run_dir: Path, threads: int = 1, progress: bool = True):
        self.name, self.seed, self.show_progress = name, seed, progress
        # What a run stopped by Ctrl-C keeps, set by the experiment as it trains: a function giving
        # (the weights to keep, a state_dict; the summary so far: steps done and the curves), or
        # None before the first step.
        self.so_far = None
        self.run_dir = Path(run_dir)
        if not self.run_dir.is_dir():
            raise ValueError(f"{self.run_dir} is not a directory: prepare it with gymlab.runs.prepare_run_dir")
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        self.rng = np.random.default_rng(seed)
        self.start = time.perf_counter()

    def progress(self, total: int | None, desc: str):
        from gymlab.cli import progress_bar  # the suite's one rule: on a terminal only, as train.py's

        return progress_bar(total, desc, enabled=self.show_progress)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def finish(self, summary: dict, interrupted: bool = False) -> dict:
        summary = {"experiment": self.name, "seed": self.seed, **summary, "interrupted": interrupted,
                   "wall_time_s": round(self.elapsed(), 3)}
        write_json(self.run_dir / "summary.json", summary)
        return summary

    def keep_interrupted(self) -> bool:
        """After Ctrl-C: write what ``so_far`` gives, ``weights.npz`` (the weights, as numpy arrays,
        no pickle) and ``summary.json`` marked interrupted; False if training had not begun."""
        got = None if self.so_far is None else self.so_far()
        if got is None:  # not one step trained
            return False
        weights, summary = got
        if weights is not None:
            arrays = {k: v.detach().cpu().numpy() for k, v in weights.items()}
            atomic_write(self.run_dir / "weights.npz", lambda f: np.savez(f, **arrays))
        self.finish({**summary, **({"weights": "weights.npz"} if weights is not None else {})}, interrupted=True)
        return True

    def figure(self, name: str):
        """``(plt, path)`` for a PNG called ``name`` in the run directory (``save_figure`` writes it)."""
        return pyplot(), self.run_dir / name

    @staticmethod
    def save_figure(fig, path) -> str:
        """Lay ``fig`` out, write it to ``path`` and close it; the file's name (for the summary)."""
        fig.tight_layout()
        claim(path)
        fig.savefig(path)
        pyplot().close(fig)
        return path.name


def time_major(waves: np.ndarray, dtype=None) -> torch.Tensor:
    """Waves (n, T) as the recurrent modules' input (T, n, 1)."""
    return torch.as_tensor(np.ascontiguousarray(waves.T[:, :, None]), dtype=dtype)


def add_backbone_arguments(p, hidden: int, layers: int = 1, impl: bool = False) -> None:
    """The flags that choose the recurrent core: --kind, --hidden, --layers (and --impl)."""
    p.add_argument("--kind", choices=("lstm", "gru", "rnn"), default="lstm",
                   help="the recurrent core: lstm (default), gru, or rnn (Elman)")
    p.add_argument("--hidden", type=number(int, lo=1, hi=MAX_HIDDEN), default=hidden,
                   help=f"units per layer, 1 to {MAX_HIDDEN} (default {hidden})")
    p.add_argument("--layers", type=number(int, lo=1, hi=MAX_LAYERS), default=layers,
                   help=f"stacked layers, 1 to {MAX_LAYERS} (default {layers})")
    if impl:
        p.add_argument("--impl", choices=("fused", "cells"), default="fused",
                       help="torch's fused module (default) or the hand-written cells")


def parse_schedule(text: str) -> list[tuple[int, int]]:
    """``"0:10,20:2"`` -> ``[(0, 10), (20, 2)]``."""
    try:
        pairs = [tuple(int(v) for v in item.split(":")) for item in text.split(",") if item.strip()]
    except ValueError:
        pairs = [()]
    if not pairs or any(len(p) != 2 or p[0] < 0 or p[1] < 1 for p in pairs):
        raise ValueError(f"expected FREE:STEPS pairs such as 0:10,20:2, got {text!r}")
    return pairs


def schedule(max_free: int = MAX_SIZE, max_steps: int = 10_000, max_stages: int = 100):
    """An argparse ``type`` for a FREE:STEPS schedule (``parse_schedule``), with caps."""

    def parse(text: str) -> list[tuple[int, int]]:
        try:
            pairs = parse_schedule(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        if len(pairs) > max_stages or any(free > max_free or steps > max_steps for free, steps in pairs):
            raise argparse.ArgumentTypeError(f"at most {max_stages} stages, FREE at most {max_free} and STEPS at "
                                             f"most {max_steps}, got {text!r}")
        return pairs

    parse.__name__ = "schedule"
    return parse


def path_arg(text: str) -> Path:
    """An argparse ``type`` for a path that must not be empty (``Path("")`` would be ``.``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return Path(text)


# -- memory: refuse, in one line, sizes whose run could not fit in this machine -----------------

def core_parameters(kind: str, n_in: int, hidden: int, layers: int) -> int:
    """The weights of a ``RecurrentCore``."""
    return sum(GATES[kind] * hidden * ((n_in if layer == 0 else hidden) + hidden + 2) for layer in range(layers))


def activations(kind: str, steps: int, batch: int, hidden: int, layers: int, impl: str = "fused") -> int:
    """About how many numbers backpropagation through ``steps`` x ``batch`` keeps: the gates and
    states of every unit at every step (the hand-written cells keep each intermediate too)."""
    return steps * batch * hidden * layers * (GATES[kind] + 3) * (3 if impl == "cells" else 1)


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


def check_memory(nbytes: float, flags: str, what: str) -> None:
    """Refuse a run whose estimated memory (``nbytes``) is over half this machine's memory."""
    total = physical_memory() or 16e9
    if nbytes > total / 2:
        raise UsageError(f"{flags}: {what} would need about {_gb(nbytes)} of memory, more than half of this "
                         f"machine's {_gb(total)}; choose smaller sizes")


def flags(args, *names: str) -> str:
    """``--hidden 51 --layers 2`` for the named options' values."""
    return " ".join(f"--{n.replace('_', '-')} {getattr(args, n)}" for n in names)
