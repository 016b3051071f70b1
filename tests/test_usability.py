"""Issue 23, items 5, 7, 11-16: what a user meets at the edges of the commands (Ctrl-C in the
sequence experiments, --env-kwargs words, loading a stranger's file, a display that is not
there, an env package in the working directory, the installed commands' names, one progress-bar
rule; item 5 is in test_usability_interrupts.py). Each test failed on the code before its fix."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from children import wait_for
from usability_helpers import HEADLESS, ROOT, console_script, kill_group, spawn, train_main, trained_checkpoint


@pytest.fixture(scope="module")
def frozen_ckpt(tmp_path_factory):
    """A q-table checkpoint on FrozenLake, and its run directory (with resume.npz)."""
    return trained_checkpoint(tmp_path_factory, "frozen", "--env", "FrozenLake-v1", "--agent", "q", "--steps", "200",
                              "--eval-every", "100", "--eval-episodes", "1")

# -- 7: --env-kwargs true/false/none/null -------------------------------------------------------

def test_env_kwargs_words_are_the_literals_and_frozenlake_is_not_slippery():
    import train

    from gymlab.experiment import make_env

    assert train.parse_env_kwargs(["a=false", "b=TRUE", "c=True", "d=none", "e=NULL", "f=word", "g='false'"]) == \
        {"a": False, "b": True, "c": True, "d": None, "e": None, "f": "word", "g": "false"}
    assert "true/false" in " ".join(train.build_parser().format_help().split())
    args, agent_cls, _ = train.parse(["--env", "FrozenLake-v1", "--agent", "q", "--env-kwargs", "is_slippery=false"])
    cfg = train.config(args, agent_cls)
    env = make_env("FrozenLake-v1", cfg.env_kwargs, None)
    table = env.unwrapped.P
    # Not slippery: every (state, action) has one outcome, of probability 1; from the start, RIGHT (2) goes to 1.
    assert all(len(table[s][a]) == 1 and table[s][a][0][0] == 1.0 for s in table for a in table[s])
    assert table[0][2][0][1] == 1 and table[0][1][0][1] == 4  # right -> 1, down -> 4


# -- 11: loading a checkpoint never imports a module it names -------------------------------------

@pytest.fixture
def stranger_module(tmp_path, monkeypatch):
    """A module on sys.path that leaves a mark when imported and registers Evil-v0 (FrozenLake)."""
    mark = tmp_path / "imported.txt"
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "evil_mod.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(mark)!r}).write_text('imported')\n"
        "import gymnasium as gym\n"
        "if 'Evil-v0' not in gym.envs.registry:\n"
        "    gym.register('Evil-v0', entry_point='gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv',"
        " max_episode_steps=100)\n")
    monkeypatch.syspath_prepend(str(tmp_path / "mods"))
    yield mark
    sys.modules.pop("evil_mod", None)


@pytest.mark.parametrize("field, named, flag", [("env", "evil_mod:Evil-v0", "--env"),
                                                 ("agent", "evil_mod:Agent", "--agent")])
def test_load_does_not_import_the_checkpoints_module(frozen_ckpt, stranger_module, tmp_path, field, named, flag):
    from gymlab.agents import checkpoint

    meta, arrays = checkpoint.load(frozen_ckpt)
    ckpt = tmp_path / "stranger.npz"
    checkpoint.save(ckpt, {**{k: v for k, v in meta.items() if k != "format"}, field: named}, arrays)
    code, _, err = train_main("--load", ckpt, "--run-dir", tmp_path / "r")
    assert not stranger_module.exists() and "evil_mod" not in sys.modules, "loading the file imported its module"
    assert code == 2 and err.count("\n") == 1 and f"{flag} {named}" in err, err
    if field == "env":
        code, _, err = train_main("--load", ckpt, "--env", named, "--eval-episodes", "1", "--run-dir", tmp_path / "r2")
        assert code == 0 and stranger_module.exists(), err  # named by the user: imported


# -- 12: NaN weights, a resume state given to --load, one policy for corrupt files ----------------

def test_nan_weights_are_refused(frozen_ckpt, tmp_path):
    from gymlab.agents import checkpoint

    meta, arrays = checkpoint.load(frozen_ckpt)
    name = next(k for k, v in arrays.items() if v.dtype.kind == "f" and v.size)
    bad = dict(arrays)
    bad[name] = np.full_like(arrays[name], np.nan)
    checkpoint.save(tmp_path / "nan.npz", {k: v for k, v in meta.items() if k != "format"}, bad)
    code, _, err = train_main("--load", tmp_path / "nan.npz", "--run-dir", tmp_path / "r")
    assert code == 2 and err.count("\n") == 1 and "not finite" in err, err
    assert not (tmp_path / "r").exists()


def test_load_of_a_resume_state_says_use_resume(frozen_ckpt, tmp_path):
    code, _, err = train_main("--load", frozen_ckpt.parent / "resume.npz", "--run-dir", tmp_path / "r")
    assert code == 2 and err.count("\n") == 1, err
    assert "resume state" in err and f"--resume {frozen_ckpt.parent}" in err, err


@pytest.mark.parametrize("data", [b"\x93NUMPY" + bytes(range(256)) * 3, bytes(range(256)) * 4])
def test_corrupt_checkpoint_and_resume_state_one_policy(frozen_ckpt, tmp_path, data):
    import shutil

    (tmp_path / "checkpoint.npz").write_bytes(data)
    code, _, err = train_main("--load", tmp_path / "checkpoint.npz", "--run-dir", tmp_path / "r")
    assert code == 2 and err.count("\n") == 1 and "corrupt" in err and "allow_pickle" not in err, err
    run_dir = tmp_path / "run"
    shutil.copytree(frozen_ckpt.parent, run_dir)
    (run_dir / "resume.npz").write_bytes(data)
    code, _, err = train_main("--resume", run_dir)
    assert code == 2 and err.count("\n") == 1 and "corrupt" in err and "allow_pickle" not in err, err


# -- 13: --render with a DISPLAY that has no server -----------------------------------------------

def test_render_with_a_dead_display_is_one_line(tmp_path):
    env = {**HEADLESS, "DISPLAY": ":97"}  # no X server answers there
    proc = subprocess.run([sys.executable, str(ROOT / "train.py"), "--env", "rooms", "--agent", "q", "--steps", "10",
                           "--eval-episodes", "1", "--render", "--run-dir", str(tmp_path / "r")],
                          capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and ":97" in proc.stderr, proc.stderr
    assert not (tmp_path / "r").exists()
    proc = subprocess.run([sys.executable, "-m", "gymlab", "play", "--max-steps", "2"], capture_output=True,
                          text=True, env={**env, "PYTHONPATH": str(ROOT)}, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and ":97" in proc.stderr, proc.stderr


# -- 14: --env mypkg:Env-v0 from the working directory, however the command is run ----------------

def test_env_module_in_the_working_directory(tmp_path):
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text(
        "import gymnasium as gym\n"
        "gym.register('MyEnv-v0', entry_point='gymnasium.envs.toy_text.frozen_lake:FrozenLakeEnv',"
        " max_episode_steps=20)\n")
    bin_dir = tmp_path.parent / (tmp_path.name + "-bin")
    commands = {
        "python train.py": [ROOT / "train.py"],
        "gymlab train": [console_script(bin_dir, "gymlab", "gymlab.cli:main"), "train"],
        "gymlab-train": [console_script(bin_dir, "gymlab-train", "gymlab.train:main")],
    }
    for i, (name, argv) in enumerate(commands.items()):
        proc = subprocess.run([sys.executable, *map(str, argv), "--env", "mypkg:MyEnv-v0", "--agent", "q", "--steps",
                               "20", "--eval-episodes", "1", "--no-progress", "--run-dir", f"r{i}"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 0, f"{name}: {proc.stderr}"


# -- 15: the installed commands name themselves; play --screenshot; --version; LICENSE; README ----

def test_commands_name_themselves_in_usage_and_errors(capsys):
    from gymlab import cli

    for command in ("train", "seq"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        out = capsys.readouterr().out
        assert out.startswith(f"usage: gymlab {command}"), out[:80]
        assert "python -m sequence_tasks" not in out and "usage: train.py" not in out
        assert cli.main([command, "--no-such-flag"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"gymlab {command}: error:") and f"gymlab {command} --help" in err, err
    assert cli.main(["--version"]) == 0
    from gymlab import __version__

    assert capsys.readouterr().out.strip() == f"gymlab {__version__}"


def test_interrupted_hint_names_the_command_run(tmp_path):
    script = console_script(tmp_path / "bin", "gymlab", "gymlab.cli:main")
    run_dir = tmp_path / "run"
    proc = spawn([script, "train", "--env", "rooms", "--agent", "q", "--steps", "100000000", "--no-progress",
                  "--run-dir", run_dir], cwd=tmp_path)
    try:
        wait_for(run_dir / "episodes.csv", proc)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        kill_group(proc)
    assert proc.returncode == 130, err
    assert f"gymlab train --resume {run_dir}" in out and "python train.py" not in out, out


@pytest.fixture(scope="module")
def pong_ckpt(tmp_path_factory):
    return trained_checkpoint(tmp_path_factory, "pong", "--env", "pong", "--agent", "dqn", "--steps", "30",
                              "--eval-episodes", "0", "--hidden", "8")


def _screenshot(out_dir, *args):
    from gymlab import play

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = play.main(["--screenshot", str(out_dir), *map(str, args)])
    return code, err.getvalue()


def test_screenshot_honours_zoom_against_and_refuses_a_corrupt_checkpoint(pong_ckpt, tmp_path, monkeypatch):
    import pygame

    from gymlab.agents import dqn
    from gymlab.envs import pong_engine as engine
    from gymlab.envs.pong import PongEnv

    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    assert _screenshot(tmp_path / "z", "--zoom", "0.5")[0] == 0
    assert pygame.image.load(str(tmp_path / "z" / "pong_human.png")).get_size() == (320, 240)
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really")
    code, err = _screenshot(tmp_path / "bad", "--against", tmp_path / "bad.npz")
    assert code == 2 and err.count("\n") == 1 and "corrupt" in err, err
    assert _screenshot(tmp_path / "a", "--against", pong_ckpt)[0] == 0
    # The reference: the trained agent's greedy actions (on its features) for the right paddle.
    agent = dqn.DQN.load(pong_ckpt)
    env = PongEnv(obs_type="pixels")
    obs, _ = env.reset(seed=0)
    for _ in range(60):
        action, _ = agent.predict(env._features[0].copy(), None, np.array([False]), deterministic=True)
        obs, *_ = env.step(int(action))
    saved = pygame.surfarray.array3d(pygame.image.load(str(tmp_path / "a" / "pong_pixels.png")))[::4, ::4, 0].T
    assert np.array_equal(saved, obs[:, :, 0])
    assert _screenshot(tmp_path / "s")[0] == 0  # the scripted follower plays otherwise: another picture
    plain = pygame.surfarray.array3d(pygame.image.load(str(tmp_path / "s" / "pong_pixels.png")))[::4, ::4, 0].T
    assert not np.array_equal(plain, saved) and engine.PIXELS == saved.shape[0]


def test_license_is_mit_and_shipped():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "LICENSE" in (ROOT / "MANIFEST.in").read_text()
    assert 'license-files = ["LICENSE"]' in (ROOT / "pyproject.toml").read_text()


def test_sb3_runs_resume_and_the_readme_says_so(tmp_path):
    run_dir = tmp_path / "run"
    code, _, err = train_main("--env", "CartPole-v1", "--agent", "sb3-a2c", "--steps", "40", "--eval-every", "20",
                              "--eval-episodes", "1", "--run-dir", run_dir)
    assert code == 0, err
    assert (run_dir / "resume.npz").is_file()
    code, _, err = train_main("--resume", run_dir, "--steps", "80")
    assert code == 0, err
    assert json.loads((run_dir / "summary.json").read_text())["env_steps"] == 80
    readme = " ".join(" ".join(p.read_text() for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]).split())
    assert "`sb3-*` references too" in readme  # the resume page says the references resume too
    assert "all but the `sb3-*` references" not in readme
    assert "all but the SB3 references" not in " ".join((ROOT / "train.py").read_text().split())


# -- 16: one progress-bar rule --------------------------------------------------------------------

def test_one_progress_bar_rule(tmp_path, monkeypatch):
    """No bar when stderr is not a terminal, in train.py's runs and the sequence experiments alike,
    both from gymlab.cli.progress_bar."""
    from gymlab import cli
    from gymlab.agents.base import Budget
    from gymlab.agents.logger import RunLogger
    from gymlab.sequence_tasks.common import Experiment

    made = []
    real = cli.progress_bar
    monkeypatch.setattr(cli, "progress_bar", lambda *a, **k: made.append(k) or real(*a, **k))
    err = io.StringIO()  # not a terminal
    with contextlib.redirect_stderr(err):
        (tmp_path / "e").mkdir()
        bar = Experiment("sine", 0, tmp_path / "e").progress(10, "seq")
        bar.update()
        bar.close()
        logger = RunLogger(tmp_path / "t", Budget(steps=10))
        logger.close()
    assert len(made) == 2
    assert err.getvalue() == ""
