"""Where a DQN run's time goes: acting, the env, replay (storing and sampling), the update's forward,
backward and optimizer step, and the rest (Python overhead of the loop), from cProfile, on CartPole-v1
and on pong-pixels, in one run (issue 27: "measure each").

    python benchmarks/dqn_profile.py                           # both tasks, dqn_speed.py's budgets
    python benchmarks/dqn_profile.py --quick --json /tmp/p.json   # tiny budgets: does it run?

Each task runs once, as ``benchmarks/dqn_speed.py`` runs its ``dqn (as sb3)`` contestant (SB3's
algorithm and network: ``--no-double-q --no-dueling``, the task's other defaults, the same budget and
learning start, ``--eval-every 0``, one torch thread) in a process of its own under cProfile, after a
tiny run of 200 steps in that process (so that imports and Pong's JIT compiles, paid once, are not
in the profile).
A part's seconds are the cumulative time cProfile gives the functions that are that part
(``PARTS``), read where the learning loop calls them; ``other`` is what ``learning_loop`` spent
beyond them all (its loop, the n-step window, the step counting and logging). cProfile's own
overhead inflates the short Python calls most, so the fractions are the profile's, not a speed
figure (speed: ``benchmarks/dqn_speed.py``, measured alone). Writes
``benchmarks/results/dqn_profile.json`` (``--quick``: only where ``--json`` says); each row is
stamped (``_common.provenance``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import _speed  # noqa: E402
from benchmarks._common import RESULTS, provenance, table, write_json  # noqa: E402
from benchmarks.dqn_speed import SEED, TASKS, contestants  # noqa: E402
from benchmarks.dqn_vs_sb3 import flags  # noqa: E402

CONTESTANT = "dqn (as sb3)"
# part -> the (file ending, function) pairs whose cumulative time it is, each read under its caller (or any caller)
PARTS = {
    "acting": [("agents/dqn.py", "act_to_learn", None)],
    "env step": [(None, "step", "agents/rollout.py:run")],
    "replay store": [("agents/dqn.py", "remember", None)],
    "replay sample": [(None, "sample", "agents/dqn_loop.py:learn_from")],
    "update forward": [(None, "_wrapped_call_impl", "agents/dqn.py:update")],
    "update backward": [("torch/_tensor.py", "backward", "agents/dqn.py:gradient_step")],
    "update optimizer": [(None, "wrapper", "agents/dqn.py:gradient_step"),
                         (None, "zero_grad", "agents/dqn.py:gradient_step"),
                         (None, "adam_step", "agents/dqn.py:gradient_step"),
                         (None, "clip_grad_norm_", "agents/dqn.py:gradient_step"),
                         (None, "_no_grad_wrapper", "agents/dqn.py:gradient_step")],
    "target copy": [("agents/dqn.py", "update_target", None)],
}
UPDATE = ("agents/dqn.py", "update")  # its remainder: the target, the loss and their tensors
TOTAL = ("agents/dqn_loop.py", "learning_loop")


def _matches(func: tuple, file_end: str | None, name: str) -> bool:
    filename, _, fname = func
    return fname == name and (file_end is None or filename.replace("\\", "/").endswith(file_end))


def _caller_is(func: tuple, where: str) -> bool:
    file_end, name = where.split(":")
    return _matches(func, file_end, name)


def cumulative(stats: dict, file_end: str | None, name: str, caller: str | None = None) -> float:
    """Seconds spent in (and under) the functions ``name`` (in a file ending ``file_end``), counting only
    their calls from ``caller`` ("file:function") when given."""
    total = 0.0
    for func, (_cc, _nc, _tt, ct, callers) in stats.items():
        if not _matches(func, file_end, name):
            continue
        if caller is None:
            total += ct
        else:
            total += sum(c[3] for who, c in callers.items() if _caller_is(who, caller))
    return total


def parts_of(stats: dict) -> dict:
    """Each part's seconds, the update's remainder and ``other``, and their fractions of the loop's time."""
    total = cumulative(stats, *TOTAL)
    seconds = {part: sum(cumulative(stats, *f) for f in funcs) for part, funcs in PARTS.items()}
    in_update = sum(seconds[p] for p in ("update forward", "update backward", "update optimizer"))
    seconds["update rest (target, loss)"] = max(0.0, cumulative(stats, *UPDATE) - in_update)
    seconds["other (loop, n-step, logging)"] = max(0.0, total - sum(seconds.values()))
    return {"loop_s": round(total, 4),
            "parts": {p: {"s": round(s, 4), "fraction": round(s / total, 4) if total else None}
                      for p, s in seconds.items()}}


