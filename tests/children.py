"""Children a test signals: started with SIGINT's default disposition, in their own process group,
and the whole group killed when the test ends (``Children``; the ``spawn`` fixture in conftest); and
``wait_for`` a file a child writes, ``finish`` a child in a bounded time."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def _default_sigint():  # in the child, before exec: what a terminal's foreground job has
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Children:
    """``with Children() as start: proc = start(args, **popen_kwargs)``. A test runner started as a
    background job ignores SIGINT, and its children inherit the ignore: a Ctrl-C sent to them would
    do nothing and they would outlive the test. These get SIGINT's default (Python's
    KeyboardInterrupt) and their own process group, killed (SIGKILL) on leaving, passed or failed.
    Signal a child with ``proc.send_signal`` or its group with ``os.killpg(proc.pid, sig)`` (as a
    terminal's Ctrl-C); pipes and text mode by default."""

    def __init__(self):
        self.procs = []

    def __enter__(self):
        return self.start

    def start(self, args, **kwargs) -> subprocess.Popen:
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        kwargs.setdefault("text", True)
        proc = subprocess.Popen(args, start_new_session=True, preexec_fn=_default_sigint, **kwargs)
        self.procs.append(proc)
        return proc

    def __exit__(self, *exc):
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the group: whatever the child started too
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.communicate(timeout=30)
            except (subprocess.TimeoutExpired, ValueError):
                pass
        return False


def wait_for(path, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Until ``path`` exists (a file a child writes, as the moment to signal it). Fails the test if
    ``proc`` ends first (with its stderr) or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not Path(path).exists():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the child ended ({proc.returncode}) before {path} appeared: {proc.communicate()}")
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.02)


def finish(proc: subprocess.Popen, seconds: float) -> tuple[str, str, float]:
    """``proc``'s stdout, stderr and how long it took to end from now (at most ``seconds``)."""
    start = time.monotonic()
    out, err = proc.communicate(timeout=seconds)
    return out, err, time.monotonic() - start
