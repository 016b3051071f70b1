"""``train.py --record-video``: every env's evaluation episode becomes an MP4 and a GIF, written
with no display, that decode to the episode's frames (the reset's, then one per step) at the
env's frame size; a normal run never imports the writer; a missing package or a bad flag is
one line, exit 2.

A GIF writer merges a frame identical to the one before into it, shown that much longer
(CartPole draws small moves at the same pixels; CharPredict's spaces draw nothing), so a GIF is
checked by its frames' durations: ``frames x frame time`` in all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import train
from gymlab import envs, experiment, runs, sweep
from gymlab.agents import seeding
from gymlab.experiment import RunConfig

iio = pytest.importorskip("imageio.v3", reason="the video extra is not installed")
Image = pytest.importorskip("PIL.Image")
video = pytest.importorskip("gymlab.video")

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--steps", "50", "--eval-episodes", "1", "--eval-every", "0", "--max-episode-steps", "20", "--no-progress"]

# Every gymlab env (the frames do not depend on the observation type: pong-pixels draws as pong does),
# and a classic Gymnasium env, drawn by pygame.
ENVS = envs.gymlab_ids() + ["CartPole-v1"]


def _mp4_frames(path: Path) -> np.ndarray:
    return iio.imread(path)  # (frames, H, W, 3)


def _gif(path: Path):
    """``(frames, size, duration of each frame in ms)``."""
    durations = []
    with Image.open(path) as gif:
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
        return gif.n_frames, gif.size, durations


@pytest.mark.parametrize("name", ENVS)
def test_every_env_records_its_evaluation_episode(name, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train.main(["--env", name, "--agent", "random", "--record-video", "--run-dir", str(run_dir), *QUICK]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    (entry,) = summary["videos"]
    frames = int(summary["eval"]["length_mean"]) + 1  # the reset's frame, then one per step
    assert entry["frames"] == frames and entry["gif_every"] == 1
    assert entry["gif_frame_ms"] == max(20, 10 * round(100 / entry["fps"]))

    # The frame the evaluation env shows after its reset, made as the run makes it.
    env_id, kwargs = envs.resolve(name)
    kwargs = {**kwargs, **experiment.evaluation_kwargs(env_id, kwargs)}
    env = experiment.make_env(env_id, kwargs, 20, "rgb_array")
    env.reset(seed=seeding.eval_seeds(summary["seed"], 1)[0])  # the final evaluation's first episode
    first = env.render()
    env.close()

    mp4 = _mp4_frames(run_dir / entry["mp4"])
    assert mp4.shape == (frames, *first.shape)
    assert np.abs(mp4[0].astype(int) - first).mean() < 6, "the video's first frame is not the env's"
    n, size, durations = _gif(run_dir / entry["gif"])
    factor = -(-max(first.shape[:2]) // video.GIF_MAX_SIDE)
    assert size == (-(-first.shape[1] // factor), -(-first.shape[0] // factor))
    assert n <= frames and sum(durations) == frames * entry["gif_frame_ms"]  # identical frames merged


def test_a_long_episode_gives_a_short_gif_and_a_whole_mp4(tmp_path, monkeypatch):
    monkeypatch.setattr(video, "GIF_MAX_FRAMES", 10)
    rng = np.random.default_rng(0)
    clip = video.EpisodeVideo(tmp_path, "long", fps=25)
    for _ in range(45):
        clip.add(rng.integers(0, 256, (33, 47, 3), dtype=np.uint8))  # odd sizes, every frame different
    written = clip.close()
    assert written["frames"] == 45 and written["gif_every"] == 8  # 45 > 10, 23 > 10, 12 > 10, 6 <= 10
    assert _mp4_frames(tmp_path / "long.mp4").shape == (45, 34, 48, 3)  # H.264's even sizes
    assert _gif(tmp_path / "long.gif") == (6, (48, 34), [320] * 6)  # frames 0, 8, ..., 40, each 8 x 40 ms
    assert not list(tmp_path.glob(".*.tmp"))


def test_large_frames_are_scaled_down_in_the_gif(tmp_path):
    clip = video.EpisodeVideo(tmp_path, "big", fps=30)
    for value in (0, 255):
        clip.add(np.full((500, 900, 3), value, np.uint8))
    clip.close()
    assert _gif(tmp_path / "big.gif")[:2] == (2, (300, 167))
    assert _mp4_frames(tmp_path / "big.mp4").shape == (2, 500, 900, 3)


def _videos(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / "videos").iterdir())


def test_video_episodes_survive_resume_and_force_clears_them(tmp_path):
    run_dir = tmp_path / "run"
    flags = ["--env", "rooms", "--agent", "q", "--record-video", "--run-dir", str(run_dir), *QUICK]
    assert train.main(flags + ["--eval-episodes", "3", "--video-episodes", "2"]) == 0
    two = ["eval-episode-0.gif", "eval-episode-0.mp4", "eval-episode-1.gif", "eval-episode-1.mp4"]
    assert _videos(run_dir) == two
    for p in (run_dir / "videos").iterdir():
        p.unlink()
    assert train.main(["--resume", str(run_dir), "--steps", "80", "--no-progress"]) == 0  # the run's own settings
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["env_steps"] == 80 and _videos(run_dir) == two
    assert [v["gif"] for v in summary["videos"]] == ["videos/eval-episode-0.gif", "videos/eval-episode-1.gif"]
    runs.prepare_run_dir(run_dir, force=True)  # what --force does: the earlier run's videos go too
    assert not (run_dir / "videos").exists()  # and the folder it made, then empty
    runs.release(run_dir)


def test_the_setting_survives_a_sweep_spec(tmp_path):
    base = RunConfig(env="rooms", agent="q", record_video=True, video_episodes=2, eval_episodes=3)
    sweep._write_json(tmp_path / "s" / sweep.SPEC_FILE, sweep.spec_of(sweep.SweepConfig(base, [0, 1])))
    restored = sweep.load_spec(tmp_path / "s").base
    assert (restored.record_video, restored.video_episodes) == (True, 2)


@pytest.mark.parametrize("flags,message", [
    (["--video-episodes", "0"], "argument --video-episodes: expected a whole number >= 1"),
    (["--video-episodes", "two"], "argument --video-episodes: expected a whole number >= 1"),
    (["--record-video", "--video-episodes", "3", "--eval-episodes", "2"], "--video-episodes 3 must be from 1"),
    (["--record-video", "--eval-episodes", "0"], "--video-episodes 1 must be from 1"),
    (["--video-episodes", "2"], "give --record-video too"),
    (["--record-video", "--render"], "--render and --record-video do not go together"),
])
def test_bad_video_flags_are_one_line(flags, message, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train.main(["--env", "rooms", "--agent", "q", "--run-dir", str(run_dir), "--steps", "50", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not run_dir.exists()


@pytest.mark.parametrize("module,package", [("imageio_ffmpeg", "imageio-ffmpeg"), ("PIL", "pillow")])
def test_a_missing_writer_says_how_to_install_it(module, package, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, module, None)  # import fails, as when it is not installed
    run_dir = tmp_path / "run"
    assert train.main(["--env", "rooms", "--agent", "q", "--record-video", "--run-dir", str(run_dir), *QUICK]) == 2
    err = capsys.readouterr().err
    assert f"needs {package}" in err and 'pip install -e ".[video]"' in err and err.count("\n") == 1, err
    assert not run_dir.exists()  # refused before training


HEADLESS = """
import sys, train
flags = sys.argv[2:]
if train.main(["--env", "rooms", "--agent", "q", "--run-dir", sys.argv[1] + "/plain", *flags]) != 0:
    sys.exit(1)
if {"imageio", "imageio_ffmpeg", "gymlab.video"} & set(sys.modules):
    sys.exit(3)  # a normal run imported the writer
sys.exit(train.main(["--env", "CartPole-v1", "--agent", "random", "--record-video", "--run-dir",
                     sys.argv[1] + "/video", *flags]))
"""


def test_no_display_needed_and_a_normal_run_never_imports_the_writer(tmp_path):
    """With no display and no SDL_VIDEODRIVER: a normal run imports no writer, and CartPole, drawn
    by pygame (Gymnasium's pygame.init()), records without a word on stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    proc = subprocess.run([sys.executable, "-c", HEADLESS, str(tmp_path), *QUICK], cwd=ROOT,
                          env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert (tmp_path / "video" / "videos" / "eval-episode-0.mp4").is_file()
