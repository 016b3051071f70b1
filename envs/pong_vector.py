"""N Pong courts stepped at once: the vector entry point of ``gymlab/Pong-v0``.

    envs = gym.make_vec("gymlab/Pong-v0", num_envs=256, vectorization_mode="vector_entry_point")

Every court runs the same compiled physics as the single env (``pong_engine``),
and court i draws its serves from its own generator, seeded by ``reset(seed=...)``:
a list gives court i its own ``seed[i]`` (a gymlab run passes one independent seed
per court, from ``agents/seeding.py``), one int gives court i ``seed + i`` as
Gymnasium's own vector envs seed their sub-envs. Either way court i plays exactly
the game that ``gym.make("gymlab/Pong-v0")`` reset with court i's seed plays, under
Gymnasium's next-step autoreset (the step after an episode ends resets that
court, ignores its action and returns reward 0).

It takes every argument the single env takes, with the same defaults, and
refuses the same values (both build a ``PongSettings``), plus ``num_envs`` and
``max_episode_steps`` (``None``: no time limit; ``gym.make_vec`` passes the
registered 10 000, and ``agents.rollout.make_vector_env`` the single env's own).
With ``opponent="external"``, ``opponent_action`` (one action, or one per court)
moves every court's left paddle, set before each step.

``set_difficulty(d)`` changes every court's opponent to difficulty ``d`` from the next step on
(a training curriculum; an evaluation env made from the same arguments keeps its own).

``pause(mask)`` freezes the courts where ``mask`` is True for the steps that follow, until the
next ``pause``: a frozen court is not stepped (its action is ignored, its reward is 0, it is
neither terminated nor truncated, its observation stays as it was, a reset it is due waits), and
a court later plays on exactly as if the frozen steps had not happened. An agent that must not
begin anything on some courts (REINFORCE's courts that have played their share of a batch, in
``agents/point_batches.py``) uses it when the env has it (``supports_pause``).
"""

from __future__ import annotations

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium import spaces

from gymlab.envs import pong_engine as engine
from gymlab.envs.pong import PongSettings, check_render_mode, observation_space

_NONE = np.zeros(0, dtype=np.int64)
_INT64 = _NONE.dtype


