"""Issue 22, dead state out: what nothing reads is not saved, and the resume states that
earlier gymlab wrote with it still load."""

import copy

import numpy as np
from gymnasium import spaces

from gymlab.agents import rollout
from gymlab.agents import seeding
from gymlab.agents.q_learning import QConfig, QLearning
from gymlab.agents.torch_agent import Episode, _episode, _episode_state


def test_q_learning_saves_no_epsilon_and_reads_states_that_hold_one():
    """Epsilon follows its schedule from the step count at every step, so a saved one is never read."""
    agent = QLearning(spaces.Discrete(3), spaces.Discrete(2), QConfig(), seed=1)
    agent.q[:] = np.arange(6).reshape(3, 2)
    state = agent.resume_state()
    assert "epsilon" not in state
    old = {**state, "epsilon": 0.37}  # as gymlab before issue 22 wrote it
    for saved in (state, old):
        other = QLearning(spaces.Discrete(3), spaces.Discrete(2), QConfig(), seed=2)
        other.load_resume_state(copy.deepcopy(saved))  # (as read back from a file: its own rng)
        assert np.array_equal(other.q, agent.q)
        assert other.rng.random() == seeding.agent_rng(1).random()  # the saved stream, not its own


def test_an_episode_keeps_one_version_and_old_states_with_a_list_still_load():
    """Only the version of an episode's first step was ever read (whether its weights are current)."""
    episode = Episode()
    episode.obs, episode.actions, episode.rewards, episode.masks = [np.zeros(2)] * 3, [0, 1, 0], [0.0, 1.0, 0.0], \
        [None] * 3
    episode.version = 4
    state = _episode_state(episode)
    assert state["version"] == 4 and "versions" not in state
    assert _episode(state).version == 4
    old = {k: v for k, v in state.items() if k != "version"}
    old["versions"] = [4, 4, 5]  # as gymlab before issue 22 wrote it: one a step
    assert _episode(old).version == 4


def test_the_dead_helpers_are_gone():
    from gymlab.agents.dqn import DQNConfig, QNetwork
    from gymlab.agents.replay import ReplayBuffer
    from gymlab.agents.torch_agent import TorchAgent
    import inspect

    assert not hasattr(rollout, "transitions")
    assert not hasattr(ReplayBuffer, "_BIG")
    q = QNetwork(spaces.Box(-1, 1, (2,), np.float32), 2, DQNConfig(hidden=(4,)))
    assert not hasattr(q, "dueling") and not hasattr(q, "n_actions")
    assert list(inspect.signature(TorchAgent.batch_starts).parameters) == ["episode_start"]
