"""``train.py --resume``: a run stopped by Ctrl-C (SIGINT) at any moment and resumed ends with the
same checkpoint arrays and the same ``summary.json`` (timings aside) as the same run left alone.

Each case runs in this process: the run left alone once, then runs stopped at steps drawn at
random (a real SIGINT, raised from inside the env loop at that step, so it lands wherever the
loop is) and resumed, once or twice. A hard stop (no chance to save, as under SIGKILL) goes on
from the last periodic resume state instead, and ends the same too.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

import train
from children import wait_for
from gymlab.agents.logger import RunLogger

ROOT = Path(__file__).resolve().parents[1]
TIMINGS = ("wall_time_s", "periodic_eval_time_s", "env_steps_per_s", "periodic_eval_wall_s")

CASES = {  # name -> train.py flags (small budgets: every piece of each loop still runs many times)
    "q-cliff": ["--env", "CliffWalking-v1", "--agent", "q", "--steps", "6000", "--eval-every", "1500",
                "--max-episode-steps", "200"],
    "dqn-cartpole": ["--env", "CartPole-v1", "--agent", "dqn", "--steps", "1200", "--learning-starts", "300",
                     "--target-update-interval", "150", "--eval-every", "400", "--hidden", "32"],
    "dqn-per-cartpole": ["--env", "CartPole-v1", "--agent", "dqn", "--steps", "1200", "--learning-starts", "300",
                         "--prioritized", "--n-step", "3", "--eval-every", "400", "--hidden", "32",
                         "--buffer-size", "500"],
    # Pixel Pong's defaults (a CNN on 4 stacked frames, frame-once replay, 4 courts side by side), with
    # prioritised replay in rings small enough to wrap several times, and short episodes.
    "dqn-pong-pixels-4envs": ["--env", "pong-pixels", "--agent", "dqn", "--num-envs", "4", "--steps", "600",
                              "--learning-starts", "100", "--buffer-size", "200", "--batch-size", "8", "--hidden",
                              "16", "--prioritized", "--target-update-interval", "100", "--eval-every", "200",
                              "--env-kwargs", "points_to_win=1", "--max-episode-steps", "40"],
    "reinforce-cartpole-4envs": ["--env", "CartPole-v1", "--agent", "reinforce", "--num-envs", "4",
                                 "--batch-episodes", "4", "--steps", "3000", "--eval-every", "1000"],
    # Points as batch units on 4 courts, full courts waiting paused for the update (agents/point_batches.py)
    "reinforce-pong-points-4envs": ["--env", "pong-pixels", "--agent", "reinforce", "--policy", "mlp", "--hidden",
                                    "16", "--point-returns", "--round-batches", "--num-envs", "4",
                                    "--batch-episodes", "8", "--steps", "3000", "--eval-every", "1000",
                                    "--env-kwargs", "points_to_win=2", "--max-episode-steps", "300"],
    # The same on both cores: the batch so far is sent to a new learner process, in order, on resume
    "reinforce-pong-points-2workers": ["--env", "pong-pixels", "--agent", "reinforce", "--policy", "mlp", "--hidden",
                                       "16", "--point-returns", "--round-batches", "--num-envs", "4",
                                       "--batch-episodes", "8", "--steps", "3000", "--eval-every", "1000",
                                       "--env-kwargs", "points_to_win=2", "--max-episode-steps", "300",
                                       "--workers", "2"],
    "reinforce-recall-lstm": ["--env", "gymlab/Recall-v0", "--agent", "reinforce", "--policy", "lstm",
                              "--hidden", "16", "--num-envs", "1", "--batch-episodes", "4", "--steps", "1500",
                              "--eval-every", "500"],
    "hill-cartpole": ["--env", "CartPole-v1", "--agent", "hill", "--steps", "4000", "--alpha", "0.5",
                      "--eval-every", "1000"],
}
COMMON = ["--eval-episodes", "3", "--no-progress", "--seed", "3"]


def run(args: list[str]) -> int:
    return train.main(args)


def stop_at(monkeypatch, *steps: int, hard: bool = False):
    """Raise SIGINT (or, ``hard``, an exception nothing catches, as a kill) once the logger has
    counted each of ``steps``."""
    todo = sorted(steps)
    original = RunLogger.step

    class Killed(BaseException):
        pass

    def step(self, *a, **k):
        original(self, *a, **k)
        if todo and self.steps >= todo[0]:
            todo.pop(0)
            if hard:
                raise Killed
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(RunLogger, "step", step)
    return Killed


def outcome(run_dir: Path) -> tuple[dict, dict]:
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in TIMINGS:
        summary.pop(key)
    with np.load(run_dir / "checkpoint.npz") as data:
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
    return summary, arrays


def assert_same(a: Path, b: Path) -> None:
    (sa, xa), (sb, xb) = outcome(a), outcome(b)
    assert sa == sb
    assert xa.keys() == xb.keys()
    for k in xa:
        np.testing.assert_array_equal(xa[k], xb[k], err_msg=k)
    # The logs are whole and in order: what was written after the last resume state is not there twice.
    assert (a / "episodes.csv").read_text() == (b / "episodes.csv").read_text()


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """Each case run once, left alone (computed when first asked for)."""
    cache = {}

    def get(name: str) -> Path:
        if name not in cache:
            run_dir = tmp_path_factory.mktemp(name) / "alone"
            assert run(CASES[name] + COMMON + ["--run-dir", str(run_dir)]) == 0
            cache[name] = run_dir
        return cache[name]

    return get


@pytest.mark.parametrize("name", sorted(CASES))
def test_stopped_and_resumed_ends_as_left_alone(name, alone, tmp_path, monkeypatch):
    """Stopped by Ctrl-C, resumed and stopped again, resumed to the end: the run left alone. The
    stops are drawn from the case's name (crc32: the same every run; Python's str hash is salted
    per process, so they used to differ from run to run), and the second comes after the step the
    first run reached, since a run goes on to its next safe point after Ctrl-C (the hill climber:
    to the end of its trial): drawn before it, the second stop fell inside the first run, and the
    resumed run, with no stop left, ended 0 instead of 130 (seen in CI)."""
    budget = int(CASES[name][CASES[name].index("--steps") + 1])
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    first = int(rng.integers(5, budget // 2))
    run_dir = tmp_path / "stopped"
    stop_at(monkeypatch, first)
    assert run(CASES[name] + COMMON + ["--run-dir", str(run_dir)]) == 130
    interrupted = json.loads((run_dir / "summary.json").read_text())
    assert interrupted["interrupted"] and first <= interrupted["env_steps"] < budget
    monkeypatch.undo()
    if interrupted["env_steps"] < budget - 10:  # room for a second stop
        stop_at(monkeypatch, int(rng.integers(interrupted["env_steps"] + 1, budget - 5)))
        assert run(["--resume", str(run_dir), "--no-progress"]) == 130  # stopped a second time
        monkeypatch.undo()
    assert run(["--resume", str(run_dir), "--no-progress"]) == 0
    assert_same(alone(name), run_dir)


@pytest.mark.parametrize("name", ["dqn-per-cartpole", "reinforce-cartpole-4envs", "hill-cartpole", "q-cliff"])
def test_a_hard_stop_resumes_from_the_last_periodic_state(name, alone, tmp_path, monkeypatch):
    """Killed with no chance to save: the resume state of the last periodic evaluation is whole (written
    atomically), and the rows logged after it are cut away, so the run still ends as if left alone."""
    run_dir = tmp_path / "killed"
    budget = int(CASES[name][CASES[name].index("--steps") + 1])
    killed = stop_at(monkeypatch, int(budget * 0.6), hard=True)
    with pytest.raises(killed):
        run(CASES[name] + COMMON + ["--run-dir", str(run_dir)])
    monkeypatch.undo()
    assert run(["--resume", str(run_dir), "--no-progress"]) == 0
    assert_same(alone(name), run_dir)


def test_a_finished_run_trains_on_with_a_larger_budget(alone, tmp_path):
    """REINFORCE's updates do not depend on the budget: 2000 steps, then resumed to 3000, is the 3000-step run."""
    flags = CASES["reinforce-cartpole-4envs"] + COMMON
    short = [("2000" if f == "3000" else f) for f in flags]
    run_dir = tmp_path / "short"
    assert run(short + ["--run-dir", str(run_dir)]) == 0
    assert 2000 <= json.loads((run_dir / "summary.json").read_text())["env_steps"] < 2004  # 4 envs a step
    assert run(["--resume", str(run_dir), "--no-progress"]) == 2  # finished: it says to give more steps
    assert run(["--resume", str(run_dir), "--no-progress", "--steps", "3000"]) == 0
    assert_same(alone("reinforce-cartpole-4envs"), run_dir)


