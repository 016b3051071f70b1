"""The wheel as a user installs it: one top-level name, ``gymlab``, beside a project that owns
``agents``, ``envs`` and ``train`` (measured before: such a wheel overwrote ours, and a local
``envs/`` shadowed ours). Both must import and work, in either install order, and
uninstalling the other project must leave gymlab whole.

The fresh venv gets gymlab's dependencies (torch, gymnasium, ...) from this interpreter's
site-packages through a ``.pth`` line, so the test needs no network and installs no torch;
that line adds the directory only (Python reads ``.pth`` files in site dirs alone), so this
checkout's editable install does not leak into the venv.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def sh(*cmd, cwd=None, env=None, timeout=300):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


def build_wheel(src: Path, out: Path) -> Path:
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", out, src)
    return next(out.glob("*.whl"))


def rival_project(where: Path) -> Path:
    """A five-file project that owns the generic names gymlab used to install."""
    (where / "agents").mkdir(parents=True)
    (where / "envs").mkdir()
    (where / "agents" / "__init__.py").write_text("RIVAL = 'agents'\n")
    (where / "envs" / "__init__.py").write_text("RIVAL = 'envs'\n")
    (where / "train.py").write_text("RIVAL = 'train'\n")
    (where / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "rival-agents"
        version = "1.0"
        [tool.setuptools]
        packages = ["agents", "envs"]
        py-modules = ["train"]
        """))
    return where


def clean_copy(dest: Path) -> Path:
    """The checkout's files without build leftovers (a stale build/ could smuggle old modules in)."""
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "runs", "*.egg-info",
                                                              "__pycache__", ".pytest_cache"))
    return dest


