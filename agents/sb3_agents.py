"""Stable-Baselines3's DQN, PPO and A2C, and sb3-contrib's RecurrentPPO, behind gymlab's
agent calls: the references our own agents are measured against, run through the same
command line.

    python train.py --env CartPole-v1 --agent sb3-dqn --steps 50000
    python train.py --env pong --agent sb3-ppo --steps 200000
    python train.py --env recall --agent sb3-recurrent-ppo --steps 20000

Each config mirrors the SB3 algorithm's own keyword arguments (with SB3's
defaults); ``agents/hyperparams.py`` holds RL-Zoo's tuned values where we use
them. What RL-Zoo sets around the algorithm can be set too (``WRAPPER_FIELDS``): PPO's
envs side by side (``--num-envs``, SB3's ``DummyVecEnv``; ``--n-steps`` is each env's
rollout), ``VecNormalize`` (``--norm-obs``, ``--norm-reward``, with the algorithm's gamma,
as the zoo's ``normalize: True``), linear schedules (``--lr-anneal``, ``--clip-anneal``:
the zoo's ``lin_``), the policy's ``--activation``; ``--no-ortho-init`` is the policy's own.
The observation statistics are saved with the weights and applied in ``predict``, so a
greedy evaluation sees observations normalised as in training. Checkpoints hold the SB3 policy's weights in gymlab's npz format (no
pickle), so they load like every other agent's. RecurrentPPO's ``predict`` takes and gives
back its LSTM's memory as ``state``, as gymlab's calls already do, so a greedy evaluation
carries it from step to step and clears it at each ``episode_start``.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gymlab.agents import seeding
from gymlab.agents.base import LEARNING_RATE, THREADS, WIDTHS, SpaceError, param, require, validate
from gymlab.agents.checkpoint import short_space
from gymlab.agents.rollout import copy_spec
from gymlab.agents.torch_agent import TorchAgent


ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU"}  # --activation -> torch.nn's class (SB3's default: Tanh)
# Config fields that are not the algorithm's keyword arguments: _build turns them into its env,
# schedules and policy arguments.
WRAPPER_FIELDS = ("threads", "net_arch", "lr_anneal", "clip_anneal", "num_envs", "norm_obs", "norm_reward",
                  "activation")


@dataclass(frozen=True)
class Linear:
    """RL-Zoo's ``lin_X``: ``start`` times the progress remaining (1 at the start, 0 at the end)."""

    start: float

    def __call__(self, remaining: float) -> float:
        return self.start * remaining


@dataclass
class SB3DQNConfig:
    learning_rate: float = param(1e-4, "SB3 DQN learning_rate", LEARNING_RATE)
    buffer_size: int = param(1_000_000, "SB3 DQN buffer_size", "[1, 1e9]")
    learning_starts: int = param(100, "SB3 DQN learning_starts", ">= 0")
    batch_size: int = param(32, "SB3 DQN batch_size", ">= 1")
    tau: float = param(1.0, "SB3 DQN tau", "(0, 1]")
    gamma: float = param(0.99, "SB3 DQN gamma", "[0, 1]")
    train_freq: int = param(4, "SB3 DQN train_freq (steps)", ">= 1")
    gradient_steps: int = param(1, "SB3 DQN gradient_steps", ">= 1")
    target_update_interval: int = param(10_000, "SB3 DQN target_update_interval", ">= 1")
    # SB3 divides by it (its epsilon schedule), so 0 is not "no decay" but a ZeroDivisionError.
    exploration_fraction: float = param(0.1, "SB3 DQN exploration_fraction", "(0, 1]")
    exploration_initial_eps: float = param(1.0, "SB3 DQN exploration_initial_eps", "[0, 1]")
    exploration_final_eps: float = param(0.05, "SB3 DQN exploration_final_eps", "[0, 1]")
    # SB3 always clips, so 0 would scale every gradient to nothing.
    max_grad_norm: float = param(10.0, "SB3 DQN max_grad_norm", "> 0")
    n_steps: int = param(1, "SB3 DQN n_steps (n-step returns)", ">= 1")
    optimize_memory_usage: bool = param(False, "SB3 DQN optimize_memory_usage: next_obs read from the next slot, "
                                               "half the replay; timeouts then stored as ends "
                                               "(handle_timeout_termination off, as SB3 requires)")
    lr_anneal: bool = param(False, "decay the learning rate linearly to 0 (a schedule)")
    net_arch: tuple[int, ...] = param((64, 64), "hidden layers of the Q-network", WIDTHS, arch=True)
    threads: int = param(1, "torch CPU threads", THREADS)

    def __post_init__(self):
        validate(self)
        require(not (self.optimize_memory_usage and self.n_steps > 1), f"--optimize-memory-usage needs --n-steps 1 "
                f"(not {self.n_steps}): SB3's n-step replay buffer does not support it")
        require(self.batch_size <= self.buffer_size, f"--batch-size ({self.batch_size}) must be <= --buffer-size "
                f"({self.buffer_size}): a minibatch is drawn from the replay buffer")
        require(self.n_steps <= self.buffer_size, f"--n-steps ({self.n_steps}) must be <= --buffer-size "
                f"({self.buffer_size}): an n-step return is read from n consecutive stored steps")


