"""``--track mlflow`` against a real MLflow server on localhost (its own process group, stopped by
its group id), read back through ``MlflowClient``: params, metrics by TensorBoard's names (the
event file's very tags and values) and artifacts; and a run that does not ask imports none of
mlflow, optuna or ray."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import train
from gymlab import tracking

pytest.importorskip("mlflow", reason="the track extra (mlflow) is not installed")
from test_sb3_metric_names import scalars  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DQN = ["--env", "CartPole-v1", "--agent", "dqn", "--steps", "600", "--learning-starts", "100", "--eval-every", "300",
       "--eval-episodes", "1", "--no-progress"]
Q = ["--env", "CliffWalking-v1", "--agent", "q", "--steps", "1000", "--max-episode-steps", "100", "--eval-every",
     "500", "--eval-episodes", "1", "--no-progress"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """``http://127.0.0.1:PORT`` of an ``mlflow server`` with a sqlite store and its own artifact
    directory, in its own process group; the group stopped (by its id) when the test ends."""
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "1", "--backend-store-uri", f"sqlite:///{tmp_path / 'store.db'}",
                               "--artifacts-destination", str(tmp_path / "artifacts")],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the MLflow server did not answer in 120 s"
            try:
                if urllib.request.urlopen(f"{url}/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)  # its own group, by id: nothing else is touched
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        except ProcessLookupError:
            pass
        log.close()


@pytest.mark.server
def test_a_run_tracked_on_a_real_server_reads_back(tmp_path, mlflow_server):
    from mlflow.tracking import MlflowClient

    run_dir = tmp_path / "run"
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "MLFLOW_EXPERIMENT_NAME": "gymlab-test",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "train.py", *DQN, "--run-dir", str(run_dir), "--track", "mlflow"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_id = json.loads((run_dir / tracking.RUN_FILE).read_text())["run_id"]
    client = MlflowClient(mlflow_server)
    run = client.get_run(run_id)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    assert client.get_experiment(run.info.experiment_id).name == "gymlab-test"
    params = run.data.params
    assert params["agent"] == "dqn" and params["env"] == "CartPole-v1" and params["seed"] == "0"
    assert params["budget.steps"] == "600" and params["learning_starts"] == "100"
    assert {k: params[k] for k in summary["config"]} == {k: str(v) if not isinstance(v, list) else json.dumps(v)
                                                        for k, v in summary["config"].items()}
    events = scalars(run_dir)  # TensorBoard's own names and values
    assert set(run.data.metrics) == set(events) >= {"losses/td_loss", "train/loss", "rollout/ep_rew_mean",
                                                     "time/fps", "eval/mean_reward"}
    for key in ("train/loss", "rollout/ep_rew_mean", "eval/return_mean"):
        history = sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))
        assert [s for s, _ in history] == [s for s, _ in events[key]]
        assert [v for _, v in history] == pytest.approx([v for _, v in events[key]], rel=1e-5)
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"summary.json", "checkpoint.npz", "learning_curve.png"} <= artifacts
    got = Path(client.download_artifacts(run_id, "summary.json", str(tmp_path)))
    assert json.loads(got.read_text()) == summary


def test_a_dead_tracking_server_is_one_line_exit_2_and_nothing_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    assert train.main(Q + ["--run-dir", str(tmp_path / "r"), "--track", "mlflow"]) == 2
    err = capsys.readouterr().err
    assert "cannot use the tracking store at http://127.0.0.1:" in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()


def test_without_mlflow_track_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    assert train.main(Q + ["--run-dir", str(tmp_path / "r"), "--track", "mlflow"]) == 2
    err = capsys.readouterr().err
    assert 'pip install -e ".[track]"' in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("flags", [Q, DQN])
def test_a_run_that_does_not_ask_imports_no_mlflow_optuna_or_ray(tmp_path, flags):
    code = ("import sys, train; code = train.main(sys.argv[1:]); "
            "found = [m for m in ('mlflow', 'optuna', 'ray') if m in sys.modules]; "
            "print('imported:', found); sys.exit(3 if found else code)")
    proc = subprocess.run([sys.executable, "-c", code, *flags, "--run-dir", str(tmp_path / "r")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stdout[-500:] + proc.stderr[-1000:]


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    """A local sqlite tracking store, made once for the module (making one costs seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"


def test_params_are_the_resolved_config_not_the_flags_given(tmp_path, monkeypatch, sqlite_store):
    """A local sqlite store (no server): the params hold every Config field as the run trained with it, from
    the command line (gamma), our file's entry (learning_rate, epsilon_end) and the Config (the rest)."""
    from mlflow.tracking import MlflowClient

    uri = sqlite_store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "params-test")
    monkeypatch.chdir(tmp_path)  # (the default artifact place, should the store pick it)
    run_dir = tmp_path / "run"
    assert train.main([*Q, "--gamma", "0.95", "--run-dir", str(run_dir), "--track", "mlflow"]) == 0
    params = MlflowClient(uri).get_run(json.loads((run_dir / tracking.RUN_FILE).read_text())["run_id"]).data.params
    want = {"learning_rate": "1.0", "gamma": "0.95", "epsilon_start": "1.0", "epsilon_end": "0.1",
            "exploration_fraction": "0.5", "use_action_mask": "True"}  # q.yml's CliffWalking-v1, QConfig's defaults
    assert {k: params.get(k) for k in want} == want
    assert (params["agent"], params["env_id"], params["budget.steps"]) == ("q", "CliffWalking-v1", "1000")


