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

from children import wait_for
from test_q_learning import LECTURE_Q

ROOT = Path(__file__).resolve().parents[1]
TIMINGS = {"wall_time_s", "env_steps_per_s", "periodic_eval_time_s", "periodic_eval_wall_s"}


def run(*args, cwd=None, timeout=120):
    """``python train.py --no-progress ARGS``: its exit code, stdout and stderr. Run here, in this
    process, through ``train.main`` (the program itself, less the interpreter's start-up), unless
    ``cwd`` asks for another directory; tests/test_hostile_inputs.py runs the real program."""
    if cwd is not None:
        return subprocess.run([sys.executable, str(ROOT / "train.py"), "--no-progress", *args],
                              capture_output=True, text=True, cwd=cwd, timeout=timeout)
    import contextlib
    import io
    import types

    import train

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = train.main(["--no-progress", *map(str, args)])
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


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
    (["--env", "rooms", "--agent", "q", "--steps", "0"], 2, ["--steps", "expected a whole number >= 1"]),
    (["--env", "rooms", "--agent", "q", "--gamma", "high"], 2, ["--gamma", "expected a number, got 'high'"]),
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
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "corrupt" in proc.stderr
    proc = run("--env", "CliffWalking-v1", "--load", str(run_dir / "checkpoint.npz"))
    assert proc.returncode == 2 and "Discrete(6)" in proc.stderr and "Discrete(48)" in proc.stderr


def test_interrupted_run_keeps_a_good_checkpoint(tmp_path, spawn):
    proc = spawn([sys.executable, str(ROOT / "train.py"), "--env", "rooms", "--agent", "q", "--steps",
                  "100000000", "--no-progress", "--run-dir", str(tmp_path)])
    wait_for(tmp_path / "episodes.csv", proc)
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


MY_PACKAGE = '''
import gymnasium as gym
from gymnasium import spaces


class Corridor(gym.Env):
    """Walk right to the end of a corridor of ``length`` cells."""

    def __init__(self, length: int = 4):
        self.length = length
        self.observation_space, self.action_space = spaces.Discrete(length), spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = 0
        return self.pos, {}

    def step(self, action):
        self.pos = max(0, min(self.length - 1, self.pos + (1 if action == 1 else -1)))
        done = self.pos == self.length - 1
        return self.pos, float(done), done, False, {}


gym.register("MyEnv-v0", entry_point=Corridor, max_episode_steps=50)
'''


def test_an_env_from_a_module_only_the_test_puts_on_the_path(tmp_path):
    """--env module:id imports the module (Gymnasium's form); --env-kwargs reach gym.make; both are kept
    in summary.json and the checkpoint, so --load with that --env rebuilds the same env (issue 23 item 11:
    without it, the module the checkpoint names is not imported)."""
    (tmp_path / "my_package").mkdir()
    (tmp_path / "my_package" / "__init__.py").write_text(MY_PACKAGE)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    def go(*args):
        return subprocess.run([sys.executable, str(ROOT / "train.py"), "--no-progress", *args], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120, env=env)

    proc = go("--env", "my_package:MyEnv-v0", "--agent", "q", "--env-kwargs", "length=6", "--run-dir", "a")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["env"] == "my_package:MyEnv-v0" and summary["env_kwargs"] == {"length": 6}
    assert summary["eval"]["return_mean"] == 1.0 and summary["eval"]["length_mean"] == 5.0  # 5 steps right
    proc = go("--load", "a/checkpoint.npz", "--run-dir", "b")  # a module a file names is not imported unasked
    assert proc.returncode == 2 and "--env my_package:MyEnv-v0" in proc.stderr and proc.stderr.count("\n") == 1
    proc = go("--load", "a/checkpoint.npz", "--env", "my_package:MyEnv-v0", "--run-dir", "b")  # its env_kwargs too
    assert proc.returncode == 0, proc.stderr
    again = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert again["env"] == "my_package:MyEnv-v0" and again["env_kwargs"] == {"length": 6}
    assert again["eval"]["length_mean"] == 5.0
    for args, words in ((["--env", "my_package:Other-v0"], "registers no env 'Other-v0'"),
                        (["--env", "not_my_package:MyEnv-v0"], "cannot import module 'not_my_package'"),
                        (["--env", "my_package:MyEnv-v0", "--env-kwargs", "width=3"], "it takes: length")):
        proc = go(*args, "--agent", "q", "--run-dir", "c")
        assert proc.returncode == 2 and words in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
        assert not (tmp_path / "c").exists()


