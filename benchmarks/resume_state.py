"""How big a DQN resume state is with a full replay buffer, and what writing and reading it costs.

    python benchmarks/resume_state.py --wait-idle 600   # about 3 minutes alone, ~1.7 GB of memory at most
    python benchmarks/resume_state.py --only cartpole   # one case again (the other's rows kept in the JSON)
    python benchmarks/resume_state.py --quick --json /tmp/r.json   # buffers of 10k, one round: does it run?

The cases are the DQN of ``agents/hyperparams.py`` as ``train.py`` builds it: on CartPole-v1 its
defaults (100k transitions, obs and next_obs stored whole, about 5 MB); on pong-pixels the pixel
entry (4 courts, the last 4 frames stacked, replay of 100k 80x80 frames each stored once in a
ring per court, ``agents/frame_replay.py``: 0.65 GB). The buffer is filled the way
``benchmarks/replay_memory.py`` fills it: after 64 steps of the real learning loop (the envs, the
n-step windows and the frame stacks as a run has them; no gradient step yet), synthetic
transitions of the right shapes through the buffer's own ``add``, past capacity so the rings have
wrapped (the file is uncompressed, so its size and timings do not depend on the pixels' values).

Three phases, each in a process of its own (one thread), so its peak memory is its own:
``write`` (gymlab): the resume state ``train.py`` writes as ``resume.npz`` (weights, Adam, the
buffer, random streams, the envs, the logger), timed from the full buffer to the file on disk;
``read`` (gymlab): a fresh agent reads it back as ``--resume`` does (``resume.read``,
``load_resume_state``, ``resume_in``: the buffer's frames read straight into its own memory);
``naive``, the reference: the obvious way, ``np.load`` every array, then the same
``load_resume_state`` and ``resume_in``, which copy them into the buffer (the frames held twice
for a moment). Every phase digests the buffer's arrays: the buffer read must be the buffer
written, else the check fails (exit 1). Memory: ``base_mb`` is the resident memory as the timed
part starts (``write``: with the full buffer; the reads: the agent built, no buffer yet),
``peak_mb`` the process's peak (``ru_maxrss``, Linux), and ``peak_beyond_buffer_mb`` what the
phase held beyond the run's own memory: peak - base, less the buffer's bytes for the reads.

The speed protocol (``benchmarks/_speed.py``): run it alone; every phase in each of at least 5
interleaved rounds (fewer only with ``--quick``, marked ``"quick": true``, not a figure), their
order reversed every other round (a read then reads the file of the round before: the same
bytes); a phase's time is the median of its rounds, and the read's ratio to ``naive`` the median
of the per-round ratios of the times (below 1: faster), with their min and max. Every phase runs
all 6 rounds: a round costs about 10 s on CartPole and 25 s on pixels (three processes, each
importing torch and building the agent; the write's refilling the buffer; a 0.65 GB file in the
temporary directory, ``TMPDIR``), and the largest phase (pixels, ``naive``) peaks at about 1.7 GB.
JSON: top level ``quick``, ``rounds``, ``busy``, ``load_before``, ``load_after``,
``checks_failed``, ``rows``; each row ``key`` (case/phase), ``case``, ``env``, ``phase``,
``label``, ``buffer``, ``buffer_size``, ``buffer_items``, ``replay_bytes``, ``resume_bytes``,
``seconds_per_round``, ``seconds_median``, ``vs_ref`` (the read: ``{"ref", "per_round",
"median", "min", "max"}``; None for the others), ``base_mb_per_round``, ``peak_mb_per_round``,
``peak_beyond_buffer_mb_per_round``, ``peak_beyond_buffer_mb_median``, ``rounds``, ``quick``,
``busy``, ``load_before``, ``load_after`` and ``_common.provenance``'s stamp.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import _speed  # noqa: E402
from benchmarks._common import RESULTS, merge_rows, provenance, table, write_json  # noqa: E402

CASES = {"cartpole": "CartPole-v1", "pong-pixels": "pong-pixels"}  # --only name -> train.py's --env
PHASES = {"write": "write (gymlab)", "read": "read (gymlab)", "naive": "read (np.load + copy)"}
REF = "naive"
QUICK_BUFFER = 10_000
WARM_STEPS = 64  # steps of the real loop before the buffer is filled (fewer than learning_starts)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def current_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def config(case: str) -> dict:
    """The DQN settings ``train.py --env ENV --agent dqn`` takes for ``case`` (agents/hyperparams.py)."""
    from gymlab.agents import hyperparams

    return hyperparams.defaults("dqn", CASES[case])[0]


def build(case: str, buffer_size: int | None = None):
    """``(env, agent)``: the env and the DQN ``train.py`` builds for ``case`` (``buffer_size``: another size)."""
    import gymnasium as gym

    from gymlab import agents, envs

    env_id, kwargs = envs.resolve(CASES[case])
    env = gym.make(env_id, **kwargs)
    cls = agents.get("dqn")
    settings = {**config(case), **({} if buffer_size is None else {"buffer_size": buffer_size})}
    return env, cls(env.observation_space, env.action_space, cls.Config(**settings), seed=0)


def digest(buffer) -> str:
    """A hash of every array of ``buffer``: equal when the buffer read back is the one written."""
    import hashlib

    import numpy as np

    h = hashlib.blake2b(digest_size=16)
    for name, value in sorted(vars(buffer).items()):
        if isinstance(value, np.ndarray):
            h.update(name.encode())
            h.update(np.ascontiguousarray(value).reshape(-1).view(np.uint8))  # (no copy)
    return h.hexdigest()


def phase(job: dict) -> dict:
    """One phase (``job["phase"]``) of ``job["case"]`` in this process, the file at ``job["path"]``."""
    import numpy as np

    from benchmarks.replay_memory import EXTRA, fill
    from gymlab import resume
    from gymlab.agents.base import Budget
    from gymlab.agents.logger import RunLogger

    env, agent = build(job["case"], job["buffer_size"])
    if job["phase"] == "write":
        if agent.config.learning_starts <= WARM_STEPS:
            raise SystemExit(f"{job['case']}: learning_starts {agent.config.learning_starts} <= {WARM_STEPS}")
        logger = RunLogger(progress=False)
        agent.learn(env, Budget(steps=WARM_STEPS), logger)  # the real loop: envs, windows, stacks
        fill(agent.buffer, int(agent.buffer.capacity * EXTRA))
        base, start = current_mb(), time.perf_counter()
        size = resume.write(job["path"], {"run": {}, "step": logger.steps},
                            {"agent": agent.resume_state(), "logger": logger.state()})
        seconds, peak, beyond = time.perf_counter() - start, peak_mb(), 0.0
    else:
        base, start = current_mb(), time.perf_counter()
        if job["phase"] == "read":
            _, tree = resume.read(job["path"])
        else:  # the reference: every array into memory first, then copied into the buffer
            with np.load(job["path"]) as data:
                arrays = {k: data[k] for k in data.files}
            tree = resume.unpack(json.loads(str(arrays.pop(resume._META)))["tree"], arrays)
        agent.load_resume_state(tree["agent"])
        agent.resume_in(env)
        seconds, peak, size = time.perf_counter() - start, peak_mb(), os.path.getsize(job["path"])
        beyond = agent.buffer.nbytes / 2**20
    return {"seconds": seconds, "buffer_size": agent.config.buffer_size, "resume_bytes": size,
            "replay_bytes": int(agent.buffer.nbytes),
            "buffer_items": len(agent.buffer), "buffer": type(agent.buffer).__name__, "base_mb": round(base, 1),
            "peak_mb": round(peak, 1), "peak_beyond_buffer_mb": round(peak - base - beyond, 1),
            "digest": digest(agent.buffer)}


def run_alone(job: dict) -> dict:
    """``phase(job)`` in a process of its own (one thread), so each peak is that phase's alone."""
    return _speed.run_child(__file__, job, f"{job['case']} {job['phase']}")


