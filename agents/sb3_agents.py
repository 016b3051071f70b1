"""Stable-Baselines3's DQN, PPO and A2C behind gymlab's agent calls: the references
our own agents are measured against, run through the same command line.

    python train.py --env CartPole-v1 --agent sb3-dqn --steps 50000
    python train.py --env pong --agent sb3-ppo --steps 200000

Each config mirrors the SB3 algorithm's own keyword arguments (with SB3's
defaults); ``agents/hyperparams.py`` holds RL-Zoo's tuned values where we use
them. Checkpoints hold the SB3 policy's weights in gymlab's npz format (no
pickle), so they load like every other agent's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import gymnasium as gym
from gymnasium import spaces

from gymlab.agents.base import SpaceError
from gymlab.agents.checkpoint import short_space
from gymlab.agents.torch_agent import TorchAgent


@dataclass
class SB3DQNConfig:
    learning_rate: float = field(default=1e-4, metadata={"help": "SB3 DQN learning_rate"})
    buffer_size: int = field(default=1_000_000, metadata={"help": "SB3 DQN buffer_size"})
    learning_starts: int = field(default=100, metadata={"help": "SB3 DQN learning_starts"})
    batch_size: int = field(default=32, metadata={"help": "SB3 DQN batch_size"})
    tau: float = field(default=1.0, metadata={"help": "SB3 DQN tau"})
    gamma: float = field(default=0.99, metadata={"help": "SB3 DQN gamma"})
    train_freq: int = field(default=4, metadata={"help": "SB3 DQN train_freq (steps)"})
    gradient_steps: int = field(default=1, metadata={"help": "SB3 DQN gradient_steps"})
    target_update_interval: int = field(default=10_000, metadata={"help": "SB3 DQN target_update_interval"})
    exploration_fraction: float = field(default=0.1, metadata={"help": "SB3 DQN exploration_fraction"})
    exploration_initial_eps: float = field(default=1.0, metadata={"help": "SB3 DQN exploration_initial_eps"})
    exploration_final_eps: float = field(default=0.05, metadata={"help": "SB3 DQN exploration_final_eps"})
    max_grad_norm: float = field(default=10.0, metadata={"help": "SB3 DQN max_grad_norm"})
    n_steps: int = field(default=1, metadata={"help": "SB3 DQN n_steps (n-step returns)"})
    lr_anneal: bool = field(default=False, metadata={"help": "decay the learning rate linearly to 0 (a schedule)"})
    net_arch: tuple[int, ...] = field(default=(64, 64), metadata={"help": "hidden layers of the Q-network"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads"})


@dataclass
class SB3PPOConfig:
    learning_rate: float = field(default=3e-4, metadata={"help": "SB3 PPO learning_rate"})
    n_steps: int = field(default=2048, metadata={"help": "SB3 PPO n_steps"})
    batch_size: int = field(default=64, metadata={"help": "SB3 PPO batch_size"})
    n_epochs: int = field(default=10, metadata={"help": "SB3 PPO n_epochs"})
    gamma: float = field(default=0.99, metadata={"help": "SB3 PPO gamma"})
    gae_lambda: float = field(default=0.95, metadata={"help": "SB3 PPO gae_lambda"})
    clip_range: float = field(default=0.2, metadata={"help": "SB3 PPO clip_range"})
    ent_coef: float = field(default=0.0, metadata={"help": "SB3 PPO ent_coef"})
    net_arch: tuple[int, ...] = field(default=(64, 64), metadata={"help": "hidden layers of policy and value"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads"})


@dataclass
class SB3A2CConfig:
    learning_rate: float = field(default=7e-4, metadata={"help": "SB3 A2C learning_rate"})
    n_steps: int = field(default=5, metadata={"help": "SB3 A2C n_steps"})
    gamma: float = field(default=0.99, metadata={"help": "SB3 A2C gamma"})
    gae_lambda: float = field(default=1.0, metadata={"help": "SB3 A2C gae_lambda"})
    ent_coef: float = field(default=0.0, metadata={"help": "SB3 A2C ent_coef"})
    vf_coef: float = field(default=0.5, metadata={"help": "SB3 A2C vf_coef"})
    net_arch: tuple[int, ...] = field(default=(64, 64), metadata={"help": "hidden layers of policy and value"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads"})


class _SpacesOnly(gym.Env):
    """An env that only has spaces: enough for SB3 to build a model to load weights into."""

    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, *, seed=None, options=None):
        raise RuntimeError("this env only carries spaces")

    def step(self, action):
        raise RuntimeError("this env only carries spaces")


class SB3Agent(TorchAgent):
    algorithm: str  # "DQN", "PPO" or "A2C"

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        if not isinstance(observation_space, (spaces.Box, spaces.Discrete)):
            raise SpaceError(f"SB3's {cls.algorithm} here reads Box or Discrete observations, "
                             f"not {short_space(observation_space)}")
        if cls.algorithm == "DQN" and not isinstance(action_space, spaces.Discrete):
            raise SpaceError(f"SB3's DQN needs a Discrete action space, not {short_space(action_space)}")

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        self.model = self._build(_SpacesOnly(observation_space, action_space))

    def _build(self, env):
        import stable_baselines3 as sb3
        from gymlab.agents.networks import is_image

        kwargs = dataclasses.asdict(self.config)
        kwargs.pop("threads")
        net_arch = list(kwargs.pop("net_arch"))
        if kwargs.pop("lr_anneal", False):  # SB3 takes a schedule of the progress remaining (1 -> 0)
            lr = kwargs["learning_rate"]
            kwargs["learning_rate"] = lambda remaining: lr * remaining
        policy = "CnnPolicy" if is_image(self.observation_space) else "MlpPolicy"
        return getattr(sb3, self.algorithm)(policy, env, seed=self.seed, verbose=0, device="cpu",
                                            policy_kwargs={"net_arch": net_arch}, **kwargs)

    def modules(self):
        return {"policy": self.model.policy}

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = False, action_mask=None):
        action, state = self.model.predict(obs, state, episode_start, deterministic)
        return int(action), state

    def learn(self, env, budget, logger):
        from stable_baselines3.common.callbacks import BaseCallback

        weights = self.model.policy.state_dict()
        self.model = self._build(env)  # now with the real env to learn in
        self.model.policy.load_state_dict(weights)

        class FeedLogger(BaseCallback):
            def _on_step(self) -> bool:
                logger.step(float(self.locals["rewards"][0]), bool(self.locals["dones"][0]))
                return not budget.spent(logger.steps, logger.episodes)

        total = budget.steps if budget.steps is not None else 10**12  # an episode budget stops through the callback
        self.model.learn(total_timesteps=total, callback=FeedLogger())
        return self


class SB3DQN(SB3Agent):
    name, algorithm, Config = "sb3-dqn", "DQN", SB3DQNConfig


class SB3PPO(SB3Agent):
    name, algorithm, Config = "sb3-ppo", "PPO", SB3PPOConfig


class SB3A2C(SB3Agent):
    name, algorithm, Config = "sb3-a2c", "A2C", SB3A2CConfig
