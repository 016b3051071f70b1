"""Tiny tasks for learning tests: solvable in seconds, out of reach of a broken agent."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class Corridor(gym.Env):
    """Walk right along ``length`` cells to the exit (+1). Each step costs 0.01 and pays 0.1 for
    every cell gained (and takes it back for a cell lost), so a policy that gets part of the way
    does better than one that does not: even hill climbing has a slope. Observation: the
    position, one-hot (Box). The shortest way out returns 1 + 0.09 * (length - 2)."""

    def __init__(self, length: int = 8):
        self.length = length
        self.observation_space = spaces.Box(0.0, 1.0, (length,), np.float32)
        self.action_space = spaces.Discrete(2)  # 0 left, 1 right

    def _obs(self):
        obs = np.zeros(self.length, np.float32)
        obs[self.pos] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = 0
        return self._obs(), {}

    def step(self, action):
        before = self.pos
        self.pos = min(max(self.pos + (1 if action == 1 else -1), 0), self.length - 1)
        done = self.pos == self.length - 1
        reward = 1.0 if done else -0.01 + 0.1 * (self.pos - before)
        return self._obs(), reward, done, False, {}


CORRIDOR_ID = "gymlab_tests/Corridor-v0"
if CORRIDOR_ID not in gym.envs.registry:
    gym.register(CORRIDOR_ID, entry_point=Corridor, max_episode_steps=50)
OPTIMAL = 1.0 + 0.09 * (8 - 2)  # 7 steps: six new cells (0.1 - 0.01 each), then the exit
