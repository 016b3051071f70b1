"""Helpers shared by tests/test_usability*.py (issue 23 items 5, 7, 11-16)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADLESS = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}


def train_main(*args):
    """``train.main`` in this process: ``(code, stdout, stderr)``."""
    import train

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = train.main(["--no-progress", *map(str, args)])
    return code, out.getvalue(), err.getvalue()


def spawn(argv, cwd, env=None):
    """A child in its own process group with SIGINT at its default (a test runner may ignore it)."""
    return subprocess.Popen([sys.executable, *map(str, argv)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**(env or os.environ), "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def kill_group(proc):
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def console_script(where: Path, name: str, target: str) -> Path:
    """What pip writes for an entry point (``gymlab``, ``gymlab-train``): a script outside the checkout."""
    where.mkdir(parents=True, exist_ok=True)
    module, func = target.split(":")
    path = where / name
    path.write_text(f"import sys\nfrom {module} import {func}\nsys.exit({func}())\n")
    return path


def trained_checkpoint(tmp_path_factory, name: str, *flags) -> Path:
    """The checkpoint of a run made with ``flags`` in a fresh run directory (which keeps its resume.npz)."""
    run_dir = tmp_path_factory.mktemp(name) / "run"
    code, _, err = train_main(*flags, "--run-dir", run_dir)
    assert code == 0, err
    return run_dir / "checkpoint.npz"
