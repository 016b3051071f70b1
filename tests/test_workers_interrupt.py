"""Ctrl-C with ``--workers 2`` (issue 27): both processes stop, exit 130, nothing left running."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.workers  # starts a second process (conftest.py SEPARATE)

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--env", "pong-pixels", "--agent", "reinforce", "--policy", "mlp", "--hidden", "16", "--point-returns",
         "--round-batches", "--num-envs", "4", "--batch-episodes", "8", "--workers", "2", "--eval-episodes", "1",
         "--env-kwargs", "points_to_win=2", "--max-episode-steps", "300", "--no-progress", "--seed", "3"]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry))
    return kids


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ctrl_c_stops_both_processes_with_130(tmp_path, spawn):
    proc = spawn([sys.executable, str(ROOT / "train.py"), *FLAGS, "--steps", "10000000", "--run-dir",
                  str(tmp_path / "run")], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline, kids = time.monotonic() + 120, []
    while time.monotonic() < deadline and not kids:  # the learner process has started
        time.sleep(0.5)
        kids = [k for k in _children(proc.pid) if _alive(k)]
        assert proc.poll() is None, proc.stderr.read()
    assert kids
    time.sleep(3)  # playing and learning
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    # Nothing left running: the learner is joined before the run exits; multiprocessing's resource
    # tracker (a child too) exits when it reads the end of its pipe, a moment after the run.
    deadline = time.monotonic() + 10
    while [k for k in kids if _alive(k)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [k for k in kids if _alive(k)]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["interrupted"]
