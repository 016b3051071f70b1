"""What the neural-network agents share: seeding, threads, checkpoints of torch weights,
and acting through a ``Network`` (one step, with the policy's memory in ``state``)."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from gymlab.agents import action_masks, seeding
from gymlab.agents.base import Agent, SpaceError
from gymlab.agents.checkpoint import short_space
from gymlab.agents.rollout import Steps, VectorSteps, make_vector_env


class Episode:
    """One finished episode, step by step: what the agent saw, did and got, each step's action
    mask (None where the env gave none), and the version of the weights that chose its first action."""

    def __init__(self):
        self.obs, self.actions, self.rewards, self.masks, self.version = [], [], [], [], None
        self.last_obs = None  # the observation after the last step
        self.outputs, self.versions = [], []  # with Rollout.keep_outputs: each step's network outputs and weights
        self.seq = None  # its place in the order the rollout took episodes into batches
        self.prev_obs = None  # a round cut out of a game (--round-batches): the frame before its first


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
        torch.manual_seed(seeding.torch_seed(seed))  # the networks' initial weights come from the seed too
        self.rng = seeding.agent_rng(seed)
        self.rollout: Rollout | None = None  # the episodes under way (agents that learn from whole episodes)
        self._resumed_rollout = None

    def modules(self) -> dict[str, torch.nn.Module]:
        raise NotImplementedError

    def policy_network(self):
        """The network this agent acts greedily with, as an ``agents.onnx_policy.PolicyNet`` (what
        ``gymlab export`` writes out), or None: no network of ours acts (SB3's references: SB3's own)."""
        return None

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
    def batch_starts(episode_start) -> np.ndarray:
        if episode_start is None:
            return np.zeros(1, dtype=bool)
        return np.asarray(episode_start, dtype=bool).reshape(-1)

    def step_outputs(self, net, obs, state, episode_start, action_mask):
        """One step of ``net`` for a single observation: its outputs as float64 numpy, with
        actions the mask forbids at -inf, and the network's new memory."""
        with torch.no_grad():
            starts = self.batch_starts(episode_start) if state is not None else None
            out, state = net(np.asarray(obs)[None], state, starts)
        out = out[0].numpy().astype(np.float64)
        out = np.where(action_masks.allowed(action_mask, len(out)), out, -np.inf)
        return out, state

    def episode_batches(self, env, budget, logger, net, choose, version=None, rounds: bool = False):
        """Batches of whole episodes for an agent that updates on them (``version()`` counts its
        updates), on-policy and unbiased by episode length: each of the ``config.num_envs`` envs
        contributes the first k = ceil(``config.batch_episodes`` / num_envs) episodes it begins
        under the current weights, and the batch waits for all of them. An episode begun under
        older weights (one running at an update), or past an env's k while the others finish, is
        played out, logged and spent from the budget, but not learned from. (Taking the first
        episodes to *finish* instead would favour short ones: a length bias, with several envs.)

        The rollout (``self.rollout``: the envs, the episodes under way, the batch so far) lives
        on between calls, so a resume state holds it; after ``load_resume_state`` and
        ``resume_in(env)`` the next call goes on with the restored one.

        ``rounds``: each stretch of an episode that ends with a nonzero reward (a point in Pong)
        is a unit of its own, yielded as it ends (``Rollout.episodes``)."""
        if self.rollout is None or self.rollout.env is not env:
            self.rollout = self.make_rollout(env, net, choose, version, rounds)
        rollout = self.rollout
        rollout.keep_outputs = getattr(self, "keep_outputs", False)
        rollout.net, rollout.choose, rollout.version = net, choose, version or (lambda: 0)
        rollout.rounds = rounds
        return rollout.batches(self.config.batch_episodes, budget, logger)

    # --------------------------------------------------------------- resume state
    def resume_state(self) -> dict:
        state = {"weights": self.state_arrays(), "rng": self.rng, "torch_rng": torch.get_rng_state()}
        if getattr(self, "optimizer", None) is not None:
            state["optimizer"] = self.optimizer.state_dict()
        if self.rollout is not None:
            state["rollout"] = self.rollout.state()
        return state

    def load_resume_state(self, state: dict) -> None:
        self.load_state_arrays(state["weights"])
        self.rng.bit_generator.state = state["rng"].bit_generator.state  # in place: a replay buffer shares it
        torch.set_rng_state(state["torch_rng"])
        if "optimizer" in state:
            self.optimizer.load_state_dict(state["optimizer"])
        self._resumed_rollout = state.get("rollout")

    def resume_in(self, env) -> None:
        """Bind the restored rollout to ``env`` (made as the saved run's was): ``learn`` goes on from there."""
        state, self._resumed_rollout = self._resumed_rollout, None
        if state is not None:
            self.rollout = self.make_rollout(env, None, None, None, getattr(self.config, "round_batches", False))
            self.rollout.load_state(state)

    def make_rollout(self, env, net, choose, version, rounds: bool) -> "Rollout":
        """The rollout ``episode_batches`` plays: with ``rounds`` on a vector env that can pause
        its courts, ``agents.point_batches.WaitingRollout`` (no point thrown away), else ``Rollout``."""
        n, seed = self.config.num_envs, self.env_seed(self.config.num_envs)
        if rounds and n > 1:
            from gymlab.agents.point_batches import WaitingRollout, can_wait

            if can_wait(env, n):
                return WaitingRollout(env, net, choose, n, seed, version,
                                      getattr(self.config, "curriculum_start", 1.0))
        if getattr(self.config, "curriculum_start", 1.0) != 1.0:
            import sys

            print(f"{self.name}: warning: --curriculum-start needs Pong's vector env (courts that pause and an "
                  f"opponent whose difficulty can change); this env has none: no curriculum", file=sys.stderr)
        return Rollout(env, net, choose, n, seed, version)


