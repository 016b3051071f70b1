"""Sweeps that fail fast (issue 23 items 8 and 9): a trial no node can hold is refused in one line
(exit 2) naming what the cluster has, and leaves a run directory the advice then accepts; a sweep
without --ray-address starts a Ray of its own, whatever a stale ``ray_current_cluster`` file says; a
dead --ray-address is one line, exit 2, in seconds; Ctrl-C while Ray starts is exit 130. (That a
sweep on a local Ray finishes, ``tests/test_sweep.py`` shows.)

Each sweep runs in a child of its own process group (killed by its id in a ``finally``), with Ray's
temp dir in a short temporary directory of its own (``RAY_TMPDIR``; the ``ray_tmp`` fixture in
conftest). Ray starts are few: each costs seconds."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the sweep extra (ray[tune]) is not installed")

from children import Children, finish  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SWEEP = [sys.executable, "train.py", "--env", "CliffWalking-v1", "--agent", "q", "--steps", "300",
         "--max-episode-steps", "100", "--eval-every", "0", "--eval-episodes", "1", "--no-progress", "--seeds", "1"]


@contextlib.contextmanager
def spawn(args: list[str], env: dict):
    with Children() as start:
        yield start(args, cwd=ROOT, env=env)


def stale_cluster_file(temp: Path) -> None:
    """What an earlier sweep killed mid-way leaves: Ray's ``ray_current_cluster`` naming a dead cluster."""
    (temp / "ray").mkdir()
    (temp / "ray" / "ray_current_cluster").write_text("127.0.0.1:1")


def test_a_trial_no_node_can_hold_is_refused_and_the_advice_works(ray_tmp, tmp_path):
    """With a stale cluster file too: the sweep starts a local Ray of its own (whose CPUs, this
    machine's, the line names) rather than joining the dead cluster (as it did, for minutes)."""
    from gymlab import runs

    temp, env = ray_tmp
    stale_cluster_file(temp)
    run_dir = tmp_path / "sweep"
    with spawn(SWEEP + ["--cpus-per-trial", "100", "--run-dir", str(run_dir)], env) as proc:
        out, err, _ = finish(proc, 90)
    assert proc.returncode == 2, err[-2000:]
    assert err.count("\n") == 1 and "--cpus-per-trial 100" in err, err
    assert f"this machine's Ray has {os.cpu_count()} CPUs" in err, err
    assert "--cpus-per-trial" in err.split(";")[-1]  # the advice
    runs.check_run_dir(run_dir)  # the directory the advice names again is accepted as it is (no --force)


def test_a_dead_ray_address_is_one_line_exit_2_in_seconds(ray_tmp, tmp_path):
    temp, env = ray_tmp
    run_dir = tmp_path / "sweep"
    with spawn(SWEEP + ["--ray-address", "127.0.0.1:1", "--run-dir", str(run_dir)], env) as proc:
        out, err, took = finish(proc, 60)
    assert proc.returncode == 2 and took < 30, (took, err[-2000:])
    assert err.count("\n") == 1 and "127.0.0.1:1" in err, err
    assert not run_dir.exists()  # nothing left to refuse the corrected command


def test_ctrl_c_while_ray_starts_is_130(ray_tmp, tmp_path):
    """(With the stale cluster file too: where a sweep used to retry a dead cluster, deaf to Ctrl-C.)"""
    temp, env = ray_tmp
    stale_cluster_file(temp)
    with spawn(SWEEP + ["--run-dir", str(tmp_path / "sweep")], {**env, "PYTHONUNBUFFERED": "1"}) as proc:
        assert proc.stdout.readline().startswith("gymlab: sweep of")  # Ray is being imported and started now
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err, took = finish(proc, 60)
    assert proc.returncode == 130 and took < 30, (took, err[-2000:])
    assert "Traceback" not in err, err
