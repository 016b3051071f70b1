"""SIGTERM is Ctrl-C (issue 23 item 3): the run stops at its next safe point, keeps its checkpoint,
resume state and a summary marked interrupted, exits 143, and ``--resume`` then ends as the run left
alone. The resume state is written on a wall-clock period too (``--save-every-minutes``).

The children run in their own process group, with SIGINT's default disposition, and the group is
killed in a ``finally`` whatever happens."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

import train
from children import Children, wait_for
from test_resume import assert_same

ROOT = Path(__file__).resolve().parents[1]
CHILD = "import signal, sys, train; signal.signal(signal.SIGINT, signal.default_int_handler); " \
        "sys.exit(train.main(sys.argv[1:]))"
Q = ["--env", "CliffWalking-v1", "--agent", "q", "--max-episode-steps", "200", "--eval-episodes", "2",
     "--no-progress"]


@contextlib.contextmanager
def spawn(args: list[str]):
    """``train.py ARGS`` in a child of its own process group; the group is killed on the way out."""
    with Children() as start:
        yield start([sys.executable, "-c", CHILD, *args], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_sigterm_saves_exits_143_and_resumes_as_left_alone(tmp_path):
    flags = Q + ["--steps", "20000", "--eval-every", "4000"]
    stopped = tmp_path / "stopped"
    with spawn(flags + ["--run-dir", str(stopped)]) as proc:
        wait_for(stopped / "episodes.csv", proc)
        time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "--resume" in out
    summary = json.loads((stopped / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["env_steps"] < 20000
    assert (stopped / "checkpoint.npz").is_file() and (stopped / "resume.npz").is_file()
    assert train.main(["--resume", str(stopped)]) == 0
    alone = tmp_path / "alone"
    assert train.main(flags + ["--run-dir", str(alone)]) == 0
    assert_same(alone, stopped)


def test_the_resume_state_is_written_on_a_wall_clock_period(tmp_path):
    """A huge --steps with the default --eval-every (a tenth of it): resume.npz appears long before the
    first evaluation, every --save-every-minutes (here 0.01: 0.6 s)."""
    run_dir = tmp_path / "run"
    with spawn(Q + ["--steps", "100000000", "--save-every-minutes", "0.01", "--run-dir", str(run_dir)]) as proc:
        wait_for(run_dir / "resume.npz", proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["periodic_eval"] == [] and summary["interrupted"] is True


def test_save_every_minutes_is_refused_when_not_a_positive_number(capsys):
    assert train.main(Q + ["--steps", "10", "--save-every-minutes", "-1"]) == 2
    assert "--save-every-minutes" in capsys.readouterr().err


def test_a_second_sigterm_or_ctrl_c_raises_at_once():
    from gymlab.signals import DeferredStop, Terminated, exit_code

    for first, second in ((signal.SIGTERM, signal.SIGINT), (signal.SIGINT, signal.SIGTERM)):
        with DeferredStop() as stop:
            signal.raise_signal(first)
            assert stop.requested and stop.signum == first  # the first only asks
            with pytest.raises(KeyboardInterrupt) as caught:
                signal.raise_signal(second)
        assert exit_code(caught.value) == 128 + first  # the stop is the first signal's
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert exit_code(Terminated()) == 143 and exit_code(KeyboardInterrupt()) == 130
