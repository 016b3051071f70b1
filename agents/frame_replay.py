"""Stacked frames, and a replay database that stores each frame once (DQN's ``--history K``).

An agent that sees the last K frames side by side (Mnih et al.'s "agent history length")
gets them as Gymnasium's ``FrameStackObservation(env, K)`` would give them: oldest first,
and at an episode's start padded with its first frame (the wrapper's default
``padding_type="reset"``). ``push_frames`` keeps those K frames for acting, and
``stack_frames`` lays them side by side: along an image's channels, (H, W, C) frames
giving (H, W, K * C), and along a vector, (d,) giving (K * d,), as
``FlattenObservation(FrameStackObservation(env, K))`` lays them out.

A naive buffer stores every transition's obs and next_obs whole: 2K frames a transition,
although a transition's next_obs is the next one's obs and consecutive stacks share K - 1
frames (1.3 GB at 100k transitions of one 80x80 frame, 5.1 GB with stacks of four).
``FrameReplayBuffer`` stores each frame once, in a ring of its own for each env, beside
the step's action, reward and discount, and rebuilds the stacks when it samples: one frame
a transition, 1/(2K) of the naive buffer's frames. Its transitions are the ones ``NStep``
makes, with frames named by address ``(env, position)`` instead of arrays: ``add_frames``
stores a step's frames and returns their addresses, and ``add`` a transition between two
of them (its next_obs n steps on, for n-step returns).

One ring per env, rather than one ring the envs share: an env's frames are a stream, so a
stack and an n-step next_obs are consecutive positions of one ring, and a frame is
overwritten only by a newer frame of its own env, in order. ``capacity`` counts frames
(about one a transition): each env gets ``ceil(capacity / num_envs)`` slots (at least
n + K, the fewest a transition needs).

Wrap-around: a transition is kept in the slot of its obs frame, and leaves the buffer when
the frame K - 1 before that one (the oldest its stack may need) is overwritten; its next_obs
lies after it, so every stack the buffer returns is made of the frames the transition saw,
none overwritten yet. A ring of L slots thus holds the transitions of its newest L - K + 1
frames, less one for each episode's last frame (the next_obs of a transition, the obs of
none) and for the steps still in the n-step window (at most n - 1, and the step to come).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from gymlab.agents.replay import Batch, Prioritized, ReplayMemory


# --8<-- [start:stack-frames]
def stack_frames(frames: np.ndarray) -> np.ndarray:
    """``frames`` (B, K, *frame), oldest first, side by side along the frame's last axis: (B, H, W, K * C)
    for (H, W, C) images, (B, K * d) for (d,) vectors."""
    moved = np.moveaxis(frames, 1, -2)  # (B, ..., K, last)
    return moved.reshape(*moved.shape[:-2], moved.shape[-2] * moved.shape[-1])
# --8<-- [end:stack-frames]


def push_frames(stacks: np.ndarray | None, frames: np.ndarray, starts: np.ndarray, k: int) -> np.ndarray:
    """The last ``k`` frames of each env once ``frames`` (B, *frame) arrive: ``stacks`` (B, k, *frame)
    moved on by one, or where ``starts`` (an episode's first frame) that frame k times, as
    ``FrameStackObservation`` pads at a reset. ``stacks`` None: every env starts."""
    frames = np.asarray(frames)
    if stacks is None:
        return np.repeat(frames[:, None], k, axis=1)
    out = np.concatenate([stacks[:, 1:], frames[:, None]], axis=1)
    out[starts] = frames[starts][:, None]
    return out


def stacked_space(space: spaces.Box, k: int) -> spaces.Box:
    """The observation space of ``k`` frames from ``space`` side by side (``space`` itself for k = 1)."""
    if k == 1:
        return space
    low, high = (stack_frames(np.broadcast_to(b, (1, k, *space.shape)))[0] for b in (space.low, space.high))
    return spaces.Box(low, high, dtype=space.dtype)


class FrameReplayBuffer(ReplayMemory):
    """Uniform replay of stacked frames, each frame stored once: see the module docstring.
    ``sample`` returns the same ``Batch`` as ``ReplayBuffer``'s, obs and next_obs stacked;
    ``index`` names each transition by its slot (for ``update_priorities``)."""

    _PER_SLOT = ("age", "offset", "actions", "rewards", "discounts")
    _ARRAYS = ("frames", "written") + _PER_SLOT
    _MASKS = "next_masks"

    def __init__(self, capacity: int, frame_shape: tuple, frame_dtype, history: int, n_actions: int, masks: bool,
                 rng, num_envs: int = 1, n_step: int = 1):
        self.history, self.num_envs, self.rng = history, num_envs, rng
        self.length = max(-(-capacity // num_envs), n_step + history)  # slots in each env's ring
        self.capacity = slots = num_envs * self.length
        self.frames = np.zeros((slots, *frame_shape), dtype=frame_dtype)
        self.age = np.zeros(slots, dtype=np.int32)  # frames since its episode's first, up to K - 1
        self.offset = np.zeros(slots, dtype=np.int32)  # the transition's next_obs is this many frames on; 0: none
        self.actions = np.zeros(slots, dtype=np.int64)
        self.rewards = np.zeros(slots, dtype=np.float32)
        self.discounts = np.zeros(slots, dtype=np.float32)
        self.next_masks = np.ones((slots, n_actions), dtype=bool) if masks else None
        self.written = np.zeros(num_envs, dtype=np.int64)  # frames written to each ring so far
        self.size = 0  # transitions held

    @property
    def whole_nbytes(self) -> int:
        """What the same number of transitions would take with obs and next_obs stored whole."""
        return 2 * self.history * self.frames.nbytes

    def slot(self, env: int, position: int) -> int:
        return env * self.length + position % self.length

    # ------------------------------------------------------------ adding
    def add_frames(self, env: int, obs, next_obs, start: bool) -> tuple[tuple[int, int], tuple[int, int]]:
        """Store a step's frames for ``env``: ``obs`` only when it starts an episode (else it is the
        frame stored last, the step before's next_obs), then ``next_obs``; their addresses."""
        if start:
            self._write(env, obs, start=True)
        elif self.written[env] == 0:
            raise ValueError(f"env {env}'s first step must start an episode")
        position = self._write(env, next_obs, start=False)
        return (env, position - 1), (env, position)

    def _write(self, env: int, frame, start: bool) -> int:
        position = int(self.written[env])
        stale = position - self.length + self.history - 1  # its stack may reach the frame overwritten now
        if stale >= 0:
            self._drop(self.slot(env, stale))
        i = self.slot(env, position)
        self.frames[i] = frame
        self.age[i] = 0 if start else min(self.age[self.slot(env, position - 1)] + 1, self.history - 1)
        self.written[env] += 1
        return position

    def add(self, obs: tuple[int, int], action, reward, next_obs: tuple[int, int], discount, next_mask=None) -> int:
        """A transition from the frame at address ``obs`` to the one at ``next_obs`` (both ``add_frames``'s)."""
        (env, x), (next_env, y) = obs, next_obs
        if next_env != env or not 0 < y - x < self.length - self.history + 1 or y >= self.written[env]:
            raise ValueError(f"no transition from frame {obs} to frame {next_obs}")
        if x < self.written[env] - self.length + self.history - 1:
            raise ValueError(f"frame {obs}'s stack has been overwritten already")
        i = self.slot(env, x)
        self.offset[i], self.actions[i], self.rewards[i], self.discounts[i] = y - x, action, reward, discount
        if self.next_masks is not None:  # no mask given: every action allowed
            self.next_masks[i] = True if next_mask is None else np.asarray(next_mask, dtype=bool)
        self.size += 1
        return i

    def _drop(self, i: int) -> None:
        if self.offset[i]:
            self.offset[i] = 0
            self.size -= 1

    # ------------------------------------------------------------ sampling
    def stacks(self, index: np.ndarray) -> np.ndarray:
        """The stacked observations whose newest frames are in slots ``index``: K frames each, oldest
        first, none from before its episode's start (its first frame repeated there instead)."""
        index = np.asarray(index)
        back = np.minimum(np.arange(self.history - 1, -1, -1), self.age[index][:, None])  # (B, K) frames back
        ring = (index - index % self.length)[:, None]
        return stack_frames(self.frames[ring + (index[:, None] - ring - back) % self.length])

    def _batch(self, index: np.ndarray, weights: np.ndarray) -> Batch:
        ring = index - index % self.length
        next_index = ring + (index - ring + self.offset[index]) % self.length
        masks = None if self.next_masks is None else self.next_masks[index]
        return Batch(index, self.stacks(index), self.actions[index], self.rewards[index], self.stacks(next_index),
                     self.discounts[index], masks, weights)

    def sample(self, batch_size: int, beta: float = 1.0) -> Batch:
        """Transitions drawn uniformly from those held, without reading every slot: a slot drawn uniformly
        from the filled ones, and drawn again while it holds no transition (an episode's last frame, the
        K - 1 slots next to be overwritten, the frames whose steps are still in an n-step window), so
        that each draw is uniform over the transitions held. Should draws still miss after four rounds
        (rare: most filled slots would hold none, as in a buffer's first steps), those are made among
        the held slots, listed then."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        filled = np.minimum(self.written, self.length)  # each ring's filled slots: its first ones
        ends = np.cumsum(filled)
        index = np.empty(batch_size, dtype=np.int64)
        todo = np.arange(batch_size)
        for _ in range(4):
            u = self.rng.integers(0, ends[-1], len(todo))  # the u-th filled slot, counting ring after ring
            env = np.searchsorted(ends, u, side="right")
            index[todo] = env * self.length + u - (ends[env] - filled[env])
            todo = todo[self.offset[index[todo]] == 0]
            if not len(todo):
                break
        else:  # four rounds and still some missing
            held = np.flatnonzero(self.offset)
            index[todo] = held[self.rng.integers(0, len(held), len(todo))]
        return self._batch(index, np.ones(batch_size, dtype=np.float32))

    # ------------------------------------------------------------ resume state
    def layout(self) -> dict:
        return {"capacity": self.capacity, "num_envs": self.num_envs, "history": self.history}

    def describe(self, layout: dict) -> str:
        return f"{layout['capacity']} frames in {layout['num_envs']} rings, stacked by {layout['history']}"

    def state(self) -> dict:
        """Each ring's frames (only the filled part, marked ``Big``: read back into this buffer's own
        memory), the per-slot arrays, and how far each ring has been written."""
        from gymlab.resume import Big

        filled = np.minimum(self.written, self.length)
        return {**self.layout(), "written": self.written, "size": self.size,
                "frames": [Big(self.frames[self.slot(e, 0):self.slot(e, 0) + n]) for e, n in enumerate(filled)],
                **{name: getattr(self, name) for name in self._PER_SLOT}, "next_masks": self.next_masks}

    def load_state(self, state: dict) -> None:
        from gymlab.resume import read_array

        self.check_layout(state)
        read_array(state["written"], out=self.written)
        self.size = state["size"]
        for e, frames in enumerate(state["frames"]):
            n = min(int(self.written[e]), self.length)
            read_array(frames, out=self.frames[self.slot(e, 0):self.slot(e, 0) + n])
        for name in self._PER_SLOT + (() if self.next_masks is None else (self._MASKS,)):
            read_array(state[name], out=getattr(self, name))


class FramePrioritizedReplayBuffer(Prioritized, FrameReplayBuffer):
    """Prioritised replay (``Prioritized``) of stacked frames, over the slots; a slot without a
    transition has priority 0 (never drawn)."""

    def update_priorities(self, index: np.ndarray, td_errors: np.ndarray) -> None:
        """``Prioritized``'s, for the slots that still hold a transition: one dropped since it was
        drawn (a caller that adds before it updates) stays without priority, so it is never drawn.
        (A slot that holds a newer transition by then takes the priority: the two are not told apart.)"""
        index, td_errors = np.asarray(index), np.asarray(td_errors)
        held = self.offset[index] != 0
        if held.any():
            super().update_priorities(index[held], td_errors[held])

    def _drop(self, i: int) -> None:
        if self.offset[i]:
            super()._drop(i)
            self.tree.set(np.array([i]), np.array([0.0]))
            self.min_tree.set(np.array([i]), np.array([np.inf]))
