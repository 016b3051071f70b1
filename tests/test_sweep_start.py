"""Sweeps that fail fast (issue 23 items 8 and 9): a trial no node can hold is refused in one line
(exit 2) naming what the cluster has, and leaves a run directory the advice then accepts; a sweep
without --ray-address starts a Ray of its own, whatever a stale ``ray_current_cluster`` file says; a
dead --ray-address is one line, exit 2, in seconds; Ctrl-C while Ray starts is exit 130.

Each sweep runs in a child of its own process group (killed by its id in a ``finally``), with Ray's
temp dir in a short temporary directory of its own (``RAY_TMPDIR``). Ray starts are few: each costs
seconds."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the sweep extra (ray[tune]) is not installed")

ROOT = Path(__file__).resolve().parents[1]
SWEEP = [sys.executable, "train.py", "--env", "CliffWalking-v1", "--agent", "q", "--steps", "300",
         "--max-episode-steps", "100", "--eval-every", "0", "--eval-episodes", "1", "--no-progress", "--seeds", "1"]


@pytest.fixture
def ray_tmp():
    """Ray's temp dir, short (its socket paths must fit in 107 bytes), and the env for a child."""
    temp = tempfile.mkdtemp(prefix="rs", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_TMPDIR=temp, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT))
    try:
        yield Path(temp), env
    finally:
        shutil.rmtree(temp, ignore_errors=True)


@contextlib.contextmanager
def spawn(args: list[str], env: dict):
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def finish(proc, seconds: float) -> tuple[str, str, float]:
    start = time.monotonic()
    out, err = proc.communicate(timeout=seconds)
    return out, err, time.monotonic() - start


def test_a_trial_no_node_can_hold_is_refused_and_the_advice_works(ray_tmp, tmp_path):
    from gymlab import runs

    temp, env = ray_tmp
    run_dir = tmp_path / "sweep"
    with spawn(SWEEP + ["--cpus-per-trial", "100", "--run-dir", str(run_dir)], env) as proc:
        out, err, _ = finish(proc, 90)
    assert proc.returncode == 2, err[-2000:]
    assert err.count("\n") == 1 and "--cpus-per-trial 100" in err and f"{os.cpu_count()} CPUs" in err, err
    assert "--cpus-per-trial" in err.split(";")[-1]  # the advice
    runs.check_run_dir(run_dir)  # the directory the advice names again is accepted as it is (no --force)