def command(task: str, who: dict, steps: int) -> str:
    args = ["--env", TASKS[task][0], "--agent", who["agent"], "--steps", str(steps), *flags(who["overrides"]),
            "--eval-every", "0", "--eval-episodes", "0", "--seed", str(SEED)]
    return "python train.py " + " ".join(shlex.quote(a) for a in args)


def profile(job: dict) -> dict:
    """One run in this process under cProfile: its parts (``parts_of``) and the 15 costliest functions."""
    import cProfile
    import contextlib
    import pstats
    import tempfile

    from gymlab.experiment import RunConfig, run

    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in job["overrides"].items()}
    prof = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
        warm = {**overrides, "learning_starts": 100}  # first: a tiny run, so imports and JIT compiles are not profiled
        run(RunConfig(env=job["env"], agent="dqn", overrides=warm, steps=200, seed=SEED, run_dir=Path(tmp) / "warm",
                      eval_episodes=0, eval_every=0, progress=False))
        cfg = RunConfig(env=job["env"], agent="dqn", overrides=overrides, steps=job["steps"], seed=SEED,
                        run_dir=Path(tmp) / "run", eval_episodes=0, eval_every=0, progress=False)
        prof.enable()
        result = run(cfg)
        prof.disable()
    stats = pstats.Stats(prof).stats
    top = sorted(stats.items(), key=lambda kv: -kv[1][2])[:15]
    return {**parts_of(stats), "env_steps": result.summary["env_steps"],
            "top_own_time": [{"function": f"{Path(f[0]).name}:{f[1]}:{f[2]}", "own_s": round(v[2], 4),
                              "calls": v[1]} for f, v in top]}


def main(argv=None, runner=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny budgets: a check that it runs, not a profile")
    p.add_argument("--only", choices=sorted(TASKS), help="one task")
    p.add_argument("--json", type=Path, help="where to write it (default benchmarks/results/dqn_profile.json; "
                                             "--quick needs --json)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:  # one profiled run, in the process run_child started
        import torch

        torch.set_num_threads(1)
        args.out.write_text(json.dumps(profile(json.loads(args.child))))
        return 0
    if args.quick and args.json is None:
        p.error("--quick writes only where --json says (its profile is not the stored one)")
    runner = runner or (lambda job: _speed.run_child(__file__, job, f"profiling {job['env']}"))
    rows, lines = [], []
    for task in [args.only] if args.only else list(TASKS):
        env, steps, starts, quick_steps, quick_starts = TASKS[task]
        steps, starts = (quick_steps, quick_starts) if args.quick else (steps, starts)
        who = next(w for w in contestants(task, steps, starts) if w["contestant"] == CONTESTANT)
        res = runner({"env": env, "steps": steps, "overrides": who["overrides"]})
        rows.append({"task": task, "env": env, "contestant": CONTESTANT, "steps": steps, "learning_starts": starts,
                     "quick": args.quick, **res, **provenance(command(task, who, steps))})
        for part, v in res["parts"].items():
            lines.append([env if part == "acting" else "", part, f"{v['s']:.2f}", f"{100 * v['fraction']:.1f}%"])
    out = write_json("dqn_profile", {"quick": args.quick, "seed": SEED, "rows": rows},
                     args.json or RESULTS / "dqn_profile.json")
    print(table(["env", "part", "seconds (under cProfile)", "of the loop"], lines))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
