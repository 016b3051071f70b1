"""Supervised learning inside an env: predict the next observation, learn from the one that comes.

    python train.py --env sine --agent supervised          # regression on gymlab/SinePredict-v0
    python train.py --env chars --agent supervised         # cross-entropy on gymlab/CharPredict-v0

For envs whose task is to predict what they show next (the action space is the
observation space), every step reveals the right answer: the next observation.
This agent plays episodes with its current predictions, then fits the same
network the RL agents use (``--policy lstm|gru|mlp``, the backbone of
``sequence_tasks``) to those answers, by backpropagation through each episode:

    Box:       minimise  mean_t (f_theta(o_1..o_t) - o_t+1)^2              (regression)
    Discrete:  minimise -mean_t log softmax(f_theta(o_1..o_t))[o_t+1]     (cross-entropy)

It never looks at the reward, so its return is a fair yardstick for the RL
agents on the same env: what the backbone reaches when it is told the answer
instead of being scored on its guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from gymlab.agents.base import LEARNING_RATE, THREADS, WIDTHS, SpaceError, param, validate
from gymlab.agents.checkpoint import short_space
from gymlab.agents.networks import Network, check_observation_space
from gymlab.agents.torch_agent import TorchAgent


@dataclass
class SupervisedConfig:
    # No cnn: the action space must be the observation space, a 1-D Box or Discrete, never frames.
    policy: str = param("lstm", "network: mlp, lstm or gru", choices=("mlp", "lstm", "gru"), arch=True)
    hidden: tuple[int, ...] = param((64,), "hidden layer sizes, e.g. 64,64", WIDTHS, arch=True)
    learning_rate: float = param(3e-3, "Adam's step size", LEARNING_RATE)
    batch_episodes: int = param(16, "episodes per update", ">= 1")
    num_envs: int = param(16, "episodes played side by side in a vector env", "[1, 1024]")
    max_grad_norm: float = param(1.0, "clip the gradient to this norm (0: no clipping)", ">= 0")
    threads: int = param(1, "torch CPU threads", THREADS)

    def __post_init__(self):
        validate(self)


class Supervised(TorchAgent):
    name = "supervised"
    Config = SupervisedConfig

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        same_box = (isinstance(observation_space, spaces.Box) and isinstance(action_space, spaces.Box)
                    and observation_space.shape == action_space.shape and len(action_space.shape) == 1)
        same_discrete = (isinstance(observation_space, spaces.Discrete) and isinstance(action_space, spaces.Discrete)
                         and observation_space.n == action_space.n)
        if not (same_box or same_discrete):
            raise SpaceError(f"{cls.name}: it learns to predict the next observation, so the action space must "
                             f"be the observation space (a 1-D Box of one shape, or Discrete(n) for both), not "
                             f"observations {short_space(observation_space)} and actions {short_space(action_space)}")
        check_observation_space(observation_space, "mlp")

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        c = self.config
        self.regression = isinstance(action_space, spaces.Box)
        n_out = action_space.shape[0] if self.regression else int(action_space.n)
        self.net = Network(observation_space, n_out, c.policy, tuple(c.hidden))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=c.learning_rate)
        if self.regression:
            self.low, self.high = action_space.low, action_space.high

    def modules(self):
        return {"net": self.net}

    def policy_network(self):
        from gymlab.agents.onnx_policy import PolicyNet

        return PolicyNet(self.net, low=self.low, high=self.high) if self.regression else PolicyNet(self.net)

    def _act(self, out: np.ndarray) -> np.ndarray:
        if self.regression:
            return np.clip(out, self.low, self.high).astype(np.float32)
        return out.argmax(axis=-1)

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = True, action_mask=None):
        out, state = self.step_outputs(self.net, obs, state, episode_start, action_mask)
        action = self._act(out)
        return (action if self.regression else int(action)), state

    def learn(self, env, budget, logger):
        for batch in self.episode_batches(env, budget, logger, self.net, lambda out: self._act(out.double().numpy())):
            self.update(batch, logger)
        return self

    def update(self, batch, logger=None) -> float:
        losses = []
        for ep in batch:
            out = self.net.sequence(np.asarray(ep.obs))
            answers = np.asarray(ep.obs[1:] + [ep.last_obs])  # each step's answer: the observation after it
            if self.regression:
                losses.append(nn.functional.mse_loss(out, torch.as_tensor(answers, dtype=out.dtype)))
            else:
                losses.append(nn.functional.cross_entropy(out, torch.as_tensor(answers, dtype=torch.long)))
        loss = torch.stack(losses).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.net.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        if logger is not None:
            logger.log("losses/supervised_loss", loss.item())
        return loss.item()
