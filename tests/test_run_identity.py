"""A run cannot swallow another: ``run.json`` says which run a directory holds, and ``--resume``
refuses a ``resume.npz`` that is another run's (issue 22)."""

import json
import shutil

import pytest

from gymlab import resume as resume_state
from test_cli import run


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A CartPole REINFORCE run and a FrozenLake Q run, each finished with its resume state."""
    root = tmp_path_factory.mktemp("runs")
    for name, args in (("cartpole", ["--env", "CartPole-v1", "--agent", "reinforce", "--steps", "300"]),
                       ("frozen", ["--env", "FrozenLake-v1", "--agent", "q", "--steps", "200"])):
        proc = run(*args, "--eval-episodes", "0", "--run-dir", str(root / name))
        assert proc.returncode == 0, proc.stderr
    return root


def copy(root, name, to):
    shutil.copytree(root / name, to)
    return to


def test_a_run_writes_its_identity_at_its_start(two_runs):
    identity = json.loads((two_runs / "frozen" / "run.json").read_text())
    assert len(identity.pop("run_id")) == 32
    assert identity["agent"] == "q" and identity["env_id"] == "FrozenLake-v1" and identity["seed"] == 0
    assert identity["config"] == json.loads((two_runs / "frozen" / "summary.json").read_text())["config"]
    meta, _ = resume_state.read(two_runs / "frozen" / "resume.npz")
    other = json.loads((two_runs / "cartpole" / "run.json").read_text())["run_id"]
    assert meta["run"]["run_id"] == json.loads((two_runs / "frozen" / "run.json").read_text())["run_id"] != other


def test_another_runs_resume_state_is_refused(two_runs, tmp_path):
    frozen = copy(two_runs, "frozen", tmp_path / "frozen")
    shutil.copy(two_runs / "cartpole" / "resume.npz", frozen / "resume.npz")
    episodes = (frozen / "episodes.csv").read_bytes()
    proc = run("--resume", str(frozen), "--steps", "600")
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1 and "another run's" in proc.stderr, proc.stderr
    assert (frozen / "episodes.csv").read_bytes() == episodes  # nothing spliced


def test_its_own_resume_state_goes_on(two_runs, tmp_path):
    frozen = copy(two_runs, "frozen", tmp_path / "frozen")
    proc = run("--resume", str(frozen), "--steps", "300")
    assert proc.returncode == 0, proc.stderr


def _legacy(run_dir):
    """The run directory as gymlab wrote it before run.json: no run.json, no run id in the state."""
    (run_dir / "run.json").unlink()
    meta, tree = resume_state.read(run_dir / "resume.npz")
    del meta["run"]["run_id"]
    resume_state.write(run_dir / "resume.npz", meta, tree)


def test_a_run_from_before_run_json_is_checked_by_its_summary_then_adopted(two_runs, tmp_path):
    frozen = copy(two_runs, "frozen", tmp_path / "frozen")
    _legacy(frozen)
    proc = run("--resume", str(frozen), "--steps", "300")
    assert proc.returncode == 0, proc.stderr
    adopted = json.loads((frozen / "run.json").read_text())
    assert adopted["agent"] == "q" and len(adopted["run_id"]) == 32
    meta, _ = resume_state.read(frozen / "resume.npz")
    assert meta["run"]["run_id"] == adopted["run_id"]

    swallowed = copy(two_runs, "frozen", tmp_path / "swallowed")  # another old run's state in an old run
    cartpole = copy(two_runs, "cartpole", tmp_path / "cartpole")
    _legacy(swallowed)
    _legacy(cartpole)
    shutil.copy(cartpole / "resume.npz", swallowed / "resume.npz")
    proc = run("--resume", str(swallowed), "--steps", "600")
    assert proc.returncode == 2 and "another run's" in proc.stderr and "summary.json" in proc.stderr, proc.stderr


def test_a_resume_state_with_a_run_id_needs_its_run_json(two_runs, tmp_path):
    frozen = copy(two_runs, "frozen", tmp_path / "frozen")
    (frozen / "run.json").unlink()
    proc = run("--resume", str(frozen), "--steps", "300")
    assert proc.returncode == 2 and "no run.json" in proc.stderr, proc.stderr


def test_resume_refuses_any_setting_given_whatever_its_value(tmp_path):
    """Decided by whether a flag was given, not by its value: ``--seed 0 --eval-episodes 10`` (the
    defaults) on a run made with seed 3 and 4 evaluation episodes used to exit 0 and keep 3 and 4."""
    run_dir = tmp_path / "r"
    proc = run("--env", "FrozenLake-v1", "--agent", "q", "--steps", "200", "--seed", "3", "--eval-episodes", "4",
               "--run-dir", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    for extra in (["--seed", "0", "--eval-episodes", "10"], ["--seed", "3"], ["--eval-episodes", "4"],
                  ["--frame-stack", "1"], ["--force"], ["--gamma", "0.5"]):
        proc = run("--resume", str(run_dir), "--steps", "400", *extra)
        assert proc.returncode == 2, (extra, proc.returncode, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and extra[0] in proc.stderr, proc.stderr
        assert "cannot be given with it" in proc.stderr, proc.stderr
    proc = run("--resume", str(run_dir), "--steps", "400")  # (run() gives --no-progress too)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["eval"]["episodes"] == 4 and summary["env_steps"] == 400
