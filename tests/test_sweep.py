"""Sweeps on Ray Tune (``train.py --seeds/--grid``): a trial is a run, failures are reported, a
cluster works, and a single run never imports ray.

Every sweep here trains tabular Q on CliffWalking (no torch in the trials: quick), so the
cost is Ray's own start-up; there are two sweeps in this file (and one resumed), one on a
local Ray started by the sweep and one on a real multi-process cluster started with ``ray
start --head``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import train

ray = pytest.importorskip("ray", reason="the sweep extra (ray[tune]) is not installed")

ROOT = Path(__file__).resolve().parents[1]
TIMINGS = ("wall_time_s", "periodic_eval_time_s", "env_steps_per_s", "periodic_eval_wall_s")
FLAGS = ["--env", "CliffWalking-v1", "--steps", "3000", "--max-episode-steps", "200", "--eval-every", "1000",
         "--eval-episodes", "2", "--no-progress"]

PLANTED_AGENT = '''
import os
import time
from pathlib import Path

from gymlab.agents.q_learning import QLearning


class Planted(QLearning):
    """Tabular Q with two planted troubles: with learning rate 0.5 and seed 1 it raises at step
    1500 (a crashing trial; each attempt leaves a file crashed-<n> in $MARKS); with learning rate
    1 and seed 1 it stops at step 1000, leaves $MARKS/held and waits while $MARKS/hold exists (a
    trial still running when Ctrl-C comes)."""

    def learn(self, env, budget, logger):
        marks, original = Path(os.environ["MARKS"]), logger.step
        crash, hold = self.seed == 1 and self.config.learning_rate == 0.5, self.seed == 1 and self.config.learning_rate == 1.0

        def step(*a, **k):
            original(*a, **k)
            if crash and logger.steps == 1500:
                (marks / f"crashed-{len(list(marks.glob('crashed-*')))}").touch()
                raise RuntimeError("planted failure at step 1500")
            if hold and logger.steps == 1000 and (marks / "hold").exists():
                (marks / "held").touch()
                while (marks / "hold").exists():
                    time.sleep(0.05)

        logger.step = step
        return super().learn(env, budget, logger)
'''


def summary(path: Path) -> dict:
    out = json.loads(path.read_text())
    for key in TIMINGS:
        out.pop(key)
    return out


@pytest.mark.server  # (starts Ray's processes: tens of seconds; .ci/run's server step)
def test_a_sweep_reports_failures_survives_ctrl_c_and_resumes(tmp_path, spawn):
    """One local sweep (Ray started in-process), 2 settings x 2 seeds, in a subprocess:

    - ``learning_rate=0.5``, seed 1 crashes, is retried once, crashes again: failed, with its
      error, in sweep.json and report.md, and the other trials are still reported;
    - ``learning_rate=1.0``, seed 1 is still running when Ctrl-C comes (SIGINT to the sweep's
      process group, as a terminal sends it): exit 130, finished trials kept and reported, and
      the way to go on printed;
    - ``train.py --resume RUN_DIR`` then finishes it without running the finished trials again,
      and the resumed trial's summary.json equals the one ``train.py --seed 1 --learning-rate 1``
      writes alone: a trial is a run, even stopped and resumed in the middle."""
    marks, run_dir = tmp_path / "marks", tmp_path / "sweep"
    marks.mkdir()
    (marks / "hold").touch()
    (tmp_path / "planted_agents.py").write_text(PLANTED_AGENT)
    env = {**os.environ, "MARKS": str(marks), "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    agent = ["--agent", "planted_agents:Planted"]
    sweep = spawn([sys.executable, "train.py", *FLAGS, *agent, "--seeds", "2", "--grid",
                   "learning_rate=0.5,1.0", "--run-dir", str(run_dir)], cwd=ROOT, env=env)
    trial = {(lr, seed): run_dir / "trials" / f"learning_rate={lr}__seed{seed}" for lr in ("0.5", "1.0")
             for seed in (0, 1)}
    finished = [trial[("0.5", 0)] / "summary.json", trial[("1.0", 0)] / "summary.json"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and sweep.poll() is None and not (
            (marks / "held").exists() and len(list(marks.glob("crashed-*"))) == 2
            and all(f.exists() for f in finished)):
        time.sleep(0.2)
    assert sweep.poll() is None and (marks / "held").exists(), sweep.communicate(timeout=60)
    time.sleep(1)  # Tune records the second crash
    os.killpg(sweep.pid, signal.SIGINT)  # the group (spawn gave it its own), as a terminal's Ctrl-C
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, err[-2000:]
    assert f"python train.py --resume {run_dir}" in out
    report = json.loads((run_dir / "sweep.json").read_text())
    status = {(t["setting"], t["seed"]): t for t in report["trials"]}
    assert {k: t["status"] for k, t in status.items()} == {
        ("learning_rate=0.5", 0): "finished", ("learning_rate=0.5", 1): "failed",
        ("learning_rate=1.0", 0): "finished", ("learning_rate=1.0", 1): "unfinished"}
    assert "planted failure at step 1500" in status[("learning_rate=0.5", 1)]["error"]
    assert report["counts"]["learning_rate=0.5"] == {"finished": 1, "failed": 1, "stopped early": 0, "unfinished": 0}
    stats = report["statistics"]["learning_rate=1.0"]
    assert stats["n"] == 1 and stats["iqm_ci"] is None  # one run: no interval, its value and range
    assert stats["range"] == [stats["iqm"], stats["iqm"]] == stats["scores"] * 2
    evals = status[("learning_rate=1.0", 0)]["periodic_eval"]  # each with the wall time it ended at
    assert [e["step"] for e in evals] == [1000, 2000, 3000] and 0 < evals[0]["wall_s"] <= evals[2]["wall_s"]
    kept = [f.stat().st_mtime_ns for f in finished]

    (marks / "hold").unlink()
    proc = subprocess.run([sys.executable, "train.py", "--resume", str(run_dir), "--no-progress"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((run_dir / "sweep.json").read_text())
    assert {(t["setting"], t["seed"]): t["status"] for t in report["trials"]}[("learning_rate=1.0", 1)] == "finished"
    assert report["statistics"]["learning_rate=1.0"]["n"] == 2
    assert report["counts"]["learning_rate=0.5"]["failed"] == 1  # still failed (retried: it crashes again)
    assert "planted failure" in (run_dir / "report.md").read_text()
    assert (run_dir / "curves.png").stat().st_size > 0
    assert [f.stat().st_mtime_ns for f in finished] == kept  # the finished trials were not run again
    single = tmp_path / "single"
    assert subprocess.run([sys.executable, "train.py", *FLAGS, *agent, "--seed", "1", "--learning-rate", "1.0",
                           "--run-dir", str(single)], cwd=ROOT, env=env, capture_output=True,
                          timeout=120).returncode == 0
    assert summary(trial[("1.0", 1)] / "summary.json") == summary(single / "summary.json")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.server  # (starts Ray's processes: tens of seconds; .ci/run's server step)
def test_a_sweep_on_a_multi_process_ray_cluster(tmp_path):
    """A Ray head started the way a cluster is (``ray start --head``, its own processes, token
    authentication as Ray >= 2.59 sets it up), and a sweep pointed at it with --ray-address."""
    import tempfile

    port = _free_port()
    # A cluster's token, shared by its head and whoever submits to it (Ray >= 2.59 requires one).
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": os.urandom(16).hex()}
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    head = subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
                             f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                             "--node-ip-address=127.0.0.1", f"--temp-dir={temp}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert head.poll() is None, f"the Ray head exited: {head.stderr.read()[-2000:]}"
            time.sleep(0.5)
        run_dir = tmp_path / "sweep"
        proc = subprocess.run([sys.executable, "train.py", *FLAGS, "--agent", "q", "--seeds", "2",
                               "--ray-address", f"127.0.0.1:{port}", "--run-dir", str(run_dir)],
                              cwd=ROOT, capture_output=True, text=True, timeout=240, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        report = json.loads((run_dir / "sweep.json").read_text())
        assert [t["status"] for t in report["trials"]] == ["finished", "finished"]
    finally:
        try:  # the head's own process group, by its id: nothing else on the machine is touched
            os.killpg(head.pid, signal.SIGTERM)
            head.wait(timeout=5)  # (a head drains for up to 30 s on SIGTERM; nothing here needs draining)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=30)
        except ProcessLookupError:
            pass  # it had exited already (said above)
        shutil.rmtree(temp, ignore_errors=True)


def test_without_ray_a_sweep_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    assert train.main(FLAGS + ["--agent", "q", "--seeds", "2", "--run-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert 'pip install "ray[tune]"' in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_a_single_run_never_imports_ray(tmp_path):
    code = ("import sys, train; code = train.main(sys.argv[1:]); "
            "sys.exit(3 if 'ray' in sys.modules else code)")
    proc = subprocess.run([sys.executable, "-c", code, *FLAGS, "--agent", "q", "--run-dir", str(tmp_path / "r")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("grid,message", [
    (["no_such_field=1,2"], "--grid takes FIELD=V1,V2"),
    (["learning_rate=0.5,abc"], "--grid learning_rate=0.5,abc"),
    (["learning_rate=0.5,7"], "--grid setting learning_rate=7"),  # out of range: refused before Ray starts
])
def test_a_bad_grid_is_one_line(grid, message, tmp_path, capsys):
    assert train.main(FLAGS + ["--agent", "q", "--seeds", "2", "--grid", *grid,
                               "--run-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err



def test_a_sweep_without_a_final_evaluation_is_refused(tmp_path, capsys):
    """Each trial is scored by its final greedy evaluation: with --eval-episodes 0 there is none,
    and every trial would be reported as diverged."""
    assert train.main(FLAGS + ["--agent", "q", "--seeds", "2", "--eval-episodes", "0",
                               "--run-dir", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "--eval-episodes" in err and err.count("\n") == 1, err
    assert not (tmp_path / "s").exists()
