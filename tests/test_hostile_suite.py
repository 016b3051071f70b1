"""The hostile suite (issue 23's acceptance): concurrent and signal cases, a sweep's bad starts and a
machine that says no. Each case ends in seconds with its documented exit code (train.py's docstring:
2 usage, 74 I/O, 130 Ctrl-C, 143 SIGTERM) and one line on stderr (besides a warning said on the way),
never a traceback; and the user's own files beside the run dir (and in it, where the case starts
from one) hash the same after.

Every program runs as a child (``tests/children.py``: its own process group, killed when the test
ends). The full disk and the read-only run dir are real: a small tmpfs, mounted where the tests may
(as root); elsewhere the full disk is a simulated ENOSPC and the read-only case is skipped
(``tests/test_machine_errors.py`` simulates it). One Ray start in all (the oversize trial)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from children import finish, wait_for
from test_cli import run
from test_machine_errors import one_line
from test_resume import assert_same
from test_run_dirs import USERS, hashes

ROOT = Path(__file__).resolve().parents[1]
Q = ["--env", "CliffWalking-v1", "--agent", "q", "--max-episode-steps", "200", "--eval-episodes", "2",
     "--no-progress"]
FINITE = Q + ["--steps", "20000", "--eval-every", "4000"]  # as tests/test_signals.py
LONG = Q + ["--steps", "100000000", "--save-every-minutes", "0.01"]  # a resume state within a second
SWEEP = ["--env", "CliffWalking-v1", "--agent", "q", "--steps", "300", "--max-episode-steps", "100",
         "--eval-every", "0", "--eval-episodes", "1", "--no-progress", "--seeds", "1"]
# where no tmpfs can be mounted: every fsync after the first fails as on a disk that fills up
ENOSPC_CHILD = ("import errno, os, sys, train\nreal, calls = os.fsync, []\ndef fsync(fd):\n    calls.append(fd)\n"
                "    if len(calls) > 1:\n        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
                "    return real(fd)\nos.fsync = fsync\nsys.exit(train.main(sys.argv[1:]))")


class Case:
    """What a case works with: ``parent`` (the run dir's parent, the user's files planted in it),
    ``train(*args)`` (train.py as a child), ``plant(dir)`` the user's files in a run dir too."""

    def __init__(self, parent: Path, spawn, env: dict):
        self.parent, self.spawn, self.env, self.planted = parent, spawn, env, {}
        self.plant(parent)

    def train(self, *args, program=("train.py",), env=None) -> subprocess.Popen:
        return self.spawn([sys.executable, *program, *map(str, args)], cwd=ROOT, env=env or self.env)

    def plant(self, where: Path) -> None:
        for name, data in USERS.items():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            (where / name).write_bytes(data)
        self.planted[where] = hashes(where, USERS)

    def unchanged(self) -> bool:
        return all(hashes(where, USERS) == before for where, before in self.planted.items())


def live_run(case: Case) -> tuple[subprocess.Popen, Path]:
    """A run training (for hours), its run dir holding a resume state and the user's files."""
    run_dir = case.parent / "run"
    first = case.train(*LONG, "--run-dir", run_dir)
    wait_for(run_dir / "resume.npz", first)
    case.plant(run_dir)
    return first, run_dir


def two_runs_into_one_dir(case):
    first, run_dir = live_run(case)
    second = case.train(*LONG, "--run-dir", run_dir)
    ended = finish(second, 60)
    assert first.poll() is None  # the first goes on
    return second, ended


def resume_of_a_live_run(case):
    first, run_dir = live_run(case)
    second = case.train("--resume", run_dir)
    ended = finish(second, 60)
    assert first.poll() is None
    return second, ended


def sigterm_then_resume(case):
    stopped = case.parent / "stopped"
    proc = case.train(*FINITE, "--run-dir", stopped)
    wait_for(stopped / "resume.npz", proc)  # training (its first periodic evaluation done)
    case.plant(stopped)
    proc.send_signal(signal.SIGTERM)
    ended = finish(proc, 60)
    assert json.loads((stopped / "summary.json").read_text())["interrupted"] is True
    resumed = case.train("--resume", stopped)
    assert resumed.wait(60) == 0, finish(resumed, 1)[1]
    alone = case.parent / "alone"
    assert run(*FINITE, "--run-dir", alone).returncode == 0
    assert_same(alone, stopped)  # as the run left alone
    return proc, ended


def kill_9_then_resume(case):
    run_dir = case.parent / "run"
    proc = case.train(*Q, "--steps", "60000", "--eval-every", "2000", "--run-dir", run_dir)
    wait_for(run_dir / "resume.npz", proc)
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    case.plant(run_dir)
    resumed = case.train("--resume", run_dir)
    ended = finish(resumed, 60)
    assert json.loads((run_dir / "summary.json").read_text())["env_steps"] == 60000  # it finished
    return resumed, ended


def sweep(case, *args, stale=False):
    pytest.importorskip("ray", reason="the sweep extra (ray[tune]) is not installed")
    if stale:  # what an earlier sweep killed mid-way leaves: Ray's file naming a dead cluster
        from test_sweep_start import stale_cluster_file

        stale_cluster_file(Path(case.env["RAY_TMPDIR"]))
    return case.train(*SWEEP, *args, "--run-dir", case.parent / "sweep", env={**case.env, "PYTHONUNBUFFERED": "1"})


