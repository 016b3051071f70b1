"""What a run records: episode returns, slash-named metrics, a progress bar.

``episodes.csv`` has one row per finished episode (``global_step, episode,
return, length``); ``metrics.csv`` has CleanRL-style scalars in long form
(``global_step, key, value`` with keys such as ``charts/episodic_return``).
Both are flushed as they are written, so a killed run keeps what it logged.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from tqdm import tqdm


class RunLogger:
    def __init__(self, run_dir: Path | None = None, budget=None, progress: bool = True, desc: str = "train"):
        self.steps = 0
        self.episodes = 0
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.end_steps: list[int] = []  # global step at which each episode ended
        self._ep_return, self._ep_length = 0.0, 0
        self._start = time.perf_counter()
        self._files = []
        self._episodes_csv = self._metrics_csv = None
        if run_dir is not None:
            run_dir = Path(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            self._episodes_csv = self._open(run_dir / "episodes.csv", ["global_step", "episode", "return", "length"])
            self._metrics_csv = self._open(run_dir / "metrics.csv", ["global_step", "key", "value"])
        self.budget = budget
        self._bar = None
        if progress and budget is not None:
            # disable=None: a bar on a terminal, silence in CI logs and pipes.
            self._bar = tqdm(total=budget.total, unit=budget.unit[:-1], desc=desc, disable=None, leave=False)

    def _open(self, path: Path, header: list[str]):
        f = open(path, "w", newline="")
        self._files.append(f)
        writer = csv.writer(f)
        writer.writerow(header)
        f.flush()
        return f, writer

    def step(self, reward: float, done: bool) -> None:
        self.steps += 1
        self._ep_return += reward
        self._ep_length += 1
        if self._bar is not None and self.budget.steps is not None:
            self._bar.update(1)
        if done:
            self.end_episode()

    def end_episode(self) -> None:
        self.episodes += 1
        self.returns.append(self._ep_return)
        self.lengths.append(self._ep_length)
        self.end_steps.append(self.steps)
        if self._episodes_csv is not None:
            f, w = self._episodes_csv
            w.writerow([self.steps, self.episodes, self._ep_return, self._ep_length])
            f.flush()
        self.log("charts/episodic_return", self._ep_return)
        self.log("charts/episodic_length", self._ep_length)
        if self._metrics_csv is not None:
            self._metrics_csv[0].flush()
        if self._bar is not None:
            if self.budget.episodes is not None:
                self._bar.update(1)
            recent = self.returns[-20:]
            self._bar.set_postfix(ret=f"{sum(recent) / len(recent):.3g}", refresh=False)
        self._ep_return, self._ep_length = 0.0, 0

    def log(self, key: str, value: float, step: int | None = None) -> None:
        if self._metrics_csv is not None:
            f, w = self._metrics_csv
            w.writerow([self.steps if step is None else step, key, value])

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        for f in self._files:
            f.close()
        self._files = []
