"""The few calls every agent answers, so ``train.py`` never special-cases one.

An agent is built from the spaces it will act in and a config dataclass of
hyper-parameters (each field with a ``help`` string, which ``train.py`` turns
into a command-line flag). It answers:

- ``check_spaces(observation_space, action_space)``: raise ``SpaceError``
  saying why it cannot act there (a classmethod, called before building);
- ``predict(obs, state, episode_start, deterministic, action_mask)
  -> (action, state)``: SB3's convention, which already fits recurrent
  policies (``state`` is their hidden state; ``None`` for the others);
- ``learn(env, budget, logger)``: train in ``env`` until the budget is spent;
- ``save(path)`` / ``load(path)``: an atomic, self-describing checkpoint;
- ``report(env, run_dir)``: agent-specific figures for ``summary.json`` and
  lines to print after training (empty by default).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from gymlab.agents import checkpoint
from gymlab.agents.checkpoint import CheckpointError


class SpaceError(ValueError):
    """An agent cannot act in an env with these observation or action spaces."""


@dataclass
class Budget:
    """How long to train: env steps, or whole episodes (exactly one is set)."""

    steps: int | None = None
    episodes: int | None = None

    def __post_init__(self):
        if (self.steps is None) == (self.episodes is None):
            raise ValueError("a budget is either steps or episodes")
        if (self.steps or self.episodes) <= 0:
            raise ValueError("a budget must be positive")

    @property
    def total(self) -> int:
        return self.steps if self.steps is not None else self.episodes

    @property
    def unit(self) -> str:
        return "steps" if self.steps is not None else "episodes"

    def spent(self, steps: int, episodes: int) -> bool:
        return steps >= self.steps if self.steps is not None else episodes >= self.episodes


class Agent:
    name: ClassVar[str]
    Config: ClassVar[type]

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        self.check_spaces(observation_space, action_space)
        self.observation_space = observation_space
        self.action_space = action_space
        self.config = config if config is not None else self.Config()
        self.seed = seed

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        raise NotImplementedError

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = False, action_mask=None):
        raise NotImplementedError

    def learn(self, env, budget: Budget, logger=None) -> "Agent":
        raise NotImplementedError

    def report(self, env, run_dir: Path | None = None) -> tuple[dict, list[str]]:
        return {}, []

    # --------------------------------------------------------------- checkpoints
    def state_arrays(self) -> dict[str, Any]:
        """The learned numbers, as named numpy arrays."""
        raise NotImplementedError

    def load_state_arrays(self, arrays: dict[str, Any]) -> None:
        raise NotImplementedError

    def save(self, path) -> None:
        meta = {
            "agent": self.name,
            "config": dataclasses.asdict(self.config),
            "observation_space": checkpoint.describe_space(self.observation_space),
            "action_space": checkpoint.describe_space(self.action_space),
            "seed": self.seed,
        }
        checkpoint.save(path, meta, self.state_arrays())

    @classmethod
    def load(cls, path, observation_space=None, action_space=None, **config_overrides) -> "Agent":
        """Rebuild an agent from ``path``; spaces default to the ones it was trained on."""
        meta, arrays = checkpoint.load(path)
        if meta.get("agent") != cls.name:
            raise CheckpointError(f"{path} was written by agent {meta.get('agent')!r}, not {cls.name!r}", path)
        for which, space in (("observation_space", observation_space), ("action_space", action_space)):
            if space is not None and checkpoint.describe_space(space) != meta[which]:
                raise CheckpointError(
                    f"{path} was trained with {which} {meta[which]['repr']}, but this env has {space}", path)
        spaces_ = [checkpoint.rebuild_space(meta[k]) if s is None else s
                   for k, s in (("observation_space", observation_space), ("action_space", action_space))]
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        config = cls.Config(**{k: tuple(v) if isinstance(v, list) else v  # JSON has no tuples
                               for k, v in meta["config"].items() if k in fields})
        config = dataclasses.replace(config, **config_overrides)
        agent = cls(*spaces_, config=config, seed=meta.get("seed", 0))
        try:
            agent.load_state_arrays(arrays)
        except (KeyError, ValueError) as err:
            raise CheckpointError(f"{path} does not hold what a {cls.name!r} agent needs: {err}", path,
                                  corrupt=True) from err
        return agent
