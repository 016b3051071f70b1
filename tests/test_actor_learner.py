"""DQN's actor/learner split (``--workers 2``, ``agents/actor_learner.py``): deterministic per seed,
the single-process replay ratio, an actor at most one chunk behind, Ctrl-C stopping both processes,
exact resume at chunk boundaries, and an env that cannot go to another process refused in one line."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import train
from children import wait_for
from gymlab.agents import get
from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from test_resume import assert_same, stop_at

pytestmark = pytest.mark.workers  # each run starts a second process (conftest.py SEPARATE)

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--env", "CartPole-v1", "--agent", "dqn", "--steps", "800", "--learning-starts", "200", "--hidden", "16",
         "--target-update-interval", "150", "--eval-every", "300", "--eval-episodes", "2", "--no-progress",
         "--seed", "3", "--workers", "2", "--sync-every", "200"]
PIXELS = ["--env", "pong-pixels", "--agent", "dqn", "--num-envs", "4", "--steps", "400", "--learning-starts", "100",
          "--buffer-size", "200", "--batch-size", "8", "--hidden", "16", "--prioritized",
          "--target-update-interval", "100", "--eval-every", "160", "--env-kwargs", "points_to_win=1",
          "--max-episode-steps", "40", "--eval-episodes", "2", "--no-progress", "--seed", "3", "--workers", "2",
          "--sync-every", "96"]


def agent_after(workers: int, steps: int = 800, **config):
    Dqn = get("dqn")
    env = gym.make("CartPole-v1")
    cfg = Dqn.Config(hidden=(16,), learning_starts=200, workers=workers, sync_every=100, **config)
    agent = Dqn(env.observation_space, env.action_space, config=cfg, seed=5)
    logger = RunLogger(progress=False)
    agent.learn(env, Budget(steps=steps), logger)
    agent.steps_done = logger.steps
    return agent


def test_same_seed_twice_gives_the_same_weights(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert train.main(SMALL + ["--run-dir", str(a)]) == 0
    assert train.main(SMALL + ["--run-dir", str(b)]) == 0
    assert_same(a, b)


@pytest.mark.parametrize("config", [{}, {"train_freq": 3, "gradient_steps": 2, "num_envs": 3}])
def test_the_replay_ratio_is_the_single_process_one(config):
    """Gradient steps per env step: the same count as one process, and the one the schedule gives
    by hand (a round every train_freq steps after learning_starts, from the step the n-step window
    first fills the buffer)."""
    one, two = agent_after(1, **config), agent_after(2, **config)
    c = one.config
    for agent in one, two:  # (with 3 envs the last step may pass the budget by a step or two, as episodes end)
        rounds = sum(1 for step in range(c.learning_starts + 1, agent.steps_done + 1) if step % c.train_freq == 0)
        assert agent.updates == rounds * c.gradient_steps
    assert abs(one.updates - two.updates) <= c.gradient_steps


def test_the_actor_lags_by_at_most_one_chunk():
    """Chunk n is played by the weights the learner had after learning from chunks 0..n-2 (exactly the
    weights handed over: their checksum as the actor acted with them), and comes back when the
    learner has learned from chunks 0..n-1."""
    agent = agent_after(2)
    versions = agent.versions
    assert len(versions) >= 7
    assert [v for v, _, _ in versions] == [max(0, n - 1) for n in range(len(versions))]
    assert [learned for _, learned, _ in versions] == list(range(len(versions)))
    assert all(same for _, _, same in versions)
    assert all(learned - v <= 1 for v, learned, _ in versions)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        if entry.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_stops_both_with_130_and_a_resume_state(tmp_path, spawn):
    """A terminal's Ctrl-C (SIGINT to the whole process group): exit 130, the resume state written,
    the actor process gone; the resumed run ends as the run left alone."""
    flags = SMALL[:SMALL.index("--steps") + 1] + ["20000"] + SMALL[SMALL.index("--steps") + 2:]
    code = "import sys, train; sys.exit(train.main(sys.argv[1:]))"
    stopped = tmp_path / "stopped"
    proc = spawn([sys.executable, "-c", code, *flags, "--run-dir", str(stopped)], cwd=ROOT)
    wait_for(stopped / "episodes.csv", proc)
    deadline = time.monotonic() + 60
    while not children_of(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    actors = children_of(proc.pid)
    assert actors, "no actor process"
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert (stopped / "resume.npz").is_file() and "--resume" in out
    deadline = time.monotonic() + 15  # (spawn's resource tracker ends on its own once its pipe closes)
    while [pid for pid in actors if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in actors if alive(pid)]
    assert not left, [(Path(f"/proc/{pid}/cmdline").read_bytes(), children_of(pid)) for pid in left]
    assert "Traceback" not in err


@pytest.mark.parametrize("flags", [SMALL, PIXELS], ids=["cartpole", "pong-pixels-4envs"])
def test_resumed_at_chunk_boundaries_ends_as_left_alone(flags, tmp_path, monkeypatch):
    budget = int(flags[flags.index("--steps") + 1])
    alone, run_dir = tmp_path / "alone", tmp_path / "stopped"
    assert train.main(flags + ["--run-dir", str(alone)]) == 0
    stop_at(monkeypatch, budget // 4)
    assert train.main(flags + ["--run-dir", str(run_dir)]) == 130
    assert json.loads((run_dir / "summary.json").read_text())["env_steps"] < budget
    monkeypatch.undo()
    assert train.main(["--resume", str(run_dir), "--no-progress"]) == 0
    assert_same(alone, run_dir)


def test_an_env_that_does_not_pickle_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "locked_cart.py").write_text(
        "import threading\n"
        "import gymnasium as gym\n"
        "from gymnasium.envs.classic_control.cartpole import CartPoleEnv\n"
        "class LockedCart(CartPoleEnv):\n"
        "    def __init__(self, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.lock = threading.Lock()\n"
        "gym.register('LockedCart-v0', entry_point=LockedCart, max_episode_steps=200)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    flags = ["--env", "locked_cart:LockedCart-v0", "--agent", "dqn", "--steps", "300", "--no-progress",
             "--run-dir", str(tmp_path / "run")]
    assert train.main(flags + ["--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--workers 2" in err and "pickle" in err, err
    assert "Traceback" not in err
    assert train.main(flags + ["--workers", "1", "--eval-episodes", "1"]) == 0  # (one process runs it)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_stop_at_ends_the_run_at_the_evaluation_that_reached_it(workers, tmp_path):
    """--stop-at (Budget.stop) with --workers 2 stops where one process stops: the actor's own copy
    of the budget never sees it (the review's finding: it ran on to the whole budget, 1000 steps)."""
    argv = ["--env", "CartPole-v1", "--agent", "dqn", "--steps", "1000", "--learning-starts", "100", "--hidden", "8",
            "--eval-every", "200", "--eval-episodes", "1", "--stop-at", "1", "--no-progress", "--seed", "3",
            "--workers", workers, "--sync-every", "100", "--run-dir", str(tmp_path / "r")]
    assert train.main(argv) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert (summary["env_steps"], "stop_at" in json.dumps(summary["stopped"])) == (200, True)


def test_stop_at_on_the_actors_last_chunk_still_ends_cleanly(tmp_path):
    """The score reached in the chunk before the actor's last: that last chunk and its final state
    are taken, and the run ends at the evaluation's step."""
    argv = ["--env", "CartPole-v1", "--agent", "dqn", "--steps", "400", "--learning-starts", "100", "--hidden", "8",
            "--eval-every", "300", "--eval-episodes", "1", "--stop-at", "1", "--no-progress", "--seed", "3",
            "--workers", "2", "--sync-every", "100", "--run-dir", str(tmp_path / "r")]
    assert train.main(argv) == 0
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["env_steps"] == 300


def test_a_second_learn_with_two_workers_is_refused_not_restarted():
    """From Python, learn() again on the same agent and env would restart the actor's envs, counts
    and stream beside the learner's own (an n-step return across two trajectories): refused, in one
    sentence that says what does go on (--resume, or --workers 1)."""
    agent = agent_after(2, steps=300)
    with pytest.raises(ValueError, match="--workers 1"):
        agent.learn(agent.env, Budget(steps=600), RunLogger(progress=False))