def fresh_venv(venv: Path) -> Path:
    """A new venv (its python returned) that sees this interpreter's packages through a ``.pth`` line,
    so pip counts them as installed and fetches nothing they already satisfy."""
    sh(sys.executable, "-m", "venv", venv)
    py = venv / "bin" / "python"
    site = Path(sh(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    (site / "gymlab_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return py


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheels")
    ours = build_wheel(clean_copy(tmp_path_factory.mktemp("src") / "gymlab"), out / "gymlab")
    rival = build_wheel(rival_project(tmp_path_factory.mktemp("rival")), out / "rival")
    return ours, rival


def test_the_wheel_installs_one_top_level_name(wheels):
    ours, _ = wheels
    names = zipfile.ZipFile(ours).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"gymlab", ours.name.split("-")[0] + "-" + ours.name.split("-")[1] + ".dist-info"}, top
    for needed in ("gymlab/__init__.py", "gymlab/train.py", "gymlab/envs/pong.py", "gymlab/agents/dqn.py",
                   "gymlab/sequence_tasks/backbone.py", "gymlab/sequence_tasks/data/sonnets.txt",
                   "gymlab/hyperparams/dqn.yml", "gymlab/hyperparams/reinforce.yml", "gymlab/py.typed"):
        assert needed in names, needed
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the MIT license ships in the wheel"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(ours).read(entry_points).decode()
    assert "gymlab = gymlab.cli:main" in text and "gymlab-train = gymlab.train:main" in text


def test_installed_beside_a_rival_both_work(wheels, tmp_path):
    """The rival is installed after gymlab: the order in which its agents/ used to overwrite ours."""
    ours, rival = wheels
    rival_first = False
    py = fresh_venv(tmp_path / "venv")
    venv = tmp_path / "venv"
    for wheel in ([rival, ours] if rival_first else [ours, rival]):
        sh(py, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", wheel)

    # A project directory of the user's own, with an envs/ of its own in the working directory.
    project = tmp_path / "project"
    (project / "envs").mkdir(parents=True)
    (project / "envs" / "__init__.py").write_text("LOCAL = True\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    check = textwrap.dedent("""\
        import json, gymnasium as gym
        env = gym.make("gymlab:gymlab/Rooms-v0")          # no import first
        obs, info = env.reset(seed=0)
        import gymlab, gymlab.agents, gymlab.agents.hyperparams, gymlab.envs, gymlab.sequence_tasks.data as data
        import agents, envs, train                        # the rival's (and the project's envs/)
        print(json.dumps({"gymlab": gymlab.__file__, "obs": int(obs), "agents": agents.RIVAL,
                          "envs": getattr(envs, "LOCAL", False), "train": train.RIVAL,
                          "q": gymlab.agents.get("q").__module__, "text": len(data.load_text()),
                          "yml": gymlab.agents.hyperparams.defaults("dqn", "pong-pixels")[1],
                          "all": sorted({gymlab.agents.get(n).__module__ for n in gymlab.agents.names()})}))
        """)
    got = json.loads(sh(py, "-c", check, cwd=project, env=env).stdout)
    assert "site-packages" in got["gymlab"] and str(ROOT) not in got["gymlab"]
    assert got["agents"] == "agents" and got["train"] == "train" and got["envs"] is True
    assert got["q"] == "gymlab.agents.q_learning" and got["text"] > 40_000
    assert got["yml"] == {"steps": 150_000, "stop_at": 10.0, "eval_every": 10_000}  # the installed dqn.yml's entry
    assert all(m.startswith("gymlab.agents.") for m in got["all"]), got["all"]  # every agent, SB3's too

    run_dir = tmp_path / "run"
    sh(venv / "bin" / "gymlab-train", "--env", "rooms", "--agent", "q", "--steps", "300", "--eval-episodes", "2",
       "--no-progress", "--run-dir", run_dir, cwd=project, env=env)
    assert json.loads((run_dir / "summary.json").read_text())["env_steps"] == 300
    sh(venv / "bin" / "gymlab", "train", "--env", "rooms", "--agent", "q", "--steps", "100", "--no-progress",
       "--run-dir", tmp_path / "run2", cwd=project, env=env)

    # Removing the other project leaves gymlab whole.
    sh(py, "-m", "pip", "uninstall", "--yes", "--quiet", "rival-agents", env=env)
    sh(venv / "bin" / "gymlab-train", "--env", "rooms", "--agent", "q", "--steps", "100", "--no-progress",
       "--run-dir", tmp_path / "run3", cwd=project, env=env)


# ------------------------------------------------------------------ beside Gymnasium's and SB3's extras
RENDER = textwrap.dedent("""\
    import json, os, sys
    import gymnasium as gym, numpy as np, pygame
    import gymlab  # noqa: F401
    out = {"ce": bool(getattr(pygame, "IS_CE", False)), "gymlab": gymlab.__file__, "envs": {}}
    for env_id, kw in [("gymlab/Rooms-v0", {}), ("gymlab/Pong-v0", {}), ("gymlab/Recall-v0", {}), ("CartPole-v1", {})]:
        env = gym.make(env_id, render_mode="rgb_array", **kw)
        env.reset(seed=0)
        frame = env.render()
        env.close()
        env = gym.make(env_id, render_mode=sys.argv[1], **kw)
        env.reset(seed=0)
        for _ in range(3):
            env.step(env.action_space.sample())
        window = pygame.display.get_surface()
        out["envs"][env_id] = {"frame": list(frame.shape), "std": float(frame.std()),
                               "window": list(window.get_size()) if window else None,
                               "driver": pygame.display.get_driver() if pygame.display.get_init() else None}
        env.close()
    print(json.dumps(out))
    """)


def virtual_display():
    """Xvfb on a display it picks itself (-displayfd), in its own process group: ``(process, ":N")``,
    or ``(None, None)`` when there is no Xvfb here. ``-noreset``: by default the server resets when its
    last client leaves, and a window opened meanwhile (the next env's) fails, "x11 not available"."""
    if shutil.which("Xvfb") is None:
        return None, None
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp",
                             "-noreset"],
                            pass_fds=(write,), start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        stop(proc)
        return None, None
    return proc, f":{number}"


def stop(proc) -> None:
    """End the process group we started (Xvfb's), and wait for it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@pytest.mark.install
def test_beside_gymnasium_and_sb3_extras_one_pygame_renders(wheels, tmp_path):
    """The user's venv has ``gymnasium[classic-control]`` and ``stable-baselines3[extra]`` (both pull
    pygame-ce); our wheel goes in with its dependencies resolved by pip, and must not bring the plain
    ``pygame`` beside it (the two share the ``pygame`` package: one overwrites the other). Then our
    envs and CartPole draw ``rgb_array`` frames, and windows in ``human`` mode on a virtual X display."""
    ours, _ = wheels
    py = fresh_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "SDL_VIDEODRIVER")}
    sh(py, "-m", "pip", "install", "--quiet", "gymnasium[classic-control]", "stable-baselines3[extra]", env=env,
       timeout=900)
    sh(py, "-m", "pip", "install", "--quiet", ours, env=env, timeout=900)
    names = json.loads(sh(py, "-c", "import importlib.metadata as m, json; "
                                    "print(json.dumps(sorted({d.metadata['Name'].lower() for d in m.distributions()})))",
                          env=env).stdout)
    assert "pygame-ce" in names and "pygame" not in names, [n for n in names if "pygame" in n]

    xvfb, display = virtual_display()
    try:
        human_env = {**env, "DISPLAY": display} if display else {**env, "SDL_VIDEODRIVER": "dummy"}
        got = json.loads(sh(py, "-c", RENDER, "human", cwd=tmp_path, env=human_env).stdout)
    finally:
        if xvfb is not None:
            stop(xvfb)
    assert got["ce"] and "site-packages" in got["gymlab"] and str(ROOT) not in got["gymlab"]
    for env_id, seen in got["envs"].items():
        assert len(seen["frame"]) == 3 and seen["frame"][2] == 3 and seen["std"] > 0, (env_id, seen)
        assert seen["window"] and min(seen["window"]) > 0, (env_id, seen)
        assert seen["driver"] == ("x11" if display else "dummy"), (env_id, seen)
