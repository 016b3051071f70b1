"""Run directories a user can trust (issue 23 items 1, 2, 4, 6): --force removes only what the
earlier run wrote, one run at a time in a directory (an OS lock), a run that fails at its
start leaves nothing behind, and --load rebuilds the env from what the run recorded."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from test_cli import run

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ item 6: what the run was
def test_load_rebuilds_the_frame_stack_and_time_limit(tmp_path):
    trained = tmp_path / "trained"
    proc = run("--env", "recall", "--agent", "reinforce", "--frame-stack", "2", "--max-episode-steps", "50",
               "--steps", "200", "--eval-episodes", "1", "--run-dir", str(trained))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((trained / "summary.json").read_text())
    assert (summary["frame_stack"], summary["max_episode_steps"]) == (2, 50)
    meta = json.loads(str(np.load(trained / "checkpoint.npz")["__meta__"]))
    assert (meta["frame_stack"], meta["max_episode_steps"]) == (2, 50)
    again = tmp_path / "again"
    proc = run("--load", str(trained / "checkpoint.npz"), "--eval-episodes", "1", "--run-dir", str(again))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((again / "summary.json").read_text())
    assert (summary["frame_stack"], summary["max_episode_steps"]) == (2, 50)
    # given again, the flags win (a larger limit is allowed; the stack must fit the weights)
    proc = run("--load", str(trained / "checkpoint.npz"), "--eval-episodes", "1", "--max-episode-steps", "7",
               "--run-dir", str(tmp_path / "third"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "third" / "summary.json").read_text())["max_episode_steps"] == 7
