"""Stopping a run from outside: Ctrl-C (SIGINT) and SIGTERM (``kill``, ``timeout``, ``docker
stop``, a batch scheduler's pre-emption) are one rule.

- ``Terminated``: what SIGTERM raises, a ``KeyboardInterrupt``, so that whatever keeps
  what it can on Ctrl-C keeps it on SIGTERM too; ``exit_code(err)`` is 143 for it, 130
  for Ctrl-C (128 + the signal's number, as a shell reports a process the signal ended).
- ``sigterm_interrupts()``: while active (``gymlab.cli.guarded``, around every command),
  SIGTERM raises ``Terminated`` wherever the program is, as Ctrl-C raises ``KeyboardInterrupt``.
- ``DeferredStop``: while active (a run's training loop), the first SIGINT or SIGTERM only
  sets ``requested``; the loop stops at its next safe point, where it saves its state. A
  second one of either raises at once.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C is."""


def exit_code(err: BaseException | None = None, signum: int | None = None) -> int:
    """128 + the number of the signal that stopped the program: 143 for SIGTERM, 130 for Ctrl-C."""
    if signum is None:
        signum = signal.SIGTERM if isinstance(err, Terminated) else signal.SIGINT
    return 128 + int(signum)


def say_stopped(message: str) -> None:
    """A stopped program's one line on stderr: on a terminal after a line break (off the ``^C`` it
    echoed, or a progress bar's line), as it is in logs and pipes."""
    isatty = getattr(sys.stderr, "isatty", None)
    print(("\n" if isatty is not None and isatty() else "") + message, file=sys.stderr)


def _raise(signum, frame=None):
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def sigterm_interrupts():
    """SIGTERM raises ``Terminated`` while active (in the main thread only: signals go there).
    A SIGTERM handler someone else installed (not the default one) is left alone."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def interrupt_kept():
    """Ctrl-C is Ctrl-C even when it lands where Python swallows it (an at-fork hook, such as
    ``logging``'s while Ray starts its processes: "Exception ignored in ... _releaseLock"): while
    active, SIGINT is also recorded, and raised again when the block ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen = []

    def on_sigint(signum, frame):
        seen.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if seen:
        raise KeyboardInterrupt


class DeferredStop:
    """While active, the first SIGINT or SIGTERM only sets ``requested`` (and ``signum``); the
    loop stops at its next safe point, saving its state there. A second one raises at once."""

    def __init__(self):
        self.requested = False
        self.signum: int | None = None
        self._old: dict = {}

    def _handler(self, signum, frame):
        if self.requested:
            _raise(self.signum)
        self.requested, self.signum = True, signum

    def raise_now(self):
        """Raise the stop that was requested (``Terminated`` for SIGTERM)."""
        _raise(self.signum)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():  # (a sweep's trial runs in a thread:
            for signum in SIGNALS:                                  # Ray Tune stops it, not a signal)
                self._old[signum] = signal.signal(signum, self._handler)
        return self

    def __exit__(self, *exc):
        for signum, old in self._old.items():
            signal.signal(signum, old)
        self._old = {}
        return False
