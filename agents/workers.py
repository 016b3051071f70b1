"""A second process beside the run, for work that overlaps with playing (``--workers 2``).

    with Worker(serve, net) as worker:     # serve(conn, net) runs in the child
        worker.send(("weights", arrays))
        reply = worker.recv()

The process plumbing, in one place, for any agent that hands work to a child (REINFORCE's
gradients, ``agents/reinforce_workers.py``): the child is started with ``spawn`` (a fresh
interpreter: no locks or thread pools of the parent's torch copied half-held), with SIGINT
ignored from its very start, so that a Ctrl-C, which a terminal sends to the whole process group,
reaches the parent only: the parent stops at its next safe point as it always does (exit 130) and
closes the child on its way out. ``close`` asks the child to stop, then terminates and at last kills
it if it has not; a child whose parent is gone (killed outright) finds its pipe closed and exits.
So nothing is left running however the run ends.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from typing import Any, Callable

STOP = ("stop",)


def _child(serve: Callable, conn, args: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # (inherited ignored already; said again for clarity)
    try:
        serve(conn, *args)
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass  # the parent has gone, or stopped it
    finally:
        conn.close()
        os._exit(0)  # no atexit hooks of the parent's modules


class Worker:
    """``serve(conn, *args)`` in a child process: ``send`` to it and ``recv`` from it over a pipe;
    ``serve`` returns on ``STOP``. A context manager: leaving it closes the child."""

    def __init__(self, serve: Callable, *args: Any):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(target=_child, args=(serve, child_conn, args), daemon=True)
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:  # the child starts with SIGINT ignored: a Ctrl-C during its imports prints nothing
            self.process.start()
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
        child_conn.close()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message) -> None:
        self.conn.send(message)

    def recv(self):
        if not self.process.is_alive() and not self.conn.poll():
            raise RuntimeError(f"the worker process {self.pid} has stopped (exit code {self.process.exitcode})")
        return self.conn.recv()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the child: asked, then terminated, then killed; waits for it each time."""
        if self.process.pid is None:
            return
        try:
            if self.process.is_alive():
                self.conn.send(STOP)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