def test_resume_refuses_what_it_cannot_do_in_one_line(tmp_path, capsys):
    run_dir = tmp_path / "r"
    assert run(["--resume", str(run_dir)]) == 2
    assert "no such run directory" in capsys.readouterr().err
    run_dir.mkdir()
    assert run(["--resume", str(run_dir)]) == 2
    assert "holds no resume.npz" in capsys.readouterr().err
    (run_dir / "resume.npz").write_bytes(b"not a zip")
    assert run(["--resume", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "corrupt" in err and err.count("\n") == 1
    assert run(["--resume", str(run_dir), "--gamma", "0.5"]) == 2  # settings are the run's own
    assert run(["--resume", str(run_dir), "--seed", "4"]) == 2
    assert "cannot be given with it" in capsys.readouterr().err


def test_a_real_ctrl_c_from_outside(tmp_path, spawn):
    """SIGINT from another process at a moment it does not choose: exit 130, then the resumed
    run ends as the one left alone (tabular Q: no torch import, so this stays quick)."""
    flags = ["--env", "CliffWalking-v1", "--agent", "q", "--steps", "20000", "--eval-every", "4000",
             "--max-episode-steps", "200", "--eval-episodes", "2", "--no-progress"]
    code = "import sys, train; sys.exit(train.main(sys.argv[1:]))"
    stopped = tmp_path / "stopped"
    proc = spawn([sys.executable, "-c", code, *flags, "--run-dir", str(stopped)], cwd=ROOT)
    wait_for(stopped / "episodes.csv", proc)
    time.sleep(np.random.default_rng().uniform(0.05, 0.3))  # a moment nobody chose
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in out
    assert run(["--resume", str(stopped)]) == 0
    alone_dir = tmp_path / "alone"
    assert run(flags + ["--run-dir", str(alone_dir)]) == 0
    assert_same(alone_dir, stopped)


# ------------------------------------------------------------------ what the review of --resume found
SMALL_DQN = ["--env", "CartPole-v1", "--agent", "dqn", "--steps", "600", "--learning-starts", "100",
             "--hidden", "16", "--eval-every", "200"] + COMMON


def test_an_env_from_a_module_resumes(tmp_path, monkeypatch):
    """``--env module:id``: --resume imports the module again (in a new process nothing has)."""
    import gymnasium as gym

    (tmp_path / "my_cart_module.py").write_text(
        "import gymnasium as gym\n"
        "gym.register('MyCart-v0', entry_point='gymnasium.envs.classic_control.cartpole:CartPoleEnv', "
        "max_episode_steps=200)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    run_dir = tmp_path / "run"
    flags = ["--env", "my_cart_module:MyCart-v0", "--agent", "reinforce", "--steps", "600",
             "--eval-every", "200"] + COMMON
    stop_at(monkeypatch, 300)
    assert run(flags + ["--run-dir", str(run_dir)]) == 130
    monkeypatch.undo()
    monkeypatch.syspath_prepend(str(tmp_path))
    del gym.envs.registry["MyCart-v0"], sys.modules["my_cart_module"]  # as in a new process
    assert run(["--resume", str(run_dir), "--no-progress"]) == 0


def test_a_corrupt_or_foreign_resume_state_is_one_line(tmp_path, capsys):
    from gymlab import resume

    run_dir = tmp_path / "run"
    assert run(SMALL_DQN + ["--run-dir", str(run_dir), "--steps", "300"]) == 0
    path = run_dir / "resume.npz"
    good = path.read_bytes()
    meta, tree = resume.read(path)
    obs = tree["agent"]["loop"]["buffer"]["obs"]  # a Big array: read only when the buffer is rebuilt
    with __import__("zipfile").ZipFile(path) as zf:
        info = zf.getinfo(obs.name + ".npy")
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data = bytearray(good)
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    capsys.readouterr()
    assert run(["--resume", str(run_dir), "--steps", "400"]) == 2
    err = capsys.readouterr().err
    assert "corrupt" in err and err.count("\n") == 1, err
    path.write_bytes(good)
    meta, tree = resume.read(path)
    buffer = tree["agent"]["loop"]["buffer"]
    buffer["obs"], buffer["next_obs"] = resume.read_array(buffer["obs"]), resume.read_array(buffer["next_obs"])
    meta["run"]["agent"] = "no-such-agent"  # (and in run.json: the run itself named that agent)
    resume.write(path, meta, tree)
    identity = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**identity, "agent": "no-such-agent"}))
    assert run(["--resume", str(run_dir), "--steps", "400"]) == 2
    assert "does not fit" in capsys.readouterr().err