def sweep_with_a_stale_cluster_file(case):
    """Ctrl-C while the sweep starts its own Ray (where it used to retry the dead cluster for minutes)."""
    proc = sweep(case, stale=True)
    assert proc.stdout.readline().startswith("gymlab: sweep of")  # Ray is being imported and started now
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    return proc, finish(proc, 60)


def dead_ray_address(case):
    proc = sweep(case, "--ray-address", "127.0.0.1:1")
    return proc, finish(proc, 60)


def oversize_cpus_per_trial(case):
    proc = sweep(case, "--cpus-per-trial", "100", stale=True)
    return proc, finish(proc, 90)


@pytest.fixture
def tmpfs(tmp_path):
    """``tmpfs(size) -> dir or None``: a tmpfs of ``size`` mounted at a new dir (None where the tests
    may not mount), unmounted when the test ends."""
    mounted = []

    def mount(size: str):
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True).returncode:
            return None
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=True)


def full_disk(case):
    run_dir = case.parent / "run"
    if case.parent.name.startswith("fs"):  # a 64 KiB tmpfs: the run fills it
        proc = case.train(*FINITE, "--run-dir", run_dir)
    else:
        proc = case.train(*FINITE, "--run-dir", run_dir, program=("-c", ENOSPC_CHILD))
    return proc, finish(proc, 60)


def read_only_run_dir(case):
    run_dir = case.parent / "run"
    assert run(*Q, "--steps", "2000", "--eval-every", "500", "--run-dir", run_dir).returncode == 0
    case.plant(run_dir)
    before = hashes(run_dir, ["summary.json", "checkpoint.npz", "resume.npz", "episodes.csv"])
    subprocess.run(["mount", "-o", "remount,ro", str(case.parent)], check=True)
    proc = case.train("--resume", run_dir, "--steps", "3000")
    ended = finish(proc, 60)
    assert hashes(run_dir, before) == before  # nothing already written is lost
    return proc, ended


@pytest.mark.parametrize("act, code, said", [
    pytest.param(two_runs_into_one_dir, 2, "in use", id="two-runs-into-one-dir"),
    pytest.param(resume_of_a_live_run, 2, "in use", id="resume-of-a-live-run"),
    pytest.param(sigterm_then_resume, 143, "", id="sigterm-then-resume"),
    pytest.param(kill_9_then_resume, 0, None, id="kill-9-then-resume"),
    pytest.param(sweep_with_a_stale_cluster_file, 130, "", id="sweep-with-a-stale-cluster-file"),
    pytest.param(dead_ray_address, 2, "127.0.0.1:1", id="dead-ray-address"),
    pytest.param(oversize_cpus_per_trial, 2, f"this machine's Ray has {os.cpu_count()} CPUs",
                 id="oversize-cpus-per-trial"),
    pytest.param(full_disk, 74, "No space left on device", id="full-disk"),
    pytest.param(read_only_run_dir, 74, "Read-only file system", id="read-only-run-dir"),
])
def test_each_hostile_case_ends_in_seconds_in_one_line_and_keeps_the_users_files(
        act, code, said, tmp_path, spawn, ray_tmp, tmpfs):
    parent = tmp_path / "work"
    if act in (full_disk, read_only_run_dir):
        parent = tmpfs("64k" if act is full_disk else "8m")
        if parent is None and act is read_only_run_dir:
            pytest.skip("no tmpfs can be mounted here (tests/test_machine_errors.py simulates a read-only dir)")
        parent = parent or tmp_path / "work"
    parent.mkdir(exist_ok=True)
    case = Case(parent, spawn, {**ray_tmp[1], "PYTHONPATH": str(ROOT)})
    proc, (out, err, took) = act(case)
    assert proc.returncode == code, err[-3000:]
    assert took < 30, took  # a hang guard, not a speed measure
    if said is None:  # it finished: nothing to say
        assert err == "", err
    else:
        assert said in one_line(err[-3000:]), err[-3000:]  # one line, no traceback, no "internal error"
    assert case.unchanged()


def test_a_stop_before_the_run_kept_anything_leaves_its_dir_as_it_was(tmp_path, monkeypatch, capsys):
    """SIGTERM (or Ctrl-C) after the run dir was made but before training began (a moment the
    sigterm case above can hit by chance): one line, exit 143, and the run's files are gone (as for
    an error then), so that the same command is not refused as "an earlier run"."""
    import train
    from gymlab import resume, signals

    def terminated(*args, **kwargs):
        raise signals.Terminated()

    case = Case(tmp_path, None, {})  # the user's files beside the run dir
    run_dir = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(resume, "Writer", terminated)  # (made between the logs' creation and training)
        assert train.main([*FINITE, "--run-dir", str(run_dir)]) == 143
    assert one_line(capsys.readouterr().err) == "train.py: terminated\n"
    assert not run_dir.exists() and case.unchanged()
    assert train.main([*Q, "--steps", "300", "--run-dir", str(run_dir)]) == 0  # not refused
    assert case.unchanged()
