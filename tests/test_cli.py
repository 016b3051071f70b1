"""train.py as a user runs it: a subprocess, its output, its exit code, its run directory."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from test_q_learning import LECTURE_Q

ROOT = Path(__file__).resolve().parents[1]
TIMINGS = {"wall_time_s", "env_steps_per_s"}


def run(*args, cwd=None, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "train.py"), "--no-progress", *args],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=timeout)


def printed_table(stdout: str) -> np.ndarray:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Q-table")) + 1
    return np.array([[int(v) for v in line.split()] for line in lines[start:start + 6]])


@pytest.fixture(scope="module")
def rooms_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("rooms")
    proc = run("--env", "rooms", "--agent", "q", "--seed", "7", "--run-dir", str(run_dir))
    return proc, run_dir


def test_rooms_prints_the_lectures_table_and_routes(rooms_run):
    proc, run_dir = rooms_run
    assert proc.returncode == 0, proc.stderr
    table = printed_table(proc.stdout)
    assert table.shape == (6, 6)
    assert np.abs(table - LECTURE_Q).max() <= 1
    tail = proc.stdout.strip().splitlines()[-6:]  # the output ends with a route from each room
    assert [line.split(" -> ")[0].strip() for line in tail] == [str(r) for r in range(6)]
    assert all(line.strip().endswith("5") for line in tail)


def test_rooms_run_directory(rooms_run):
    proc, run_dir = rooms_run
    for name in ("summary.json", "checkpoint.npz", "episodes.csv", "metrics.csv", "learning_curve.png", "q_table.png"):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["env"] == "gymlab/Rooms-v0" and summary["agent"] == "q" and summary["seed"] == 7
    assert summary["env_steps"] == 3000 and summary["episodes"] > 100
    assert summary["eval"]["return_mean"] == 100.0
    assert summary["q_table_normalised"] == printed_table(proc.stdout).tolist()
    episodes = (run_dir / "episodes.csv").read_text().splitlines()
    assert len(episodes) == summary["episodes"] + 1
    assert (run_dir / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_same_seed_same_summary(rooms_run, tmp_path):
    _, first_dir = rooms_run
    proc = run("--env", "rooms", "--agent", "q", "--seed", "7", "--run-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    a = json.loads((first_dir / "summary.json").read_text())
    b = json.loads((tmp_path / "summary.json").read_text())
    for k in TIMINGS:
        a.pop(k), b.pop(k)
    assert a == b
    other = run("--env", "rooms", "--agent", "q", "--seed", "8", "--run-dir", str(tmp_path / "other"))
    assert other.returncode == 0, other.stderr
    assert json.loads((tmp_path / "other" / "summary.json").read_text())["episodes"] != a["episodes"]


def test_load_evaluates_and_continues(rooms_run, tmp_path):
    _, run_dir = rooms_run
    proc = run("--env", "rooms", "--load", str(run_dir / "checkpoint.npz"), "--run-dir", str(tmp_path / "eval"))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["env_steps"] == 0 and summary["eval"]["return_mean"] == 100.0
    assert np.abs(printed_table(proc.stdout) - LECTURE_Q).max() <= 1
    proc = run("--env", "rooms", "--agent", "q", "--load", str(run_dir / "checkpoint.npz"), "--steps", "50",
               "--run-dir", str(tmp_path / "more"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "more" / "summary.json").read_text())["env_steps"] == 50


def test_tabular_run_imports_no_torch(tmp_path):
    code = ("import sys, train; rc = train.main(['--env', 'rooms', '--agent', 'q', '--no-progress', "
            f"'--run-dir', {str(tmp_path)!r}]); "
            "assert rc == 0; assert 'torch' not in sys.modules, 'torch was imported'; "
            "assert 'pygame' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_cliff_walking_greedy_return(tmp_path):
    proc = run("--env", "CliffWalking-v1", "--agent", "q", "--run-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "summary.json").read_text())["eval"]["return_mean"] == -13.0


def test_render_in_a_headless_window(tmp_path):
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--env", "rooms", "--agent", "q", "--steps", "500",
                           "--render", "--eval-episodes", "1", "--no-progress", "--run-dir", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args,code,words", [
    (["--env", "roms", "--agent", "q"], 2, ["unknown env 'roms'", "rooms", "CartPole-v1"]),
    (["--env", "rooms", "--agent", "sarsa"], 2, ["unknown agent 'sarsa'", "Valid agents: dqn, hill, q, random"]),
    (["--env", "CartPole-v1", "--agent", "q"], 2, ["cannot act in CartPole-v1", "Discrete observation space", "Box"]),
    (["--env", "rooms"], 2, ["--agent is required"]),
    (["--env", "rooms", "--agent", "q", "--steps", "0"], 2, ["must be positive"]),
    (["--env", "rooms", "--agent", "q", "--gamma", "high"], 2, ["invalid float value"]),
    (["--env", "rooms", "--agent", "q", "--load", "no/such/file.npz"], 2, ["no checkpoint at no/such/file.npz"]),
])
def test_bad_input_is_a_clear_error(args, code, words, tmp_path):
    proc = run(*args, "--run-dir", str(tmp_path / "r"))
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in proc.stderr
    assert not (tmp_path / "r").exists(), "a failed start leaves no run directory"


def test_corrupt_and_foreign_checkpoints(rooms_run, tmp_path):
    _, run_dir = rooms_run
    good = (run_dir / "checkpoint.npz").read_bytes()
    for name, data in (("garbage.npz", b"not a checkpoint"), ("cut.npz", good[: len(good) // 2])):
        (tmp_path / name).write_bytes(data)
        proc = run("--env", "rooms", "--load", str(tmp_path / name))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert "corrupt" in proc.stderr
    proc = run("--env", "CliffWalking-v1", "--load", str(run_dir / "checkpoint.npz"))
    assert proc.returncode == 2 and "Discrete(6)" in proc.stderr and "Discrete(48)" in proc.stderr


def test_interrupted_run_keeps_a_good_checkpoint(tmp_path):
    proc = subprocess.Popen([sys.executable, str(ROOT / "train.py"), "--env", "rooms", "--agent", "q", "--steps",
                             "100000000", "--no-progress", "--run-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (tmp_path / "episodes.csv").is_file():
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["interrupted"] and 0 < summary["env_steps"] < 100000000
    reload = run("--env", "rooms", "--load", str(tmp_path / "checkpoint.npz"), "--run-dir", str(tmp_path / "again"))
    assert reload.returncode == 0, reload.stderr


def test_frame_stack_control(tmp_path):
    proc = run("--env", "recall", "--agent", "reinforce", "--frame-stack", "4", "--num-envs", "2", "--steps", "300",
               "--eval-episodes", "2", "--run-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    ckpt = np.load(tmp_path / "checkpoint.npz")
    meta = json.loads(str(ckpt["__meta__"]))
    assert meta["observation_space"]["shape"] == [24]  # 4 stacked observations of 6
    assert run("--env", "recall", "--agent", "q", "--frame-stack", "0").returncode == 2
