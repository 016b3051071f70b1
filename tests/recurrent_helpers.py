"""Helpers shared by the recurrent DQN's tests (tests/test_recurrent_dqn.py,
tests/test_recurrent_dqn_learning.py)."""

from gymlab import agents
from gymlab.agents.dqn import DQNConfig
from gymlab.agents.recurrent_dqn import RecurrentDQN


def recurrent(obs_space, act_space, seed=0, **config) -> RecurrentDQN:
    """Built as train.py builds it: through DQN, the one name."""
    agent = agents.get("dqn")(obs_space, act_space, DQNConfig(**{"policy": "lstm", "hidden": (16,), **config}),
                              seed=seed)
    assert type(agent) is RecurrentDQN
    return agent
