"""A Pong-like game: the agent's right paddle against a scripted left one.

Play it yourself (arrow keys, Esc quits):

    gymlab play                                   # you against the scripted opponent
    gymlab play --against runs/X/checkpoint.npz   # you (left) against a trained agent
    gymlab play --screenshot shots/               # save a human-mode frame and a pixel obs

(``python -m gymlab play ...`` from a source checkout.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import gymnasium as gym
from gymnasium import spaces

from gymlab.envs import pong_engine as engine
from gymlab.envs._window import FrameRendering

OBS_TYPES = ("features", "pixels")
OPPONENTS = ("scripted", "external")


def observation_space(obs_type: str) -> spaces.Box:
    if obs_type == "features":
        return spaces.Box(-1.0, 1.0, shape=(engine.N_FEATURES,), dtype=np.float32)
    return spaces.Box(0, 255, shape=(engine.PIXELS, engine.PIXELS, 1), dtype=np.uint8)


@dataclass(frozen=True)
class PongSettings:
    """The game's arguments, defined and checked once for both ``PongEnv`` and ``PongVectorEnv``:
    each env takes every field as a keyword argument of the same name, defaulting to the value
    here (``render_mode`` aside, which each env checks against its own ``metadata``)."""

    obs_type: str = "features"  # "features" or "pixels"
    difficulty: float = 0.5     # the scripted opponent, from 0 to 1
    points_to_win: int = 21
    opponent: str = "scripted"  # or "external": the left paddle obeys ``opponent_action``

    def __post_init__(self):
        if self.obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type must be one of {OBS_TYPES}, got {self.obs_type!r}")
        if not _number_between(self.difficulty, 0.0, 1.0):
            raise ValueError(f"difficulty must be a number in [0, 1], got {self.difficulty!r}")
        if not _whole_number(self.points_to_win) or self.points_to_win < 1:
            raise ValueError(f"points_to_win must be a positive whole number, got {self.points_to_win!r}")
        if self.opponent not in OPPONENTS:
            raise ValueError(f"opponent must be one of {OPPONENTS}, got {self.opponent!r}")
        object.__setattr__(self, "difficulty", float(self.difficulty))
        object.__setattr__(self, "points_to_win", int(self.points_to_win))


def _number_between(x, lo: float, hi: float) -> bool:
    try:
        return lo <= x <= hi  # False for NaN
    except TypeError:  # not a number
        return False


def _whole_number(x) -> bool:
    try:
        return int(x) == x  # False for "3" and 1.5
    except (TypeError, ValueError, OverflowError):  # None, NaN, infinity
        return False


def check_render_mode(render_mode, metadata: dict) -> None:
    if render_mode is not None and render_mode not in metadata["render_modes"]:
        raise ValueError(f"render_mode must be one of {metadata['render_modes']}, got {render_mode!r}")


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

    The vector env (``gym.make_vec("gymlab/Pong-v0", num_envs=N)``, see
    ``pong_vector``) takes the same arguments and refuses the same values (one
    definition, ``PongSettings``), plus ``num_envs`` and ``max_episode_steps``;
    it renders only ``"rgb_array"``.

    >>> import gymnasium as gym
    >>> import gymlab
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

    def __init__(self, render_mode: str | None = None, obs_type: str = PongSettings.obs_type,
                 difficulty: float = PongSettings.difficulty, points_to_win: int = PongSettings.points_to_win,
                 opponent: str = PongSettings.opponent):
        check_render_mode(render_mode, self.metadata)
        self.settings = PongSettings(obs_type, difficulty, points_to_win, opponent)
        self.render_mode, self.obs_type = render_mode, obs_type
        self.difficulty, self.points_to_win = self.settings.difficulty, self.settings.points_to_win
        self.observation_space = observation_space(obs_type)
        self.action_space = spaces.Discrete(3)
        self.opponent_action = engine.STAY
        self._s = engine.new_courts(1, self.difficulty, self.points_to_win, scripted=opponent == "scripted")
        self._serves = engine.new_serves(1)
        self._agent_action = np.zeros(1, dtype=np.int64)
        self._opponent_action = np.zeros(1, dtype=np.int64)
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
        self._agent_action[0] = action
        self._opponent_action[0] = self.opponent_action
        restock, _, _ = engine.step_courts(self._s, self._serves, self._agent_action, self._opponent_action,
                                           self._features)
        if restock:
            engine.draw_serves(self._s, self._serves, 0, self.np_random)
        if self.render_mode == "human":
            self.render()
        return self._obs(), float(self._s[0, engine.REWARD]), bool(self._s[0, engine.DONE]), False, {}

