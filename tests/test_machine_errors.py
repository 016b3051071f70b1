"""Conditions of the machine are not gymlab bugs (issue 23 item 10): a full disk, a read-only run
directory, stdout on /dev/full, an ASCII-only stdout, and a user's own ``module:id`` env that raises
or breaks its own space each end in one line with their documented exit code (74: an I/O error,
EX_IOERR; 2: the user's env), never "internal error ... please report it" (70), and nothing
already written is lost."""

from __future__ import annotations

import builtins
import errno
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import train

ROOT = Path(__file__).resolve().parents[1]
Q = ["--env", "CliffWalking-v1", "--agent", "q", "--max-episode-steps", "100", "--eval-episodes", "2",
     "--no-progress", "--steps", "2000", "--eval-every", "500"]


def hashes(run_dir: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(run_dir.iterdir())
            if p.suffix in (".json", ".npz", ".png")}


def one_line(err: str) -> str:
    """The one line a failure says (a warning or a note said on the way is a line of its own)."""
    err = "".join(line for line in err.splitlines(True) if ": warning: " not in line and ": note: " not in line)
    assert err.count("\n") == 1 and "internal error" not in err and "Traceback" not in err, err
    return err


def full_disk_after(monkeypatch, calls: int):
    """``os.fsync`` (every atomic write and every resume state's logs go through it) fails with
    ENOSPC from its ``calls``+1-th call on, as on a disk that fills up."""
    real, seen = os.fsync, []

    def fsync(fd):
        seen.append(fd)
        if len(seen) > calls:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_disk_that_fills_during_a_new_run_is_exit_74_in_one_line(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    full_disk_after(monkeypatch, 1)  # run.json is written; the first checkpoint is not
    assert train.main(Q + ["--run-dir", str(run_dir)]) == 74
    err = one_line(capsys.readouterr().err)
    assert "No space left on device" in err
    assert (run_dir / "run.json").is_file() and not (run_dir / "crash.txt").exists()


def test_a_full_disk_on_resume_is_exit_74_and_keeps_what_was_written(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    assert train.main(Q + ["--run-dir", str(run_dir)]) == 0
    before = hashes(run_dir)
    full_disk_after(monkeypatch, 0)
    capsys.readouterr()
    assert train.main(["--resume", str(run_dir), "--steps", "3000"]) == 74
    assert "No space left on device" in one_line(capsys.readouterr().err)
    assert hashes(run_dir) == before


def test_the_resume_state_warning_is_said_once(tmp_path, monkeypatch, capsys):
    from gymlab import resume

    def full_disk(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(resume, "write", full_disk)
    assert train.main(Q + ["--run-dir", str(tmp_path / "run")]) == 0  # 4 evaluations and the end: 5 failures
    assert capsys.readouterr().err.count("resume state not written") == 1


def test_resume_of_a_read_only_run_dir_is_exit_74_and_keeps_what_was_written(tmp_path, monkeypatch, capsys):
    """(The tests run as root, whom chmod does not stop: a read-only file system is simulated.)"""
    run_dir = tmp_path / "run"
    assert train.main(Q + ["--run-dir", str(run_dir)]) == 0
    before = hashes(run_dir)
    real_open, real_os_open, real_unlink = builtins.open, os.open, os.unlink

    def refuse(path):
        if str(path).startswith(str(run_dir)):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    def open_(path, mode="r", *a, **k):
        if any(c in mode for c in "wax+"):
            refuse(path)
        return real_open(path, mode, *a, **k)

    def os_open(path, flags, *a, **k):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real_os_open(path, flags, *a, **k)

    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(os, "open", os_open)
    capsys.readouterr()
    assert train.main(["--resume", str(run_dir), "--steps", "3000"]) == 74
    assert "Read-only file system" in one_line(capsys.readouterr().err)
    monkeypatch.undo()
    assert hashes(run_dir) == before


def child(args, **kw):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, **kw)


def test_stdout_on_dev_full_is_exit_74_in_one_line(tmp_path):
    run_dir = tmp_path / "run"
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, str(ROOT / "train.py"), *Q, "--run-dir", str(run_dir)], cwd=ROOT,
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 74, proc.stderr
    assert "stdout" in one_line(proc.stderr) and "No space left on device" in proc.stderr  # once the run is done
    assert (run_dir / "summary.json").is_file()


def test_an_ascii_stdout_with_a_unicode_run_dir_finishes(tmp_path):
    run_dir = tmp_path / "r\u00fcn-\u2713"
    proc = child(Q + ["--run-dir", str(run_dir)], env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 0, proc.stderr
    assert "run directory: " in proc.stdout and "r\\xfcn-\\u2713" in proc.stdout
    assert (run_dir / "summary.json").is_file()


BROKEN_ENVS = """
import gymnasium as gym
import numpy as np
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv


class Raises(FrozenLakeEnv):
    def step(self, a):
        if getattr(self, "n", 0) >= 30:
            raise ValueError("my env broke")
        self.n = getattr(self, "n", 0) + 1
        return super().step(a)


class OutOfSpace(FrozenLakeEnv):
    def step(self, a):
        obs, *rest = super().step(a)
        return 99, *rest  # outside its Discrete(16)


gym.register("Raises-v0", entry_point=Raises)
gym.register("OutOfSpace-v0", entry_point=OutOfSpace)
"""


def test_a_users_env_that_raises_or_breaks_its_space_is_exit_2_in_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_envs_mod.py").write_text(BROKEN_ENVS)
    monkeypatch.syspath_prepend(str(tmp_path))
    for env, said in (("Raises-v0", "my env broke"), ("OutOfSpace-v0", "observation_space")):
        run_dir = tmp_path / env
        assert train.main(["--env", f"broken_envs_mod:{env}", "--agent", "q", "--steps", "500", "--no-progress",
                           "--run-dir", str(run_dir)]) == 2, env
        err = one_line(capsys.readouterr().err)
        assert env in err and "broken_envs_mod" in err and said in err, err
        assert not (run_dir / "crash.txt").exists()
        if env == "Raises-v0":  # it broke after episodes were logged: they are kept
            assert (run_dir / "run.json").is_file() and (run_dir / "episodes.csv").is_file()
        else:  # at its first step, before it kept anything: nothing left to refuse the rerun (issue 23 item 4)
            assert not run_dir.exists()