def measure_case(case: str, rounds: int, buffer_size: int | None, runner) -> tuple[dict, dict, list[str]]:
    """Every phase of ``case`` in ``rounds`` interleaved rounds: ``(runs, stamp, failures)``."""
    stamp = provenance()
    with tempfile.TemporaryDirectory() as tmp:
        job = {"case": case, "path": str(Path(tmp) / "resume.npz"), "buffer_size": buffer_size}

        def run(name, r):
            res = runner({**job, "phase": name})
            print(f"{case} round {r + 1}/{rounds}: {PHASES[name]}: {res['seconds']:.2f} s, peak "
                  f"{res['peak_mb']:,.0f} MB", file=sys.stderr)
            return res

        runs = _speed.interleave(list(PHASES), rounds, run)
    written = runs["write"][0]["digest"]  # every round writes the same buffer (seeded), and reads one written
    failures = [f"{case} round {r + 1}: {name}: the buffer is not the one written in round 1"
                for name, xs in runs.items() for r, x in enumerate(xs) if x["digest"] != written]
    if len({x["resume_bytes"] for xs in runs.values() for x in xs}) > 1:
        failures.append(f"{case}: the resume file's size changed between rounds")
    return runs, stamp, failures


def main(argv=None, runner=run_alone) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _speed.add_arguments(p, quick_rounds=1)
    p.add_argument("--only", choices=sorted(CASES), help="one case (the other's rows are kept from the JSON)")
    p.add_argument("--json", type=Path, help="where to write the results (default benchmarks/results/"
                                             "resume_state.json, --quick: resume_state_quick.json)")
    args = _speed.parse_args(p, argv, phase)
    if args is None:  # one phase, in the process run_alone started: written
        return 0
    rounds = _speed.rounds_of(args, quick_rounds=1)
    path = args.json or RESULTS / ("resume_state_quick.json" if args.quick else "resume_state.json")
    state, measured, failures = _speed.start(args.wait_idle), [], []
    for case in [args.only] if args.only else list(CASES):
        runs, stamp, failed = measure_case(case, rounds, QUICK_BUFFER if args.quick else None, runner)
        measured.append((case, runs, stamp))
        failures += failed
    state = _speed.finish(state)
    records = []
    for case, runs, stamp in measured:
        for name, label in PHASES.items():
            xs, first = runs[name], runs[name][0]
            seconds = [x["seconds"] for x in xs]
            beyond = [x["peak_beyond_buffer_mb"] for x in xs]
            records.append({
                "key": f"{case}/{name}", "case": case, "env": CASES[case], "phase": name, "label": label,
                "buffer": first["buffer"], "buffer_size": first["buffer_size"], "buffer_items": first["buffer_items"],
                "replay_bytes": first["replay_bytes"], "resume_bytes": first["resume_bytes"],
                "seconds_per_round": seconds, "seconds_median": statistics.median(seconds),
                "vs_ref": None if name != "read" else
                {"ref": PHASES[REF], **_speed.ratios(seconds, [x["seconds"] for x in runs[REF]])},
                "base_mb_per_round": [x["base_mb"] for x in xs], "peak_mb_per_round": [x["peak_mb"] for x in xs],
                "peak_beyond_buffer_mb_per_round": beyond, "peak_beyond_buffer_mb_median": statistics.median(beyond),
                "rounds": rounds, "quick": args.quick, **state, **stamp})
    # rows kept from an earlier run (--only): those measured by this protocol, never a figure made otherwise
    records = [r for r in merge_rows(path, records, "key") if "seconds_per_round" in r]
    order = [f"{c}/{name}" for c in CASES for name in PHASES]
    records.sort(key=lambda r: order.index(r["key"]) if r["key"] in order else len(order))
    rows = [[r["case"], r["buffer"], r["buffer_items"], f"{r['resume_bytes'] / 2**20:,.1f}", r["label"],
             f"{r['seconds_median']:.2f}", _speed.ratio_cell(r["vs_ref"]) if r["phase"] == "read" else "",
             f"{statistics.median(r['base_mb_per_round']):,.0f}", f"{r['peak_beyond_buffer_mb_median']:,.0f}",
             "busy" if r["busy"] else ""] for r in records]
    out = write_json("resume_state", {"quick": args.quick, "rounds": rounds, **state, "checks_failed": failures,
                                      "rows": records}, path)
    print(table(["case", "buffer", "items", "resume.npz MB", "phase", "seconds (median)",
                 "vs np.load + copy: median [min-max] of rounds", "memory before MB", "peak beyond buffer MB",
                 "load"], rows))
    _speed.say_verdict(state, args.quick, failures)
    print(f"\nwritten: {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
