"""Replay memory at a FULL buffer: gymlab's DQN against SB3's DQN, with and without SB3's
``optimize_memory_usage``, on CartPole-v1 and on pong-pixels (buffers of 100k, 80x80 frames).

    python benchmarks/replay_memory.py                       # 1-2 minutes: results/replay_memory.json
    python benchmarks/replay_memory.py --only cartpole       # one task again (the other's rows kept)
    python benchmarks/replay_memory.py --quick --json /tmp/m.json   # buffers of 10k: does it run?

The contestants are ``benchmarks/dqn_speed.py``'s, with the same settings (so the same buffers):
``dqn`` and ``dqn (as sb3)`` (ours; on pixels each 80x80 frame is stored once and the stacks are
rebuilt when sampled, ``agents/frame_replay.py``), ``sb3-dqn (same)`` (SB3's replay: obs and
next_obs stored whole, on pixels 4 frames each) and ``sb3-dqn (same, optimize_memory_usage)``
(next_obs read from the next slot: obs only). Each is measured in a process of its own: the agent
is built as ``train.py`` builds it, its replay buffer is filled to capacity (and past it, so the
ring has wrapped) with the buffer's own ``add`` on synthetic transitions of the right shapes, and
the row gives the buffer's arrays (``replay_bytes``, numpy's ``nbytes``, allocated in full when the
buffer is made but resident only once written), the process's resident memory before the fill
and its peak after (``ru_maxrss``), and the growth between them: what a full buffer costs.
No learning is timed here; the figures are bytes, so a busy machine does not change them.
JSON rows: ``key`` (task/contestant), ``buffer_size``, ``transitions_added``, ``replay_bytes``,
``replay_bytes_if_stored_whole`` (ours on pixels), ``rss_before_mb``, ``peak_rss_mb``,
``rss_growth_mb``, ``fill_s``, ``quick`` and ``_common.provenance``'s stamp.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import _speed  # noqa: E402
from benchmarks._common import RESULTS, merge_rows, provenance, table, write_json  # noqa: E402

TASKS = ("cartpole", "pixels")
QUICK_BUFFER = 10_000
EXTRA = 1.1  # transitions added per slot: past capacity, so every slot has been written


def jobs(task: str, buffer_size: int | None) -> list[dict]:
    """dqn_speed's contestants of ``task``, with the buffer size asked for (None: their own)."""
    from benchmarks.dqn_speed import TASKS as SPEED_TASKS, contestants

    env, steps, starts, _, _ = SPEED_TASKS[task]
    out = []
    for w in contestants(task, steps, starts):
        overrides = dict(w["overrides"], **({} if buffer_size is None else {"buffer_size": buffer_size}))
        out.append({"key": f"{task}/{w['contestant']}", "task": task, "env": env, "contestant": w["contestant"],
                    "agent": w["agent"], "overrides": overrides})
    return out


def build(job: dict):
    """The agent ``train.py`` would build for ``job`` (on the env's spaces), and its replay buffer."""
    import gymnasium as gym

    from gymlab import agents, envs

    env_id, kwargs = envs.resolve(job["env"])
    env = gym.make(env_id, **kwargs)
    cls = agents.get(job["agent"])
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in job["overrides"].items()}
    agent = cls(env.observation_space, env.action_space, cls.Config(**overrides), seed=0)
    if hasattr(agent, "model"):  # SB3: the buffer its model made
        return agent, agent.model.replay_buffer
    return agent, agent.make_buffer(agent.observation_space, masks=False)


