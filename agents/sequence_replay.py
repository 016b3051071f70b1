"""Replay of fixed-length sequences, for a recurrent Q-network (R2D2: Kapturowski et al. 2019).

A recurrent Q-network learns from stretches of episodes, not from single transitions. Each
env's stream of steps is cut by a ``SequenceWriter`` into sequences of ``L = l + m + n`` slots:

    slot  0 ........ l-1 | l .............. l+m-1 | l+m ........ l+m+n-1
          burn-in (l)      trained (m: the loss)     look-ahead (n: the n-step targets
          run through to   on these steps            of the last trained steps read
          refresh the state                          rewards and observations here)

- The trained parts of an episode's sequences begin at its steps 0, p, 2p, ... with period
  ``p = m - overlap``, so adjacent ones share ``overlap`` steps (R2D2: m = 80, overlap 40);
  every step of an episode is in the trained part of at least one sequence. When the episode
  ends, only the sequences still needed for that are written, padded after its end (as
  DeepMind Acme's sequence adder pads the end of an episode): the first start whose trained
  part reaches the last step is the last, so an episode of T steps gives
  ``1 + max(0, ceil((T - m) / p))`` sequences, and an episode shorter than m one. (Writing
  every start below T, as this did before, added a sequence whose trained steps another
  already held: on Recall half the stored sequences, its answer step drawn twice as often.)
- Slot k of the sequence whose trained part begins at episode step s holds step
  ``s - l + k``. A sequence never crosses into another episode: slots before the episode's
  first step (a sequence near its start has less than l steps to burn in) and after its end
  are padding, with ``valid`` False; the slot just after the last step holds the episode's
  final observation (a truncated episode's value is bootstrapped from it), ``valid`` False too.
- ``starts`` marks the slot of an episode's first step: the network's memory is zeroed
  there, as it was when the agent acted.
- ``stored_state``: the recurrent state the acting network had at slot 0 ("stored state", R2D2),
  zeros when slot 0 is padding (the memory is zeroed at the episode's first slot anyway).

``SequenceReplayBuffer`` keeps sequences in a ring of preallocated arrays and samples them
uniformly; ``PrioritizedSequenceReplayBuffer`` samples them by priority, with the sum and
min trees, the stratified draw and the importance weights of the ``Prioritized`` mixin
(``agents.replay``): the agent gives each sequence the priority
``eta max_t |delta_t| + (1 - eta) mean_t |delta_t|`` over its trained steps.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np

from gymlab.agents.replay import Prioritized, Ring


class SequenceBatch(NamedTuple):
    index: np.ndarray       # (B,) the sequences' slots in the buffer
    obs: np.ndarray         # (B, L, *obs_shape)
    actions: np.ndarray     # (B, L) int64
    rewards: np.ndarray     # (B, L) float32
    terminated: np.ndarray  # (B, L) the step in this slot ended the episode in a terminal state
    valid: np.ndarray       # (B, L) a step of the sequence's episode was taken in this slot
    starts: np.ndarray      # (B, L) the episode's first step is in this slot (memory zeroed there)
    masks: np.ndarray | None  # (B, L, n_actions) actions allowed at each slot's observation (None: no masks)
    stored_state: np.ndarray  # (B, k, hidden) the acting network's recurrent state at slot 0 (k = 2 for (h, c))
    weights: np.ndarray     # (B,) importance-sampling weights (all 1 for uniform replay)


class Step(NamedTuple):
    obs: np.ndarray
    action: int
    reward: float
    terminated: bool
    mask: np.ndarray | None  # actions allowed at obs (None: all)
    state: np.ndarray        # the acting network's recurrent state as it read obs


class SequenceWriter:
    """One env's steps, cut into sequences as the module docstring lays them out. ``push`` a
    step, get back the sequences it completes (each a dict of arrays for
    ``SequenceReplayBuffer.add``): a sequence is complete when its last slot's step has been
    taken, or when its episode ends (then padded)."""

    def __init__(self, burn_in: int, seq_len: int, overlap: int, n_step: int):
        if not 0 <= overlap < seq_len:
            raise ValueError(f"the overlap ({overlap}) must be below the sequence length ({seq_len})")
        self.burn_in, self.seq_len, self.n_step = burn_in, seq_len, n_step
        self.period = seq_len - overlap
        self.length = burn_in + seq_len + n_step
        self.steps: deque[Step] = deque(maxlen=self.length)  # the episode's newest steps: all a sequence needs
        self.t = 0  # steps taken in the episode so far
        self.next_start = 0  # the episode step at which the next sequence's trained part begins

    # --8<-- [start:push]
    def push(self, obs, action, reward, terminated: bool, truncated: bool, state, mask=None, next_obs=None,
             next_mask=None) -> list[dict]:
        """Add a step (``state``: the network's recurrent state as it read ``obs``; ``next_obs``, and its
        ``next_mask``, matter only when the episode ends here); return the sequences now complete."""
        self.steps.append(Step(np.asarray(obs), int(action), float(reward), bool(terminated),
                               None if mask is None else np.asarray(mask, dtype=bool), np.asarray(state)))
        self.t += 1
        out = []
        while self.next_start + self.seq_len + self.n_step <= self.t:  # its last slot's step is taken
            out.append(self._cut(self.next_start))
            self.next_start += self.period
        if terminated or truncated:  # the sequences its last steps still need, padded after its end
            # the episode's steps before this one are in the trained part of a sequence written
            trained = 0 if self.next_start == 0 else self.next_start - self.period + self.seq_len
            while trained < self.t:
                out.append(self._cut(self.next_start, final=(np.asarray(next_obs), next_mask)))
                trained = self.next_start + self.seq_len
                self.next_start += self.period
            self.steps.clear()
            self.t = self.next_start = 0
        return out
    # --8<-- [end:push]

    def _cut(self, start: int, final=None) -> dict:
        """The sequence whose trained part begins at episode step ``start``: slot k holds step
        ``start - burn_in + k``; ``final``: (the observation after the episode's last step, its mask)."""
        first = self.t - len(self.steps)  # the episode step of self.steps[0]
        proto = self.steps[-1]
        seq = {"obs": np.zeros((self.length, *proto.obs.shape), dtype=proto.obs.dtype),
               "actions": np.zeros(self.length, dtype=np.int64), "rewards": np.zeros(self.length, dtype=np.float32),
               "terminated": np.zeros(self.length, dtype=bool), "valid": np.zeros(self.length, dtype=bool),
               "starts": np.zeros(self.length, dtype=bool), "masks": [None] * self.length,
               "stored_state": np.zeros_like(proto.state, dtype=np.float32)}
        for k in range(self.length):
            s = start - self.burn_in + k  # this slot's episode step
            if 0 <= s < self.t:
                step = self.steps[s - first]
                seq["obs"][k], seq["actions"][k], seq["rewards"][k] = step.obs, step.action, step.reward
                seq["terminated"][k], seq["valid"][k], seq["starts"][k] = step.terminated, True, s == 0
                seq["masks"][k] = step.mask
                if k == 0:
                    seq["stored_state"][:] = step.state  # "stored state": what the acting network had here
            elif s == self.t and final is not None:  # the final observation: only bootstrapped from
                seq["obs"][k], seq["masks"][k] = final
        return seq

    # ------------------------------------------------------------ resume state
    def state(self) -> dict:
        return {"steps": [tuple(step) for step in self.steps], "t": self.t, "next_start": self.next_start}

    def load_state(self, state: dict) -> None:
        self.steps.clear()
        self.steps.extend(Step(*step) for step in state["steps"])
        self.t, self.next_start = state["t"], state["next_start"]


class SequenceReplayBuffer(Ring):
    """A ring of ``capacity`` sequences of ``length`` slots each, sampled uniformly (with replacement)."""

    _ARRAYS = ("obs", "actions", "rewards", "terminated", "valid", "starts", "stored_state")

    def __init__(self, capacity: int, length: int, obs_shape: tuple, obs_dtype, n_actions: int, masks: bool,
                 state_shape: tuple, rng):
        self.capacity, self.length, self.rng = capacity, length, rng
        self.obs = np.zeros((capacity, length, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros((capacity, length), dtype=np.int64)
        self.rewards = np.zeros((capacity, length), dtype=np.float32)
        self.terminated = np.zeros((capacity, length), dtype=bool)
        self.valid = np.zeros((capacity, length), dtype=bool)
        self.starts = np.zeros((capacity, length), dtype=bool)
        self.masks = np.ones((capacity, length, n_actions), dtype=bool) if masks else None
        self.stored_state = np.zeros((capacity, *state_shape), dtype=np.float32)
        self.pos, self.size = 0, 0

    def add(self, seq: dict) -> int:
        i = self._advance()
        for name in self._ARRAYS:
            getattr(self, name)[i] = seq[name]
        if self.masks is not None:  # a slot without a mask allows every action
            for k, mask in enumerate(seq["masks"]):
                self.masks[i, k] = True if mask is None else mask
        return i

    def _batch(self, index: np.ndarray, weights: np.ndarray) -> SequenceBatch:
        return SequenceBatch(index, self.obs[index], self.actions[index], self.rewards[index],
                             self.terminated[index], self.valid[index], self.starts[index],
                             None if self.masks is None else self.masks[index], self.stored_state[index], weights)

    def layout(self) -> dict:
        return {"capacity": self.capacity, "length": self.length}

    def describe(self, layout: dict) -> str:
        return f"{layout['capacity']} sequences of {layout['length']} steps"


class PrioritizedSequenceReplayBuffer(Prioritized, SequenceReplayBuffer):
    """Sequences drawn by priority (``Prioritized``), over the ring's slots; the agent gives each the
    priority eta max|TD| + (1 - eta) mean|TD| of its trained steps (p_i = that + eps)."""
