"""What a run records: episode returns, slash-named metrics, a progress bar.

``episodes.csv`` has one row per finished episode (``global_step, episode,
return, length``); ``metrics.csv`` has CleanRL-style scalars in long form
(``global_step, key, value`` with keys such as ``charts/episodic_return``).
Both are flushed as episodes end, so a killed run keeps what it logged. When
torch is in use and ``tensorboard`` (else ``tensorboardX``) is installed, the same scalars go to
TensorBoard event files in the run directory too (``tensorboard --logdir runs``), each also under
the name Stable-Baselines3 gives it (``SB3_NAMES``: ``losses/td_loss`` is SB3's ``train/loss``),
and at each episode's end SB3's ``rollout/ep_rew_mean`` and ``rollout/ep_len_mean`` (over the last
100 episodes, as SB3's) and ``time/episodes``: a zoo user's curves overlay ours. A ``tracker``
(``gymlab/tracking.py``: MLflow) gets the very names and values TensorBoard gets.

``every(n, fn)`` calls ``fn()`` each n env steps (periodic evaluation,
checkpoints), from inside whatever loop the agent runs; the time those calls
take is kept apart, so ``train_elapsed`` (and the steps per second a run
reports) counts training only.

``safe_point()`` is called by an agent's loop between env steps, where its state
is whole: ``train.py`` hooks ``on_safe_point`` there to write the resume state and
to stop on Ctrl-C. ``state()`` is the logger's own part of a resume state (counters,
returns, evaluations, and how far each CSV file had been written); a logger built with
``resume=`` that state cuts its files back to that point and appends from there.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Callable

from gymlab.runs import claim, default_run_dir  # noqa: F401  (default_run_dir: re-exported)


# --8<-- [start:sb3_names]
# CleanRL's name -> SB3's name for the same quantity (SB3's DQN, PPO/A2C, EvalCallback and logger).
SB3_NAMES = {"losses/td_loss": "train/loss", "losses/supervised_loss": "train/loss",
             "losses/policy_loss": "train/policy_gradient_loss", "charts/SPS": "time/fps",
             "charts/epsilon": "rollout/exploration_rate", "eval/return_mean": "eval/mean_reward"}
SB3_NEGATED = {"losses/entropy": "train/entropy_loss"}  # SB3 logs the loss term: minus the entropy
SB3_WINDOW = 100  # SB3's ep_info_buffer: ep_rew_mean and ep_len_mean are over the last 100 episodes
# --8<-- [end:sb3_names]


class RunLogger:
    def __init__(self, run_dir: Path | None = None, budget=None, progress: bool = True, desc: str = "train",
                 resume: dict | None = None, tracker=None):
        self.steps = 0
        self.episodes = 0
        self.returns: list[float] = []
        self.lengths: list[int] = []
        self.end_steps: list[int] = []  # global step at which each episode ended
        self._ep_return: dict[int, float] = {}  # per sub-env, for agents that step a vector env
        self._ep_length: dict[int, int] = {}
        self._start, self._end = time.perf_counter(), None
        self._files = []
        self._episodes_csv = self._metrics_csv = None
        self._tensorboard = None
        self._tracker = tracker  # gets every scalar TensorBoard gets (``gymlab/tracking.py``)
        self._every: list[tuple[int, Callable[[], None]]] = []
        self._every_time = 0.0  # seconds spent in the every() calls
        self.evals: list[tuple[int, float]] = []  # (global step, mean greedy return) of periodic evaluations
        self.eval_wall_s: list[float | None] = []  # wall seconds since the run started, at each evaluation's end
        self.on_safe_point: Callable[[], None] | None = None
        offsets = {}
        if resume is not None:
            self._load_state(resume)
            offsets = resume["files"]
        if run_dir is not None:
            run_dir = Path(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            self._episodes_csv = self._open(run_dir / "episodes.csv", ["global_step", "episode", "return", "length"],
                                            offsets.get("episodes.csv"))
            self._metrics_csv = self._open(run_dir / "metrics.csv", ["global_step", "key", "value"],
                                           offsets.get("metrics.csv"))
            # TensorBoard only where torch is loaded anyway: a tabular run must not pay for importing it.
            SummaryWriter = _summary_writer() if "torch" in sys.modules else None
            if SummaryWriter is not None:
                # Resuming: events logged after the resume state (a hard stop) are hidden, not doubled.
                purge = {"purge_step": self.steps} if resume is not None else {}
                before = set(os.listdir(run_dir))
                self._tensorboard = SummaryWriter(str(run_dir), **purge)
                for name in set(os.listdir(run_dir)) - before:  # its event file (the directory is this run's: locked)
                    claim(run_dir / name)
        self.budget = budget
        self._bar, self._postfix = None, {}
        if progress and budget is not None:
            from gymlab.cli import progress_bar  # the suite's one rule: on a terminal only

            done = self.steps if budget.steps is not None else self.episodes
            self._bar = progress_bar(budget.total, desc, initial=done, unit=budget.unit[:-1])

    def _open(self, path: Path, header: list[str], offset: int | None = None):
        """A CSV file with ``header``; with ``offset`` (resuming), the existing file cut back to
        that many bytes (what was written after the resume state is written again)."""
        if offset is None or not path.is_file():
            claim(path)
            f = open(path, "w", newline="")
            offset = None
        else:  # (a file shorter than the offset lost its last rows to a crash: keep what it has)
            f = open(path, "r+", newline="")
            f.truncate(min(offset, path.stat().st_size))
            f.seek(0, 2)
        self._files.append(f)
        writer = csv.writer(f)
        if offset is None:
            writer.writerow(header)
        f.flush()
        return f, writer

    # --------------------------------------------------------------- resuming
    def safe_point(self) -> None:
        """An agent's loop is between env steps, its state whole (see the module docstring)."""
        if self.on_safe_point is not None:
            start = time.perf_counter()
            try:
                self.on_safe_point()
            finally:  # writing a resume state is not training time either
                self._every_time += time.perf_counter() - start

    def state(self) -> dict:
        """What a resumed run's logger needs (timings as seconds so far)."""
        files = {}
        for name, handle in (("episodes.csv", self._episodes_csv), ("metrics.csv", self._metrics_csv)):
            if handle is not None:
                handle[0].flush()
                os.fsync(handle[0].fileno())  # on disk before the resume state that counts on them
                files[name] = handle[0].tell()
        return {"steps": self.steps, "episodes": self.episodes, "returns": list(self.returns),
                "lengths": list(self.lengths), "end_steps": list(self.end_steps),
                "ep_return": dict(self._ep_return), "ep_length": dict(self._ep_length),
                "evals": [list(e) for e in self.evals], "eval_wall_s": list(self.eval_wall_s), "elapsed": self.elapsed, "every_time": self._every_time,
                "files": files}

    def _load_state(self, state: dict) -> None:
        self.steps, self.episodes = state["steps"], state["episodes"]
        self.returns, self.lengths = list(state["returns"]), list(state["lengths"])
        self.end_steps = list(state["end_steps"])
        self._ep_return, self._ep_length = dict(state["ep_return"]), dict(state["ep_length"])
        self.evals = [tuple(e) for e in state["evals"]]
        self.eval_wall_s = list(state.get("eval_wall_s", [None] * len(self.evals)))  # (none before they were kept)
        self._start -= state["elapsed"]  # wall and training time go on from where they were
        self._every_time = state["every_time"]

    def every(self, n: int, fn: Callable[[], None], unit: str = "steps") -> None:
        """Call ``fn()`` each ``n`` env steps (or, ``unit="episodes"``, each ``n`` finished episodes)."""
        if n > 0:
            self._every.append((n, fn) if unit == "steps" else (-n, fn))  # negative: counted in episodes

    def step(self, reward: float, done: bool, env: int = 0) -> None:
        """Count one env step (of sub-env ``env``, when an agent steps several at once)."""
        self.steps += 1
        self._ep_return[env] = self._ep_return.get(env, 0.0) + reward
        self._ep_length[env] = self._ep_length.get(env, 0) + 1
        if self._bar is not None and self.budget.steps is not None:
            self._bar.update(1)
        if done:
            self.end_episode(env)
        for n, fn in self._every:
            if (self.steps % n == 0) if n > 0 else (done and self.episodes % -n == 0):
                start = time.perf_counter()
                fn()
                self._every_time += time.perf_counter() - start

    def end_episode(self, env: int = 0) -> None:
        ep_return, ep_length = self._ep_return.pop(env, 0.0), self._ep_length.pop(env, 0)
        self.episodes += 1
        self.returns.append(ep_return)
        self.lengths.append(ep_length)
        self.end_steps.append(self.steps)
        if self._episodes_csv is not None:
            f, w = self._episodes_csv
            w.writerow([self.steps, self.episodes, ep_return, ep_length])
            f.flush()
        self.log("charts/episodic_return", ep_return)
        self.log("charts/episodic_length", ep_length)
        if self._tensorboard is not None or self._tracker is not None:  # SB3's own, over its window
            recent, lengths = self.returns[-SB3_WINDOW:], self.lengths[-SB3_WINDOW:]
            self._emit("rollout/ep_rew_mean", sum(recent) / len(recent), self.steps)
            self._emit("rollout/ep_len_mean", sum(lengths) / len(lengths), self.steps)
            self._emit("time/episodes", self.episodes, self.steps)
        if self._metrics_csv is not None:
            self._metrics_csv[0].flush()
        if self._bar is not None:
            if self.budget.episodes is not None:
                self._bar.update(1)
            recent = self.returns[-20:]
            self._postfix["ret"] = f"{sum(recent) / len(recent):.3g}"
            self._bar.set_postfix(self._postfix, refresh=False)

    def log(self, key: str, value: float, step: int | None = None) -> None:
        step = self.steps if step is None else step
        if self._metrics_csv is not None:
            self._metrics_csv[1].writerow([step, key, value])
        self._emit(key, value, step)
        if key in SB3_NAMES:
            self._emit(SB3_NAMES[key], value, step)
        elif key in SB3_NEGATED:
            self._emit(SB3_NEGATED[key], -value, step)

    def _emit(self, key: str, value: float, step: int) -> None:
        """One scalar to TensorBoard and the tracker (not to metrics.csv: CleanRL's names only)."""
        if self._tensorboard is not None:
            self._tensorboard.add_scalar(key, value, step)
        if self._tracker is not None:
            self._tracker.metric(key, value, step)

    def log_eval(self, mean_return: float) -> None:
        self.evals.append((self.steps, mean_return))
        self.eval_wall_s.append(self.elapsed)
        self.log("eval/return_mean", mean_return)
        if self._bar is not None:
            self._postfix["eval"] = f"{mean_return:.3g}"
            self._bar.set_postfix(self._postfix, refresh=False)

    @property
    def elapsed(self) -> float:
        """Seconds since the logger started (or until it was closed)."""
        return (self._end or time.perf_counter()) - self._start

    @property
    def train_elapsed(self) -> float:
        """``elapsed`` less the time spent in the ``every`` calls (periodic evaluations)."""
        return self.elapsed - self._every_time

    def close(self) -> None:
        self._end = self._end or time.perf_counter()
        if self._bar is not None:
            self._bar.close()
        for f in self._files:
            f.close()
        self._files = []
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None
        if self._tracker is not None:
            self._tracker.flush()


def _summary_writer():
    """TensorBoard's ``SummaryWriter``: torch's (needs ``tensorboard``), else ``tensorboardX``'s
    (which Ray Tune installs), else None."""
    if importlib.util.find_spec("tensorboard") is not None:
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter
    if importlib.util.find_spec("tensorboardX") is not None:
        from tensorboardX import SummaryWriter

        return SummaryWriter
    return None