@dataclass
class SB3PPOConfig:
    learning_rate: float = param(3e-4, "SB3 PPO learning_rate", LEARNING_RATE)
    # SB3 normalises advantages over a rollout and over each minibatch: one sample has no spread.
    n_steps: int = param(2048, "SB3 PPO n_steps", "[2, 1e9]")
    batch_size: int = param(64, "SB3 PPO batch_size", ">= 2")
    n_epochs: int = param(10, "SB3 PPO n_epochs", ">= 1")
    gamma: float = param(0.99, "SB3 PPO gamma", "[0, 1]")
    gae_lambda: float = param(0.95, "SB3 PPO gae_lambda", "[0, 1]")
    clip_range: float = param(0.2, "SB3 PPO clip_range", "> 0")
    ent_coef: float = param(0.0, "SB3 PPO ent_coef", ">= 0")
    net_arch: tuple[int, ...] = param((64, 64), "hidden layers of policy and value", WIDTHS, arch=True)
    lr_anneal: bool = param(False, "decay the learning rate linearly to 0 (RL-Zoo's lin_)")
    clip_anneal: bool = param(False, "decay the clip range linearly to 0 (RL-Zoo's lin_)")
    num_envs: int = param(1, "envs stepped side by side (SB3's DummyVecEnv): a rollout is n-steps in each", "[1, 1024]")
    norm_obs: bool = param(False, "normalise observations by their running mean and variance (SB3's VecNormalize; "
                           "the statistics are saved with the weights and used when acting)")
    norm_reward: bool = param(False, "scale rewards by the running spread of the discounted return (VecNormalize, "
                              "with --gamma); the logged returns stay the env's own")
    activation: str = param("tanh", "the hidden layers' activation", choices=tuple(ACTIVATIONS), arch=True)
    ortho_init: bool = param(True, "SB3's orthogonal initial weights (else torch's defaults)")
    threads: int = param(1, "torch CPU threads", THREADS)

    def __post_init__(self):
        validate(self)
        require(self.batch_size <= self.n_steps * self.num_envs, f"--batch-size ({self.batch_size}) must be <= "
                f"--n-steps ({self.n_steps}) x --num-envs ({self.num_envs}): minibatches are cut from each rollout "
                f"of n-steps steps in each env")


@dataclass
class SB3RecurrentPPOConfig(SB3PPOConfig):
    """PPO's settings, with sb3-contrib's defaults for RecurrentPPO (shorter rollouts, whole
    rollouts as minibatches), and its LSTM's: one between the features and each of the policy
    and value layers (``net_arch``), or one shared by both."""

    n_steps: int = param(128, "RecurrentPPO n_steps (a rollout: the LSTM learns from its sequences)", "[2, 1e9]")
    batch_size: int = param(128, "RecurrentPPO batch_size (steps, cut into sequences at episode starts)", ">= 2")
    vf_coef: float = param(0.5, "RecurrentPPO vf_coef", ">= 0")
    # SB3 always clips, so 0 would scale every gradient to nothing.
    max_grad_norm: float = param(0.5, "RecurrentPPO max_grad_norm", "> 0")
    lstm_hidden_size: int = param(256, "RecurrentPPO lstm_hidden_size: the memory's width", WIDTHS, arch=True)
    n_lstm_layers: int = param(1, "RecurrentPPO n_lstm_layers", "[1, 64]", arch=True)
    shared_lstm: bool = param(False, "one LSTM for policy and value (needs --no-enable-critic-lstm)", arch=True)
    enable_critic_lstm: bool = param(True, "the value has an LSTM of its own (else a linear layer)", arch=True)

    def __post_init__(self):
        super().__post_init__()
        # RecurrentPPO normalises each minibatch's advantages without PPO's one-sample guard:
        # a last minibatch of one step has no spread, and its NaN reaches every weight.
        rollout = self.n_steps * self.num_envs
        require(rollout % self.batch_size != 1, f"a rollout of --n-steps ({self.n_steps}) x --num-envs "
                f"({self.num_envs}) = {rollout} steps cut into minibatches of --batch-size ({self.batch_size}) leaves "
                f"a last one of 1 step, whose advantage has no spread to normalise by (RecurrentPPO's weights would "
                f"turn NaN): change one by one")
        require(not (self.shared_lstm and self.enable_critic_lstm), "--shared-lstm needs --no-enable-critic-lstm: "
                "the value reads the shared LSTM, or one of its own, not both")


