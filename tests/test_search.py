"""``--search optuna`` (gymlab/search.py): the space's parsing (one line, exit 2), Optuna's samples
inside the space, and one real search on a local Ray: stopped by Ctrl-C, resumed with the same
study and trials, its best setting named from the trials and re-measured on report seeds the
search never used, every trial (search and re-measure) tracked in MLflow."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import pytest

import train
from gymlab import agents, search

ray = pytest.importorskip("ray.tune", reason="the search extra (ray[tune], optuna) is not installed")
pytest.importorskip("optuna", reason="the search extra (ray[tune], optuna) is not installed")

ROOT = Path(__file__).resolve().parents[1]
Q = ["--env", "CliffWalking-v1", "--agent", "q", "--steps", "2000", "--max-episode-steps", "100", "--eval-every",
     "500", "--eval-episodes", "1", "--no-progress"]
SPACE = ["learning_rate=loguniform:0.01:1", "gamma=uniform:0.8:0.99", "use_action_mask=choice:true,false"]

HOLDING_AGENT = '''
import os
import time
from pathlib import Path

from gymlab.agents.q_learning import QLearning


class Holding(QLearning):
    """Tabular Q; the third run to start (and any after it) waits at step 600 while $MARKS/hold
    exists, having left $MARKS/held: a search still running when Ctrl-C comes."""

    def learn(self, env, budget, logger):
        marks, original = Path(os.environ["MARKS"]), logger.step
        n = 0
        while True:
            try:
                os.close(os.open(marks / f"started-{n}", os.O_CREAT | os.O_EXCL))
                break
            except FileExistsError:
                n += 1
        hold = n >= 2 and (marks / "hold").exists()

        def step(*a, **k):
            original(*a, **k)
            if hold and logger.steps == 600:
                (marks / "held").touch()
                while (marks / "hold").exists():
                    time.sleep(0.05)

        logger.step = step
        return super().learn(env, budget, logger)
'''


@pytest.mark.parametrize("space,message", [
    (["learning_rate=lognormal:1e-3:1e-1"], "the kind must be one of loguniform, uniform, int, choice"),
    (["learning_rate=loguniform:0:1"], "loguniform needs LOW > 0"),
    (["learning_rate=uniform:0.9:0.1"], "LOW must be below HIGH"),
    (["learning_rate=uniform:0.1"], "uniform takes LOW:HIGH"),
    (["learning_rate=uniform:0.1:abc"], "--space learning_rate=uniform:0.1:abc"),
    (["no_such=uniform:0.1:0.2"], "--space takes FIELD=KIND:..."),
    (["learning_rate=int:1:3"], "int samples whole numbers"),
    (["learning_rate=uniform:0.5:7"], "--space: setting learning_rate=7"),  # the Config's own range, before Ray
    (["use_action_mask=choice:true,maybe"], "--space use_action_mask=choice:true,maybe"),
    (["gamma=choice:0.9,0.9"], "distinct values"),
])
def test_a_bad_space_is_one_line_exit_2(space, message, tmp_path, capsys):
    assert train.main(Q + ["--search", "optuna", "--space", *space, "--run-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("extra,message", [
    (["--search", "optuna", "--space", *SPACE, "--seed", "1000"], "a search tunes on a tuning seed below 1000"),
    (["--search", "optuna", "--space", *SPACE, "--remeasure-seeds", "5-9"], "report seeds, 1000 and up"),
    (["--search", "optuna", "--space", *SPACE, "--seeds", "3"], "--grid and --seeds do not go with it"),
    (["--search", "optuna"], "needs a --space"),
    (["--space", *SPACE], "--space goes with --search optuna"),
    (["--samples", "5"], "--samples goes with --search optuna"),  # (a single run: else silently ignored)
    (["--samples", "12"], "--samples goes with --search optuna"),  # (its default's value, given: still refused)
    (["--seeds", "2", "--samples", "5"], "--samples goes with --search optuna"),  # (a grid sweep)
    (["--remeasure-seeds", "1000-1001"], "--remeasure-seeds goes with --search optuna"),
    (["--seeds", "2", "--samples", "5", "--space", *SPACE], "--space, --samples go with --search optuna"),
])
def test_search_flags_that_do_not_fit_are_one_line(extra, message, tmp_path, capsys):
    assert train.main(Q + extra + ["--run-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_optunas_samples_lie_in_the_space_ends_included():
    """Tune's domains through OptunaSearch (as a sweep uses them), 60 suggestions decoded: each in
    its range, the int's two ends both drawn, every choice drawn, sizes decoded back to tuples."""
    space = search.parse_space(["learning_rate=loguniform:1e-4:1e-2", "n_step=int:1:3", "gamma=uniform:0.9:0.99",
                                "hidden=choice:64,64/256"], agents.get("dqn"))
    assert space["n_step"] == {"kind": "int", "low": 1, "high": 3}
    from ray.tune.search.optuna import OptunaSearch

    searcher = OptunaSearch(space={"params": search.tune_space(space)}, metric="eval_return", mode="max", seed=0)
    points = [search.decode(space, searcher.suggest(f"t{i}")["params"]) for i in range(60)]
    assert all(1e-4 <= p["learning_rate"] <= 1e-2 and 0.9 <= p["gamma"] <= 0.99 for p in points)
    assert {p["n_step"] for p in points} == {1, 2, 3} and {p["hidden"] for p in points} == {(64, 64), (256,)}
    assert search.REMEASURE_SEEDS == list(range(1000, 1010))  # the default: 10 report seeds


