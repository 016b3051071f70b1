"""Batches of points with none thrown away (``--point-returns --round-batches``, issue 27).

``Rollout.batches`` takes from each of the N courts the first k = ceil(B/N) points it begins under
the current weights; a court that has its k plays on, and at the update every point in flight (begun
by the old weights) is played out and dropped: with Pong's 16 courts, 61% of the points played.
Here a court that has its k waits instead, paused (``PongVectorEnv.pause``: not stepped, its
observation and its network's memory as they were), until the batch is full and the update done;
then every court plays on from where it stopped, with the new weights. So every point is played from
its first step to its last by the weights it trains, and every point played is in exactly one batch
(``tests/test_point_batches.py``). The acting forward pass runs on the playing courts only, in one
batch, so a waiting court's frame difference still starts from the frame it stopped at.

A vector env that cannot pause its sub-envs (``supports_pause``) keeps ``Rollout``'s behaviour.

The curriculum (``--curriculum-start D``, ``Curriculum``): the training courts' opponent starts at
difficulty D and rises by ``STEP`` each time the agent has won at least ``WIN_RATE`` of the last
``WINDOW`` points, up to the env's own difficulty. The courts meet the new level at the next update,
when every court is between points, so no point and no batch is played against two opponents. Only the training courts change: evaluations
run in envs of their own, made from the run's arguments, so they always meet the env's opponent.
"""

from __future__ import annotations

import numpy as np
import torch

from gymlab.agents.rollout import VectorSteps
from gymlab.agents.torch_agent import Rollout  # (torch_agent imports this module only when it makes one)


def can_wait(env, num_envs: int) -> bool:
    """Whether ``num_envs`` copies of ``env`` come as a vector env that pauses its sub-envs (Pong's)."""
    import gymnasium as gym

    spec = env.spec
    if spec is None or spec.vector_entry_point is None or spec.additional_wrappers:
        return False
    entry = spec.vector_entry_point
    if isinstance(entry, str):
        entry = gym.envs.registration.load_env_creator(entry)
    return bool(getattr(entry, "supports_pause", False))


class WaitingSteps(VectorSteps):
    """``VectorSteps`` whose sub-envs play only where ``playing`` is True: the others are paused
    (the vector env's ``pause``) and neither make a transition nor spend the budget."""

    def __init__(self, venv, seed=None):
        super().__init__(venv, seed)
        self.playing = np.ones(venv.num_envs, dtype=bool)

    def playing_now(self):
        playing = self.playing.copy()
        self.venv.unwrapped.pause(None if playing.all() else ~playing)
        return playing


def _rows(memory, rows):
    prev, core = memory
    return (None if prev is None else prev[rows]), core


class Curriculum:
    """The opponent's difficulty on the training courts: see the module docstring."""

    WINDOW, WIN_RATE, STEP = 100, 0.5, 0.1

    def __init__(self, venv, start: float):
        self.engine = venv.unwrapped
        self.target = float(self.engine.difficulty)  # the env's own: where the curriculum ends
        self.level = min(float(start), self.target)
        self.recent: list[bool] = []  # the last points: won?
        self.engine.set_difficulty(self.level)

    def point(self, won: bool, logger=None) -> None:
        if self.level >= self.target:
            return
        self.recent.append(won)
        if len(self.recent) == self.WINDOW:
            if sum(self.recent) >= self.WIN_RATE * self.WINDOW:
                self.level = min(round(self.level + self.STEP, 10), self.target)  # the courts': at apply()
            self.recent = []

    def apply(self, logger=None) -> None:
        """The courts' opponent to ``level``: called only when every court is between points and
        every batch unit taken is in an update, so no point and no batch meets two opponents."""
        if self.engine.difficulty != self.level:
            self.engine.set_difficulty(self.level)
            if logger is not None:
                logger.log("charts/difficulty", self.level)

    def state(self) -> dict:
        return {"level": self.level, "recent": list(self.recent)}

    def load_state(self, state: dict) -> None:
        self.level, self.recent = state["level"], list(state["recent"])  # (the courts' opponent: the env's state)


class WaitingRollout(Rollout):
    """``Rollout`` with no point thrown away: see the module docstring.

    A piece a time limit cuts (it ends with no point: reward 0 at its last step) is logged and spent
    from the budget like any step, but left out of the batch, and its court plays on: its return is 0
    at every step only because the point's end was never seen, so taken in it would push every action
    down by the baseline. Leaving it out selects: the cut falls more often in a long point (a long
    rally) than in a short one, so long points are a little under-represented. Each game loses at most
    the one point under way at its cut, and the cut comes at the game's step count, not at anything
    the policy chose in that point, so the points kept are still played start to end by the weights
    they train; the bias is that share of long rallies, small when the limit is many points long.
    """

    def __init__(self, env, net, choose, num_envs: int, seed, version=None, curriculum_start: float = 1.0):
        super().__init__(env, net, choose, num_envs, seed, version)
        self.steps = WaitingSteps(self.steps.venv, seed)
        engine = self.steps.venv.unwrapped
        self.curriculum = None
        if curriculum_start < getattr(engine, "difficulty", 0.0) and hasattr(engine, "set_difficulty"):
            self.curriculum = Curriculum(self.steps.venv, curriculum_start)

    def _forward(self, obs, starts):
        playing = self.steps.playing
        stateful = self.net.stateful
        if playing.all() or (stateful and self.memory is None):
            return super()._forward(obs, starts)
        rows = np.flatnonzero(playing)
        with torch.no_grad():
            if stateful:
                out, (prev, core) = self.net(obs[rows], _rows(self.memory, rows), np.asarray(starts)[rows])
                self.memory[0][rows] = prev  # the waiting courts' frames stay where they stopped
            else:
                out, _ = self.net(obs[rows])
        full = torch.zeros((len(obs), out.shape[1]), dtype=out.dtype)
        full[rows] = out
        return full

    # --8<-- [start:wait]
    def batches(self, batch_episodes: int, budget, logger):
        k = -(-batch_episodes // self.num_envs)
        self.steps.playing = np.array([len(t) < k for t in self.taken])  # (a resumed rollout: as it was)
        for i, episode in self.episodes(budget, logger):
            if episode.rewards[-1] == 0:  # a time-limit cut, not a point: see the class docstring
                continue
            self._take(i, episode)  # begun by these weights: its court waited for them
            if self.curriculum is not None:
                self.curriculum.point(episode.rewards[-1] > 0, logger)
            if len(self.taken[i]) == k:
                self.steps.playing[i] = False
            if all(len(t) == k for t in self.taken):
                batch = [episode for t in self.taken for episode in t]
                self.taken = [[] for _ in range(self.num_envs)]
                self.steps.playing[:] = True
                if self.curriculum is not None:
                    self.curriculum.apply(logger)  # every court between points, the batch whole
                yield batch
    # --8<-- [end:wait]

    def state(self) -> dict:
        state = super().state()
        if self.curriculum is not None:
            state["curriculum"] = self.curriculum.state()
        return state

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        if self.curriculum is not None and "curriculum" in state:
            self.curriculum.load_state(state["curriculum"])
