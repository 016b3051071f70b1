"""Do the agents' defaults hold off the envs they were tuned on? Classic-control envs, as a user meets them.

    python benchmarks/untuned_envs.py               # 10 report seeds (1000-1009) each: about 35 minutes on 2 cores
    python benchmarks/untuned_envs.py --seeds 3 --agents reinforce hill --envs Acrobot-v1   # a quick look

Each (env, agent) is one sweep, run exactly as a user would try it, with nothing but the
env and the agent named: ``python train.py --env ENV --agent AGENT --seeds 1000-1009`` (the report seeds). No
entry in ``agents/hyperparams.py`` is there for these envs, so every agent runs on its own
Config defaults and its ``"*"`` budget (100k env steps); only CartPole (and Pong, and the
sequence envs) were tuned on. The random agent, through the same command, gives each env's
chance level. Per (env, agent): the IQM of the final greedy returns over seeds with its 95%
stratified-bootstrap interval from 10 seeds up (fewer: n and the range), the fraction of seeds reaching the env's reward threshold
(Gymnasium's ``reward_threshold``; Pendulum has none), every seed's return, and the median
wall time of a trial. An agent that cannot act in an env (DQN needs discrete actions; not
Pendulum's) is listed with the one line ``train.py`` says.
Prints the table and writes ``benchmarks/results/untuned_envs.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (RESULTS, measured_sweep, merge_rows, provenance, report_seeds,  # noqa: E402
                                seeds_argument, seeds_flag, sweep_command, table, write_json)

ENVS = ("Acrobot-v1", "MountainCar-v0", "Pendulum-v1", "MountainCarContinuous-v0")
AGENTS = ("random", "dqn", "reinforce", "hill")


def one(env: str, agent: str, seeds: list[int], run_dir: Path) -> dict:
    """The row of one (env, agent): its sweep's (stamped as the sweep began; read back from a work
    dir with the stamp it was measured with), or the one line train.py refused it with."""
    flags = ["--env", env, "--agent", agent]
    stamp = provenance(sweep_command(flags, seeds))  # (for a refused row: the refusal is measured now)
    import train

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(sys.stderr):
        code = train.main([*flags, "--steps", "1", "--run-dir", str(run_dir / "probe"), "--force", "--no-progress",
                           "--eval-episodes", "1", "--eval-every", "0"])
    if code != 0:  # it cannot run here: its one line is the row
        return {"env": env, "agent": agent, "refused": err.getvalue().strip().splitlines()[-1], **stamp}
    report, summaries, stamp = measured_sweep(flags, seeds, run_dir / "sweep")
    entry = report["statistics"].get("defaults", {})
    trials = sorted(report["trials"], key=lambda t: t["seed"])
    finished = [t for t in trials if t["status"] == "finished"]
    budget = next((s["budget"] for s in summaries if s.get("budget")), {})
    threshold = report["reward_threshold"]
    return {"env": env, "agent": agent, "budget": " ".join(f"{v} {k}" for k, v in budget.items()), "seeds": list(seeds),
            "finished": len(finished), "threshold": threshold,
            "solved": None if threshold is None else sum(t["eval_return"] >= threshold for t in finished),
            "iqm": entry.get("iqm"), "iqm_ci": entry.get("iqm_ci"),
            "n": entry.get("n"), "range": entry.get("range"),
            "mean": entry.get("mean"), "median": entry.get("median"), "solved_fraction": entry.get("solved_fraction"),
            "figures": [t["eval_return"] for t in trials], "statuses": [t["status"] for t in trials],
            "wall_time_s_median": statistics.median(s["wall_time_s"] for s in summaries if s) if finished else None,
            **stamp}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=seeds_argument, default=report_seeds(10), metavar="N|A-B|S,S",
                   help=f"a count N is the first N report seeds; or a range or list "
                        f"(default {seeds_flag(report_seeds(10))})")
    p.add_argument("--work-dir", type=Path, help="keep each row's sweep here, and read back rows already swept")
    p.add_argument("--envs", nargs="+", default=list(ENVS), help=f"(default: {' '.join(ENVS)})")
    p.add_argument("--agents", nargs="+", default=list(AGENTS), help=f"(default: {' '.join(AGENTS)})")
    p.add_argument("--json", type=Path, help="where to write (default benchmarks/results/untuned_envs.json)")
    args = p.parse_args(argv)

    from gymlab import stats

    path = args.json or RESULTS / "untuned_envs.json"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work_dir or Path(tmp)
        for env in args.envs:
            for agent in args.agents:
                row = one(env, agent, args.seeds, work / f"{env}-{agent}")
                rows.append(row)
                print(f"{env} {agent}: " + (row.get("refused") or f"IQM {stats.format_iqm(row)}"), file=sys.stderr)
    rows = _merge(path, rows)
    lines = []
    for r in rows:
        if r.get("refused"):
            lines.append([r["env"], r["agent"], "-", "-", r["refused"][:60], "", "", ""])
            continue
        solved = "-" if r["solved"] is None else f"{r['solved']}/{len(r['seeds'])}"
        lines.append([r["env"], r["agent"], r["budget"], solved, stats.format_iqm(r) if r["iqm"] is not None else "-",
                      " ".join(f"{x:.0f}" if x is not None else "x" for x in r["figures"]), r["finished"],
                      r["wall_time_s_median"]])
    print(table(["env", "agent", "budget", "solved", "IQM [95% CI]", "per seed", "finished", "s/trial"], lines))
    out = write_json("untuned_envs", {"rows": rows}, path)
    print(f"\nwritten: {out}")
    return 0


def _merge(path: Path, rows: list[dict]) -> list[dict]:
    """Rows measured now replace the same (env, agent) from an earlier run; the others are kept."""
    for r in rows:
        r["key"] = f"{r['env']} {r['agent']}"
    return merge_rows(path, rows, "key")


if __name__ == "__main__":
    sys.exit(main())
