"""The env loops every agent shares: stepping for transitions, and greedy evaluation."""

from __future__ import annotations

from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from agents.base import Budget


class Transition(NamedTuple):
    obs: Any
    action: Any
    reward: float
    next_obs: Any
    terminated: bool  # the MDP ended: bootstrap from zero
    truncated: bool   # cut by a time limit: the next state still has a value
    info: dict        # info that came with obs (e.g. its action_mask)
    next_info: dict   # info that came with next_obs


def transitions(env, policy: Callable[[Any, dict], Any], budget: Budget, logger, seed: int | None = None
                ) -> Iterator[Transition]:
    """Step ``env`` with ``policy(obs, info)`` until ``budget`` is spent, yielding each transition.

    Episodes are reset here (the first with ``seed``), and every reward goes to
    ``logger``, so an agent's ``learn`` holds nothing but its update rule.
    """
    obs, info = env.reset(seed=seed)
    while not budget.spent(logger.steps, logger.episodes):
        action = policy(obs, info)
        next_obs, reward, terminated, truncated, next_info = env.step(action)
        yield Transition(obs, action, float(reward), next_obs, terminated, truncated, info, next_info)
        logger.step(float(reward), terminated or truncated)
        if terminated or truncated:
            obs, info = env.reset()
        else:
            obs, info = next_obs, next_info


def evaluate(agent, env, episodes: int, seed: int, should_stop: Callable[[], bool] = lambda: False
             ) -> tuple[np.ndarray, np.ndarray]:
    """Greedy returns and lengths over ``episodes`` episodes, episode i reset with ``seed + i``."""
    returns, lengths = [], []
    for i in range(episodes):
        obs, info = env.reset(seed=seed + i)
        state, start, total, length, done = None, True, 0.0, 0, False
        while not done:
            action, state = agent.predict(obs, state, episode_start=np.array([start]), deterministic=True,
                                          action_mask=info.get("action_mask"))
            obs, reward, terminated, truncated, info = env.step(action)
            total, length, start = total + float(reward), length + 1, False
            done = terminated or truncated
        returns.append(total)
        lengths.append(length)
        if should_stop():
            break
    return np.array(returns), np.array(lengths)