def test_env_kwargs_reach_the_env_and_the_checkpoint(tmp_path):
    proc = run("--env", "pong", "--agent", "random", "--env-kwargs", "points_to_win=1", "difficulty=1.0",
               "--steps", "500", "--eval-episodes", "3", "--run-dir", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["env_kwargs"] == {"points_to_win": 1, "difficulty": 1.0}
    assert abs(summary["eval"]["return_mean"]) <= 1  # games of one point (to 21, most returns are about -20)
    meta = json.loads(str(np.load(tmp_path / "a" / "checkpoint.npz")["__meta__"]))
    assert meta["env"] == "gymlab/Pong-v0" and meta["env_kwargs"] == {"points_to_win": 1, "difficulty": 1.0}


def test_steps_per_second_leave_the_periodic_evaluations_out(tmp_path):
    proc = run("--env", "CartPole-v1", "--agent", "random", "--steps", "3000", "--eval-every", "300",
               "--eval-episodes", "1", "--run-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    s = json.loads((tmp_path / "summary.json").read_text())
    assert len(s["periodic_eval"]) == 10 and s["periodic_eval_time_s"] > 0
    train_time = s["wall_time_s"] - s["periodic_eval_time_s"]
    assert s["env_steps_per_s"] == pytest.approx(3000 / train_time, rel=0.01)


def test_render_without_a_display_is_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--env", "rooms", "--agent", "q", "--render",
                           "--run-dir", str(tmp_path / "r")], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "--render needs a display" in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_a_run_in_which_no_episode_ended_still_draws_its_curve(tmp_path):
    proc = run("--env", "CartPole-v1", "--agent", "random", "--steps", "3", "--eval-episodes", "0",
               "--run-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "summary.json").read_text())["episodes"] == 0
    assert (tmp_path / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_every_run_writes_its_curve_and_files_share_one_mode(rooms_run, tmp_path):
    """An evaluation of a checkpoint (no training episode) still draws learning_curve.png, and every
    file in a run directory has the same permission mode (mkstemp's 0600 used to differ)."""
    _, run_dir = rooms_run
    proc = run("--load", str(run_dir / "checkpoint.npz"), "--run-dir", str(tmp_path / "eval"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "eval" / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    for d in (run_dir, tmp_path / "eval"):
        modes = {p.name: oct(p.stat().st_mode & 0o777) for p in d.iterdir() if p.is_file()}
        assert len(set(modes.values())) == 1, modes


def test_a_budget_too_small_to_learn_is_said(tmp_path):
    proc = run("--env", "CartPole-v1", "--agent", "dqn", "--steps", "500", "--learning-starts", "1000",
               "--eval-episodes", "1", "--run-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "--learning-starts 1000" in warnings[0]


def test_seed_reaches_a_loaded_agent(rooms_run):
    """Found in review: --load set agent.seed but kept the random streams of the checkpoint's seed,
    so --load CKPT --seed 7 explored with seed 0's numbers. train.py now loads with the run's seed."""
    from gymlab import agents
    from gymlab.agents import seeding

    _, run_dir = rooms_run  # trained with seed 7
    for name in ("q", "dqn"):
        path = run_dir / "checkpoint.npz"
        if name == "dqn":
            import gymnasium as gym

            env = gym.make("CartPole-v1")
            path = run_dir.parent / "dqn.npz"
            agents.get("dqn")(env.observation_space, env.action_space, seed=7).save(path)
        loaded = agents.get(name).load(path, seed=3)
        assert loaded.seed == 3 and loaded.rng.random() == seeding.agent_rng(3).random()
    code = ("import sys, train; from gymlab import agents; seen = {}; real = agents.get('q').load\n"
            "def spy(*a, **k):\n    agent = real(*a, **k); seen['seed'] = agent.seed; "
            "seen['draw'] = agent.rng.random(); return agent\n"
            "agents.get('q').load = spy\n"
            f"assert train.main(['--load', {str(run_dir / 'checkpoint.npz')!r}, '--seed', '3', '--eval-episodes', '1', "
            "'--no-progress', '--run-dir', sys.argv[1]]) == 0\n"
            "from gymlab.agents import seeding; assert seen == {'seed': 3, 'draw': seeding.agent_rng(3).random()}, seen")
    proc = subprocess.run([sys.executable, "-c", code, str(run_dir.parent / "reseeded")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