def test_a_failed_resume_write_warns_and_training_goes_on(tmp_path, monkeypatch, capsys):
    from gymlab import resume

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(resume, "write", full_disk)
    run_dir = tmp_path / "run"
    assert run(SMALL_DQN + ["--run-dir", str(run_dir)]) == 0
    assert json.loads((run_dir / "summary.json").read_text())["env_steps"] == 600
    err = capsys.readouterr().err
    assert "resume state not written at step 200: No space left on device" in err


def test_an_episode_budget_writes_periodic_resume_states(tmp_path, monkeypatch):
    """--episodes N evaluates (and writes the resume state) every N/10 episodes by default."""
    flags = ["--env", "CartPole-v1", "--agent", "reinforce", "--episodes", "60", "--batch-episodes", "4"] + COMMON
    alone_dir, run_dir = tmp_path / "alone", tmp_path / "killed"
    assert run(flags + ["--run-dir", str(alone_dir)]) == 0
    assert len(json.loads((alone_dir / "summary.json").read_text())["periodic_eval"]) == 10
    killed = stop_at(monkeypatch, 1000, hard=True)
    with pytest.raises(killed):
        run(flags + ["--run-dir", str(run_dir)])
    monkeypatch.undo()
    assert run(["--resume", str(run_dir), "--no-progress"]) == 0
    assert_same(alone_dir, run_dir)