def fill(buffer, n: int) -> None:
    """``n`` synthetic transitions through the buffer's own ``add`` (a few random observations cycled)."""
    import numpy as np

    rng = np.random.default_rng(0)
    if hasattr(buffer, "obs_shape"):  # SB3's ReplayBuffer: arrays of (n_envs, ...) a step
        shape, dtype = (buffer.n_envs, *buffer.obs_shape), buffer.observations.dtype
        obs = [rng.integers(0, 255, shape).astype(dtype) for _ in range(8)]
        action, zero, infos = np.zeros((buffer.n_envs, buffer.action_dim)), np.zeros(buffer.n_envs), \
            [{} for _ in range(buffer.n_envs)]
        for i in range(n):
            buffer.add(obs[i % 8], obs[(i + 1) % 8], action, zero, zero, infos)
    elif hasattr(buffer, "add_frames"):  # ours on frames: each env's frames, then the transition between them
        frames = [rng.integers(0, 255, buffer.frames.shape[1:]).astype(buffer.frames.dtype) for _ in range(8)]
        for i in range(n):
            env, t = i % buffer.num_envs, i // buffer.num_envs
            a, b = buffer.add_frames(env, frames[t % 8], frames[(t + 1) % 8], start=t % 1000 == 0)
            buffer.add(a, 0, 0.0, b, 0.99)
    else:  # ours: obs and next_obs stored whole
        obs = [rng.standard_normal(buffer.obs.shape[1:]).astype(buffer.obs.dtype) for _ in range(8)]
        for i in range(n):
            buffer.add(obs[i % 8], 0, 0.0, obs[(i + 1) % 8], 0.99)


def nbytes(buffer) -> int:
    import numpy as np

    if hasattr(buffer, "nbytes"):  # ours
        return int(buffer.nbytes)
    return int(sum(a.nbytes for a in vars(buffer).values() if isinstance(a, np.ndarray)))


def measure(job: dict) -> dict:
    """One row's figures (in this process): build, fill past capacity, read the memory."""
    import resource

    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # noqa: E731  (KB on Linux)
    agent, buffer = build(job)
    before = peak()
    capacity = job["overrides"].get("buffer_size") or agent.config.buffer_size  # (no flag: its own default)
    n = int(capacity * EXTRA)
    start = time.perf_counter()
    fill(buffer, n)
    took = time.perf_counter() - start
    after = peak()
    out = {"buffer_size": capacity, "transitions_added": n, "replay_bytes": nbytes(buffer),
           "rss_before_mb": round(before, 1), "peak_rss_mb": round(after, 1),
           "rss_growth_mb": round(after - before, 1), "fill_s": round(took, 2)}
    if hasattr(buffer, "whole_nbytes"):
        out["replay_bytes_if_stored_whole"] = int(buffer.whole_nbytes)
    return out


def run_alone(job: dict) -> dict:
    """``measure(job)`` in a process of its own, so each peak is its buffer's alone."""
    return _speed.run_child(__file__, job, f"{job['contestant']} on {job['env']}")


def main(argv=None, runner=run_alone) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=TASKS, help="one task (the other's rows are kept from the JSON)")
    p.add_argument("--quick", action="store_true", help=f"buffers of {QUICK_BUFFER:,}: a check that it runs")
    p.add_argument("--json", type=Path, help="where to write the results (default benchmarks/results/"
                                             "replay_memory.json, --quick: replay_memory_quick.json)")
    args = _speed.parse_args(p, argv, measure, torch_threads=False)  # (as it was: no torch in its child)
    if args is None:  # one buffer, in the process run_alone started: written
        return 0
    path = args.json or RESULTS / ("replay_memory_quick.json" if args.quick else "replay_memory.json")
    records = []
    for task in [args.only] if args.only else TASKS:
        for job in jobs(task, QUICK_BUFFER if args.quick else None):
            stamp = provenance()
            res = runner(job)
            print(f"{job['key']}: {res['replay_bytes'] / 1e6:,.1f} MB, peak RSS {res['peak_rss_mb']:,.0f} MB "
                  f"(+{res['rss_growth_mb']:,.0f} MB), filled in {res['fill_s']} s", file=sys.stderr)
            records.append({**job, **res, "quick": args.quick, **stamp})
    records = merge_rows(path, records, "key")
    rows = [[r["env"], r["contestant"], f"{r['buffer_size']:,}", f"{r['replay_bytes'] / 1e6:,.1f}"
             + (f" ({r['replay_bytes_if_stored_whole'] / 1e6:,.0f} whole)" if "replay_bytes_if_stored_whole" in r
                else ""), f"{r['rss_before_mb']:,.0f}", f"{r['peak_rss_mb']:,.0f}", f"{r['rss_growth_mb']:,.0f}"]
            for r in records]
    out = write_json("replay_memory", {"quick": args.quick, "rows": records}, path)
    print(table(["env", "contestant", "buffer", "replay MB (nbytes)", "RSS before MB", "peak RSS MB (full)",
                 "growth MB"], rows))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