class Rollout:
    """Episodes played with a network, in one env or ``num_envs`` copies side by side (one
    forward pass a step): ``batches`` yields them as ``TorchAgent.episode_batches`` says. Each
    action is ``choose(outputs)`` on the network's outputs for a batch of observations (actions
    an env's ``action_mask`` forbids at -inf); the episode records it as chosen, while a Box
    action reaches the env clipped to its bounds. A recurrent network's memory starts afresh
    with every episode. ``version()`` names the weights that choose each action.

    Everything it is in the middle of (the env's state, the observation to act on, the
    network's memory, the episodes under way, the batch so far) is in attributes, and the
    generators hold nothing of their own between steps: ``state()`` at a safe point, and
    ``load_state`` into a fresh ``Rollout``, go on exactly where this one was."""

    def __init__(self, env, net, choose, num_envs: int, seed: int | list[int], version=None):
        self.env, self.net, self.choose, self.num_envs = env, net, choose, num_envs
        self.version = version or (lambda: 0)
        box = isinstance(env.action_space, spaces.Box)
        if num_envs > 1:
            venv = make_vector_env(env, num_envs)
            self.steps = VectorSteps(gym.wrappers.vector.ClipAction(venv) if box else venv, seed)
        else:
            self.steps = Steps(gym.wrappers.ClipAction(env) if box else env, seed)
        self.memory, self.chosen_by = None, 0
        self.running: dict[int, Episode] = {}  # env index -> the episode it is playing
        self.taken: list[list[Episode]] = [[] for _ in range(num_envs)]  # the batch so far, by env
        self.dropped = 0
        self.rounds = False  # cut episodes into rounds at each nonzero reward
        self.keep_outputs, self.last_out = False, None  # record each step's outputs in its episode (tests)
        self.on_taken = None  # called with each episode as it is taken into the batch (--workers 2)
        self.taken_count = 0

    def _take(self, i: int, episode: Episode) -> None:
        episode.seq, self.taken_count = self.taken_count, self.taken_count + 1
        self.taken[i].append(episode)
        if self.on_taken is not None:
            self.on_taken(episode)

    def taken_in_order(self) -> list[Episode]:
        """The batch so far, in the order its episodes were taken."""
        return sorted((e for t in self.taken for e in t), key=lambda e: e.seq)

    def _forward(self, obs, starts):
        """The network's outputs for the batch of observations (its memory kept in ``self.memory``)."""
        with torch.no_grad():
            out, self.memory = self.net(obs, self.memory, starts if self.memory is not None else None)
        return out

    def _act_vector(self, obs, starts, info):
        out = self.last_out = self._forward(obs, starts)
        mask = info.get("action_mask")
        if mask is not None:  # (a sub-env that gave none: "_action_mask" False)
            mask = [m if g else None for m, g in zip(mask, info.get("_action_mask", np.ones(len(mask), bool)))]
        out = out.masked_fill(~torch.as_tensor(action_masks.allowed(mask, out.shape[1])), -torch.inf)
        self.chosen_by = self.version()
        return self.choose(out)

    def _act_single(self, obs, info):
        with torch.no_grad():
            out, self.memory = self.net(np.asarray(obs)[None], self.memory, None)
        self.last_out = out
        out = out.masked_fill(~torch.as_tensor(action_masks.allowed(info.get("action_mask"), out.shape[1])),
                              -torch.inf)
        self.chosen_by = self.version()
        return self.choose(out)[0]

    def episodes(self, budget, logger):
        """Play until ``budget`` is spent, yielding ``(env index, finished Episode)``."""
        if self.num_envs > 1:
            steps = self.steps.run(self._act_vector, budget, logger)
        else:
            steps = ([(0, t)] for t in self.steps.run(self._act_single, budget, logger))
        for step in steps:
            for i, t in step:
                episode = self.running.setdefault(i, Episode())
                if not episode.obs:
                    episode.version = self.chosen_by
                episode.obs.append(t.obs)
                episode.actions.append(t.action)
                episode.rewards.append(t.reward)
                episode.masks.append(t.info.get("action_mask"))
                if self.keep_outputs:
                    episode.outputs.append(self.last_out[i if self.num_envs > 1 else 0])
                    episode.versions.append(self.chosen_by)
                if t.terminated or t.truncated:
                    episode.last_obs = t.next_obs
                    if self.num_envs == 1:
                        self.memory = None  # the next episode starts with a clear memory
                    yield i, self.running.pop(i)
                elif self.rounds and t.reward != 0:  # a round ends, the game goes on (memory and all)
                    episode.last_obs = t.next_obs
                    self.running[i] = Episode()
                    self.running[i].prev_obs = t.obs  # the frame the next round's first difference needs
                    yield i, episode

    def batches(self, batch_episodes: int, budget, logger):
        k = -(-batch_episodes // self.num_envs)
        for i, episode in self.episodes(budget, logger):
            if episode.version == self.version() and len(self.taken[i]) < k:
                self._take(i, episode)
            else:
                self.dropped += 1
                logger.log("charts/dropped_episodes", self.dropped)
            if all(len(t) == k for t in self.taken):
                batch = [episode for t in self.taken for episode in t]
                self.taken = [[] for _ in range(self.num_envs)]
                yield batch

    def state(self) -> dict:
        return {"steps": self.steps.state(), "memory": self.memory, "chosen_by": self.chosen_by,
                "running": {i: _episode_state(e) for i, e in self.running.items()},
                "taken": [[_episode_state(e) for e in t] for t in self.taken], "dropped": self.dropped,
                "taken_count": self.taken_count}

    def load_state(self, state: dict) -> None:
        self.steps.load_state(state["steps"])
        self.memory, self.chosen_by, self.dropped = state["memory"], state["chosen_by"], state["dropped"]
        self.running = {i: _episode(e) for i, e in state["running"].items()}
        self.taken = [[_episode(e) for e in t] for t in state["taken"]]
        self.taken_count = state.get("taken_count", 0)


def _episode_state(e: Episode) -> dict:
    return {"obs": np.asarray(e.obs), "actions": np.asarray(e.actions), "rewards": np.asarray(e.rewards),
            "masks": list(e.masks), "version": e.version, "last_obs": e.last_obs,
            "prev_obs": e.prev_obs, "seq": e.seq}


def _episode(state: dict) -> Episode:
    e = Episode()
    e.obs, e.actions, e.rewards = list(state["obs"]), list(state["actions"]), list(state["rewards"])
    e.masks = list(state["masks"])
    e.version = state["version"] if "version" in state else state["versions"][0]  # (a list, one a step, before)
    e.last_obs, e.prev_obs = state["last_obs"], state.get("prev_obs")  # (older states' "truncated": unused)
    e.seq = state.get("seq")
    return e
