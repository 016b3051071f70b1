"""The ``gymlab`` command, and the rules every command of the suite keeps.

    gymlab train --env rooms --agent q       # train.py (also installed as gymlab-train)
    gymlab seq sine|cosine|chars [...]       # the supervised experiments (python -m sequence_tasks)
    gymlab --version
    gymlab play [--against CKPT] [...]       # Pong with the keyboard
    gymlab export RUN_DIR --onnx FILE        # the trained policy as an ONNX graph

From a source checkout, ``python -m gymlab ...`` is the same command.

Exit codes, for every command: 0 done; 2 a usage error, a corrupt checkpoint or
resume state among them (one line on stderr, nothing written), and a user's own env
(``module:id``) that raises or breaks its own space (``gymlab/user_env.py``); 70 an internal
error (a bug: one line, and the traceback saved as ``crash.txt`` in the run
directory, or a temporary file); 74 an I/O error of the machine (a full disk, a read-only
run directory, stdout on a full disk: one line; whatever was written stays whole); 130
interrupted (Ctrl-C); 143 terminated (SIGTERM, as Ctrl-C); 141 the reader of
the output went away (``| head``), quietly. A character stdout cannot show (a Unicode run
directory on an ASCII-only stdout) is printed as an escape, ``\\xfc``.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import sys

EXIT_OK, EXIT_USAGE, EXIT_INTERNAL, EXIT_IO, EXIT_INTERRUPTED, EXIT_PIPE = 0, 2, 70, 74, 130, 141
# errno values that are the machine's state, not a bug: a full disk or quota, a read-only or refused path, a failing device
IO_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG}

COMMANDS = {
    "train": ("gymlab.train", "train, evaluate and report an agent on an env (train.py)"),
    "seq": ("gymlab.sequence_tasks.cli", "the lecture's supervised sequence experiments"),
    "play": ("gymlab.play", "play Pong with the keyboard, against the script or a checkpoint"),
    "export": ("gymlab.export", "a trained policy as an ONNX graph (gymlab export RUN_DIR --onnx FILE)"),
}


_ran_as = None  # the command the user typed, when ``main`` dispatched it: "gymlab train", ...


def command(default: str) -> str:
    """The name of the command the user ran, for usage lines, errors and hints: ``gymlab train``
    (``python -m gymlab train`` from a checkout), ``gymlab-train``, or ``default`` (``train.py``,
    ``python -m sequence_tasks``) when run from the checkout itself."""
    if _ran_as is not None:
        return _ran_as
    if sys.argv and os.path.basename(sys.argv[0]) == "gymlab-train":
        return "gymlab-train"
    return default


def typed(prog: str) -> str:
    """``prog`` as the user types it again: ``python train.py``, ``gymlab train``."""
    return f"python {prog}" if prog.endswith(".py") else prog


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


def path_arg(text: str):
    """An argparse ``type`` for a path that may not be empty (``Path("")`` would be ``.``)."""
    from pathlib import Path

    if not text.strip():
        raise argparse.ArgumentTypeError("expected a path, got an empty string")
    return Path(text)


path_arg.__name__ = "path"

WORDS = {"true": True, "false": False, "none": None, "null": None}  # as JSON and YAML spell them, in any case


def literal(text: str):
    """A ``KEY=VALUE`` value (``--env-kwargs``): a Python literal (``0.8``, ``'pixels'``, ``(1, 2)``),
    ``true``/``false``/``none``/``null`` in any case as ``True``/``False``/``None``, else the text
    itself (``pixels``); ``'false'``, quoted, is the string."""
    import ast

    if text.strip().lower() in WORDS:
        return WORDS[text.strip().lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def import_named(module: str):
    """Import a module the user named (``--env module:id``, ``--agent module:Class``), found in the
    working directory too, whichever way the command was started (``python train.py``, ``gymlab
    train``, ``gymlab-train``): the directory goes first on ``sys.path``, where ``python -m`` puts
    it, as Gymnasium users expect."""
    import importlib

    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    return importlib.import_module(module)


def display_problem() -> str | None:
    """Why no window can be shown here, or None if one can: the one rule for ``train.py --render``
    and ``gymlab play``. A video driver chosen on purpose (``SDL_VIDEODRIVER``; ``dummy`` draws
    off-screen, as the tests do) is taken at its word; else ``WAYLAND_DISPLAY`` or ``DISPLAY``
    must be set and its server must answer (without one, pygame falls back to drawing off-screen,
    and the user would see nothing)."""
    if os.environ.get("SDL_VIDEODRIVER"):
        return None
    given = [(driver, var) for driver, var in (("wayland", "WAYLAND_DISPLAY"), ("x11", "DISPLAY"))
             if os.environ.get(var)]
    if not given:
        return "DISPLAY is not set"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    for driver, _ in given:  # that driver only: SDL's own fall-back would hide a dead display
        os.environ["SDL_VIDEODRIVER"] = driver
        try:
            pygame.display.init()
            pygame.display.quit()
            return None
        except pygame.error:
            pass
        finally:
            del os.environ["SDL_VIDEODRIVER"]
    return " and ".join(f"{var}={os.environ[var]}" for _, var in given) + " has no display server that answers"


def progress_bar(total: int | None, desc: str, initial: int = 0, unit: str = "it", enabled: bool = True):
    """The suite's one progress-bar rule (``train.py``'s runs and the sequence experiments): a tqdm
    bar on stderr when stderr is a terminal, none in logs and pipes, and none with ``--no-progress``
    (``enabled=False``)."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit=unit, desc=desc, disable=None if enabled else True, leave=False,
                dynamic_ncols=True)


