"""A second process beside the run, for work that overlaps with playing (``--workers 2``).

    with Worker(serve, net) as worker:     # serve(conn, net) runs in the child
        worker.send(("weights", arrays))
        reply = worker.recv()

The process plumbing, in one place, for any agent that hands work to a child (REINFORCE's
gradients, ``agents/reinforce_workers.py``; DQN's actor, ``agents/actor_learner.py``): the child is started with ``spawn`` (a fresh
interpreter: no locks or thread pools of the parent's torch copied half-held), with SIGINT
(and whatever else it is given to ignore: DQN's actor, ``agents/actor_learner.py``, SIGTERM too)
ignored from its very start, so that a Ctrl-C, which a terminal sends to the whole process group,
reaches the parent only: the parent stops at its next safe point as it always does (exit 130) and
closes the child on its way out. ``close`` asks the child to stop, waits ``wait`` seconds, then
terminates (unless it ignores SIGTERM) and at last kills it if it has not; a child whose parent is gone (killed outright) finds its pipe closed and exits.
So nothing is left running however the run ends.

``send`` does not wait: a thread of the parent's writes the messages to the pipe in order, so a
large message (a point's frames) never holds the parent while the child is busy reading another.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
from typing import Any, Callable

STOP = ("stop",)
STOPS = frozenset({signal.SIGINT, signal.SIGTERM})  # what a child that only its parent may stop ignores


def _child(serve: Callable, conn, args: tuple, ignore: frozenset) -> None:
    for signum in ignore:  # (inherited ignored already; said again for clarity)
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, ignore)  # (the mask blocked while starting came through the exec)
    try:
        serve(conn, *args)
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass  # the parent has gone, or stopped it
    finally:
        conn.close()
        os._exit(0)  # no atexit hooks of the parent's modules


class Worker:
    """``serve(conn, *args)`` in a child process: ``send`` to it and ``recv`` from it over a pipe;
    ``serve`` returns on ``STOP``. ``ignore``: the signals the child ignores from birth; ``wait``: how
    long ``close`` waits for it before ending it. A context manager: leaving it closes the child."""

    def __init__(self, serve: Callable, *args: Any, name: str | None = None,
                 ignore: frozenset = frozenset({signal.SIGINT}), wait: float = 5.0):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        self.ignore, self.wait = frozenset(ignore), wait
        self.process = ctx.Process(target=_child, args=(serve, child_conn, args, self.ignore), name=name,
                                   daemon=True)
        if threading.current_thread() is threading.main_thread():
            self._start()
        else:  # (a sweep's trial, in a thread: no signal reaches it there; the child ignores them once running)
            self.process.start()
        child_conn.close()
        self.outbox: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.writer = threading.Thread(target=self._write, name="worker-writer", daemon=True)
        self.writer.start()

    def _start(self) -> None:
        """Started ignoring ``ignore`` from birth (a child keeps an ignored disposition across exec),
        else a Ctrl-C while it imports would kill it or print a traceback. The signals are blocked
        meanwhile (Linux keeps a blocked signal pending even while ignored): one that comes then lands
        on this process's own handler, as ever, once they are back."""
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, self.ignore)
        handlers = {signum: signal.signal(signum, signal.SIG_IGN) for signum in self.ignore}
        try:
            self.process.start()
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def _write(self) -> None:
        while True:
            message = self.outbox.get()
            if message is None:
                return
            try:
                self.conn.send(message)
            except BaseException as err:  # (the child has gone): said by the next send or recv
                self.error = err
                return

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, message) -> None:
        if self.error is not None:
            raise RuntimeError(f"the worker process {self.pid} cannot be reached: {self.error}")
        self.outbox.put(message)

    def recv(self):
        while not self.conn.poll(0.5):  # (not forever: a child that died says so)
            if self.error is not None or not self.process.is_alive():
                break
        if self.error is not None:
            raise RuntimeError(f"the worker process {self.pid} cannot be reached: {self.error}")
        if not self.process.is_alive() and not self.conn.poll():
            raise RuntimeError(f"the worker process {self.pid} has stopped (exit code {self.process.exitcode})")
        return self.conn.recv()

    def close(self, timeout: float | None = None) -> None:
        """Stop the child: asked, then terminated (unless it ignores SIGTERM), then killed; waits for it
        ``timeout`` seconds (``wait`` if not given) each time."""
        timeout = self.wait if timeout is None else timeout
        if self.process.pid is None:
            return
        try:  # what is still waiting to be written is not wanted any more
            while True:
                self.outbox.get_nowait()
        except queue.Empty:
            pass
        if self.process.is_alive() and self.writer.is_alive():
            self.outbox.put(STOP)
        self.outbox.put(None)
        self.writer.join(timeout)
        self.process.join(timeout)
        if self.process.is_alive() and signal.SIGTERM not in self.ignore:
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
