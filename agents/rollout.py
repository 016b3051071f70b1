"""The env loops every agent shares: stepping for transitions, and greedy evaluation."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from gymlab.agents.base import Budget


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


def make_vector_env(env, num_envs: int):
    """``num_envs`` copies of ``env`` (same id and arguments) as one Gymnasium vector env:
    the env's own vector engine when it registers one, else a synchronous vector of copies.
    Either way every copy runs with ``env``'s time limit, not the registered one: ``env.spec``
    carries the limit of its outermost ``TimeLimit`` (``gym.make(..., max_episode_steps=N)``)."""
    import gymnasium as gym

    spec = env.spec  # with any wrappers applied after gym.make (e.g. a frame stack)
    spec = dataclasses.replace(spec, kwargs={k: v for k, v in spec.kwargs.items() if k != "render_mode"})
    if spec.vector_entry_point is not None and not spec.additional_wrappers:
        # Said outright: make_vec passes only a limit that is not None, so the vector env
        # would otherwise fall back on its own default where env has no limit at all.
        return gym.make_vec(spec, num_envs=num_envs, vectorization_mode="vector_entry_point",
                            max_episode_steps=spec.max_episode_steps)
    return gym.make_vec(spec, num_envs=num_envs, vectorization_mode="sync")  # make() applies spec's limit


def sub_info(info: dict, i: int) -> dict:
    """Sub-env ``i``'s own info out of a vector env's: Gymnasium keeps key k's values for all
    sub-envs in ``info[k]`` (an array, or a dict of them) and which sub-envs gave k in ``info["_k"]``."""
    out = {}
    for key, values in info.items():
        given = info.get(f"_{key}")
        if key.startswith("_") or (given is not None and not given[i]):
            continue
        out[key] = sub_info(values, i) if isinstance(values, dict) else values[i]
    return out


def vector_transitions(venv, act: Callable[..., np.ndarray], budget: Budget, logger, seed: int | None = None,
                       with_info: bool = False) -> Iterator[tuple[int, Transition]]:
    """``transitions`` for a vector env under Gymnasium's next-step autoreset: yields
    ``(sub_env, transition)``, each with its sub-env's own ``info`` and ``next_info``, and leaves
    out the step that only resets a finished sub-env. ``act(obs_batch, starts)`` gets which
    sub-envs begin an episode with this observation; with ``with_info``, ``act(obs_batch, starts,
    info)`` also gets the vector env's info that came with ``obs_batch`` (e.g. ``info["action_mask"]``,
    shape (n, actions), beside ``info["_action_mask"]``: which sub-envs gave one)."""
    from gymnasium.vector import AutoresetMode

    mode = venv.metadata.get("autoreset_mode")
    if mode != AutoresetMode.NEXT_STEP:  # under same-step autoreset, next_obs of a last step is already a reset's
        raise ValueError(f"vector_transitions needs a vector env with Gymnasium's next-step autoreset "
                         f"(metadata['autoreset_mode'] = AutoresetMode.NEXT_STEP), not {mode!r}")
    obs, info = venv.reset(seed=seed)
    n = venv.num_envs
    starts, resetting = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    while not budget.spent(logger.steps, logger.episodes):
        actions = act(obs, starts, info) if with_info else act(obs, starts)
        next_obs, rewards, terminated, truncated, next_info = venv.step(actions)
        done = terminated | truncated
        for i in range(n):
            if resetting[i]:
                continue  # this step reset sub-env i; its action was ignored
            yield i, Transition(obs[i], actions[i], float(rewards[i]), next_obs[i], bool(terminated[i]),
                                bool(truncated[i]), sub_info(info, i), sub_info(next_info, i))
            logger.step(float(rewards[i]), bool(done[i]), env=i)
        starts, resetting, obs, info = resetting, done, next_obs, next_info


def run_episode(env, act: Callable[[Any, dict], Any], seed: int | None, logger=None) -> float:
    """One whole episode from ``reset(seed=seed)`` with ``act(obs, info)``; its return.
    Every step is counted by ``logger`` (when given), so it spends a training budget."""
    obs, info = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(act(obs, info))
        total += float(reward)
        done = terminated or truncated
        if logger is not None:
            logger.step(float(reward), done)
    return total


def evaluate(agent, env, episodes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
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
    return np.array(returns), np.array(lengths)