@dataclass
class SB3A2CConfig:
    learning_rate: float = param(7e-4, "SB3 A2C learning_rate", LEARNING_RATE)
    n_steps: int = param(5, "SB3 A2C n_steps", "[1, 1e9]")
    gamma: float = param(0.99, "SB3 A2C gamma", "[0, 1]")
    gae_lambda: float = param(1.0, "SB3 A2C gae_lambda", "[0, 1]")
    ent_coef: float = param(0.0, "SB3 A2C ent_coef", ">= 0")
    vf_coef: float = param(0.5, "SB3 A2C vf_coef", ">= 0")
    net_arch: tuple[int, ...] = param((64, 64), "hidden layers of policy and value", WIDTHS, arch=True)
    threads: int = param(1, "torch CPU threads", THREADS)

    def __post_init__(self):
        validate(self)


class _SpacesOnly(gym.Env):
    """An env that only has spaces: enough for SB3 to build a model to load weights into."""

    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, *, seed=None, options=None):
        raise RuntimeError("this env only carries spaces")

    def step(self, action):
        raise RuntimeError("this env only carries spaces")


class SB3Agent(TorchAgent):
    algorithm: ClassVar[str]  # the class's name in ``package``: "DQN", "PPO", "A2C", "RecurrentPPO"
    package: ClassVar[str] = "stable_baselines3"
    policies: ClassVar[tuple[str, str]] = ("MlpPolicy", "CnnPolicy")  # for vectors, for images
    action_spaces: ClassVar[tuple] = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
    policy_fields: ClassVar[tuple[str, ...]] = ()  # Config fields that are the policy's arguments

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        if not isinstance(observation_space, (spaces.Box, spaces.Discrete)):
            raise SpaceError(f"SB3's {cls.algorithm} here reads Box or Discrete observations, "
                             f"not {short_space(observation_space)}")
        if not isinstance(action_space, cls.action_spaces):
            *others, last = [kind.__name__ for kind in cls.action_spaces]
            kinds = f"{', '.join(others)} or {last}" if others else last
            raise SpaceError(f"SB3's {cls.algorithm} needs a {kinds} action space, not {short_space(action_space)}")

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        self.obs_rms = None  # the observations' running mean and variance (--norm-obs), shared with VecNormalize
        self.ret_rms = None  # the discounted return's running variance (--norm-reward), shared likewise
        if getattr(self.config, "norm_reward", False):
            from stable_baselines3.common.running_mean_std import RunningMeanStd

            self.ret_rms = RunningMeanStd(shape=())
        if getattr(self.config, "norm_obs", False):
            from stable_baselines3.common.running_mean_std import RunningMeanStd

            if not isinstance(observation_space, spaces.Box):
                raise SpaceError(f"--norm-obs normalises Box observations, not {short_space(observation_space)}")
            self.obs_rms = RunningMeanStd(shape=observation_space.shape)
            self.normaliser = self._normalised(_SpacesOnly(observation_space, action_space), training=False)
        n = getattr(self.config, "num_envs", 1)  # as many as it will learn in: the same rollout buffer
        self.model = self._build(self._side_by_side([_SpacesOnly(observation_space, action_space) for _ in range(n)]))

    @staticmethod
    def _side_by_side(envs):
        """One env as it is (SB3 wraps it), several as SB3's DummyVecEnv."""
        from stable_baselines3.common.vec_env import DummyVecEnv

        return envs[0] if len(envs) == 1 else DummyVecEnv([lambda e=e: e for e in envs])

    def _normalised(self, *envs, training: bool = True):
        """``envs`` side by side (SB3's DummyVecEnv), under VecNormalize as the config asks, its
        observation statistics ``self.obs_rms``; one env without normalisation as it is (SB3 wraps it)."""
        from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

        c = self.config
        if not (getattr(c, "norm_obs", False) or getattr(c, "norm_reward", False)):
            return self._side_by_side(envs)
        venv = DummyVecEnv([lambda e=e: e for e in envs])
        venv = VecNormalize(venv, training=training, norm_obs=c.norm_obs, norm_reward=c.norm_reward and training,
                            gamma=c.gamma)
        if self.obs_rms is not None:
            venv.obs_rms = self.obs_rms  # updated in place as it trains
        if self.ret_rms is not None:
            venv.ret_rms = self.ret_rms
        return venv

    def normalise(self, obs):
        """``obs`` as the policy saw it in training (VecNormalize's own formula and statistics); as it is without --norm-obs."""
        return obs if self.obs_rms is None else self.normaliser.normalize_obs(obs)

    def _build(self, env):
        import torch

        from gymlab.agents.networks import is_image

        kwargs = dataclasses.asdict(self.config)
        wrapper = {k: kwargs.pop(k) for k in WRAPPER_FIELDS if k in kwargs}
        policy_kwargs = {"net_arch": list(wrapper["net_arch"]), **{k: kwargs.pop(k) for k in self.policy_fields}}
        if "activation" in wrapper:
            policy_kwargs["activation_fn"] = getattr(torch.nn, ACTIVATIONS[wrapper["activation"]])
        for key, anneal in (("learning_rate", "lr_anneal"), ("clip_range", "clip_anneal")):
            if wrapper.get(anneal):  # SB3 takes a schedule of the progress remaining (1 -> 0)
                kwargs[key] = Linear(kwargs[key])
        policy = self.policies[is_image(self.observation_space)]
        algorithm = getattr(importlib.import_module(self.package), self.algorithm)  # imported only when used
        return algorithm(policy, env, seed=seeding.library_seed(self.seed), verbose=0, device="cpu",
                         policy_kwargs=policy_kwargs, **replay_kwargs(kwargs))

    def modules(self):
        return {"policy": self.model.policy}

    def state_arrays(self):
        arrays = super().state_arrays()
        for name, rms in (("obs_rms", self.obs_rms), ("ret_rms", self.ret_rms)):
            if rms is not None:
                arrays.update({f"{name}/{k}": np.asarray(getattr(rms, k), np.float64) for k in ("mean", "var", "count")})
        return arrays

    def load_state_arrays(self, arrays):
        super().load_state_arrays(arrays)
        for name, rms in (("obs_rms", self.obs_rms), ("ret_rms", self.ret_rms)):
            if rms is not None and (name == "obs_rms" or f"{name}/mean" in arrays):  # (older checkpoints: no ret_rms)
                rms.mean, rms.var = np.array(arrays[f"{name}/mean"]), np.array(arrays[f"{name}/var"])
                rms.count = float(arrays[f"{name}/count"])

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = False, action_mask=None):
        # A recurrent model's state is its LSTM's (hidden, cell), zeros where episode_start is set.
        action, state = self.model.predict(self.normalise(obs), state, episode_start, deterministic)
        # A Discrete action as a plain int; any other space's (a Box's float vector) as SB3 gives it.
        return (int(action) if isinstance(self.action_space, spaces.Discrete) else action), state

    def learn(self, env, budget, logger):
        from stable_baselines3.common.callbacks import BaseCallback

        weights = self.model.policy.state_dict()
        n = getattr(self.config, "num_envs", 1)
        copies = [gym.make(copy_spec(env, n)) for _ in range(n - 1)]
        self.model = self._build(self._normalised(env, *copies))  # now with the real env(s) to learn in
        self.model.policy.load_state_dict(weights)

        class FeedLogger(BaseCallback):
            def _on_step(self) -> bool:
                normalised = self.model.get_vec_normalize_env()  # the env's own rewards, not the scaled ones
                rewards = normalised.get_original_reward() if normalised is not None else self.locals["rewards"]
                for i, (reward, done) in enumerate(zip(rewards, self.locals["dones"])):
                    logger.step(float(reward), bool(done), env=i)
                return not budget.spent(logger.steps, logger.episodes)

        total = budget.steps if budget.steps is not None else 10**12  # an episode budget stops through the callback
        self.model.learn(total_timesteps=total, callback=FeedLogger())
        return self


