"""``--stop-at SCORE`` (issue 27: a budget that stops when the work is done): training stops at the
first periodic evaluation whose mean reaches SCORE, for any agent; the summary says why it stopped;
an entry of a hyper-parameters file can carry the rule; --resume keeps it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import train
from test_resume import assert_same, stop_at

# Tabular Q on CliffWalking (seed 3, a greedy evaluation every 500 steps): -200 at steps 500-2500
# (it walks into the time limit), then -13, the shortest safe path, from step 3000 on.
CLIFF = ["--env", "CliffWalking-v1", "--agent", "q", "--steps", "6000", "--eval-every", "500",
         "--max-episode-steps", "200", "--eval-episodes", "3", "--no-progress", "--seed", "3"]


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_it_stops_at_the_first_evaluation_that_reaches_the_score(tmp_path, capsys):
    assert train.main(CLIFF + ["--stop-at", "-20", "--run-dir", str(tmp_path / "r")]) == 0
    s = summary(tmp_path / "r")
    assert s["env_steps"] == 3000 and [e["return_mean"] for e in s["periodic_eval"]] == [-200.0] * 5 + [-13.0]
    assert s["stopped"] == {"why": "stop_at", "stop_at": -20.0, "step": 3000, "eval_return_mean": -13.0}
    assert s["eval"]["episodes"] == 3 and not s["interrupted"]  # then evaluated as any finished run
    assert "stopped before the budget: the periodic evaluation at step 3000 read -13 >= --stop-at -20" \
        in capsys.readouterr().out


def test_a_score_never_reached_spends_the_budget(tmp_path):
    assert train.main(CLIFF + ["--stop-at", "-5", "--run-dir", str(tmp_path / "r")]) == 0
    s = summary(tmp_path / "r")
    assert s["env_steps"] == 6000 and s["stopped"] == {"why": "budget", "stop_at": -5.0}


@pytest.mark.parametrize("extra", [[], ["--num-envs", "2"]])
def test_dqn_stops_between_its_steps(tmp_path, extra):
    """DQN's own loop (one env, and a vector env) ends at the evaluation's step: nothing trained after."""
    args = ["--env", "CartPole-v1", "--agent", "dqn", "--steps", "2000", "--learning-starts", "100", "--hidden",
            "16", "--eval-every", "400", "--eval-episodes", "1", "--stop-at", "-1", "--no-progress",
            "--run-dir", str(tmp_path / "r"), *extra]
    assert train.main(args) == 0
    s = summary(tmp_path / "r")
    assert s["stopped"]["why"] == "stop_at" and s["stopped"]["step"] == 400
    assert 400 <= s["env_steps"] < 400 + (2 if extra else 1)  # (a vector env's step is whole: its other env's too)


@pytest.mark.parametrize("at", [1700, 3000])  # before the score is reached, and at the very evaluation
def test_resume_keeps_the_rule(tmp_path, monkeypatch, at):
    alone = tmp_path / "alone"
    assert train.main(CLIFF + ["--stop-at", "-20", "--run-dir", str(alone)]) == 0
    stopped = tmp_path / "stopped"
    stop_at(monkeypatch, at)
    assert train.main(CLIFF + ["--stop-at", "-20", "--run-dir", str(stopped)]) == 130
    assert summary(stopped)["stopped"]["why"] == ("interrupted" if at < 3000 else "stop_at")
    monkeypatch.undo()
    assert train.main(["--resume", str(stopped), "--no-progress"]) == 0
    assert_same(alone, stopped)


def test_a_run_done_at_its_score_is_not_resumed(tmp_path, capsys):
    assert train.main(CLIFF + ["--stop-at", "-20", "--run-dir", str(tmp_path / "r")]) == 0
    capsys.readouterr()
    assert train.main(["--resume", str(tmp_path / "r"), "--steps", "9000"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "it stopped at its --stop-at -20" in err


@pytest.mark.parametrize("flags, says", [
    (["--stop-at", "10", "--eval-every", "0"], "needs periodic evaluations"),
    (["--stop-at", "nan"], "expected a finite score"),
    (["--stop-at", "ten"], "expected a finite score"),
])
def test_bad_use_is_one_line(tmp_path, capsys, flags, says):
    args = ["--env", "CartPole-v1", "--agent", "random", "--steps", "100", "--run-dir", str(tmp_path / "r"), *flags]
    assert train.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err and not (tmp_path / "r").exists()


def _file(tmp_path, body: str) -> str:
    path = tmp_path / "h.yml"
    path.write_text("CliffWalking-v1:\n  n_timesteps: 6000\n" + body + "  tuned_on: {seeds: [], how: test}\n")
    return str(path)


def test_an_entry_carries_its_rule_and_the_command_line_overrides_it(tmp_path):
    flags = ["--env", "CliffWalking-v1", "--agent", "q", "--max-episode-steps", "200", "--eval-episodes", "1",
             "--no-progress", "--seed", "3", "--hyperparams", _file(tmp_path, "  stop_at: -20\n  eval_every: 500\n")]
    assert train.main(flags + ["--run-dir", str(tmp_path / "a")]) == 0
    s = summary(tmp_path / "a")
    assert s["env_steps"] == 3000 and s["stopped"]["why"] == "stop_at"
    assert s["hyperparams"]["fields"]["stop_at"].endswith("h.yml:CliffWalking-v1")
    assert train.main(flags + ["--stop-at", "off", "--run-dir", str(tmp_path / "b")]) == 0
    assert summary(tmp_path / "b")["env_steps"] == 6000 and summary(tmp_path / "b")["stopped"]["stop_at"] is None
    assert train.main(flags + ["--eval-every", "0", "--run-dir", str(tmp_path / "c")]) == 0  # no evaluations: off
    assert summary(tmp_path / "c")["env_steps"] == 6000


@pytest.mark.parametrize("body, says", [("  stop_at: high\n", "stop_at must be a finite number"),
                                        ("  eval_every: -5\n", "eval_every must be a whole number")])
def test_a_bad_rule_in_a_file_is_one_line(tmp_path, capsys, body, says):
    args = ["--env", "CliffWalking-v1", "--agent", "q", "--hyperparams", _file(tmp_path, body),
            "--run-dir", str(tmp_path / "r")]
    assert train.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and says in err


def test_pixel_pongs_entry_stops_when_its_work_is_done():
    """The pixel DQN's default budget: 150k steps at most, stopped at the first evaluation (every 10k) past +10;
    what chose it is on tuning seeds only."""
    from gymlab.agents import hyperparams

    found = hyperparams.resolve("dqn", "pong-pixels")
    assert found["budget"] == {"steps": 150_000, "stop_at": 10.0, "eval_every": 10_000}
    assert "stop_at" not in found["settings"] and "eval_every" not in found["settings"]
    assert max(hyperparams.tuning_seeds("dqn", "pong-pixels")) < 1000
