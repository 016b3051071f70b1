"""N Pong courts stepped at once: the vector entry point of ``gymlab/Pong-v0``.

    envs = gym.make_vec("gymlab/Pong-v0", num_envs=256, vectorization_mode="vector_entry_point")

Every court runs the same compiled physics as the single env (``pong_engine``),
and court i draws its serves from its own generator, seeded with ``seed + i``
as Gymnasium's own vector envs seed their sub-envs: so court i plays exactly
the game that ``gym.make("gymlab/Pong-v0")`` reset with ``seed + i`` plays, under
Gymnasium's next-step autoreset (the step after an episode ends resets that
court, ignores its action and returns reward 0).
"""

from __future__ import annotations

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium import spaces

from gymlab.envs import pong_engine as engine
from gymlab.envs.pong import check_arguments, observation_space

_NONE = np.zeros(0, dtype=np.int64)


class PongVectorEnv(VectorEnv):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, max_episode_steps: int = 10_000, render_mode: str | None = None,
                 obs_type: str = "features", difficulty: float = 0.5, points_to_win: int = 21):
        check_arguments(obs_type, difficulty, points_to_win)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.num_envs, self.render_mode, self.obs_type = num_envs, render_mode, obs_type
        self.single_observation_space = observation_space(obs_type)
        self.single_action_space = spaces.Discrete(3)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._s = engine.new_courts(num_envs, difficulty, int(points_to_win), scripted=True,
                                    max_steps=max_episode_steps or 0)
        self._serves = engine.new_serves(num_envs)
        self._actions = np.zeros((num_envs, 2), dtype=np.int64)
        self._features = np.zeros((num_envs, engine.N_FEATURES), dtype=np.float32)
        self._frames = np.zeros((num_envs, engine.PIXELS, engine.PIXELS, 1), dtype=np.uint8)
        self._rngs: list[np.random.Generator] | None = None
        self._to_reset = _NONE  # courts that ended last step: reset on this one

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
        self._actions[:, 0] = actions
        s, rngs = self._s, self._rngs
        restock, ended = engine.step_courts(s, self._serves, self._actions, self._features)
        if restock:
            engine.refill_serves(s, self._serves, rngs)
        for i in self._to_reset:  # next-step autoreset: courts that ended last step start again
            engine.reset_court(s, self._serves, i, rngs[i])
            engine.write_features(s, i, self._features)
        self._to_reset = np.flatnonzero(s[:, engine.SKIP]) if ended else _NONE
        return (self._obs(), s[:, engine.REWARD].copy(), s[:, engine.DONE] != 0.0, s[:, engine.TRUNC] != 0.0, {})

    def render(self):
        if self.render_mode == "rgb_array":
            return tuple(engine.draw_rgb(self._s, i) for i in range(self.num_envs))
        return None
