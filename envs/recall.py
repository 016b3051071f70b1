"""A memory task: name the symbol you saw ``delay`` steps ago."""

from __future__ import annotations

import numpy as np
import gymnasium as gym
from gymnasium import spaces

from gymlab.envs._window import FrameRendering

# Colours of the symbols in the picture (more symbols than colours reuse them).
_COLOURS = np.array([(230, 80, 70), (70, 160, 230), (90, 200, 110), (240, 200, 60),
                     (170, 100, 220), (240, 140, 40), (60, 200, 200), (200, 90, 160)], dtype=np.uint8)


class RecallEnv(FrameRendering, gym.Env):
    """
    ## Description

    A symbol (one of ``n_symbols``) is shown once; then come ``delay`` steps of
    blanks; then a query, at which the agent must name the symbol it saw. Only
    a policy with memory can do better than chance: at the query, the current
    observation says nothing about the symbol, and with ``delay`` longer than a
    frame stack the symbol has left the stack too.

    ## Action Space

    `Discrete(n_symbols)`: the symbol the agent names. Only the action at the
    query counts; the others are ignored.

    ## Observation Space

    `Box(0, 1, (n_symbols + 2,), float32)`:

    | Num               | Observation                      |
    |-------------------|----------------------------------|
    | 0 .. n_symbols-1  | the symbol, one-hot (first step) |
    | n_symbols         | 1 on a blank step                |
    | n_symbols + 1     | 1 at the query                   |

    ## Rewards

    1 for naming the right symbol at the query, 0 otherwise; so an episode's
    return is 1 or 0, and the mean return is the success rate (chance:
    1 / n_symbols).

    ## Starting State

    The symbol is drawn uniformly from ``self.np_random``.

    ## Episode End

    - Termination: after the answer at the query (``delay + 2`` steps in all).
    - Truncation: 1 000 steps (``max_episode_steps`` in the registration), which
      only a ``delay`` of 998 or more would reach.

    ## Arguments

    - ``delay``: blank steps between the symbol and the query (default 10).
    - ``n_symbols``: how many symbols (default 4).
    - ``render_mode``: ``None``, ``"human"`` or ``"rgb_array"`` (the current
      observation drawn as a 96x96 picture, with the time step as a bar).

    >>> import gymnasium as gym
    >>> import gymlab
    >>> env = gym.make("gymlab/Recall-v0", delay=2)
    >>> obs, info = env.reset(seed=0)
    >>> symbol = int(obs[:4].argmax())
    >>> for _ in range(3):  # the symbol's step and two blanks
    ...     obs, reward, terminated, truncated, info = env.step(0)
    >>> obs.tolist()  # the query
    [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    >>> env.step(symbol)[1:3]
    (1.0, True)

    ## Version History

    - v0: first version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 4}
    window_title = "gymlab: Recall"

    def __init__(self, delay: int = 10, n_symbols: int = 4, render_mode: str | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        if int(delay) != delay or delay < 0:
            raise ValueError(f"delay must be a whole number >= 0, got {delay!r}")
        if int(n_symbols) != n_symbols or n_symbols < 2:
            raise ValueError(f"n_symbols must be a whole number >= 2, got {n_symbols!r}")
        self.delay, self.n_symbols, self.render_mode = int(delay), int(n_symbols), render_mode
        self.observation_space = spaces.Box(0.0, 1.0, (self.n_symbols + 2,), np.float32)
        self.action_space = spaces.Discrete(self.n_symbols)
        self.symbol, self.t = 0, 0

    def _obs(self) -> np.ndarray:
        obs = np.zeros(self.n_symbols + 2, dtype=np.float32)
        if self.t == 0:
            obs[self.symbol] = 1.0
        elif self.t <= self.delay:
            obs[self.n_symbols] = 1.0  # blank
        else:
            obs[self.n_symbols + 1] = 1.0  # the query
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.symbol, self.t = int(self.np_random.integers(self.n_symbols)), 0
        if self.render_mode == "human":
            self.render()
        return self._obs(), {}

    # --8<-- [start:step]
    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action must be a symbol 0..{self.n_symbols - 1}, got {action!r}")
        at_query = self.t == self.delay + 1
        reward = 1.0 if at_query and int(action) == self.symbol else 0.0
        self.t += 1
        if self.render_mode == "human":
            self.render()
        return self._obs(), reward, at_query, False, {}
    # --8<-- [end:step]

    def _draw_frame(self) -> np.ndarray:
        frame = np.full((96, 96, 3), 40, dtype=np.uint8)
        if self.t == 0:
            frame[16:72, 16:80] = _COLOURS[self.symbol % len(_COLOURS)]
        elif self.t <= self.delay:
            frame[16:72, 16:80] = 90  # a blank card
        else:  # the query: a white card with a question mark drawn in blocks
            frame[16:72, 16:80] = 235
            for r0, r1, c0, c1 in ((24, 30, 38, 58), (30, 42, 54, 60), (40, 46, 44, 56), (46, 54, 44, 50),
                                   (58, 64, 44, 50)):
                frame[r0:r1, c0:c1] = 30
        done = min(self.t, self.delay + 2) / (self.delay + 2)  # how far through the episode
        frame[82:88, 8:8 + int(80 * done)] = 200
        return frame
