"""The stamp's own rules (``gymlab/provenance.py``): the time names its zone, and a tree with a new
file nobody committed is not the commit it says."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from gymlab import provenance


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_the_time_is_said_in_utc_whatever_the_machines_zone(monkeypatch, tz):
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    try:
        assert provenance.now(0) == "1970-01-01 00:00:00 UTC"
        assert provenance.now(86400 + 3661) == "1970-01-02 01:01:01 UTC"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_an_untracked_source_file_makes_the_commit_dirty(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                       env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@t"})

    git("init", "-q")
    (tmp_path / ".gitignore").write_text("runs/\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "-A")
    git("commit", "-qm", "one")
    monkeypatch.setattr(provenance, "ROOT", tmp_path)
    clean = provenance.commit()
    assert clean != "unknown" and not clean.endswith("+dirty")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "out.json").write_text("{}")  # ignored: a run's output is not code
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "x.json").write_text("{}")  # a result written before this one
    assert provenance.commit() == clean
    (tmp_path / "b.py").write_text("y = 2\n")  # new code nobody committed
    assert provenance.commit() == clean + "+dirty"
