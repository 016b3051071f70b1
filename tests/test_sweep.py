"""Sweeps on Ray Tune (``train.py --seeds/--grid``): a trial is a run, failures are reported, a
cluster works, and a single run never imports ray.

Every sweep here trains tabular Q on CliffWalking (no torch in the trials: quick), so the
cost is Ray's own start-up; there are two sweeps in this file, one on a local Ray started
in-process and one on a real multi-process cluster started with ``ray start --head``.
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
TIMINGS = ("wall_time_s", "periodic_eval_time_s", "env_steps_per_s")
FLAGS = ["--env", "CliffWalking-v1", "--steps", "3000", "--max-episode-steps", "200", "--eval-every", "1000",
         "--eval-episodes", "2", "--no-progress"]

CRASHING_AGENT = '''
from gymlab.agents.q_learning import QLearning


class CrashAtStep(QLearning):
    """Tabular Q that raises at step 1500 when its seed is 1: a trial that crashes."""

    def learn(self, env, budget, logger):
        if self.seed == 1:
            original = logger.step

            def step(*a, **k):
                original(*a, **k)
                if logger.steps == 1500:
                    raise RuntimeError("planted failure at step 1500")

            logger.step = step
        return super().learn(env, budget, logger)
'''


def summary(path: Path) -> dict:
    out = json.loads(path.read_text())
    for key in TIMINGS:
        out.pop(key)
    return out


@pytest.fixture()
def crashing_agent(tmp_path, monkeypatch):
    (tmp_path / "planted_agents.py").write_text(CRASHING_AGENT)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "planted_agents:CrashAtStep"


def test_a_local_sweep_is_runs_with_statistics_and_a_failed_trial_reported(tmp_path, crashing_agent, capsys):
    run_dir = tmp_path / "sweep"
    code = train.main(FLAGS + ["--agent", crashing_agent, "--seeds", "2", "--grid", "learning_rate=0.5,1.0",
                               "--run-dir", str(run_dir)])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads((run_dir / "sweep.json").read_text())
    trials = {(t["setting"], t["seed"]): t for t in report["trials"]}
    assert len(trials) == 4
    # Seed 1 crashes in both settings (after a retry): failed, with its error, not dropped silently.
    for setting in ("learning_rate=0.5", "learning_rate=1.0"):
        failed = trials[(setting, 1)]
        assert failed["status"] == "failed" and "planted failure at step 1500" in failed["error"]
        assert report["counts"][setting] == {"finished": 1, "failed": 1, "stopped early": 0, "unfinished": 0}
        stats = report["statistics"][setting]
        assert stats["n"] == 1 and stats["iqm_ci"] == [stats["iqm"], stats["iqm"]]  # one run: a point
    assert "planted failure" in (run_dir / "report.md").read_text()
    assert (run_dir / "curves.png").stat().st_size > 0
    # A trial is a run: its summary is the one a single run with that seed and setting writes.
    for seed in (0,):
        single = tmp_path / f"single{seed}"
        assert train.main(FLAGS + ["--agent", crashing_agent, "--seed", str(seed), "--learning-rate", "1.0",
                                   "--run-dir", str(single)]) == 0
        trial = run_dir / trials[("learning_rate=1.0", seed)]["run_dir"]
        assert summary(trial / "summary.json") == summary(single / "summary.json")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


HOLDING_AGENT = '''
import os
import time
from pathlib import Path

from gymlab.agents.q_learning import QLearning


class HoldAtStep(QLearning):
    """Tabular Q whose seed-1 run, at step 1000, says so in $HELD and waits while $HOLD exists:
    a trial still running when the sweep's Ctrl-C comes."""

    def learn(self, env, budget, logger):
        if self.seed == 1:
            original = logger.step

            def step(*a, **k):
                original(*a, **k)
                if logger.steps == 1000 and os.path.exists(os.environ["HOLD"]):
                    Path(os.environ["HELD"]).touch()
                    while os.path.exists(os.environ["HOLD"]):
                        time.sleep(0.05)

            logger.step = step
        return super().learn(env, budget, logger)
'''


def test_ctrl_c_keeps_finished_trials_and_resume_runs_the_rest(tmp_path):
    """Ctrl-C (SIGINT to the sweep's process group, as a terminal sends it) while seed 1 is
    under way and seed 0 has finished: exit 130 and the way to go on; ``--resume RUN_DIR``
    then finishes seed 1 without running seed 0 again, and seed 1's run is the run it would
    have been without the interruption."""
    (tmp_path / "planted_hold.py").write_text(HOLDING_AGENT)
    hold, held, run_dir = tmp_path / "hold", tmp_path / "held", tmp_path / "sweep"
    hold.touch()
    env = {**os.environ, "HOLD": str(hold), "HELD": str(held), "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    flags = FLAGS + ["--agent", "planted_hold:HoldAtStep", "--seeds", "2", "--run-dir", str(run_dir)]
    sweep = subprocess.Popen([sys.executable, "train.py", *flags], cwd=ROOT, env=env, start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = run_dir / "trials" / "defaults__seed0" / "summary.json"
        deadline = time.monotonic() + 120
        while not (held.exists() and first.exists()) and time.monotonic() < deadline and sweep.poll() is None:
            time.sleep(0.2)
        assert held.exists() and first.exists(), sweep.communicate(timeout=60)
        os.killpg(sweep.pid, signal.SIGINT)
        out, err = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
            sweep.wait()
    assert sweep.returncode == 130, err[-2000:]
    assert f"python train.py --resume {run_dir}" in out
    report = json.loads((run_dir / "sweep.json").read_text())
    assert [t["status"] for t in report["trials"]] == ["finished", "unfinished"]
    assert report["statistics"]["defaults"]["n"] == 1  # the finished trial is reported already
    kept = first.stat().st_mtime_ns

    hold.unlink()
    proc = subprocess.run([sys.executable, "train.py", "--resume", str(run_dir), "--no-progress"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((run_dir / "sweep.json").read_text())
    assert [t["status"] for t in report["trials"]] == ["finished", "finished"]
    assert report["statistics"]["defaults"]["n"] == 2
    assert first.stat().st_mtime_ns == kept  # seed 0 was not run again
    single = tmp_path / "single"
    assert subprocess.run([sys.executable, "train.py", *FLAGS, "--agent", "planted_hold:HoldAtStep", "--seed", "1",
                           "--run-dir", str(single)], cwd=ROOT, env=env, capture_output=True,
                          timeout=120).returncode == 0
    resumed = summary(run_dir / "trials" / "defaults__seed1" / "summary.json")
    assert resumed == summary(single / "summary.json")
