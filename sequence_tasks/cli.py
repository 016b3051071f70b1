"""python -m sequence_tasks EXPERIMENT [--run-dir DIR] [--seed S] ...   (installed: gymlab seq EXPERIMENT ...)

Runs one of the lecture's supervised sequence experiments and writes
``summary.json`` and its plots into the run directory
(default ``runs/seq__<experiment>__<seed>__<time>/``). ``--help`` after an
experiment's name lists its own options.

Exit codes as for every command of the suite (``gymlab/cli.py``): 0 done; 2 a
usage error, in one line, with nothing written (every option is checked, and
how the options fit together, before the run directory is made); 70 an
internal error; 74 an I/O error of the machine (a full disk); 130 interrupted (Ctrl-C);
143 terminated (SIGTERM, kept as Ctrl-C keeps).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from gymlab.cli import Parser, UsageError, command, guarded, number
from gymlab.sequence_tasks import EXPERIMENTS

PROG = "python -m sequence_tasks"  # from a checkout; installed: gymlab seq (gymlab.cli.command)
MAX_SEED = 2**64 - 1  # what torch.manual_seed takes


def build_parser() -> Parser:
    from gymlab.sequence_tasks.common import max_threads, path_arg

    p = Parser(prog=command(PROG), description=__doc__.split("\n\n")[1],
               formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True, parser_class=Parser,
                           help=", ".join(f"{k} ({v[1]})" for k, v in EXPERIMENTS.items()))
    threads = max_threads()
    for name, (module, summary) in EXPERIMENTS.items():
        q = sub.add_parser(name, help=summary, description=importlib.import_module(module).__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        q.add_argument("--run-dir", type=path_arg,
                       help="where to write summary.json and the plots (default runs/seq__<experiment>__<seed>__"
                            "<time>); a directory holding an earlier run is refused unless --force")
        q.add_argument("--force", action="store_true", help="replace an earlier run in --run-dir")
        q.add_argument("--seed", type=number(int, lo=0, hi=MAX_SEED), default=0,
                       help="seeds the data, the initial weights and sampling (default 0)")
        q.add_argument("--threads", type=number(int, lo=1, hi=threads), default=1,
                       help=f"torch CPU threads, 1 to {threads} (default 1: torch's threads spin-wait for each "
                            f"other, and when a core is busy with another process they collapse; beside one "
                            f"busy process, chars ran 2.5 to 50 times slower with 2 threads than with 1)")
        q.add_argument("--no-progress", action="store_true", help="no progress bar")
        importlib.import_module(module).add_arguments(q)
    return p


def main(argv=None) -> int:
    """The command line: exit codes as in ``gymlab/cli.py``; no input ends in a traceback."""
    return guarded(command(PROG), lambda: _main(list(sys.argv[1:] if argv is None else argv)))


def _main(argv: list[str]) -> int:
    from gymlab import runs, signals

    # 1. Every option, and how they fit together (and the --text, and the memory the sizes
    #    need), is checked before anything is written.
    args = build_parser().parse_args(argv)
    module = importlib.import_module(EXPERIMENTS[args.experiment][0])
    inputs = module.check(args)

    # 2. The run directory: refused if it holds an earlier run (unless --force), or cannot be made.
    try:
        missing = _missing(args.run_dir if args.run_dir is not None else Path("runs", "new"))
        run_dir = runs.prepare_run_dir(args.run_dir, ("seq", args.experiment, args.seed), force=args.force)
    except runs.RunDirError as err:
        raise UsageError(str(err)) from err
    except OSError as err:  # e.g. a name too long for the file system, met while checking it
        raise UsageError(f"--run-dir {args.run_dir}: {err.strerror or err}") from err
    if args.run_dir is None:
        missing = [run_dir] + missing[1:]

    # 3. The run. What can still go wrong through the user's choices (a loss that diverges,
    #    sizes the machine cannot hold after all) is a usage error; anything else is a bug,
    #    which ``guarded`` reports as one, with the traceback saved in the run directory.
    from gymlab.sequence_tasks.common import Experiment

    exp = Experiment(args.experiment, args.seed, run_dir, args.threads, progress=not args.no_progress)
    try:
        try:
            summary = module.run(exp, args, **inputs)
        except MemoryError as err:
            raise UsageError(f"out of memory ({err or 'the sizes chosen'}); choose smaller sizes") from err
        except RuntimeError as err:
            if "DefaultCPUAllocator" not in str(err):  # torch's way of saying out of memory
                raise
            raise UsageError(f"out of memory ({str(err).splitlines()[0][-120:]}); choose smaller sizes") from err
    except (UsageError, KeyboardInterrupt) as err:
        if isinstance(err, KeyboardInterrupt) and exp.keep_interrupted():
            signals.say_stopped(f"{'terminated' if isinstance(err, signals.Terminated) else 'interrupted'}: the "
                                f"weights and curves so far are kept in {exp.run_dir} (summary.json, weights.npz)")
            return signals.exit_code(err)  # (said in this one line, not again by guarded)
        runs.discard(run_dir)  # leave nothing behind when nothing was kept: its files, its lock
        for made in missing:
            try:
                if made.is_dir():
                    made.rmdir()  # only if empty
            except OSError:
                break
        raise
    summary = exp.finish(summary)
    print(f"wall time {summary['wall_time_s']:.1f} s; run directory: {exp.run_dir}")
    return 0


def _missing(path):
    """``path`` and its parents that do not exist yet, deepest first: what making it creates."""
    return [q for q in (path, *path.parents) if not q.exists()]
