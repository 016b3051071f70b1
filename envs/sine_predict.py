"""Sequence prediction as RL: predict the next value of a wave."""

from __future__ import annotations

import numpy as np
import gymnasium as gym
from gymnasium import spaces

from gymlab.envs._window import FrameRendering
from gymlab.sequence_tasks.data import AMPLITUDES, COSINE_STEP, random_cosines

_W, _H = 192, 96


class SinePredictEnv(FrameRendering, gym.Env):
    """
    ## Description

    A wave ``A cos(step t + phi)`` of random phase and amplitude, one value per
    step: the agent sees the current value and acts with its prediction of the
    next. The waves come from ``sequence_tasks.data.random_cosines``, the
    generator of the supervised ``cosine`` experiment. One value does not tell
    whether the wave is rising or falling, nor its amplitude: an agent must
    remember the values before it, so memoryless policies do poorly.

    ## Action Space

    `Box(-1, 1, (1,), float32)`: the predicted next value, in the units of the
    observations.

    ## Observation Space

    `Box(-1, 1, (1,), float32)`: the wave's current value divided by the largest
    amplitude (1.5 by default), so that observations and actions lie in
    [-1, 1], as SB3 recommends.

    ## Rewards

    Minus the squared error of the prediction, in the wave's own units:
    ``-(scale * (action - next observation))^2`` with ``scale`` the largest
    amplitude. An episode's return is minus the sum of squared errors (0 is
    perfect; always predicting 0 scores about ``-length * 0.54``).

    ## Starting State

    Phase uniform in [0, 2 pi), amplitude uniform in ``amplitudes``, both drawn
    from ``self.np_random``.

    ## Episode End

    - Termination: after ``length`` predictions.
    - Truncation: none of its own (``max_episode_steps`` 1000 in the registration).

    ## Information

    ``info["target"]``, from ``step``: the value just predicted (the new
    observation), for learners that want it by name.

    ## Arguments

    - ``length``: predictions per episode (default 200).
    - ``step``: radians per step (default 10/99, the lecture's sampling).
    - ``amplitudes``: the range of ``A`` (default (0.5, 1.5)).
    - ``render_mode``: ``None``, ``"human"`` or ``"rgb_array"`` (the wave so far in grey,
      the predictions in red).

    >>> import gymnasium as gym
    >>> import gymlab
    >>> env = gym.make("gymlab/SinePredict-v0", length=3)
    >>> obs, info = env.reset(seed=0)
    >>> obs2, reward, terminated, truncated, info = env.step(obs)   # "no change"
    >>> bool(np.isclose(reward, -(1.5 * (obs[0] - obs2[0])) ** 2)), terminated
    (True, False)

    ## Version History

    - v0: first version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}
    window_title = "gymlab: SinePredict"

    def __init__(self, length: int = 200, step: float = COSINE_STEP, amplitudes=AMPLITUDES,
                 render_mode: str | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        if int(length) != length or length < 1:
            raise ValueError(f"length must be a whole number >= 1, got {length!r}")
        lo, hi = amplitudes
        if not 0 < lo <= hi:
            raise ValueError(f"amplitudes must satisfy 0 < low <= high, got {amplitudes!r}")
        self.length, self.step_size, self.amplitudes = int(length), float(step), (float(lo), float(hi))
        self.render_mode = render_mode
        self.scale = self.amplitudes[1]
        self.observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.wave = np.zeros(self.length + 1, np.float32)
        self.predictions: list[float] = []
        self.t = 0

    def _obs(self) -> np.ndarray:
        return self.wave[self.t:self.t + 1].copy()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        wave = random_cosines(self.np_random, 1, self.length + 1, self.step_size, self.amplitudes)[0]
        self.wave = np.clip(wave / self.scale, -1.0, 1.0)
        self.t, self.predictions = 0, []
        if self.render_mode == "human":
            self.render()
        return self._obs(), {}

    def step(self, action):
        a = np.asarray(action, dtype=np.float32).reshape(-1)
        if a.shape != (1,) or not np.isfinite(a[0]):
            raise ValueError(f"action must be one finite number, got {action!r}")
        prediction = float(np.clip(a[0], -1.0, 1.0))
        self.t += 1
        target = float(self.wave[self.t])
        self.predictions.append(prediction)
        reward = -((self.scale * (prediction - target)) ** 2)
        if self.render_mode == "human":
            self.render()
        return self._obs(), reward, self.t >= self.length, False, {"target": target}

    def _draw_frame(self) -> np.ndarray:
        frame = np.full((_H, _W, 3), 30, dtype=np.uint8)
        frame[_H // 2, :] = 60  # the axis
        n = self.length + 1
        cols = (np.arange(n) * (_W - 1) / max(n - 1, 1)).astype(int)

        def row(v):
            return np.clip((_H // 2 - np.asarray(v) * (_H // 2 - 4)).astype(int), 0, _H - 1)

        seen = slice(0, self.t + 1)
        frame[row(self.wave[seen]), cols[seen]] = 200
        if self.predictions:
            frame[row(self.predictions), cols[1:self.t + 1]] = (240, 70, 60)
        return frame