@pytest.mark.server
def test_a_search_resumes_its_study_and_remeasures_the_best_on_unused_seeds(tmp_path, spawn, ray_tmp):
    _, env = ray_tmp
    marks, run_dir = tmp_path / "marks", tmp_path / "search"
    marks.mkdir()
    (marks / "hold").touch()
    (tmp_path / "holding_agents.py").write_text(HOLDING_AGENT)
    env.update(MARKS=str(marks), MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    flags = [*Q[:2], "--agent", "holding_agents:Holding", *Q[4:], "--search", "optuna", "--samples", "4", "--space",
             *SPACE, "--remeasure-seeds", "1000-1003", "--track", "mlflow", "--run-dir", str(run_dir)]
    proc = spawn([sys.executable, "train.py", *flags], cwd=ROOT, env=env)
    deadline = time.monotonic() + 240
    summaries = lambda: list((run_dir / "trials").glob("*/summary.json"))  # noqa: E731
    while time.monotonic() < deadline and proc.poll() is None and not ((marks / "held").exists()
                                                                          and len(summaries()) >= 2):
        time.sleep(0.2)
    assert proc.poll() is None and (marks / "held").exists(), proc.communicate(timeout=60)
    time.sleep(1)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert f"--resume {run_dir}" in out
    before = {t["setting"]: t for t in json.loads((run_dir / "sweep.json").read_text())["trials"]}
    finished = {n: (run_dir / t["run_dir"] / "summary.json").stat().st_mtime_ns for n, t in before.items()
                if t["status"] == "finished"}
    assert len(finished) >= 2 and not (run_dir / "remeasure").exists()

    (marks / "hold").unlink()
    proc = spawn([sys.executable, "train.py", "--resume", str(run_dir), "--no-progress"], cwd=ROOT, env=env)
    out, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, err[-2000:]
    report = json.loads((run_dir / "sweep.json").read_text())
    trials = report["trials"]
    # the same study: the trials proposed before Ctrl-C kept (not run again), 4 samples in all
    assert len(trials) == 4 and set(before) <= {t["setting"] for t in trials}
    assert {n: (run_dir / before[n]["run_dir"] / "summary.json").stat().st_mtime_ns for n in finished} == finished
    for t in trials:  # every sample in the space, and trained on the tuning seed 0
        p = t["params"]
        assert 0.01 <= p["learning_rate"] <= 1 and 0.8 <= p["gamma"] <= 0.99 and p["use_action_mask"] in (True, False)
        assert t["seed"] == 0 and t["status"] == "finished"
        assert json.loads((run_dir / t["run_dir"] / "summary.json").read_text())["config"]["learning_rate"] == \
            p["learning_rate"]
    best = max(trials, key=lambda t: t["eval_return"])
    assert best["eval_return"] == max(t["eval_return"] for t in trials)
    remeasure = report["remeasure"]
    assert report["statistics"][remeasure["setting"]]["iqm"] == best["eval_return"]
    assert remeasure["values"] == best["params"]
    assert remeasure["seeds"] == [1000, 1001, 1002, 1003] and not set(remeasure["seeds"]) & {t["seed"] for t in trials}
    sub = json.loads((run_dir / "remeasure" / "sweep.json").read_text())
    assert sorted(t["seed"] for t in sub["trials"] if t["status"] == "finished") == [1000, 1001, 1002, 1003]
    assert remeasure["statistics"]["scores"] == [t["eval_return"] for t in sub["trials"]]
    for t in sub["trials"]:
        config = json.loads((run_dir / "remeasure" / t["run_dir"] / "summary.json").read_text())["config"]
        assert {k: config[k] for k in best["params"]} == best["params"]
    text = (run_dir / "report.md").read_text()
    assert f"## Re-measured: {remeasure['setting']}" in text and "report seeds 1000-1003" in text
    assert "re-measured on report seeds 1000-1003" in out
    # every trial, the search's and the re-measure's, an MLflow run of its own
    from mlflow.tracking import MlflowClient

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    runs = client.search_runs([client.get_experiment_by_name("gymlab").experiment_id])
    assert sorted(r.info.run_name for r in runs) == sorted(
        [Path(t["run_dir"]).name for t in trials] + [Path(t["run_dir"]).name for t in sub["trials"]])
    assert all(r.info.status == "FINISHED" and math.isfinite(r.data.metrics["eval/return_mean"]) for r in runs)


def test_loguniform_is_uniform_in_the_exponent():
    """learning_rate=loguniform:1e-4:1e-2 through OptunaSearch: log10 of the samples uniform on [-4, -2],
    so about half below 1e-3 and their mean log10 near -3 (uniform sampling: 9% below, mean near -2.4)."""
    space = search.parse_space(["learning_rate=loguniform:1e-4:1e-2"], agents.get("dqn"))
    from ray.tune.search.optuna import OptunaSearch

    searcher = OptunaSearch(space={"params": search.tune_space(space)}, metric="eval_return", mode="max", seed=0)
    logs = [math.log10(search.decode(space, searcher.suggest(f"t{i}")["params"])["learning_rate"])
            for i in range(200)]
    assert all(-4 <= x <= -2 for x in logs)
    assert 0.35 < sum(x < -3 for x in logs) / len(logs) < 0.65 and abs(sum(logs) / len(logs) + 3) < 0.15


def test_the_remeasure_runs_the_best_on_the_report_seeds_not_the_searchs(tmp_path, monkeypatch):
    """The sweep train.py hands over, then its re-measure: seeds 1000-1009 (default) or --remeasure-seeds,
    never the search's tuning seed; the one best setting, every seed to its end, in RUN_DIR/remeasure."""
    from gymlab import sweep

    handed = []
    monkeypatch.setattr(sweep, "run_sweep", lambda cfg: handed.append(cfg) or 0)
    for extra, want in (([], list(range(1000, 1010))), (["--remeasure-seeds", "1003-1005"], [1003, 1004, 1005])):
        assert train.main(Q + ["--search", "optuna", "--space", *SPACE, "--seed", "7", "--samples", "3",
                               "--scheduler", "asha", "--run-dir", str(tmp_path / f"s{len(handed)}"), *extra]) == 0
        cfg = handed[-1]
        assert cfg.seeds == [7] and cfg.remeasure_seeds == want
        best = {"learning_rate": 0.5, "gamma": 0.9, "use_action_mask": False}
        sub = search.remeasure_config(cfg, best, cfg.run_dir)
        assert sub.seeds == want and not set(sub.seeds) & set(cfg.seeds)
        assert sub.grid == {k: [v] for k, v in best.items()} and sub.scheduler is None and sub.search is None
        assert sub.run_dir == cfg.run_dir / "remeasure" and sub.remeasure_seeds == [] and sub.base == cfg.base


def test_a_sampled_point_decodes_to_values_the_config_takes():
    """Tune hands an int as a number of its own: decoded it is a Python int (the Config refuses 2.0 for n_step),
    a float a float, a choice its value; the setting is named as a grid names it."""
    space = search.parse_space(["n_step=int:1:5", "gamma=uniform:0.9:0.99", "hidden=choice:64,64/256"],
                               agents.get("dqn"))
    import numpy as np

    point = search.decode(space, {"n_step": np.int64(3), "gamma": np.float64(0.95), "hidden": "256"})
    assert point == {"n_step": 3, "gamma": 0.95, "hidden": (256,)}
    assert type(point["n_step"]) is int and type(point["gamma"]) is float
    assert agents.get("dqn").Config(**point).n_step == 3
    assert search.setting_name(point) == "gamma=0.95,hidden=256,n_step=3"


def test_samples_defaults_to_twelve_with_search_only():
    """--samples unset: a search tries search.SAMPLES settings (12); without --search it is None
    (so that given without --search it is seen and refused)."""
    args, agent_cls, _ = train.parse(Q + ["--search", "optuna", "--space", *SPACE])
    assert train.search_args(args, agent_cls)[4] == search.SAMPLES == 12
    args, agent_cls, _ = train.parse(Q + ["--search", "optuna", "--space", *SPACE, "--samples", "3"])
    assert train.search_args(args, agent_cls)[4] == 3
    args, agent_cls, _ = train.parse(Q)
    assert args.samples is None and train.search_args(args, agent_cls)[4] == 0
