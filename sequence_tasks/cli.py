"""python -m sequence_tasks EXPERIMENT [--run-dir DIR] [--seed S] ...   (installed: gymlab seq EXPERIMENT ...)

Runs one of the lecture's supervised sequence experiments and writes
``summary.json`` and its plots into the run directory
(default ``runs/seq__<experiment>__<seed>__<time>/``). ``--help`` after an
experiment's name lists its own options.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from gymlab.sequence_tasks import EXPERIMENTS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sequence_tasks", description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True,
                           help=", ".join(f"{k} ({v[1]})" for k, v in EXPERIMENTS.items()))
    for name, (module, summary) in EXPERIMENTS.items():
        q = sub.add_parser(name, help=summary, description=importlib.import_module(module).__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        q.add_argument("--run-dir", type=Path, help="where to write summary.json and the plots")
        q.add_argument("--seed", type=int, default=0, help="seeds the data, the initial weights and sampling")
        q.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
        q.add_argument("--no-progress", action="store_true", help="no progress bar")
        importlib.import_module(module).add_arguments(q)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from gymlab.sequence_tasks.common import Experiment

    module = importlib.import_module(EXPERIMENTS[args.experiment][0])
    exp = Experiment(args.experiment, args.seed, args.run_dir, args.threads, progress=not args.no_progress)
    try:
        summary = module.run(exp, args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as e:
        print(f"python -m sequence_tasks {args.experiment}: error: {e}", file=sys.stderr)
        return 2
    summary = exp.finish(summary)
    print(f"wall time {summary['wall_time_s']:.1f} s; run directory: {exp.run_dir}")
    return 0


