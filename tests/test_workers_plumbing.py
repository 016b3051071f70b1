"""One process plumbing for ``--workers 2`` (issue 27): DQN's actor starts and stops through
``agents/workers.Worker``, which keeps SIGTERM away from a child that asks it to and still ends it."""

from __future__ import annotations

import os
import signal
import time

import pytest

from gymlab.agents import actor_learner, workers

pytestmark = pytest.mark.workers  # starts a second process (conftest.py SEPARATE)


def _echo(conn) -> None:
    while True:
        message = conn.recv()
        if message == ("hang",):
            while True:  # deaf to STOP: only a signal ends it
                time.sleep(0.05)
        conn.send(message)


def test_dqn_actor_is_a_worker():
    assert issubclass(actor_learner.Actor, workers.Worker)


def test_a_child_ignoring_sigterm_is_still_ended_by_close():
    worker = workers.Worker(_echo, ignore=workers.STOPS, wait=1.0)
    try:
        worker.send(("ping",))
        assert worker.recv() == ("ping",)
        os.kill(worker.pid, signal.SIGTERM)  # ignored: it answers on
        worker.send(("again",))
        assert worker.recv() == ("again",)
        worker.send(("hang",))
        time.sleep(0.2)
    finally:
        worker.close()
    assert not worker.process.is_alive()
    assert worker.process.exitcode == -signal.SIGKILL  # asked, waited 1 s, then killed
