"""What every experiment shares: seeding, the run directory, the summary, plots, a progress bar."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from gymlab.runs import default_run_dir, pyplot, write_json


class Experiment:
    """One run of an experiment: ``seed`` seeds numpy (``self.rng``) and torch; the run
    directory is made on the way in, and ``finish(summary)`` writes ``summary.json`` with the
    wall time since the start."""

    def __init__(self, name: str, seed: int = 0, run_dir: Path | None = None, threads: int = 2,
                 progress: bool = True):
        self.name, self.seed, self.show_progress = name, seed, progress
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        self.rng = np.random.default_rng(seed)
        self.run_dir = Path(run_dir) if run_dir else default_run_dir("seq", name, seed)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.start = time.perf_counter()

    def progress(self, total: int, desc: str):
        return tqdm(total=total, desc=desc, disable=not self.show_progress, leave=False, dynamic_ncols=True)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def finish(self, summary: dict) -> dict:
        summary = {"experiment": self.name, "seed": self.seed, **summary,
                   "wall_time_s": round(self.elapsed(), 3)}
        write_json(self.run_dir / "summary.json", summary)
        return summary

    def figure(self, name: str):
        """``(plt, path)`` for a PNG called ``name`` in the run directory."""
        return pyplot(), self.run_dir / name


def time_major(waves: np.ndarray, dtype=None) -> torch.Tensor:
    """Waves (n, T) as the recurrent modules' input (T, n, 1)."""
    return torch.as_tensor(np.ascontiguousarray(waves.T[:, :, None]), dtype=dtype)


def add_backbone_arguments(p, hidden: int, layers: int = 1, impl: bool = False) -> None:
    """The flags that choose the recurrent core: --kind, --hidden, --layers (and --impl)."""
    p.add_argument("--kind", choices=("lstm", "gru", "rnn"), default="lstm",
                   help="the recurrent core: lstm (default), gru, or rnn (Elman)")
    p.add_argument("--hidden", type=int, default=hidden, help=f"units per layer (default {hidden})")
    p.add_argument("--layers", type=int, default=layers, help=f"stacked layers (default {layers})")
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
