"""The uniform random policy: every env's floor, and the control every learner must beat.

    python train.py --env pong --agent random --steps 20000

It acts in any space (within ``info["action_mask"]`` when the env gives one),
learns nothing, and saves a checkpoint like every other agent.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from gymnasium import spaces

from gymlab.agents import action_masks, seeding
from gymlab.agents.base import Agent, validate
from gymlab.agents.rollout import Steps


@dataclass
class RandomConfig:
    """No hyper-parameters: the uniform random policy has nothing to tune."""

    def __post_init__(self):
        validate(self)


class RandomAgent(Agent):
    name = "random"
    Config = RandomConfig

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        return None  # any space can be sampled

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        self._space = copy.deepcopy(action_space)  # our own copy, seeded: the env's space stays untouched
        self._space.seed(seeding.library_seed(seed))
        self.steps, self._resumed_steps = None, None

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = False, action_mask=None):
        if action_mask is not None and isinstance(self._space, spaces.Discrete):
            allowed = action_masks.allowed(action_mask, int(self._space.n))
            return self._space.sample(mask=allowed.astype(np.int8)), state
        return self._space.sample(), state

    def learn(self, env, budget, logger):
        def policy(obs, info):
            return self.predict(obs, action_mask=info.get("action_mask"))[0]

        if self.steps is None or self.steps.env is not env:
            self.steps = Steps(env, self.env_seed())
        for _ in self.steps.run(policy, budget, logger):
            pass  # nothing to learn: the episodes it logs are the baseline
        return self

    def resume_state(self):
        return {"space_rng": self._space.np_random, "steps": None if self.steps is None else self.steps.state()}

    def load_resume_state(self, state):
        self._space.np_random.bit_generator.state = state["space_rng"].bit_generator.state
        self._resumed_steps = state["steps"]

    def resume_in(self, env):
        state, self._resumed_steps = self._resumed_steps, None
        if state is not None:
            self.steps = Steps(env, self.env_seed())
            self.steps.load_state(state)

    def state_arrays(self):
        return {}

    def load_state_arrays(self, arrays):
        pass
