"""One sweep trial, run in this process without a Ray cluster (``gymlab.sweep._trial`` with Tune's
``report`` recorded): a finished trial met again is not trained again, and a trial's run is the
single run's, threads included (issue 22)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("ray.tune", reason="the sweep extra (ray[tune]) is not installed")

from gymlab import experiment, sweep  # noqa: E402
from gymlab.experiment import RunConfig  # noqa: E402

import train  # noqa: E402

FLAGS = ["--env", "CliffWalking-v1", "--agent", "q", "--steps", "2000", "--max-episode-steps", "200",
         "--eval-every", "1000", "--eval-episodes", "2", "--no-progress"]


@pytest.fixture
def reports(monkeypatch):
    from ray import tune

    seen = []
    monkeypatch.setattr(tune, "report", lambda metrics, **kw: seen.append(metrics))
    return seen


def _config(run_dir: Path) -> dict:
    base = RunConfig(env="CliffWalking-v1", agent="q", steps=2000, max_episode_steps=200, eval_every=1000,
                     eval_episodes=2, progress=False)
    return {**sweep.trial_config(sweep.SweepConfig(base, [0], {}, run_dir)), "setting": "defaults", "seed": 0}


def test_a_finished_trial_is_not_trained_again(tmp_path, reports, monkeypatch):
    """Met again after its run ended (a resume would be refused: its budget is spent): its summary
    stands, as the comment said; it is not trained again from scratch."""
    run_dir = tmp_path / "sweep"
    where = sweep.trial_dir(run_dir, "defaults", 0)
    assert train.main(FLAGS + ["--run-dir", str(where)]) == 0
    before = (where / "summary.json").read_text()
    assert (where / "resume.npz").is_file()
    runs = []
    real_run = experiment.run
    monkeypatch.setattr(experiment, "run", lambda cfg: runs.append(cfg) or real_run(cfg))
    sweep._trial(_config(run_dir))
    assert runs == []  # not trained again from scratch
    assert (where / "summary.json").read_text() == before
    summary = json.loads(before)
    assert reports[-1]["final"] and reports[-1]["eval_return"] == summary["eval"]["return_mean"]


def test_an_unfinished_trial_whose_resume_is_refused_is_trained_again(tmp_path, reports, monkeypatch):
    """No finished summary to keep (a run stopped, whose resume state cannot be read): the trial
    runs from scratch."""
    run_dir = tmp_path / "sweep"
    where = sweep.trial_dir(run_dir, "defaults", 0)
    assert train.main(FLAGS + ["--run-dir", str(where)]) == 0
    stopped = {**json.loads((where / "summary.json").read_text()), "interrupted": True, "env_steps": 1000}
    (where / "summary.json").write_text(json.dumps(stopped))
    (where / "resume.npz").write_bytes(b"not a resume state")
    sweep._trial(_config(run_dir))
    summary = json.loads((where / "summary.json").read_text())
    assert not summary["interrupted"] and summary["env_steps"] == 2000
    assert reports[-1]["final"]


TIMINGS = ("wall_time_s", "train_time_s", "steps_per_s", "env_steps_per_s")


def _without_timings(path: Path) -> dict:
    out = json.loads(path.read_text())
    return {k: v for k, v in out.items() if k not in TIMINGS and not k.endswith("_s")}


def test_a_trial_on_two_cpus_writes_the_single_runs_summary(tmp_path, reports):
    """``--cpus-per-trial 2`` without ``--threads``: the trial's summary.json equals the one the single
    run writes (``train.py --seed 0``, one torch thread by default), threads included."""
    flags = ["--env", "CartPole-v1", "--agent", "dqn", "--steps", "300", "--learning-starts", "100", "--hidden", "8",
             "--batch-size", "8", "--eval-every", "150", "--eval-episodes", "2", "--no-progress"]
    alone = tmp_path / "alone"
    assert train.main(flags + ["--run-dir", str(alone)]) == 0
    base = RunConfig(env="CartPole-v1", agent="dqn", steps=300, eval_every=150, eval_episodes=2, progress=False,
                     overrides={"learning_starts": 100, "hidden": (8,), "batch_size": 8})
    cfg = sweep.SweepConfig(base, [0], {}, tmp_path / "sweep", cpus_per_trial=2)
    sweep._trial({**sweep.trial_config(cfg), "setting": "defaults", "seed": 0})
    trial = sweep.trial_dir(tmp_path / "sweep", "defaults", 0) / "summary.json"
    got, want = _without_timings(trial), _without_timings(alone / "summary.json")
    got.pop("run_dir", None), want.pop("run_dir", None)
    assert got["config"]["threads"] == want["config"]["threads"] == 1
    assert got == want


def test_a_trial_with_more_threads_than_cpus_is_refused(tmp_path, capsys):
    code = train.main(["--env", "CartPole-v1", "--agent", "dqn", "--steps", "300", "--seeds", "2", "--threads", "2",
                       "--cpus-per-trial", "1", "--run-dir", str(tmp_path / "sweep")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--threads 2" in err and "--cpus-per-trial" in err, err
    assert not (tmp_path / "sweep").exists()