def replay_kwargs(kwargs: dict) -> dict:
    """``kwargs`` as SB3 takes them: its ReplayBuffer refuses optimize_memory_usage together with
    handle_timeout_termination, which is on by default."""
    if kwargs.get("optimize_memory_usage"):
        kwargs["replay_buffer_kwargs"] = {"handle_timeout_termination": False}
    return kwargs


class SB3DQN(SB3Agent):
    name, algorithm, Config = "sb3-dqn", "DQN", SB3DQNConfig
    action_spaces = (spaces.Discrete,)


class SB3PPO(SB3Agent):
    name, algorithm, Config = "sb3-ppo", "PPO", SB3PPOConfig
    policy_fields = ("ortho_init",)


class SB3A2C(SB3Agent):
    name, algorithm, Config = "sb3-a2c", "A2C", SB3A2CConfig


class SB3RecurrentPPO(SB3Agent):
    """PPO whose policy and value read the observations through an LSTM (sb3-contrib)."""

    name, algorithm, Config = "sb3-recurrent-ppo", "RecurrentPPO", SB3RecurrentPPOConfig
    package, policies = "sb3_contrib", ("MlpLstmPolicy", "CnnLstmPolicy")
    policy_fields = ("lstm_hidden_size", "n_lstm_layers", "shared_lstm", "enable_critic_lstm", "ortho_init")
