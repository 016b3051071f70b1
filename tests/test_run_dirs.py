"""Run directories a user can trust (issue 23 items 1, 2, 4, 6): --force removes only what the
earlier run wrote, one run at a time in a directory (an OS lock), a run that fails at its
start leaves nothing behind, and --load rebuilds the env from what the run recorded."""

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from children import wait_for
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


# ------------------------------------------------------------------ item 2: one run at a time in a dir
CHILD = ("import signal, sys, train; signal.signal(signal.SIGINT, signal.default_int_handler); "
         "sys.exit(train.main(sys.argv[1:]))")
LONG = ["--env", "CliffWalking-v1", "--agent", "q", "--steps", "100000000", "--eval-every", "2000",
        "--max-episode-steps", "200", "--eval-episodes", "1", "--no-progress"]


def start_child(args):
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_live_run_dir_is_locked_and_a_killed_one_is_not(tmp_path):
    d = tmp_path / "d"
    first = start_child(LONG + ["--run-dir", str(d)])
    try:
        wait_for(d / "resume.npz", first)  # its first periodic resume state: --resume would accept it
        for args in (LONG + ["--run-dir", str(d), "--force"], ["--resume", str(d)]):
            proc = run(*args)  # (here, in this process: the lock is the other process's)
            assert proc.returncode == 2, proc.stderr
            assert "in use" in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
        assert first.poll() is None  # the first run goes on, its files untouched
        assert (d / "episodes.csv").is_file()
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    from gymlab import resume

    done = resume.read(d / "resume.npz")[0]["step"]
    proc = run("--resume", str(d), "--steps", str(done + 2000))  # the OS released the killed run's lock
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------ item 1: --force removes only the run's files
QUICK = ["--env", "CliffWalking-v1", "--agent", "q", "--steps", "300", "--eval-every", "150",
         "--max-episode-steps", "100", "--eval-episodes", "1"]
USERS = {"notes.json": b'{"mine": 1}\n', "my_data.csv": b"a,b\n1,2\n", "my_figure.png": b"\x89PNG not really",
         "backup_of_dqn_run/README.txt": b"my backup\n", "backup_of_dqn_run/summary.json": b"{}\n",
         "backup_of_dqn_run/checkpoint.npz": b"a copy", "videos/my_clip.mp4": b"mine"}


def hashes(root: Path, names) -> dict:
    return {n: hashlib.sha256((root / n).read_bytes()).hexdigest() for n in names}


@pytest.mark.parametrize("manifest", [True, False], ids=["manifest", "older-run-without-one"])
def test_force_removes_only_what_the_earlier_run_wrote(tmp_path, manifest):
    d = tmp_path / "d"
    assert run(*QUICK, "--run-dir", d).returncode == 0
    for name, data in USERS.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
    if not manifest:  # a run from before the manifest
        (d / ".gymlab-manifest").unlink(missing_ok=True)
    before = hashes(d, USERS)
    (d / "crash.txt").write_text("an earlier crash\n")  # (as the run would have written it)
    if manifest:
        from gymlab import runs

        runs.claim(d / "crash.txt", d)
    proc = run(*QUICK, "--seed", "1", "--run-dir", d)
    assert proc.returncode == 2 and "already holds an earlier run" in proc.stderr
    proc = run(*QUICK, "--seed", "1", "--run-dir", d, "--force")
    assert proc.returncode == 0, proc.stderr
    assert hashes(d, USERS) == before  # the user's files, in the run dir and in its sub-folders
    assert "removed" in proc.stdout and "summary.json" in proc.stdout and "notes.json" not in proc.stdout
    assert not (d / "crash.txt").exists()
    assert json.loads((d / "summary.json").read_text())["seed"] == 1
    rows = (d / "episodes.csv").read_text().splitlines()
    assert sum(int(r.split(",")[3]) for r in rows[1:]) <= 300  # only the new run's episodes
    listed = json.loads((d / ".gymlab-manifest").read_text())
    assert {"summary.json", "episodes.csv", "checkpoint.npz", "run.json", "learning_curve.png"} <= set(listed)
    assert not set(listed) & set(USERS)


# ------------------------------------------------------------------ item 4: a run that fails at its start
@pytest.mark.parametrize("given", [False, True], ids=["new-dir", "empty-dir-given"])
def test_a_run_that_fails_before_its_first_step_leaves_nothing_behind(tmp_path, monkeypatch, given):
    """Out of memory at the start (the replay buffer of --buffer-size 1e9, simulated here): the
    corrected rerun into the same --run-dir is not refused as "an earlier run"."""
    from gymlab.agents import q_learning

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 15 GiB")

    d = tmp_path / "d"
    if given:
        d.mkdir()
    with monkeypatch.context() as m:
        m.setattr(q_learning.QLearning, "learn", out_of_memory)
        proc = run(*QUICK, "--run-dir", d)
    assert proc.returncode == 2 and "out of memory" in proc.stderr, proc.stderr
    left = sorted(os.listdir(d)) if d.exists() else None
    assert left == ([] if given else None)  # a dir it made goes; one the user gave stays, empty
    proc = run(*QUICK, "--run-dir", d)  # corrected: no --force needed
    assert proc.returncode == 0, proc.stderr
    assert json.loads((d / "summary.json").read_text())["env_steps"] == 300
