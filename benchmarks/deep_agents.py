"""Each agent with its tuned entry, on the tasks it was tuned for, over held-out seeds.

    python benchmarks/deep_agents.py --work-dir runs/deep_agents        # 10 seeds a row
    python benchmarks/deep_agents.py --only CartPole-v1 --seeds 2 --steps 3000 --json /tmp/quick.json

Every row is one sweep, ``python train.py --env ENV --agent AGENT --seeds 1000-1009``, the very
command a user runs, with the entry of ``agents/hyperparams.py`` for that task. The seeds are the
report seeds (1000 and up), never the ones an entry was tuned on (below 1000; each entry says
which). Each seed is scored by ``train.py``'s final greedy evaluation; the row keeps every seed's
figure, the IQM with its interval (the renderer prints the interval only from 10 runs or more),
the fraction of seeds at or above the env's threshold, and its stamp (commit, command, time,
machine, load). Rows already swept in ``--work-dir`` with the same flags and seeds are read back
with the stamp they were measured with. Writes ``benchmarks/results/deep_agents.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (RESULTS, iqm_cell, merge_rows, row_dir, sweep_arguments, sweep_row, table,  # noqa: E402
                                write_json)

# (env, agent, threshold the table counts as solved, extra flags)
ROWS = [
    ("CliffWalking-v1", "q", -13, []),
    ("CartPole-v1", "dqn", 475, []),
    ("CartPole-v1", "reinforce", 475, []),
    ("CartPole-v1", "hill", 475, []),
    ("pong", "dqn", 21, []),
]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sweep_arguments(p, {env for env, *_ in ROWS}, seeds=10)
    args = p.parse_args(argv)
    path = args.json or RESULTS / "deep_agents.json"
    records, lines = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for env, agent, threshold, extra in ROWS:
            if args.only and env != args.only:
                continue
            flags = ["--env", env, "--agent", agent, *extra]
            if args.steps:
                flags += ["--steps", str(args.steps)]
            res = sweep_row(flags, args.seeds, work / row_dir(env, agent), lambda r: r, allow_tuning_seeds=args.allow_tuning_seeds)
            finished = [f for f in res["figures"] if f is not None]
            res.update(row=f"{env} {agent}", env=env, agent=agent, threshold=threshold,
                       solved=sum(f >= threshold for f in finished))
            records.append(res)
            lines.append([env, agent, res["steps"], iqm_cell(res), f"{res['solved']}/{len(res['seeds'])}",
                          " ".join(f"{f:.1f}" if f is not None else "x" for f in res["figures"]),
                          res["train_s_median"]])
            print(f"{env} {agent}: {iqm_cell(res)}", file=sys.stderr)
    print(table(["env", "agent", "env steps", "IQM [interval]", "solved", "per seed", "s a trial (median)"], lines))
    out = write_json("deep_agents", {"rows": merge_rows(path, records, "row")}, path)
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
