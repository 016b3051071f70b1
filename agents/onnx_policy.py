"""An agent's greedy policy as one torch module with every memory spelled out, so that it can leave
Python as a graph (``gymlab export RUN_DIR --onnx FILE``: ``gymlab/export.py``).

    action, outputs, *state = policy(obs, *state)     # a batch of observations, one step

``obs`` is the env's observation, batch first, in the env's own dtype (uint8 frames, float32
vectors, int64 for a Discrete one); ``action`` the greedy action (the argmax of ``outputs`` for
Discrete actions; for a Box, the network's output clipped to the bounds); ``outputs`` the
network's Q-values, logits or means, so a user can mask actions. What the policy remembers
between steps comes in and goes out as tensors, every one all zeros at an episode's start:

- ``started`` (B, 1): 1 once a step has been taken in the episode (the two below read it);
- ``frames`` (B, K-1, *obs): with DQN's ``--history K``, the last K-1 observations (an episode's
  first is repeated in their place, as the agent pads);
- ``prev`` (B, ...): with ``--frame-diff``, the previous frame (the first difference is zeros);
- ``h`` (and ``c`` for an LSTM), (layers, B, hidden): the recurrent core's state.

``agent.policy_network()`` says which network acts (``PolicyNet``); agents without one (the
Q-table, random, SB3's references) return None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gymlab.agents.networks import Network

@dataclass
class PolicyNet:
    """The network an agent acts greedily with, and what it does around it."""

    net: Network
    history: int = 1  # observations side by side (DQN's --history)
    low: np.ndarray | None = None  # Box actions: the output is clipped to [low, high]
    high: np.ndarray | None = None


class GreedyPolicy(nn.Module):
    def __init__(self, spec: PolicyNet, observation_space):
        super().__init__()
        self.net, self.history = spec.net, spec.history
        self.obs_shape = tuple(observation_space.shape)
        self.box = spec.low is not None
        if self.box:
            self.register_buffer("low", torch.as_tensor(np.asarray(spec.low, dtype=np.float32)))
            self.register_buffer("high", torch.as_tensor(np.asarray(spec.high, dtype=np.float32)))
        sample = torch.as_tensor(np.asarray(observation_space.sample())[None])
        if self.history > 1:  # what the network reads: the frames side by side
            sample = self._stack(torch.cat([sample.float()] * self.history)[None])
        prepared = tuple(self.net.prepare(sample).shape[1:])
        core = self.net.core
        shapes: dict[str, tuple] = {}  # each state's shape, batch as -1
        if self.history > 1 or self.net.frame_diff:
            shapes["started"] = (-1, 1)
        if self.history > 1:
            shapes["frames"] = (-1, self.history - 1, *self.obs_shape)
        if self.net.frame_diff:
            shapes["prev"] = (-1, *prepared)
        if core is not None:
            shapes["h"] = (core.num_layers, -1, core.hidden_size)
            if core.kind == "lstm":
                shapes["c"] = (core.num_layers, -1, core.hidden_size)
        self.state_shapes = shapes

    def initial_state(self, batch: int) -> list[torch.Tensor]:
        """Every memory at an episode's start: zeros."""
        return [torch.zeros([batch if n == -1 else n for n in shape]) for shape in self.state_shapes.values()]

    def _stack(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, K, *frame) -> the frames side by side along the frame's last axis, as the agent stacks them."""
        moved = frames.movedim(1, -2)
        return moved.reshape(*moved.shape[:-2], moved.shape[-2] * moved.shape[-1])

    def forward(self, obs: torch.Tensor, *state: torch.Tensor):
        given = dict(zip(self.state_shapes, state))
        out: dict[str, torch.Tensor] = {}
        started = given["started"] > 0.5 if "started" in given else None  # (B, 1)
        if self.history > 1:
            now = obs.float().unsqueeze(1)  # (B, 1, *obs)
            flag = started.view(-1, *([1] * (len(self.obs_shape) + 1)))
            past = torch.where(flag, given["frames"], now.expand_as(given["frames"]))
            frames = torch.cat([past, now], dim=1)
            out["frames"] = frames[:, 1:]
            x = self.net.prepare(self._stack(frames))
        else:
            x = self.net.prepare(obs)
        if self.net.frame_diff:
            flag = started.view(-1, *([1] * (x.dim() - 1)))
            out["prev"] = x
            x = torch.where(flag, x - given["prev"], torch.zeros_like(x))
        if started is not None:
            out["started"] = torch.ones_like(given["started"])
        h = self.net.body(x)
        if self.net.core is not None:
            core_state = (given["h"], given["c"]) if "c" in given else given["h"]
            y, core_state = self.net.core(h.unsqueeze(0), core_state)
            h = y.squeeze(0)
            out.update(zip(("h", "c"), core_state) if isinstance(core_state, tuple) else [("h", core_state)])
        outputs = self.net.head(h)
        action = torch.maximum(torch.minimum(outputs, self.high), self.low) if self.box else outputs.argmax(dim=1)
        return (action, outputs, *[out[name] for name in self.state_shapes])
