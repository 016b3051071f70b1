"""The ``gymlab`` command, and the rules every command of the suite keeps.

    gymlab train --env rooms --agent q       # train.py (also installed as gymlab-train)
    gymlab seq sine|cosine|chars [...]       # the supervised experiments (python -m sequence_tasks)
    gymlab play [--against CKPT] [...]       # Pong with the keyboard

From a source checkout, ``python -m gymlab ...`` is the same command.

Exit codes, for every command: 0 done; 1 a checkpoint that cannot be read;
2 a usage error (one line on stderr, nothing written); 70 an internal error
(a bug: one line, and the traceback saved as ``crash.txt`` in the run
directory, or a temporary file); 130 interrupted (Ctrl-C); 141 the reader of
the output went away (``| head``), quietly.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

EXIT_OK, EXIT_CHECKPOINT, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 70, 130, 141

COMMANDS = {
    "train": ("gymlab.train", "train, evaluate and report an agent on an env (train.py)"),
    "seq": ("gymlab.sequence_tasks.cli", "the lecture's supervised sequence experiments"),
    "play": ("gymlab.play", "play Pong with the keyboard, against the script or a checkpoint"),
}


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line (``prog: error: argument --seed: ...``), exit 2,
    through ``guarded``, instead of a usage block."""

    def error(self, message):
        raise UsageError(f"{message} ({self.prog} --help lists the options)")


def number(kind=float, lo=None, hi=None, lo_open=False, hi_open=False):
    """An argparse ``type`` for a finite number in a range, whose refusal names the range:
    ``number(int, lo=0)`` for a seed, ``number(float, lo=0, lo_open=True)`` for a rate."""
    span = " and ".join(
        ([f"{'>' if lo_open else '>='} {lo}"] if lo is not None else [])
        + ([f"{'<' if hi_open else '<='} {hi}"] if hi is not None else []))
    what = ("a whole number" if kind is int else "a number") + (f" {span}" if span else "")

    def parse(text: str):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if kind is float and not math.isfinite(value) or \
                lo is not None and (value <= lo if lo_open else value < lo) or \
                hi is not None and (value >= hi if hi_open else value > hi):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    parse.__name__ = what  # what argparse would print for a failed conversion
    return parse


def max_threads() -> int:
    """The CPUs this process may run on: the most torch threads any command accepts (more only
    queue for the same cores: ``--threads 1024`` on 2 cores drove the load average to 147)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def seed_list(text: str) -> list[int]:
    """``--seeds 10`` -> seeds 0..9; ``--seeds 3,5,7`` -> those."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a count or seeds separated by commas, got {text!r}") from None
    if not values or any(v < 0 for v in values) or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"expected a positive count or distinct seeds >= 0, got {text!r}")
    if "," not in text:
        if values[0] < 1 or values[0] > 10_000:
            raise argparse.ArgumentTypeError(f"a count of seeds must be in [1, 10000], got {values[0]}")
        return list(range(values[0]))
    return values


seed_list.__name__ = "seeds"


def path_arg(text: str):
    """An argparse ``type`` for a path that may not be empty (``Path("")`` would be ``.``)."""
    from pathlib import Path

    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return Path(text)


path_arg.__name__ = "path"


def guarded(prog: str, body) -> int:
    """Run ``body()`` (which returns an exit code) under the suite's exit-code rules: no
    traceback reaches the user, whatever happens."""
    from gymlab import runs

    runs.current_run_dir = None  # set once this command has made its run directory
    try:
        try:
            return body()
        except UsageError as err:
            print(f"{prog}: error: {err}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print(f"\n{prog}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_PIPE
        except MemoryError:  # settings too big for this machine: the user's to change, said in one line
            print(f"{prog}: error: out of memory with these settings (smaller sizes will fit)", file=sys.stderr)
            return EXIT_USAGE
        except SystemExit:
            raise
        except Exception as err:  # a bug: say so in one line, keep the traceback
            if isinstance(err, RuntimeError) and "can't allocate memory" in str(err):  # torch's MemoryError
                print(f"{prog}: error: out of memory with these settings (smaller sizes will fit)", file=sys.stderr)
                return EXIT_USAGE
            where = runs.save_crash(runs.current_run_dir)
            saved = f"; traceback in {where}" if where else ""
            print(f"{prog}: internal error: {type(err).__name__}: {err}{saved} (please report it)", file=sys.stderr)
            return EXIT_INTERNAL
    except KeyboardInterrupt:  # a second Ctrl-C while the first was being handled
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE


def _silence_stdout() -> None:
    """After the reader of stdout went away: point it at /dev/null so that Python's final
    flush does not complain."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    import importlib

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage(), file=sys.stdout if argv else sys.stderr)
        return EXIT_OK if argv else EXIT_USAGE
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"gymlab: error: unknown command {name!r} (choose from {', '.join(COMMANDS)})", file=sys.stderr)
        return EXIT_USAGE
    return guarded("gymlab " + name, lambda: importlib.import_module(COMMANDS[name][0]).main(rest))


def _usage() -> str:
    lines = ["usage: gymlab COMMAND [options]   (gymlab COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:6s} {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