def test_a_resumed_run_goes_on_in_its_own_mlflow_run(tmp_path, sqlite_store):
    """``tracking.start`` again on a run directory that names its MLflow run (``--resume``): that run, running
    again, with what it had logged; no second run, no params logged twice."""
    from mlflow.tracking import MlflowClient

    uri = sqlite_store
    spec = {"env": "rooms", "env_id": "gymlab/Rooms-v0", "agent": "q", "seed": 3, "budget": {"steps": 100},
            "config": {"gamma": 0.8}, "track": {"to": "mlflow", "uri": uri, "experiment": "resume-test"}}
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    first = tracking.start(spec, run_dir)
    first.metric("charts/episodic_return", 1.0, 10)
    first.flush()  # then killed: no finish
    again = tracking.start(spec, run_dir)
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("resume-test").experiment_id])
    assert again.run_id == first.run_id and [r.info.run_id for r in runs] == [first.run_id]
    assert runs[0].info.status == "RUNNING" and runs[0].data.params["gamma"] == "0.8"
    assert [(m.step, m.value) for m in client.get_metric_history(first.run_id, "charts/episodic_return")] == [(10, 1.0)]


def test_a_store_that_fails_mid_run_stops_the_tracking_not_the_training(tmp_path, monkeypatch, capsys, sqlite_store):
    """The review: a store that went away during training (here: every send raises, as MLflow does)
    ended the run as 'internal error', exit 70, the training lost. Now one warning, and the run ends
    as it would have."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_store)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "failing-test")
    monkeypatch.chdir(tmp_path)
    log_batch = MlflowClient.log_batch

    def gone_once_training(self, run_id, metrics=(), **k):
        if metrics:  # (the params at the start went through)
            raise MlflowException("the server went away")
        return log_batch(self, run_id, metrics=metrics, **k)

    monkeypatch.setattr(MlflowClient, "log_batch", gone_once_training)
    run_dir = tmp_path / "run"
    assert train.main([*Q, "--run-dir", str(run_dir), "--track", "mlflow"]) == 0
    err = capsys.readouterr().err
    assert err.count("tracking stops") == 1 and "the server went away" in err, err
    assert json.loads((run_dir / "summary.json").read_text())["env_steps"] == 1000


def test_an_unreachable_store_is_refused_before_force_removes_the_old_run(tmp_path, monkeypatch, capsys):
    """The review: --force removed the earlier run's files, then the store was found unreachable."""
    run_dir = tmp_path / "r"
    assert train.main(Q + ["--run-dir", str(run_dir)]) == 0
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    capsys.readouterr()
    assert train.main(Q + ["--run-dir", str(run_dir), "--track", "mlflow", "--force"]) == 2
    assert "cannot use the tracking store" in capsys.readouterr().err
    assert (run_dir / "summary.json").is_file() and (run_dir / "checkpoint.npz").is_file()


FAILING_AGENTS = '''
from gymlab.agents.q_learning import QLearning


class CrashInLearn(QLearning):
    """Tabular Q that raises (a bug) at env step 300, its metrics so far logged."""

    def learn(self, env, budget, logger):
        step = logger.step

        def crashing(*a, **k):
            step(*a, **k)
            if logger.steps == 300:
                raise RuntimeError("a bug at step 300")

        logger.step = crashing
        return super().learn(env, budget, logger)


class InterruptInReport(QLearning):
    """Tabular Q whose Ctrl-C comes where the run does not catch it: in its report, after training."""

    def report(self, env, run_dir=None):
        raise KeyboardInterrupt
'''


@pytest.mark.parametrize("agent,code,status", [
    ("q", 0, "FINISHED"),
    ("failing_agents_fix24:CrashInLearn", 70, "FAILED"),  # (the old code: it stayed RUNNING)
    ("failing_agents_fix24:InterruptInReport", 130, "KILLED"),  # (the old code: it stayed RUNNING)
])
def test_a_run_ends_its_mlflow_run_finished_failed_or_killed(agent, code, status, tmp_path, monkeypatch, capsys,
                                                             sqlite_store):
    """A local sqlite store in a temporary directory (no server): the MLflow run of a run that ends ends
    FINISHED; of one that raises, FAILED, its metrics up to the crash kept; of one stopped by a Ctrl-C it
    does not catch, KILLED (MLflow's RunStatus names)."""
    from mlflow.tracking import MlflowClient

    (tmp_path / "failing_agents_fix24.py").write_text(FAILING_AGENTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_store)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "status-test")
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    assert train.main([*Q[:2], "--agent", agent, *Q[4:], "--eval-every", "100", "--run-dir", str(run_dir),
                       "--track", "mlflow"]) == code, capsys.readouterr().err
    client = MlflowClient(sqlite_store)
    run = client.get_run(json.loads((run_dir / tracking.RUN_FILE).read_text())["run_id"])
    assert run.info.status == status and run.info.end_time is not None
    evals = [m.step for m in client.get_metric_history(run.info.run_id, "eval/return_mean")]
    assert evals[:3] == [100, 200, 300]  # (sent before the run ended, whichever way)
