"""A pygame window that shows RGB frames, shared by every env's ``human`` mode.

Envs draw their frames as numpy arrays (``rgb_array`` needs no display); this
helper only puts a frame on screen at the env's ``render_fps``. pygame is
imported here, lazily, and only the display module is initialised
(``pygame.init()`` would start the mixer too).
"""

from __future__ import annotations

import os

import numpy as np


def import_pygame():
    """Import pygame quietly (no start-up banner)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    return pygame


class Window:
    """A window that shows ``(H, W, 3)`` uint8 frames, scaled by ``zoom``."""

    def __init__(self, title: str, fps: int, zoom: int = 1):
        self.title, self.fps, self.zoom = title, fps, zoom
        self._screen = None
        self._clock = None
        self.closed = False  # set when the user closes the window or presses Esc

    def show(self, frame: np.ndarray) -> None:
        pygame = import_pygame()
        h, w = frame.shape[:2]
        size = (w * self.zoom, h * self.zoom)
        if self._screen is None:
            pygame.display.init()
            pygame.display.set_caption(self.title)
            self._screen = pygame.display.set_mode(size)
            self._clock = pygame.time.Clock()
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (
                event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE
            ):
                self.closed = True
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.swapaxes(0, 1)))
        if self.zoom != 1:
            surface = pygame.transform.scale(surface, size)
        self._screen.blit(surface, (0, 0))
        pygame.display.flip()
        self._clock.tick(self.fps)

    def close(self) -> None:
        if self._screen is not None:
            pygame = import_pygame()
            pygame.display.quit()
            self._screen = None


class FrameRendering:
    """``render`` and ``close`` for an env that draws itself as an RGB array in
    ``_draw_frame()``: ``rgb_array`` returns the frame, ``human`` shows it at the
    env's ``render_fps``. Mix in before ``gym.Env``."""

    window_title = "gymlab"
    _window: Window | None = None

    def _draw_frame(self) -> np.ndarray:
        raise NotImplementedError

    def render(self):
        if self.render_mode is None:
            import gymnasium as gym

            gym.logger.warn('render() called without a render_mode; make the env with render_mode="rgb_array" '
                            'or "human".')
            return None
        frame = self._draw_frame()
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = Window(self.window_title, self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close(self):
        if self._window is not None:
            self._window.close()
            self._window = None
