"""Videos of evaluation episodes, written with no display: ``train.py --record-video``.

    python train.py --env rooms --agent q --record-video                       # RUN_DIR/videos/eval-episode-0.mp4, .gif
    python train.py --env pong --agent dqn --record-video --video-episodes 3   # the first 3 evaluation episodes

The evaluation env is made with ``render_mode="rgb_array"`` and wrapped in ``VideoRecorder``,
which streams each recorded episode's frames (the reset's, then one per step) into

- ``eval-episode-<i>.mp4``: every frame, at the env's ``render_fps`` (H.264 through the ffmpeg
  binary that imageio-ffmpeg ships; a frame of odd width or height gets one edge row or column
  more, as H.264 asks for even sizes);
- ``eval-episode-<i>.gif`` (pillow), kept small: frames larger than ``GIF_MAX_SIDE`` pixels are
  scaled down by a whole factor, and an episode of more than ``GIF_MAX_FRAMES`` frames keeps every
  2nd (4th, ...) frame, each shown that much longer, so the GIF still plays in real time. (GIF
  writers merge a frame identical to the one before into it.)

Why not Gymnasium's ``RecordVideo``: it needs moviepy (and moviepy's own ffmpeg) and keeps a
whole episode's frames in memory before it writes them: a game of Pong is 4 500 frames of
640x480, 4 GB. Here only the GIF's frames are held (at most ``GIF_MAX_FRAMES``, small, in 256
colours). Files are written under a temporary name and moved into place when the episode ends,
as every file of a run is.

Nothing here imports imageio-ffmpeg or pillow until a video is recorded: ``require()`` checks
them (and the ffmpeg binary) before training starts.
"""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym
import numpy as np

from gymlab.cli import UsageError

INSTALL = 'pip install imageio-ffmpeg pillow  (or: pip install -e ".[video]")'
GIF_MAX_SIDE = 400     # pixels: Pong's 640x480 becomes 320x240, Rooms' 380x320 stays
GIF_MAX_FRAMES = 200   # longer episodes keep every 2nd, 4th, ... frame


def require() -> None:
    """Refuse, in one line, a recording that could not be written (checked before training)."""
    missing = []
    for module, package in (("imageio_ffmpeg", "imageio-ffmpeg"), ("PIL", "pillow")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise UsageError(f"--record-video needs {' and '.join(missing)}, not installed here: {INSTALL}")
    import imageio_ffmpeg

    try:
        imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as err:
        raise UsageError(f"--record-video needs an ffmpeg binary, and imageio-ffmpeg finds none: {err}") from err


def headless() -> None:
    """With no display, tell SDL so: Gymnasium's own envs (CartPole, ...) call ``pygame.init()`` to
    draw their ``rgb_array`` frames, which would probe for one and print an error line."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def check_frames(env) -> None:
    """Refuse an env that cannot give ``rgb_array`` frames, trying one (then closing ``env``)."""
    headless()
    try:
        modes = env.metadata.get("render_modes", [])
        if "rgb_array" not in modes:
            raise UsageError(f"--record-video needs rgb_array frames, and {env.spec.id} renders only {modes}")
        env.reset(seed=0)
        frame = env.render()
        if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3):
            raise UsageError(f"--record-video needs (H, W, 3) frames, and {env.spec.id} renders "
                             f"{getattr(frame, 'shape', type(frame).__name__)}")
    finally:
        env.close()


class VideoRecorder(gym.Wrapper):
    """Records the first ``episodes`` episodes of an ``rgb_array`` env into ``folder``;
    ``written`` lists them (file names relative to ``folder``, frame counts) as they end."""

    def __init__(self, env, folder: Path, episodes: int = 1, prefix: str = "eval-episode"):
        super().__init__(env)
        if env.render_mode != "rgb_array":
            raise ValueError(f"VideoRecorder needs render_mode='rgb_array', got {env.render_mode!r}")
        headless()
        self.folder, self.episodes, self.prefix = Path(folder), episodes, prefix
        self.fps = env.metadata.get("render_fps") or 30
        self.written: list[dict] = []
        self._episode, self._video = -1, None

    def reset(self, **kwargs):
        self._finish()  # an episode cut short (the caller reset before it ended)
        obs, info = super().reset(**kwargs)
        self._episode += 1
        if self._episode < self.episodes:
            self._video = EpisodeVideo(self.folder, f"{self.prefix}-{self._episode}", self.fps)
            self._video.add(self.env.render())
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if self._video is not None:
            self._video.add(self.env.render())
            if terminated or truncated:
                self._finish()
        return obs, reward, terminated, truncated, info

    def close(self):
        self._finish()
        super().close()

    def _finish(self):
        if self._video is not None:
            video, self._video = self._video, None
            if video.frames:
                self.written.append(video.close())


class EpisodeVideo:
    """One episode's frames, streamed into ``<name>.mp4`` (all of them) and ``<name>.gif`` (a few, small)."""

    def __init__(self, folder: Path, name: str, fps: float):
        self.folder, self.name, self.fps = folder, name, fps
        self.frames = 0
        self.gif, self.gif_every = [], 1  # the GIF holds frames 0, k, 2k, ... (k = gif_every)
        self._mp4 = None
        self._mp4_tmp = folder / f".{name}.mp4.tmp"

    def add(self, frame) -> None:
        frame = np.asarray(frame, dtype=np.uint8)
        frame = np.pad(frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)), mode="edge")
        if self._mp4 is None:
            import imageio_ffmpeg

            from gymlab import runs

            self.folder.mkdir(parents=True, exist_ok=True)
            runs.claim(self.folder / f"{self.name}.mp4")
            self._mp4 = imageio_ffmpeg.write_frames(
                str(self._mp4_tmp), (frame.shape[1], frame.shape[0]), fps=self.fps, codec="libx264",
                macro_block_size=1, output_params=["-f", "mp4"], ffmpeg_log_level="error")
            self._mp4.send(None)  # starts ffmpeg
        self._mp4.send(np.ascontiguousarray(frame))
        if self.frames % self.gif_every == 0:
            self.gif.append(_gif_frame(frame))
            if len(self.gif) > GIF_MAX_FRAMES:  # keep every other one, and from now on every 2k-th frame
                self.gif, self.gif_every = self.gif[::2], 2 * self.gif_every
        self.frames += 1

    def close(self) -> dict:
        """Finish both files (after at least one frame); what was written."""
        from gymlab import runs

        self._mp4.close()  # ffmpeg finishes the file
        os.chmod(self._mp4_tmp, runs.FILE_MODE)
        os.replace(self._mp4_tmp, self.folder / f"{self.name}.mp4")
        first, *rest = self.gif
        ms = max(20, 10 * round(100 * self.gif_every / self.fps))  # in 10 ms units; viewers slow down < 20 ms
        runs.atomic_write(self.folder / f"{self.name}.gif", lambda f: first.save(
            f, format="GIF", save_all=True, append_images=rest, duration=ms, loop=0))
        return {"mp4": f"{self.name}.mp4", "gif": f"{self.name}.gif", "frames": self.frames, "fps": self.fps,
                "gif_every": self.gif_every, "gif_frame_ms": ms}


def _gif_frame(frame: np.ndarray):
    """A frame for the GIF: scaled down by a whole factor to fit GIF_MAX_SIDE, in 256 colours."""
    from PIL import Image

    image = Image.fromarray(frame)
    factor = -(-max(frame.shape[:2]) // GIF_MAX_SIDE)
    if factor > 1:
        image = image.reduce(factor)  # the mean of each factor x factor block
    return image.quantize(256)