class PongVectorEnv(VectorEnv):
    """``num_envs`` Pong courts; see the module docstring, and ``PongEnv`` for the game."""

    seeds_per_sub_env = True  # reset(seed=[...]) takes one seed a court (agents.rollout.vector_seed)
    supports_pause = True  # pause(mask): some courts wait while the others play
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, max_episode_steps: int | None = 10_000, render_mode: str | None = None,
                 obs_type: str = PongSettings.obs_type, difficulty: float = PongSettings.difficulty,
                 points_to_win: int = PongSettings.points_to_win, opponent: str = PongSettings.opponent):
        check_render_mode(render_mode, self.metadata)
        self.settings = PongSettings(obs_type, difficulty, points_to_win, opponent)
        self.difficulty = self.settings.difficulty  # the opponent's now (set_difficulty)
        if not _positive_int(num_envs):
            raise ValueError(f"num_envs must be a positive whole number, got {num_envs!r}")
        if max_episode_steps is not None and not _positive_int(max_episode_steps):
            raise ValueError(f"max_episode_steps must be a positive whole number or None (no limit), "
                             f"got {max_episode_steps!r}")
        self.num_envs, self.render_mode, self.obs_type = num_envs, render_mode, obs_type
        self.single_observation_space = observation_space(obs_type)
        self.single_action_space = spaces.Discrete(3)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._external = opponent == "external"
        self.opponent_action = engine.STAY  # the left paddles' actions with an external opponent
        self._s = engine.new_courts(num_envs, self.settings.difficulty, self.settings.points_to_win,
                                    scripted=not self._external, max_steps=max_episode_steps or 0)
        self._serves = engine.new_serves(num_envs)
        self._opponent_actions = np.zeros(num_envs, dtype=np.int64)
        self._action_shape = (num_envs,)
        self._features = np.zeros((num_envs, engine.N_FEATURES), dtype=np.float32)
        self._frames = np.zeros((num_envs, engine.PIXELS, engine.PIXELS, 1), dtype=np.uint8)
        self._rngs: list[np.random.Generator] | None = None
        self._to_reset = _NONE  # courts that ended last step: reset on this one
        self._paused: np.ndarray | None = None  # courts frozen by pause() (None: every court plays)

    def set_difficulty(self, difficulty: float) -> None:
        """Every court's scripted opponent at ``difficulty`` (0 to 1) from the next step on."""
        if not (isinstance(difficulty, (int, float)) and 0.0 <= difficulty <= 1.0):
            raise ValueError(f"difficulty must be a number in [0, 1], got {difficulty!r}")
        self.difficulty = float(difficulty)
        s = self._s
        s[:, engine.OPP_SPEED], s[:, engine.OPP_REACH], s[:, engine.OPP_AIM] = engine.opponent_settings(difficulty)

    def pause(self, mask) -> None:
        """Freeze the courts where ``mask`` is True (None: none) for the next steps; see the module docstring."""
        if mask is None:
            self._paused = None
            return
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (self.num_envs,):
            raise ValueError(f"pause needs one flag per court ({self.num_envs}), got shape {mask.shape}")
        self._paused = mask.copy() if mask.any() else None

    def _obs(self) -> np.ndarray:
        if self.obs_type == "features":
            return self._features.copy()
        engine.draw_pixels(self._s, self._frames)
        return self._frames.copy()

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        super().reset(seed=seed if isinstance(seed, int) else None)
        if isinstance(seed, int):
            seeds = [seed + i for i in range(self.num_envs)]
        elif seed is None:
            seeds = [None] * self.num_envs
        else:
            if len(seed) != self.num_envs:
                raise ValueError(f"reset needs one seed per court ({self.num_envs}), got {len(seed)}")
            seeds = list(seed)
        if self._rngs is None:
            self._rngs = [None] * self.num_envs
        for i, court_seed in enumerate(seeds):
            # As a single env: a new seed makes a new generator, no seed keeps the one it has.
            if court_seed is not None or self._rngs[i] is None:
                self._rngs[i] = seeding.np_random(court_seed)[0]
            engine.reset_court(self._s, self._serves, i, self._rngs[i])
            engine.write_features(self._s, i, self._features)
        self._to_reset = _NONE
        return self._obs(), {}

    def step(self, actions):
        if self._rngs is None:
            raise RuntimeError("call reset() before step()")
        # The engine takes the actions as they come and refuses any but 0, 1 and 2 itself, before
        # moving a court: no copy and no numpy pass over them, as a step of 16 courts takes only
        # a few microseconds. Anything but int64 (float, int32, ...) is converted first.
        if type(actions) is not np.ndarray:
            actions = np.asarray(actions)
        if actions.shape != self._action_shape:
            raise ValueError(f"step needs one action per court ({self.num_envs}), got shape {actions.shape}")
        if actions.dtype is not _INT64:
            actions = _whole_numbers(actions)
        if self._external:
            self._opponent_actions[:] = self.opponent_action
        if self._paused is not None:
            return self._step_some(actions, ~self._paused)
        s, rngs = self._s, self._rngs
        restock, ended, bad = engine.step_courts(s, self._serves, actions, self._opponent_actions, self._features)
        if bad >= 0:  # the engine refused it before moving any court
            _refuse(actions, bad)
        if restock:
            engine.refill_serves(s, self._serves, rngs)
        for i in self._to_reset:  # next-step autoreset: courts that ended last step start again
            engine.reset_court(s, self._serves, i, rngs[i])
            engine.write_features(s, i, self._features)
        self._to_reset = np.flatnonzero(s[:, engine.SKIP]) if ended else _NONE
        return (self._obs(), s[:, engine.REWARD].copy(), s[:, engine.DONE] != 0.0, s[:, engine.TRUNC] != 0.0, {})

    def _step_some(self, actions, playing: np.ndarray):
        """``step`` for the courts in ``playing`` only: the engine steps copies of their rows."""
        s, rngs, rows = self._s, self._rngs, np.flatnonzero(playing)
        sub, serves, features = s[rows], self._serves[rows], self._features[rows]
        restock, _, bad = engine.step_courts(sub, serves, actions[rows], self._opponent_actions[rows], features)
        if bad >= 0:
            _refuse(actions, int(rows[bad]))
        s[rows], self._serves[rows], self._features[rows] = sub, serves, features
        if restock:
            engine.refill_serves(s, self._serves, rngs)
        for i in self._to_reset:
            if playing[i]:  # a frozen court's reset waits for its next step
                engine.reset_court(s, self._serves, i, rngs[i])
                engine.write_features(s, i, self._features)
        self._to_reset = np.flatnonzero(s[:, engine.SKIP])
        reward = np.where(playing, s[:, engine.REWARD], 0.0)
        return (self._obs(), reward, playing & (s[:, engine.DONE] != 0.0), playing & (s[:, engine.TRUNC] != 0.0),
                {})

    def render(self):
        if self.render_mode == "rgb_array":
            return tuple(engine.draw_rgb(self._s, i) for i in range(self.num_envs))
        return None


def _positive_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x >= 1


def _refuse(actions: np.ndarray, i: int):
    raise ValueError(f"action must be 0 (stay), 1 (up) or 2 (down), got {actions[i].item()!r} (court {i})")


def _whole_numbers(actions: np.ndarray) -> np.ndarray:
    """``actions`` as int64, refusing any that is not a whole number (1.0 passes, as in the single env)."""
    try:
        with np.errstate(invalid="ignore"):  # NaN, infinity: refused below
            whole = actions.astype(np.int64)
    except (TypeError, ValueError):
        raise ValueError(f"actions must be 0 (stay), 1 (up) or 2 (down), got {actions!r}") from None
    if actions.dtype.kind not in "iu":
        mismatch = np.flatnonzero(whole != actions)
        if mismatch.size:
            _refuse(actions, int(mismatch[0]))
    return whole
