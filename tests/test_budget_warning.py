"""The too-small-budget warning and ``--learning-starts``' words (issue 22): the warning fires
exactly when a step budget gives the DQN family no gradient step, checked against runs that count
their gradient steps; ``--learning-starts`` says what it does (epsilon follows its schedule from
step 0, only the gradient steps wait)."""

import gymnasium as gym
import pytest

from gymlab.agents.base import Budget
from gymlab.agents.dqn import DQN, DQNConfig
from gymlab.agents.logger import RunLogger
from gymlab.agents.schedules import linear
from gymlab.agents.schedules import budget_warning as _budget_warning

SMALL = dict(hidden=(8,), batch_size=4, buffer_size=100, threads=1)


def _gradient_steps(steps: int, **config) -> int:
    env = gym.make("CartPole-v1")
    agent = DQN(env.observation_space, env.action_space, DQNConfig(**{**SMALL, **config}), seed=0)
    agent.learn(env, Budget(steps=steps), RunLogger(progress=False))
    return agent.updates


@pytest.mark.parametrize("starts,freq", [(10, 4), (12, 4), (10, 1), (0, 3), (7, 5)])
def test_the_warning_fires_exactly_when_no_gradient_step_is_taken(starts, freq):
    for steps in range(max(1, starts - 1), starts + 2 * freq + 1):
        updates = _gradient_steps(steps, learning_starts=starts, train_freq=freq)
        warning = _budget_warning(DQNConfig(**SMALL, learning_starts=starts, train_freq=freq), Budget(steps=steps))
        assert (warning is not None) == (updates == 0), (steps, updates, warning)


def test_the_recurrent_dqn_too():
    config = dict(policy="lstm", hidden=(8,), seq_len=4, burn_in=0, learning_starts=10, train_freq=4)
    for steps in (11, 12):
        updates = _gradient_steps(steps, **config)
        warning = _budget_warning(DQNConfig(**SMALL | config), Budget(steps=steps))
        assert (warning is not None) == (updates == 0), (steps, updates, warning)


def test_the_warning_says_when_the_first_gradient_step_comes():
    warning = _budget_warning(DQNConfig(learning_starts=1000, train_freq=4), Budget(steps=1001))
    assert "1004" in warning and "--steps 1001" in warning
    assert _budget_warning(DQNConfig(learning_starts=1000, train_freq=4), Budget(steps=1004)) is None
    assert _budget_warning(DQNConfig(learning_starts=1000, train_freq=4), Budget(episodes=1)) is None


def test_learning_starts_delays_the_gradient_steps_not_the_epsilon_schedule():
    """Epsilon at step learning_starts - 1 is the schedule's value there, not 1 (no 'pure
    exploration'); and no gradient step comes before learning_starts."""
    starts, total = 40, 100
    config = DQNConfig(**SMALL, learning_starts=starts, train_freq=1, exploration_fraction=0.5,
                       epsilon_start=1.0, epsilon_end=0.1)
    env = gym.make("CartPole-v1")
    agent = DQN(env.observation_space, env.action_space, config, seed=0)
    seen = {}
    act = agent.act_to_learn

    class Stop(Exception):
        pass

    logger = RunLogger(progress=False)

    def watched(obs, masks):
        seen[logger.steps] = (agent.epsilon, agent.updates)
        if logger.steps == starts:
            raise Stop
        return act(obs, masks)

    agent.act_to_learn = watched
    with pytest.raises(Stop):
        agent.learn(env, Budget(steps=total), logger)
    epsilon, updates = seen[starts - 1]  # acting for step number `starts` (logger.steps = starts - 1 done)
    assert epsilon == pytest.approx(linear(1.0, 0.1, 0.5 * total, starts - 1)) and epsilon < 1.0
    assert epsilon == pytest.approx(1.0 - 0.9 * (starts - 1) / 50)
    assert updates == 0 and seen[starts][1] == 0  # no gradient step up to and including step `starts`
    assert "pure exploration" not in DQNConfig.__dataclass_fields__["learning_starts"].metadata["help"]
    assert "epsilon" in DQNConfig.__dataclass_fields__["learning_starts"].metadata["help"]