def guarded(prog: str, body) -> int:
    """Run ``body()`` (which returns an exit code) under the suite's exit-code rules: no
    traceback reaches the user, whatever happens."""
    try:
        from gymlab import runs, signals
    except KeyboardInterrupt:  # a Ctrl-C while these import is one like any later: exit 130, one line
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED

    runs.current_run_dir = None  # set once this command has made its run directory
    stdout = sys.stdout
    _forgiving_stdout()
    sys.stdout = _Stdout(stdout) if stdout is not None else None
    try:
        try:
            with signals.sigterm_interrupts():  # SIGTERM is Ctrl-C, exit 143
                code = body()
                if sys.stdout is not None:  # (none under pythonw)
                    sys.stdout.flush()  # a full stdout is said here, not by Python on its way out
            if getattr(sys.stdout, "failed", None) is not None:  # the run went on without it, and is whole
                print(f"{prog}: error: could not write to stdout: {sys.stdout.failed.strerror}; the run went on "
                      f"without it", file=sys.stderr)
                return EXIT_IO
            return code
        except UsageError as err:
            print(f"{prog}: error: {err}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt as err:
            signals.say_stopped(f"{prog}: {'terminated' if isinstance(err, signals.Terminated) else 'interrupted'}")
            return signals.exit_code(err)
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_PIPE
        except MemoryError:  # settings too big for this machine: the user's to change, said in one line
            print(f"{prog}: error: out of memory with these settings (smaller sizes will fit)", file=sys.stderr)
            return EXIT_USAGE
        except SystemExit:
            raise
        except OSError as err:
            if err.errno in IO_ERRNOS:  # the machine's state, not a bug: nothing written is lost (atomic writes)
                where = f" ({err.filename})" if err.filename else ""
                print(f"{prog}: I/O error: {err.strerror}{where}", file=sys.stderr)
                return EXIT_IO
            return _internal(prog, err)
        except Exception as err:  # a bug: say so in one line, keep the traceback
            if isinstance(err, RuntimeError) and "can't allocate memory" in str(err):  # torch's MemoryError
                print(f"{prog}: error: out of memory with these settings (smaller sizes will fit)", file=sys.stderr)
                return EXIT_USAGE
            return _internal(prog, err)
    except KeyboardInterrupt as err:  # a second Ctrl-C (or SIGTERM) while the first was being handled
        return signals.exit_code(err)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE
    finally:
        sys.stdout = stdout


def _internal(prog: str, err: BaseException) -> int:
    """A bug: said in one line, its traceback kept in ``crash.txt``."""
    from gymlab import runs

    where = runs.save_crash(runs.current_run_dir)
    saved = f"; traceback in {where}" if where else ""
    print(f"{prog}: internal error: {type(err).__name__}: {err}{saved} (please report it)", file=sys.stderr)
    return EXIT_INTERNAL


def _forgiving_stdout() -> None:
    """A character stdout's encoding cannot show (a Unicode run directory on an ASCII-only terminal,
    PYTHONIOENCODING=ascii) is written as an escape (``\\xfc``), not an error after the run is done."""
    try:
        sys.stdout.reconfigure(errors="backslashreplace")
    except (AttributeError, ValueError, OSError):  # (a stdout that is not a text file: left as it is)
        pass


class _Stdout:
    """stdout, which a full disk (or /dev/full) does not stop a run with: the first write error is kept
    in ``failed``, stdout goes to /dev/null from there, and the command ends with exit 74 once the
    run is done and whole. A broken pipe (``| head``) stays one."""

    def __init__(self, inner):
        self._inner, self.failed = inner, None

    def _guard(self, fn, *args):
        try:
            return fn(*args)
        except BrokenPipeError:
            raise
        except OSError as err:
            self.failed = self.failed or err
            _silence_stdout()
            try:
                return fn(*args)  # (what was in the buffer goes to /dev/null)
            except OSError:
                return None

    def write(self, text):
        return self._guard(self._inner.write, text)

    def flush(self):
        return self._guard(self._inner.flush)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _silence_stdout() -> None:
    """After the reader of stdout went away: point it at /dev/null so that Python's final
    flush does not complain."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    import importlib

    global _ran_as

    argv = list(sys.argv[1:] if argv is None else argv)
    me = "python -m gymlab" if sys.argv and os.path.basename(sys.argv[0]) == "__main__.py" else "gymlab"
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage(me), file=sys.stdout if argv else sys.stderr)
        return EXIT_OK if argv else EXIT_USAGE
    if argv[0] == "--version":
        from gymlab import __version__

        print(f"gymlab {__version__}")
        return EXIT_OK
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"{me}: error: unknown command {name!r} (choose from {', '.join(COMMANDS)})", file=sys.stderr)
        return EXIT_USAGE
    _ran_as = f"{me} {name}"
    try:
        return guarded(_ran_as, lambda: importlib.import_module(COMMANDS[name][0]).main(rest))
    finally:
        _ran_as = None


def _usage(me: str = "gymlab") -> str:
    lines = [f"usage: {me} COMMAND [options]   ({me} COMMAND --help for its options; {me} --version)", "",
             "commands:"]
    lines += [f"  {name:6s} {summary}" for name, (_, summary) in COMMANDS.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
