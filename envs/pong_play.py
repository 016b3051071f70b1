"""Keyboard play and screenshots for gymlab's Pong: the pieces ``gymlab play`` puts together.

- ``AgainstAgent``: the game from the left paddle's side, against anything with
  a ``predict(obs, state, episode_start, deterministic)`` (a trained agent);
- ``play_keyboard(env)``: arrow keys move your paddle, Esc or closing the
  window quits, a new game starts when one ends (Gymnasium's ``utils.play``);
- ``save_screenshots(dir)``: a human-mode frame and a pixel observation.

This module knows nothing of the agents: loading a checkpoint to play
against is the command line's job (``gymlab/play.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym
import numpy as np

from gymlab.envs import pong_engine as engine
from gymlab.envs.pong import PongEnv


class AgainstAgent(gym.Env):
    """Pong from the left paddle's side: your action moves the left paddle, a trained
    agent plays the right one through its usual observations, and the reward is yours."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": PongEnv.metadata["render_fps"]}

    def __init__(self, agent, obs_type: str, points_to_win: int = 21):
        self.agent = agent
        self.game = PongEnv(render_mode="rgb_array", obs_type=obs_type, points_to_win=points_to_win,
                            opponent="external")
        self.render_mode = "rgb_array"
        self.action_space = gym.spaces.Discrete(3)
        self.observation_space = self.game.observation_space

    def reset(self, *, seed=None, options=None):
        self._obs, info = self.game.reset(seed=seed)
        self._state, self._start = None, True
        return self._obs, info

    def step(self, action):
        agent_action, self._state = self.agent.predict(self._obs, self._state, episode_start=np.array([self._start]),
                                                       deterministic=True)
        self._start = False
        self.game.opponent_action = int(action)
        self._obs, reward, terminated, truncated, info = self.game.step(int(agent_action))
        return self._obs, -reward, terminated, truncated, info

    def render(self):
        return self.game.render()


def save_screenshots(out_dir: Path, seed: int = 0, steps: int = 60, zoom: float = 1.0, agent=None,
                     obs_type: str = "features", difficulty: float = 0.5, points_to_win: int = 21) -> list[Path]:
    """Play a few steps, then save what the human-mode window shows (scaled by ``zoom``, as
    ``gymlab play --zoom`` scales it) and the 80x80 pixel observation at that moment (scaled up
    4x to be seen). The right paddle is played by ``agent`` (anything with ``predict``, reading
    ``obs_type`` observations, greedily) when given, else by a follower of the ball; the left by
    the scripted opponent at ``difficulty``."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # no screen: draw the window off-screen
    import pygame

    out_dir.mkdir(parents=True, exist_ok=True)
    env = PongEnv(render_mode="human", obs_type="pixels", difficulty=difficulty, points_to_win=points_to_win)
    env.metadata = {**env.metadata, "render_fps": 1000}  # no need to wait between frames here
    obs, _ = env.reset(seed=seed)
    state, start = None, True
    for _ in range(steps):
        if agent is not None:
            seen = env._features[0].copy() if obs_type == "features" else obs
            action, state = agent.predict(seen, state, episode_start=np.array([start]), deterministic=True)
            start = False
        else:
            gap = env._s[0, engine.BY] - env._s[0, engine.AY]
            action = 0 if abs(gap) < 0.02 else (engine.DOWN if gap > 0 else engine.UP)
        obs, *_ = env.step(int(action))
    human, pixels = out_dir / "pong_human.png", out_dir / "pong_pixels.png"
    window = pygame.display.get_surface()
    if zoom != 1.0:
        window = pygame.transform.scale(window, (round(window.get_width() * zoom), round(window.get_height() * zoom)))
    pygame.image.save(window, str(human))
    big = np.kron(obs[:, :, 0], np.ones((4, 4), dtype=np.uint8))
    pygame.image.save(pygame.surfarray.make_surface(np.stack([big.T] * 3, axis=-1)), str(pixels))
    env.close()
    return [human, pixels]


def play_keyboard(env: gym.Env, zoom: float = 1.0, max_steps: int | None = None) -> int:
    """Play ``env`` (Pong, ``rgb_array`` mode) with the arrow keys until Esc, the window is
    closed, or ``max_steps``; returns the steps played."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame
    from gymnasium.utils.play import play

    steps = [0]

    def count(*_):
        steps[0] += 1
        if max_steps is not None and steps[0] >= max_steps:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))

    pygame.display.init()
    try:
        play(env, keys_to_action={(pygame.K_UP,): engine.UP, (pygame.K_DOWN,): engine.DOWN}, noop=engine.STAY,
             zoom=zoom, callback=count)
    finally:
        pygame.display.quit()
    return steps[0]
