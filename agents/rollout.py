"""The env loops every agent shares: stepping for transitions, and greedy evaluation."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from gymlab.agents.base import Budget
from gymlab.resume import env_state, set_env_state


class Transition(NamedTuple):
    obs: Any
    action: Any
    reward: float
    next_obs: Any
    terminated: bool  # the MDP ended: bootstrap from zero
    truncated: bool   # cut by a time limit: the next state still has a value
    info: dict        # info that came with obs (e.g. its action_mask)
    next_info: dict   # info that came with next_obs


class Steps:
    """An env being stepped, between steps: the env, and the observation and info to act on
    next. ``run`` steps it with ``policy(obs, info)`` until ``budget`` is spent, resetting
    finished episodes (the first with ``seed``) and giving every reward to ``logger``, and yields
    each transition; all of its state is in these attributes, so at any
    safe point (``logger.safe_point()``, called between steps) ``state()`` can be saved, and a
    fresh ``Steps`` given it with ``load_state`` (on an env made the same way) goes on exactly
    where this one was."""

    def __init__(self, env, seed: int | None = None):
        self.env, self.seed = env, seed
        self.obs, self.info = None, None  # None: not reset yet
        self.pending = None  # the step handed out last: (reward, done, next_obs, next_info), not yet counted

    def run(self, policy: Callable[[Any, dict], Any], budget: Budget, logger) -> Iterator[Transition]:
        if self.obs is None:
            self.obs, self.info = self.env.reset(seed=self.seed)
        while True:
            self._finish(logger)
            logger.safe_point()
            if budget.spent(logger.steps, logger.episodes):
                return
            action = policy(self.obs, self.info)
            next_obs, reward, terminated, truncated, next_info = self.env.step(action)
            self.pending = (float(reward), terminated or truncated, next_obs, next_info)
            yield Transition(self.obs, action, float(reward), next_obs, terminated, truncated, self.info, next_info)

    def _finish(self, logger) -> None:
        """Count the step handed out last (after the agent has learned from it), resetting a finished episode."""
        if self.pending is None:
            return
        reward, done, next_obs, next_info = self.pending
        self.pending = None
        self.obs, self.info = self.env.reset() if done else (next_obs, next_info)
        logger.step(reward, done)  # periodic evaluations run here: after the reset, at a whole state

    def state(self) -> dict:
        assert self.pending is None, "saved between steps only"
        return {"obs": self.obs, "info": self.info, "env": env_state(self.env)}

    def load_state(self, state: dict) -> None:
        self.obs, self.info = state["obs"], state["info"]
        set_env_state(self.env, state["env"])


def make_vector_env(env, num_envs: int):
    """``num_envs`` copies of ``env`` (same id and arguments) as one Gymnasium vector env:
    the env's own vector engine when it registers one, else a synchronous vector of copies.
    Either way every copy runs with ``env``'s time limit, not the registered one: ``env.spec``
    carries the limit of its outermost ``TimeLimit`` (``gym.make(..., max_episode_steps=N)``).
    An env without a spec (built directly, not by ``gym.make``) cannot be copied: ValueError."""
    import gymnasium as gym

    spec = copy_spec(env, num_envs)
    if spec.vector_entry_point is not None and not spec.additional_wrappers:
        # Said outright: make_vec passes only a limit that is not None, so the vector env
        # would otherwise fall back on its own default where env has no limit at all.
        return gym.make_vec(spec, num_envs=num_envs, vectorization_mode="vector_entry_point",
                            max_episode_steps=spec.max_episode_steps)
    return gym.make_vec(spec, num_envs=num_envs, vectorization_mode="sync")  # make() applies spec's limit


def copy_spec(env, num_envs: int):
    """The spec ``num_envs`` copies of ``env`` are made from (``gym.make(spec)``): its id, arguments,
    time limit and the wrappers applied after ``gym.make``, without a render mode. An env built
    directly, with no spec, cannot be copied: ValueError."""
    spec = env.spec  # with any wrappers applied after gym.make (e.g. a frame stack)
    if spec is None:
        raise ValueError(f"--num-envs {num_envs} makes {num_envs} copies of the env from its spec (its id and "
                         f"arguments), so it needs an env made by gym.make; {env} was built directly and has no "
                         f"spec")
    return dataclasses.replace(spec, kwargs={k: v for k, v in spec.kwargs.items() if k != "render_mode"})


def vector_seed(venv, seeds: int | list[int] | None):
    """What ``venv.reset(seed=...)`` takes for one seed a sub-env: the list, for Gymnasium's sync
    and async vector envs and a vector env that says it takes one (``seeds_per_sub_env``, as
    gymlab's Pong); an env's own vector engine that draws every sub-env from one generator seeded
    by one int (CartPole's) gets the first."""
    from gymnasium.vector import AsyncVectorEnv, SyncVectorEnv

    engine = venv.unwrapped
    if not isinstance(seeds, list) or isinstance(engine, (SyncVectorEnv, AsyncVectorEnv)) \
            or getattr(engine, "seeds_per_sub_env", False):
        return seeds
    return seeds[0]


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


class VectorSteps:
    """``Steps`` for a vector env under Gymnasium's next-step autoreset. ``run(act, ...)``
    yields, for each step of the vector env, the list of ``(sub_env, transition)`` it made,
    each with its sub-env's own ``info`` and ``next_info``, leaving out the step that only
    resets a finished sub-env. ``act(obs_batch, starts, info)`` gets which sub-envs begin an
    episode with this observation, and the vector env's info that came with ``obs_batch``
    (e.g. ``info["action_mask"]``, shape (n, actions), beside ``info["_action_mask"]``: which
    sub-envs gave one). A safe point comes between steps of the vector env only."""

    def __init__(self, venv, seed: int | list[int] | None = None):
        # seed: the first reset's, one a sub-env (a run's: Agent.env_seed), or one int (Gymnasium's vector
        # envs then seed sub-env i with seed + i)
        from gymnasium.vector import AutoresetMode

        mode = venv.metadata.get("autoreset_mode")
        if mode != AutoresetMode.NEXT_STEP:  # under same-step autoreset, next_obs of a last step is already a reset's
            raise ValueError(f"vector_transitions needs a vector env with Gymnasium's next-step autoreset "
                             f"(metadata['autoreset_mode'] = AutoresetMode.NEXT_STEP), not {mode!r}")
        self.venv, self.seed, n = venv, seed, venv.num_envs
        self.obs, self.info = None, None
        self.starts, self.resetting = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
        self.pending = None  # the last step's (rewards, done, next_obs, next_info, which sub-envs it counted)

    def run(self, act: Callable[..., np.ndarray], budget: Budget, logger) -> Iterator[list[tuple[int, Transition]]]:
        if self.obs is None:
            self.obs, self.info = self.venv.reset(seed=vector_seed(self.venv, self.seed))
        while True:
            self._finish(logger)
            logger.safe_point()
            if budget.spent(logger.steps, logger.episodes):
                return
            actions = act(self.obs, self.starts, self.info)
            playing = self.playing_now()  # (None: every sub-env)
            next_obs, rewards, terminated, truncated, next_info = self.venv.step(actions)
            done = terminated | truncated
            live = np.flatnonzero(~self.resetting if playing is None else playing & ~self.resetting)  # a resetting
            self.pending = (rewards, done, next_obs, next_info, live, playing)  # sub-env ignored its action
            yield [(int(i), Transition(self.obs[i], actions[i], float(rewards[i]), next_obs[i], bool(terminated[i]),
                                       bool(truncated[i]), sub_info(self.info, i), sub_info(next_info, i)))
                   for i in live]

    def _finish(self, logger) -> None:
        if self.pending is None:
            return
        rewards, done, next_obs, next_info, live, playing = self.pending
        self.pending = None
        if playing is None:
            self.starts, self.resetting = self.resetting, done
        else:  # a paused sub-env's stay as they were
            self.starts, self.resetting = np.where(playing, self.resetting, self.starts), np.where(playing, done,
                                                                                                  self.resetting)
        self.obs, self.info = next_obs, next_info
        for i in live:
            logger.step(float(rewards[i]), bool(done[i]), env=int(i))

    def playing_now(self):
        """Which sub-envs step this time (a bool mask), or None for all: ``WaitingSteps`` pauses some."""
        return None

    def state(self) -> dict:
        assert self.pending is None, "saved between steps only"
        return {"obs": self.obs, "info": self.info, "starts": self.starts, "resetting": self.resetting,
                "env": env_state(self.venv)}

    def load_state(self, state: dict) -> None:
        self.obs, self.info = state["obs"], state["info"]
        self.starts, self.resetting = state["starts"], state["resetting"]
        set_env_state(self.venv, state["env"])


def vector_transitions(venv, act: Callable[..., np.ndarray], budget: Budget, logger, seed: int | None = None,
                       with_info: bool = False) -> Iterator[tuple[int, Transition]]:
    """The transitions of a vector env: ``(sub_env, transition)`` one at a time (see
    ``VectorSteps``); ``act(obs_batch, starts)``, or with ``with_info`` ``act(obs_batch, starts, info)``."""
    steps = VectorSteps(venv, seed)
    for batch in steps.run(act if with_info else (lambda obs, starts, info: act(obs, starts)), budget, logger):
        yield from batch


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


def evaluate(agent, env, episodes: int, seed: int | list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Greedy returns and lengths over ``episodes`` episodes, episode i reset with ``seed[i]`` (a
    run's evaluations: ``agents/seeding.py``), or with ``seed + i`` for one int ``seed``."""
    seeds = [seed + i for i in range(episodes)] if isinstance(seed, int) else list(seed)
    if len(seeds) != episodes:
        raise ValueError(f"evaluate needs one seed an episode ({episodes}), got {len(seeds)}")
    returns, lengths = [], []
    for i in range(episodes):
        obs, info = env.reset(seed=seeds[i])
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
