"""What the neural-network agents share: seeding, threads, checkpoints of torch weights,
and acting through a ``Network`` (one step, with the policy's memory in ``state``)."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from gymlab.agents.base import Agent, SpaceError
from gymlab.agents.checkpoint import short_space
from gymlab.agents.rollout import make_vector_env, transitions, vector_transitions


class Episode:
    """One finished episode, step by step: what the agent saw, did and got, each step's action
    mask (None where the env gave none), and the version of the weights that chose each action."""

    def __init__(self):
        self.obs, self.actions, self.rewards, self.masks, self.versions = [], [], [], [], []
        self.truncated, self.last_obs = False, None  # cut by a time limit; the observation after the last step


def allowed_actions(masks, n_actions: int) -> torch.Tensor | None:
    """Action masks, one per row (each None, or 1 where the action is allowed), as a (rows,
    n_actions) bool tensor; None when no row has one. A row without a mask, or whose mask allows
    nothing, allows everything (as ``step_outputs`` reads it)."""
    if all(m is None for m in masks):
        return None
    rows = np.ones((len(masks), n_actions), dtype=bool)
    for row, m in zip(rows, masks):
        if m is not None and np.any(m):
            row[:] = np.asarray(m, dtype=bool)
    return torch.as_tensor(rows)


class TorchAgent(Agent):
    """An agent whose learned numbers live in torch modules listed by ``modules()``.
    By default it reads observations through ``agents.networks`` and picks one of
    finitely many actions, for the reason its ``discrete_because`` gives."""

    discrete_because: ClassVar[str] = "it picks one of finitely many actions"

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        from gymlab.agents.networks import check_observation_space

        if not isinstance(action_space, spaces.Discrete):
            raise SpaceError(f"{cls.name}: {cls.discrete_because}, so it needs a Discrete action space, "
                             f"not {short_space(action_space)}")
        check_observation_space(observation_space, "mlp")

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        for what, space in (("observation", observation_space), ("action", action_space)):
            if isinstance(space, spaces.Discrete) and space.start != 0:  # the networks number them from 0
                raise SpaceError(f"{self.name}: its network numbers {what}s from 0, so it needs a Discrete {what} "
                                 f"space that starts at 0, not {space} (the tabular agent q takes any start)")
        super().__init__(observation_space, action_space, config, seed)
        torch.set_num_threads(max(1, getattr(self.config, "threads", 1)))
        torch.manual_seed(seed)  # the networks' initial weights come from the seed too
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
            try:
                module.load_state_dict(state)  # raises on missing, extra or misshapen weights
            except RuntimeError as err:  # torch says it in many lines: keep the first problem, count the rest
                problems = [line.strip() for line in str(err).splitlines()[1:] if line.strip()] or [str(err)]
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                raise ValueError(f"{name}: {problems[0]}{more}") from err

    @staticmethod
    def batch_starts(episode_start, n: int = 1) -> np.ndarray:
        if episode_start is None:
            return np.zeros(n, dtype=bool)
        return np.asarray(episode_start, dtype=bool).reshape(-1)

    def step_outputs(self, net, obs, state, episode_start, action_mask):
        """One step of ``net`` for a single observation: its outputs as float64 numpy, with
        actions the mask forbids at -inf, and the network's new memory."""
        with torch.no_grad():
            starts = self.batch_starts(episode_start) if state is not None else None
            out, state = net(np.asarray(obs)[None], state, starts)
        out = out[0].numpy().astype(np.float64)
        if action_mask is not None and np.any(action_mask):
            out = np.where(np.asarray(action_mask, dtype=bool), out, -np.inf)
        return out, state

    def episode_batches(self, env, budget, logger, net, choose, version=None):
        """Batches of whole episodes for an agent that updates on them (``version()`` counts its
        updates), on-policy and unbiased by episode length: each of the ``config.num_envs`` envs
        contributes the first k = ceil(``config.batch_episodes`` / num_envs) episodes it begins
        under the current weights, and the batch waits for all of them. An episode begun under
        older weights (one running at an update), or past an env's k while the others finish, is
        played out, logged and spent from the budget, but not learned from. (Taking the first
        episodes to *finish* instead would favour short ones: a length bias, with several envs.)"""
        version = version or (lambda: 0)
        n = self.config.num_envs
        k = -(-self.config.batch_episodes // n)
        taken, dropped = [[] for _ in range(n)], 0
        for i, episode in self.play_episodes(env, budget, logger, net, choose, n, version):
            if episode.versions[0] == version() and len(taken[i]) < k:
                taken[i].append(episode)
            else:
                dropped += 1
                logger.log("charts/dropped_episodes", dropped)
            if all(len(t) == k for t in taken):
                yield [episode for t in taken for episode in t]
                taken = [[] for _ in range(n)]

    def play_episodes(self, env, budget, logger, net, choose, num_envs: int = 1, version=None):
        """Play until ``budget`` is spent, yielding each finished ``Episode``: ``choose(outputs)``
        turns ``net``'s outputs for a batch of observations (actions an env's ``action_mask``
        forbids at -inf) into actions, and the episode records them as chosen, while a Box action
        reaches the env clipped to its bounds. With ``num_envs`` > 1, copies of ``env`` run side
        by side (one forward pass a step). A recurrent ``net``'s memory starts afresh with every
        episode.

        Yields ``(env index, episode)``; ``version()`` (e.g. the number of updates so far) names
        the weights that choose each action, kept in ``episode.versions``."""
        version = version or (lambda: 0)
        memory, chosen_by = None, 0
        box = isinstance(env.action_space, spaces.Box)
        if num_envs > 1:
            def act(obs, starts, info):
                nonlocal memory, chosen_by
                with torch.no_grad():
                    out, memory = net(obs, memory, starts if memory is not None else None)
                mask = info.get("action_mask")
                if mask is not None:
                    given = info.get("_action_mask", np.ones(len(mask), dtype=bool))
                    allowed = allowed_actions([m if g else None for m, g in zip(mask, given)], out.shape[1])
                    out = out.masked_fill(~allowed, -torch.inf)
                chosen_by = version()
                return choose(out)

            venv = make_vector_env(env, num_envs)
            venv = gym.wrappers.vector.ClipAction(venv) if box else venv
            steps = vector_transitions(venv, act, budget, logger, seed=self.seed, with_info=True)
        else:
            def policy(obs, info):
                nonlocal memory, chosen_by
                out, memory = self.step_outputs(net, obs, memory, None, info.get("action_mask"))
                chosen_by = version()
                return choose(torch.from_numpy(out)[None])[0]

            env = gym.wrappers.ClipAction(env) if box else env
            steps = ((0, t) for t in transitions(env, policy, budget, logger, seed=self.seed))
        episodes = {}
        for i, t in steps:
            episode = episodes.setdefault(i, Episode())
            episode.obs.append(t.obs)
            episode.actions.append(t.action)
            episode.rewards.append(t.reward)
            episode.masks.append(t.info.get("action_mask"))
            episode.versions.append(chosen_by)
            if t.terminated or t.truncated:
                episode.truncated, episode.last_obs = t.truncated and not t.terminated, t.next_obs
                if num_envs == 1:
                    memory = None  # the next episode starts with a clear memory
                yield i, episodes.pop(i)
