"""What the neural-network agents share: seeding, threads, checkpoints of torch weights,
and acting through a ``Network`` (one step, with the policy's memory in ``state``)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from gymnasium import spaces

from agents.base import Agent, SpaceError
from agents.checkpoint import short_space


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)


class TorchAgent(Agent):
    """An agent whose learned numbers live in torch modules listed by ``modules()``.
    By default it reads observations through ``agents.networks`` and picks one of
    finitely many actions, for the reason its ``discrete_because`` gives."""

    discrete_because: ClassVar[str] = "it picks one of finitely many actions"

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        from agents.networks import check_observation_space

        if not isinstance(action_space, spaces.Discrete):
            raise SpaceError(f"{cls.name}: {cls.discrete_because}, so it needs a Discrete action space, "
                             f"not {short_space(action_space)}")
        check_observation_space(observation_space, "mlp")

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        torch.set_num_threads(max(1, getattr(self.config, "threads", 1)))
        seed_everything(seed)
        self.rng = np.random.default_rng(seed)

    def modules(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def state_arrays(self):
        return {f"{name}/{k}": v.detach().cpu().numpy()
                for name, module in self.modules().items() for k, v in module.state_dict().items()}

    def load_state_arrays(self, arrays):
        for name, module in self.modules().items():
            prefix = f"{name}/"
            state = {k[len(prefix):]: torch.as_tensor(v) for k, v in arrays.items() if k.startswith(prefix)}
            module.load_state_dict(state)  # raises on missing, extra or misshapen weights

    @staticmethod
    def batch_starts(episode_start, n: int = 1) -> np.ndarray:
        if episode_start is None:
            return np.zeros(n, dtype=bool)
        return np.asarray(episode_start, dtype=bool).reshape(-1)
