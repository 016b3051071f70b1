"""A Pong-like game: the agent's right paddle against a scripted left one.

Play it yourself (arrow keys, Esc quits):

    gymlab play                                   # you against the scripted opponent
    gymlab play --against runs/X/checkpoint.npz   # you (left) against a trained agent
    gymlab play --screenshot shots/               # save a human-mode frame and a pixel obs

(``python -m gymlab play ...`` from a source checkout.)
"""

from __future__ import annotations

import numpy as np
import gymnasium as gym
from gymnasium import spaces

from gymlab.envs import pong_engine as engine
from gymlab.envs._window import FrameRendering

OBS_TYPES = ("features", "pixels")


def observation_space(obs_type: str) -> spaces.Box:
    if obs_type == "features":
        return spaces.Box(-1.0, 1.0, shape=(engine.N_FEATURES,), dtype=np.float32)
    return spaces.Box(0, 255, shape=(engine.PIXELS, engine.PIXELS, 1), dtype=np.uint8)


def check_arguments(obs_type: str, difficulty: float, points_to_win: int) -> None:
    if obs_type not in OBS_TYPES:
        raise ValueError(f"obs_type must be one of {OBS_TYPES}, got {obs_type!r}")
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty!r}")
    if int(points_to_win) != points_to_win or points_to_win < 1:
        raise ValueError(f"points_to_win must be a positive whole number, got {points_to_win!r}")


class PongEnv(FrameRendering, gym.Env):
    """
    ## Description

    Two paddles and a ball in a court, as in Atari's Pong. The agent moves the
    right paddle; a scripted opponent moves the left one, following the ball
    with a limited speed once it comes within reach and aiming to meet it off
    centre for an angled return. The ball leaves a paddle at a steeper angle
    the further from the paddle's centre it hits, and speeds up with every hit
    of a rally. Serves go left or right at a random height and angle.

    ## Action Space

    `Discrete(3)`:

    | Num | Action |
    |-----|--------|
    | 0   | stay   |
    | 1   | up     |
    | 2   | down   |

    ## Observation Space

    With ``obs_type="features"`` (default), `Box(-1, 1, (6,), float32)`, the
    court being the unit square (x right, y down) rescaled to [-1, 1]:

    | Num | Observation                        | Min | Max |
    |-----|------------------------------------|-----|-----|
    | 0   | ball x (clipped once past a paddle) | -1  | 1   |
    | 1   | ball y                             | -1  | 1   |
    | 2   | ball x velocity / top speed        | -1  | 1   |
    | 3   | ball y velocity / top speed        | -1  | 1   |
    | 4   | the agent's paddle y (right)       | -1  | 1   |
    | 5   | the opponent's paddle y (left)     | -1  | 1   |

    With ``obs_type="pixels"``, `Box(0, 255, (80, 80, 1), uint8)`: the court
    as an 80x80 grayscale frame, paddles and ball white on black, as in the
    pixel-Pong literature. One frame shows no motion: stack or difference
    frames to see where the ball is going.

    ## Rewards

    +1 when the agent scores (the ball passes the opponent), -1 when the
    opponent scores, 0 otherwise. An episode's return is the agent's points
    minus the opponent's.

    ## Starting State

    Both paddles centred, 0-0, and a serve from the middle of the court, left
    or right, at a height and angle drawn from ``self.np_random``.

    ## Episode End

    - Termination: either side reaches ``points_to_win`` points.
    - Truncation: 10 000 steps (``max_episode_steps`` in the registration). A
      game at the default difficulty takes 1 300 to 4 500 steps.

    ## Information

    ``info`` is empty; ``env.unwrapped.score`` is ``(agent points, opponent points)``.

    ## Arguments

    - ``render_mode``: ``None``, ``"human"`` (a pygame window, with the score)
      or ``"rgb_array"`` (the same 480x640 picture as an array, no display).
    - ``obs_type``: ``"features"`` or ``"pixels"``.
    - ``difficulty``: the opponent, from 0 (slow, short-sighted, flat returns)
      to 1 (as fast as the agent, watches the whole court, steep returns);
      default 0.5. Following the ball with the paddle wins at 0.5 and loses at 1.
    - ``points_to_win``: default 21, as in Pong.
    - ``opponent``: ``"scripted"`` (default) or ``"external"``: then the left
      paddle obeys ``env.unwrapped.opponent_action`` (0, 1, 2), set before each
      step, so a person or a second policy can play it.

    >>> import gymnasium as gym
    >>> import envs
    >>> env = gym.make("gymlab/Pong-v0", points_to_win=1)
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, obs.dtype
    ((6,), dtype('float32'))
    >>> steps, done = 0, False
    >>> while not done:  # stand still: the opponent wins the point
    ...     obs, reward, terminated, truncated, info = env.step(0)
    ...     steps, done = steps + 1, terminated or truncated
    >>> reward, terminated, env.unwrapped.score
    (-1.0, True, (0, 1))
    >>> gym.make("gymlab/Pong-v0", obs_type="pixels").reset(seed=0)[0].shape
    (80, 80, 1)

    ## Version History

    - v0: first version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}
    window_title = "gymlab: Pong"

    def __init__(self, render_mode: str | None = None, obs_type: str = "features", difficulty: float = 0.5,
                 points_to_win: int = 21, opponent: str = "scripted"):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        check_arguments(obs_type, difficulty, points_to_win)
        if opponent not in ("scripted", "external"):
            raise ValueError(f"opponent must be 'scripted' or 'external', got {opponent!r}")
        self.render_mode, self.obs_type = render_mode, obs_type
        self.difficulty, self.points_to_win = difficulty, int(points_to_win)
        self.observation_space = observation_space(obs_type)
        self.action_space = spaces.Discrete(3)
        self.opponent_action = engine.STAY
        self._s = engine.new_courts(1, difficulty, self.points_to_win, scripted=opponent == "scripted")
        self._serves = engine.new_serves(1)
        self._actions = np.zeros((1, 2), dtype=np.int64)
        self._features = np.zeros((1, engine.N_FEATURES), dtype=np.float32)
        self._frames = np.zeros((1, engine.PIXELS, engine.PIXELS, 1), dtype=np.uint8)

    @property
    def score(self) -> tuple[int, int]:
        return int(self._s[0, engine.PTS_AGENT]), int(self._s[0, engine.PTS_OPP])

    def _obs(self) -> np.ndarray:
        if self.obs_type == "features":
            return self._features[0].copy()
        engine.draw_pixels(self._s, self._frames)
        return self._frames[0].copy()

    def _draw_frame(self) -> np.ndarray:
        return engine.draw_rgb(self._s, 0)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        engine.reset_court(self._s, self._serves, 0, self.np_random)
        engine.write_features(self._s, 0, self._features)
        if self.render_mode == "human":
            self.render()
        return self._obs(), {}

    def step(self, action):
        if action not in (0, 1, 2):  # cheaper than Discrete.contains, and numpy integers pass too
            raise ValueError(f"action must be 0 (stay), 1 (up) or 2 (down), got {action!r}")
        self._actions[0, 0] = action
        self._actions[0, 1] = self.opponent_action
        restock, _ = engine.step_courts(self._s, self._serves, self._actions, self._features)
        if restock:
            engine.draw_serves(self._s, self._serves, 0, self.np_random)
        if self.render_mode == "human":
            self.render()
        return self._obs(), float(self._s[0, engine.REWARD]), bool(self._s[0, engine.DONE]), False, {}