def test_a_log_shorter_than_the_resume_state_keeps_its_rows(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    stop_at(monkeypatch, 400)
    assert run(SMALL_DQN + ["--run-dir", str(run_dir)]) == 130
    monkeypatch.undo()
    episodes = run_dir / "episodes.csv"
    rows = episodes.read_text().splitlines()
    episodes.write_text("\n".join(rows[:-1]) + "\n")  # the last row lost in a crash
    assert run(["--resume", str(run_dir), "--no-progress"]) == 0
    assert episodes.read_text().startswith("\n".join(rows[:-1]) + "\n")


def test_ctrl_c_after_the_last_step_still_stops_the_run(tmp_path, monkeypatch):
    """SIGINT while the final resume state is written: the run says it was interrupted (no final
    evaluation), and --resume finishes it."""
    original = RunLogger.close

    def close(self):
        signal.raise_signal(signal.SIGINT)
        original(self)

    monkeypatch.setattr(RunLogger, "close", close)
    run_dir = tmp_path / "run"
    assert run(SMALL_DQN + ["--run-dir", str(run_dir)]) == 130
    assert json.loads((run_dir / "summary.json").read_text())["interrupted"]
    monkeypatch.undo()
    assert run(["--resume", str(run_dir), "--no-progress"]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert not summary["interrupted"] and summary["eval"]["episodes"] == 3


def test_a_write_cut_short_leaves_no_temporary_file(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    stop_at(monkeypatch, 300)
    assert run(SMALL_DQN + ["--run-dir", str(run_dir)]) == 130
    monkeypatch.undo()
    (run_dir / ".resume.npz.abc123.tmp").write_bytes(b"half a file")  # as a hard stop mid-write leaves it
    assert run(["--resume", str(run_dir), "--no-progress"]) == 0
    assert not list(run_dir.glob(".*.tmp"))


def test_env_state_that_cannot_be_saved_is_named_not_skipped():
    """An engine object (here a lock, as a Box2D world would be) cannot be saved: the resume state
    says so, rather than resuming into an env that silently differs. A legacy RandomState and a
    plain helper object are saved."""
    import threading

    import gymnasium as gym

    from gymlab.resume import ResumeError, env_state, set_env_state

    a, b = gym.make("CartPole-v1"), gym.make("CartPole-v1")
    for env in (a, b):
        env.unwrapped.legacy = np.random.RandomState(0)
        env.unwrapped.helper = type("Helper", (), {})()
    a.unwrapped.legacy.random(5)
    a.unwrapped.helper.count = 7
    set_env_state(b, env_state(a))
    assert b.unwrapped.legacy.random() == a.unwrapped.legacy.random() and b.unwrapped.helper.count == 7
    a.unwrapped.world = threading.Lock()
    with pytest.raises(ResumeError, match=r"env\.env\.env\.env\.world \(a lock\)"):
        env_state(a)


@pytest.mark.parametrize("landing_read", [200, 201])
def test_a_stop_landing_between_two_looks_at_it_still_saves(tmp_path, monkeypatch, capsys, alone, landing_read):
    """CI once: a real SIGINT exited 130 without a resume state. It had landed in the safe point
    between its look at ``requested`` (to save) and its next one (to stop), so the run stopped
    unsaved. Here the signal lands at a chosen read of ``requested`` (an odd and an even one): the
    run is saved all the same, and resumed it ends as the one left alone."""
    from gymlab import signals

    class LandsAtRead(signals.DeferredStop):
        reads = 0

        @property
        def requested(self):
            LandsAtRead.reads += 1
            return LandsAtRead.reads >= landing_read

        @requested.setter
        def requested(self, value):
            pass

    monkeypatch.setattr(signals, "DeferredStop", LandsAtRead)
    stopped = tmp_path / "stopped"
    assert run(CASES["q-cliff"] + COMMON + ["--run-dir", str(stopped)]) == 130
    assert "--resume" in capsys.readouterr().out
    monkeypatch.undo()
    assert run(["--resume", str(stopped)]) == 0
    assert_same(alone("q-cliff"), stopped)
