"""Env steps per second of the recurrent DQN (R2D2's way, ``--agent dqn --policy lstm``) on its
CartPoleNoVel entry, learning included (issue 27: aim at 3x the speed before 'r2d2fast').

    python benchmarks/recurrent_speed.py --wait-idle 600   # 6 rounds of both rows: about 15 minutes alone
    python benchmarks/recurrent_speed.py --quick --json /tmp/r.json   # tiny budgets, one round: does it run?

The protocol is ``benchmarks/_speed.py``'s (the only way a speed figure is made here): run it ALONE,
each run a process of its own with one torch thread, rows in interleaved rounds, a row's figure the
median of its rounds; the load before and after is recorded and a busy start marks the JSON.

The rows (each ``python train.py --env gymlab/CartPoleNoVel-v1 --agent dqn --policy lstm --steps
STEPS FLAGS --threads 1 --eval-every 0 --eval-episodes 0 --seed 0``, the row's ``command``; its figure
is ``summary.json``'s ``env_steps_per_s``: env steps over the seconds of ``agent.learn``):

- ``entry``: the entry of ``gymlab/hyperparams/dqn.yml`` as it is (sequences of 10 + 20 + 3 slots,
  32 of them every 4 env steps);
- ``entry, R2D2 sequences``: the same with R2D2's sequences, ``--seq-len 80 --burn-in 40`` (40 + 80 +
  3 slots), where padding and burn-in weigh most.

Budget: 6,000 env steps, learning from step 1,000 (the entry's), so most of a run is learning; the
quick form 1,200 steps from step 600. There is no reference contestant: the speed-up is this
benchmark run at two commits (``git worktree add``), one after the other, alone.
JSON (``--json``, default ``benchmarks/results/recurrent_speed.json``, ``--quick``:
``recurrent_speed_quick.json``): top level ``quick``, ``rounds``, ``busy``, ``load_before``,
``load_after``, ``rows``; each row ``key``, ``flags``, ``command``, ``steps``,
``env_steps_per_s_per_round``, ``env_steps_per_s_median``, ``gradient_steps`` per round, and
``_common.provenance``'s stamp.
"""

import argparse
import contextlib
import json
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import _speed  # noqa: E402
from benchmarks._common import RESULTS, provenance, table, write_json  # noqa: E402

ENV, SEED = "gymlab/CartPoleNoVel-v1", 0
ROWS = {"entry": [], "entry, R2D2 sequences": ["--seq-len", "80", "--burn-in", "40"]}
STEPS, STARTS = 6_000, 1_000
QUICK_STEPS, QUICK_STARTS = 1_200, 600


def command(flags: list[str], steps: int, starts: int) -> list[str]:
    """The ``train.py`` arguments of a run (its ``--learning-starts`` only when not the entry's)."""
    return ["--env", ENV, "--agent", "dqn", "--policy", "lstm", "--steps", str(steps), *flags,
            *([] if starts == STARTS else ["--learning-starts", str(starts)]),
            "--threads", "1", "--eval-every", "0", "--eval-episodes", "0", "--seed", str(SEED)]


def measure(job: dict) -> dict:
    """One run in this process, as ``train.py`` makes it: its speed and its gradient steps."""
    from gymlab.agents.recurrent_dqn import RecurrentDQN
    from train import main

    seen, original = [], RecurrentDQN.learn

    def learn(self, env, budget, logger):  # the agent the run builds, kept to read its updates
        seen.append(self)
        return original(self, env, budget, logger)

    RecurrentDQN.learn = learn
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
            code = main([*job["args"], "--run-dir", str(Path(tmp) / "run"), "--no-progress"])
            summary = json.loads((Path(tmp) / "run" / "summary.json").read_text())
    finally:
        RecurrentDQN.learn = original
    if code not in (0, None):
        raise SystemExit(f"train.py {' '.join(job['args'])} failed (exit {code})")
    return {"env_steps_per_s": summary["env_steps_per_s"], "gradient_steps": int(seen[0].updates)}


def run_alone(job: dict) -> dict:
    return _speed.run_child(__file__, job, job["key"])


def main(argv=None, runner=run_alone) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _speed.add_arguments(p, quick_rounds=1)
    p.add_argument("--json", type=Path, help="where to write the results (default benchmarks/results/"
                                             "recurrent_speed.json, --quick: recurrent_speed_quick.json)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:  # one run, in the process run_alone started
        import torch

        torch.set_num_threads(1)
        args.out.write_text(json.dumps(measure(json.loads(args.child))))
        return 0
    rounds = _speed.rounds_of(args, quick_rounds=1)
    steps, starts = (QUICK_STEPS, QUICK_STARTS) if args.quick else (STEPS, STARTS)
    path = args.json or RESULTS / ("recurrent_speed_quick.json" if args.quick else "recurrent_speed.json")
    if args.wait_idle:
        _speed.wait_idle(args.wait_idle)
    jobs = {key: {"key": key, "args": command(flags, steps, starts)} for key, flags in ROWS.items()}
    stamps = {key: provenance("python train.py " + shlex.join(job["args"])) for key, job in jobs.items()}
    state = _speed.start()

    def run(key, r):
        res = runner(jobs[key])
        print(f"round {r + 1}/{rounds}: {key}: {res['env_steps_per_s']:,.0f} env steps/s, "
              f"{res['gradient_steps']} gradient steps", file=sys.stderr)
        return res

    runs = _speed.interleave(list(ROWS), rounds, run)
    state = _speed.finish(state)
    records = []
    for key, flags in ROWS.items():
        rates = [x["env_steps_per_s"] for x in runs[key]]
        records.append({"key": key, "env": ENV, "flags": flags, "steps": steps, "learning_starts": starts,
                        "rounds": rounds, "quick": args.quick, "env_steps_per_s_per_round": rates,
                        "env_steps_per_s_median": statistics.median(rates),
                        "gradient_steps": [x["gradient_steps"] for x in runs[key]], **state, **stamps[key]})
    out = write_json("recurrent_speed", {"quick": args.quick, "rounds": rounds, "seed": SEED, **state,
                                         "rows": records}, path)
    print(table(["row", "flags", "gradient steps", "env steps/s (median)", "per round", "load"],
                [[r["key"], " ".join(r["flags"]) or "(the entry)", "/".join(map(str, r["gradient_steps"])),
                  r["env_steps_per_s_median"], " ".join(f"{x:,.0f}" for x in r["env_steps_per_s_per_round"]),
                  "busy" if r["busy"] else ""] for r in records]))
    if args.quick:
        print(_speed.QUICK_NOTE)
    if state["busy"]:
        print(f"BUSY: the 1-minute load was {state['load_before'][0]} at the start: not a figure of the code alone")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
