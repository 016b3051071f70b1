"""gymlab's agents, one algorithm per module, looked up by short name.

    from gymlab import agents
    Agent = agents.get("q")          # imports only agents.q_learning
    agent = Agent(env.observation_space, env.action_space, seed=0)

The registry holds strings, so naming an agent imports nothing heavy: the
tabular agent never pulls in torch.
"""

from __future__ import annotations

import difflib
import importlib

from gymlab.agents.base import Agent, CheckpointError, SpaceError

# CLI name -> "module:Class".
REGISTRY: dict[str, str] = {
    "q": "gymlab.agents.q_learning:QLearning",
    "random": "gymlab.agents.random_agent:RandomAgent",
    "dqn": "gymlab.agents.dqn:DQN",
    "reinforce": "gymlab.agents.reinforce:Reinforce",
    "hill": "gymlab.agents.hill_climbing:HillClimbing",
    "supervised": "gymlab.agents.supervised:Supervised",
    "sb3-dqn": "gymlab.agents.sb3_agents:SB3DQN",
    "sb3-ppo": "gymlab.agents.sb3_agents:SB3PPO",
    "sb3-a2c": "gymlab.agents.sb3_agents:SB3A2C",
    "sb3-recurrent-ppo": "gymlab.agents.sb3_agents:SB3RecurrentPPO",
}


class UnknownAgentError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def names() -> list[str]:
    return sorted(REGISTRY)


def get(name: str) -> type[Agent]:
    """The agent class registered under ``name``, or ``module:Class`` (an agent of your own,
    imported from that module, as ``--env module:id`` imports an env)."""
    if ":" in name and name not in REGISTRY:
        module, _, cls = name.partition(":")
        try:
            from gymlab.cli import import_named  # from the working directory too, as --env's module

            found = getattr(import_named(module), cls)
        except (ImportError, AttributeError) as err:
            raise UnknownAgentError(f"agent {name!r}: cannot import {cls} from {module} ({err})") from err
        if not (isinstance(found, type) and issubclass(found, Agent)):
            raise UnknownAgentError(f"agent {name!r} is not a gymlab Agent class")
        return found
    if name not in REGISTRY:
        close = difflib.get_close_matches(name, names(), n=2)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownAgentError(f"unknown agent {name!r}.{hint} Valid agents: {', '.join(names())}")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


__all__ = ["Agent", "CheckpointError", "SpaceError", "REGISTRY", "UnknownAgentError", "get", "names"]
