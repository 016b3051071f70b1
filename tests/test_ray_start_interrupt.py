"""Ctrl-C while Ray starts is Ctrl-C even when Python swallows it: a SIGINT landing in an at-fork
hook ("Exception ignored in: <function _releaseLock>") let the sweep go on and exit 0 (CI, once)."""

import os
import signal

import pytest

from gymlab import signals as gymlab_signals


@pytest.fixture(autouse=True)
def python_default_sigint():
    """Python's own Ctrl-C handler for the test, whatever the runner was started with (a shell's
    background job starts with SIGINT ignored, and Python then installs none)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_an_interrupt_swallowed_while_ray_starts_is_raised_again_when_the_start_returns():
    with pytest.raises(KeyboardInterrupt):
        with gymlab_signals.interrupt_kept():
            try:  # what the at-fork hook did with it
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(10_000):  # the handler runs at the next bytecode boundaries, in here
                    pass
            except KeyboardInterrupt:
                pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_no_interrupt_no_exception():
    with gymlab_signals.interrupt_kept():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
