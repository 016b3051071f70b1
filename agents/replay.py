"""Experience replay: the lecture's "replay database", uniform or prioritised by surprise.

``ReplayBuffer`` stores transitions in preallocated numpy arrays (a ring; ``ReplayMemory``
and ``Ring`` hold what it shares with the frame and sequence buffers);
``PrioritizedReplayBuffer`` (the ``Prioritized`` mixin, which every prioritised buffer here
uses) samples item i with probability
P(i) = p_i^alpha / sum_k p_k^alpha, where p_i = |TD error| + eps (Schaul et al. 2016),
through a sum tree, and returns importance-sampling weights
(N * P(i))^-beta / max_j (N * P(j))^-beta to correct the bias this brings; the max
runs over the whole buffer (the least likely item's weight, from a min tree), as in
the paper and OpenAI baselines, so a weight does not depend on its batch-mates.
``NStep`` turns single steps into n-step transitions before they are stored.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np


class Batch(NamedTuple):
    index: np.ndarray
    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    discounts: np.ndarray  # gamma^k for a k-step transition, 0 when it ended in a terminal state
    next_masks: np.ndarray | None  # allowed actions in next_obs (None when the env gives no mask)
    weights: np.ndarray  # importance-sampling weights (all 1 for uniform replay)


class ReplayMemory:
    """What every replay database here shares: preallocated arrays (``_ARRAYS``, and ``_MASKS``, the
    allowed actions, when the env gives masks: None otherwise) in ``capacity`` slots, ``len()`` the
    items held, uniform sampling with replacement, no priorities, and a resume state that checks the
    saved buffer was laid out as this one (``layout()``)."""

    _ARRAYS: tuple[str, ...] = ()
    _MASKS = "masks"
    _OBSERVATIONS = ("obs", "next_obs")  # the big arrays: a resume writes and reads them without a copy

    def __len__(self) -> int:
        return self.size

    def _held(self) -> tuple[str, ...]:
        return self._ARRAYS + (() if getattr(self, self._MASKS) is None else (self._MASKS,))

    @property
    def nbytes(self) -> int:
        """The memory the buffer holds (its arrays, allocated in full when it is made)."""
        return sum(getattr(self, name).nbytes for name in self._held())

    def sample(self, batch_size: int, beta: float = 1.0):
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        index = self.rng.integers(0, self.size, batch_size)
        return self._batch(index, np.ones(batch_size, dtype=np.float32))

    def update_priorities(self, index: np.ndarray, td_errors: np.ndarray) -> None:
        pass  # uniform replay has none

    def layout(self) -> dict:
        """What a saved buffer must share with this one to be read into it."""
        return {"capacity": self.capacity}

    def describe(self, layout: dict) -> str:
        return f"{layout['capacity']} items"

    def check_layout(self, state: dict) -> None:
        from gymlab.resume import ResumeError

        saved = {k: state[k] for k in self.layout()}
        if saved != self.layout():
            raise ResumeError(f"the saved replay buffer holds {self.describe(saved)}, this one "
                              f"{self.describe(self.layout())}")


class Ring(ReplayMemory):
    """A ring of items, each in the slots ``pos`` points at in turn, the oldest overwritten first."""

    def _advance(self) -> int:
        """The slot for a new item; the ring moves on past it."""
        i = self.pos
        self.pos, self.size = (i + 1) % self.capacity, min(self.size + 1, self.capacity)
        return i

    def state(self) -> dict:
        """The stored items (only the filled part, so an early buffer stays small), ring position and
        size; observations marked ``Big``, so a resume writes and reads them without a second copy."""
        from gymlab.resume import Big

        n = self.size
        return {**self.layout(), "pos": self.pos, "size": n,
                **{name: Big(getattr(self, name)[:n]) if name in self._OBSERVATIONS else getattr(self, name)[:n]
                   for name in self._ARRAYS},
                self._MASKS: None if getattr(self, self._MASKS) is None else getattr(self, self._MASKS)[:n]}

    def load_state(self, state: dict) -> None:
        from gymlab.resume import read_array

        self.check_layout(state)
        n = self.size = state["size"]
        self.pos = state["pos"]
        for name in self._held():
            read_array(state[name], out=getattr(self, name)[:n])


class ReplayBuffer(Ring):
    _ARRAYS = ("obs", "next_obs", "actions", "rewards", "discounts")
    _MASKS = "next_masks"

    def __init__(self, capacity: int, obs_shape: tuple, obs_dtype, n_actions: int, masks: bool, rng):
        self.capacity, self.rng = capacity, rng
        self.obs = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.next_obs = np.zeros((capacity, *obs_shape), dtype=obs_dtype)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.discounts = np.zeros(capacity, dtype=np.float32)
        self.next_masks = np.ones((capacity, n_actions), dtype=bool) if masks else None
        self.pos, self.size = 0, 0

    def add(self, obs, action, reward, next_obs, discount, next_mask=None) -> int:
        i = self._advance()
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.discounts[i] = next_obs, discount
        if self.next_masks is not None:  # no mask given: every action allowed (not the slot's last occupant's)
            self.next_masks[i] = True if next_mask is None else np.asarray(next_mask, dtype=bool)
        return i

    def _batch(self, index: np.ndarray, weights: np.ndarray) -> Batch:
        masks = None if self.next_masks is None else self.next_masks[index]
        return Batch(index, self.obs[index], self.actions[index], self.rewards[index], self.next_obs[index],
                     self.discounts[index], masks, weights)


class SegmentTree:
    """A binary tree whose leaves hold priorities and whose inner nodes combine their two
    children (a sum, a minimum): set a leaf, or read the combination of all of them, in O(log n)."""

    combine = staticmethod(np.add)
    empty = 0.0  # what an unused leaf holds: it changes nothing when combined

    def __init__(self, capacity: int):
        self.leaves = 1 << max(1, int(np.ceil(np.log2(capacity))))
        self.tree = np.full(2 * self.leaves, self.empty)  # node k has children 2k and 2k+1; the root is node 1

    def set(self, index: np.ndarray, priority: np.ndarray) -> None:
        node = np.asarray(index) + self.leaves
        self.tree[node] = priority
        node = np.unique(node // 2)
        while node[0] >= 1:  # recompute parents from their children: right even when indices repeat
            self.tree[node] = self.combine(self.tree[2 * node], self.tree[2 * node + 1])
            node = np.unique(node // 2)
            if node[0] == 0:
                break

    def get(self, index: np.ndarray) -> np.ndarray:
        return self.tree[np.asarray(index) + self.leaves]


class SumTree(SegmentTree):
    """Inner nodes hold the sums of their children; ``find`` walks down by prefix sums."""

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def find(self, value: np.ndarray) -> np.ndarray:
        """For each value in [0, total), the leaf whose prefix-sum interval holds it; always a leaf
        with a priority > 0, i.e. a stored item (values past the total count as just below it)."""
        node = np.ones(len(value), dtype=np.int64)
        value = np.minimum(np.asarray(value, dtype=np.float64), np.nextafter(self.total, 0.0))
        while node[0] < self.leaves:  # invariant: 0 <= value < sum under node, so never an empty subtree
            left, right = 2 * node, 2 * node + 1
            go_right = value >= self.tree[left]
            # value - left sum can round up to the right sum or past it: keep it inside the right subtree
            value = np.where(go_right, np.minimum(value - self.tree[left], np.nextafter(self.tree[right], 0.0)),
                             value)
            node = left + go_right
        return node - self.leaves


class MinTree(SegmentTree):
    """Inner nodes hold the minima of their children: the root is the smallest stored priority."""

    combine = staticmethod(np.minimum)
    empty = np.inf

    @property
    def min(self) -> float:
        return float(self.tree[1])


class Prioritized:
    """Prioritised replay (Schaul et al. 2016), mixed in before a buffer class (``class
    P(Prioritized, Buffer)``): a sum and a min tree over the buffer's slots, both holding p_i^alpha;
    a new item gets the largest priority seen so far (sure to be drawn), and ``sample`` draws
    stratified by priority with importance weights. Its own arguments, ``alpha`` and ``eps``, by name."""

    def __init__(self, *args, alpha: float = 0.6, eps: float = 1e-6, **kwargs):
        super().__init__(*args, **kwargs)
        self.alpha, self.eps = alpha, eps
        self.tree, self.min_tree = SumTree(self.capacity), MinTree(self.capacity)  # both hold p_i^alpha
        self.max_priority = 1.0

    @property
    def nbytes(self) -> int:
        return super().nbytes + self.tree.tree.nbytes + self.min_tree.tree.nbytes

    def _set(self, index: np.ndarray, priority: np.ndarray) -> None:
        self.tree.set(index, priority ** self.alpha)
        self.min_tree.set(index, priority ** self.alpha)

    def add(self, *args, **kwargs) -> int:
        i = super().add(*args, **kwargs)
        self._set(np.array([i]), np.array([self.max_priority]))  # new: sure to be seen
        return i

    # --8<-- [start:per-sample]
    def sample(self, batch_size: int, beta: float = 0.4):
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        # Stratified: one draw from each of batch_size equal slices of the total priority.
        total = self.tree.total
        bounds = np.linspace(0.0, total, batch_size + 1)
        index = self.tree.find(self.rng.uniform(bounds[:-1], bounds[1:]))
        probs = self.tree.get(index) / total  # P(i) = p_i^alpha / sum_k p_k^alpha, of the item drawn
        min_prob = self.min_tree.min / total  # the least likely stored item: it has the largest weight
        # w_i = (N P(i))^-beta / max_j (N P(j))^-beta = (N P(i))^-beta / (N P_min)^-beta
        weights = (self.size * probs) ** -beta / (self.size * min_prob) ** -beta
        return self._batch(index, weights.astype(np.float32))
    # --8<-- [end:per-sample]

    def update_priorities(self, index: np.ndarray, td_errors: np.ndarray) -> None:
        # --8<-- [start:per-priorities]
        priority = np.abs(td_errors) + self.eps  # the lecture's "surprise"
        self.max_priority = max(self.max_priority, float(priority.max()))
        self._set(index, priority)
        # --8<-- [end:per-priorities]

    def state(self) -> dict:
        return {**super().state(), "sum_tree": self.tree.tree, "min_tree": self.min_tree.tree,
                "max_priority": self.max_priority}

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        self.tree.tree[:], self.min_tree.tree[:] = state["sum_tree"], state["min_tree"]
        self.max_priority = state["max_priority"]


class PrioritizedReplayBuffer(Prioritized, ReplayBuffer):
    """``ReplayBuffer``, sampled by priority (see ``Prioritized``)."""


class NStep:
    """Turns steps into n-step transitions: (s_t, a_t, r_t + g r_t+1 + ... + g^(k-1) r_t+k-1,
    s_t+k, discount g^k, or 0 if the episode terminated within the k steps)."""

    def __init__(self, n: int, gamma: float):
        self.n, self.gamma = n, gamma
        self.window: deque = deque()

    def push(self, obs, action, reward, next_obs, terminated: bool, truncated: bool, next_mask=None) -> list[tuple]:
        """Add a step; return the transitions now complete."""
        self.window.append((obs, action, reward))
        out = []
        if len(self.window) == self.n:
            out.append(self._emit(next_obs, terminated, next_mask))
        if terminated or truncated:  # flush what is left of the episode
            while self.window:
                out.append(self._emit(next_obs, terminated, next_mask))
        return out

    # --8<-- [start:n-step]
    def _emit(self, next_obs, terminated, next_mask):
        ret = 0.0
        for k, (_, _, r) in enumerate(self.window):
            ret += self.gamma ** k * r
        discount = 0.0 if terminated else self.gamma ** len(self.window)
        obs, action, _ = self.window.popleft()
        return obs, action, ret, next_obs, discount, next_mask
    # --8<-- [end:n-step]
