"""Networks, defined once: an MLP for vectors, a small CNN for pixel frames, and the
recurrent core shared with ``sequence_tasks`` (``--policy mlp|cnn|lstm|gru``).

Every agent builds its function approximator with ``Network``:

    body  (mlp or cnn)  ->  [recurrent core]  ->  linear head  (or a dueling head)

and calls it one step at a time while acting (``net(obs, state)``), or over whole
episodes while learning (``net.sequence(obs)``). ``state`` carries what a policy
needs to remember between steps: the recurrent core's hidden state, and for
``frame_diff`` the previous frame (the policy sees the current frame minus the
previous one, and zeros at an episode's first frame, as Karpathy's pixel-Pong
policy does).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from gymnasium import spaces

from gymlab.agents.base import SpaceError
from gymlab.agents.checkpoint import short_space
from gymlab.sequence_tasks.backbone import RecurrentCore

POLICIES = ("mlp", "cnn", "lstm", "gru")


def mlp(sizes: list[int], activation=nn.Tanh, out_activation=None) -> nn.Sequential:
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        act = activation if i < len(sizes) - 2 else out_activation
        if act is not None:
            layers.append(act())
    return nn.Sequential(*layers)


def is_image(space) -> bool:
    return isinstance(space, spaces.Box) and len(space.shape) == 3 and space.dtype == np.uint8


def check_observation_space(space, policy: str) -> None:
    """Raise SpaceError if ``policy`` cannot read observations from ``space``."""
    if policy not in POLICIES:
        raise SpaceError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    if not isinstance(space, (spaces.Box, spaces.Discrete)):
        raise SpaceError(f"the networks read Box or Discrete observations, not {short_space(space)}")
    if policy == "cnn" and not is_image(space):
        raise SpaceError(f"--policy cnn needs image observations (H, W, C) uint8, not {short_space(space)}")


class SparseInputLinear(nn.Linear):
    """``nn.Linear`` (same weights, same names) for inputs that are mostly zeros, as difference
    frames are (a Pong difference frame has a few dozen nonzero pixels of 6400): y = W x + b from
    the nonzero inputs only, which reads that fraction of W, not all of it (Karpathy's pixel-Pong
    MLP spends nearly all its time in this layer). A few rows (acting: one a court) multiply the
    columns nonzero in some row; many (an episode in the update) go through ``torch.sparse.mm``;
    dense inputs (a quarter of the columns, or a tenth of the entries) through ``nn.Linear``. The
    same sums every way, but for the rounding.

    The weight is the same (out, in) matrix, stored input by input (``W.t()`` contiguous): picking
    the columns of the nonzero inputs then reads whole rows of memory, not one float per row of W
    (the acting pass's gather, several times faster; the same values, so the same outputs)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__(in_features, out_features, bias)
        self.weight = nn.Parameter(self.weight.detach().t().contiguous().t())  # (same values, same shape)

    # --8<-- [start:sparse-first-layer]
    def forward(self, x):
        if x.dim() != 2 or torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():  # (a graph: no branches)
            return super().forward(x)
        if x.shape[0] > 32:
            if int((x != 0).sum()) * 10 < x.numel():
                return torch.sparse.mm(x.to_sparse(), self.weight.t()) + self.bias
            return super().forward(x)
        cols = torch.nonzero(x.abs().sum(0)).squeeze(1)  # (|x| sums to 0 only where all are 0: ~4x any(0))
        if cols.numel() * 4 >= x.shape[1]:
            return super().forward(x)
        return torch.addmm(self.bias, x.index_select(1, cols), self.weight.t().index_select(0, cols))
    # --8<-- [end:sparse-first-layer]


# --8<-- [start:cnn]
class CNN(nn.Module):
    """Two strided convolutions and dense layers of the ``hidden`` sizes (after Mnih et al. 2013),
    for (H, W, C) frames; ``hidden=()``: the convolutions alone (``out_dim`` is then the
    flattened features' size)."""

    def __init__(self, shape: tuple[int, int, int], hidden: tuple[int, ...] = (256,)):
        super().__init__()
        h, w, c = shape
        self.convs = nn.Sequential(nn.Conv2d(c, 16, 8, stride=4), nn.ReLU(), nn.Conv2d(16, 32, 4, stride=2), nn.ReLU(),
                                   nn.Flatten())
        with torch.no_grad():
            n = self.convs(torch.zeros(1, c, h, w)).shape[1]
        self.dense = mlp([n, *hidden], nn.ReLU, nn.ReLU) if hidden else nn.Identity()
        self.out_dim = hidden[-1] if hidden else n

    def forward(self, x):  # x: (B, H, W, C) floats
        return self.dense(self.convs(x.permute(0, 3, 1, 2)))
# --8<-- [end:cnn]


# --8<-- [start:dueling]
class DuelingHead(nn.Module):
    """Wang et al. (2016): from the trunk's features h, a value stream V(h) and an advantage
    stream A(h, a), each with its own hidden layers, combined as
    Q(s, a) = V(s) + A(s, a) - mean_b A(s, b)  (the mean pins down which part is V)."""

    def __init__(self, n_in: int, hidden: tuple[int, ...], n_out: int, activation=nn.ReLU):
        super().__init__()
        self.value = mlp([n_in, *hidden, 1], activation)
        self.advantage = mlp([n_in, *hidden, n_out], activation)

    def forward(self, h):
        advantage = self.advantage(h)
        return self.value(h) + advantage - advantage.mean(dim=-1, keepdim=True)
# --8<-- [end:dueling]


class Network(nn.Module):
    """``dueling=True`` replaces the linear head by a ``DuelingHead``: the body's last hidden layer
    (the CNN's dense layer) moves into each of the two streams, so the trunk they share is the
    MLP's other layers (none with one hidden layer) or the CNN's convolutions; a recurrent
    network keeps its body and core as the trunk, and each stream gets a layer of hidden[-1]."""

    def __init__(self, observation_space, n_out: int, policy: str = "mlp", hidden: tuple[int, ...] = (64, 64),
                 frame_diff: bool = False, activation=nn.Tanh, forget_bias: float | None = None,
                 dueling: bool = False):
        super().__init__()
        check_observation_space(observation_space, policy)
        self.policy, self.frame_diff = policy, frame_diff
        self.discrete_obs = isinstance(observation_space, spaces.Discrete)
        self.n_obs = int(observation_space.n) if self.discrete_obs else None
        self.image = is_image(observation_space)
        if frame_diff and not self.image:
            raise SpaceError(f"frame differences need image observations, not {short_space(observation_space)}")
        recurrent = policy in ("lstm", "gru")
        body_hidden, stream_hidden = tuple(hidden), ()
        if policy == "cnn" and not body_hidden:
            body_hidden = (256,)  # a CNN always gets a dense layer
        if dueling:  # the last hidden layer goes to the streams, one copy each
            stream_hidden = body_hidden[-1:]
            body_hidden = body_hidden if recurrent else body_hidden[:-1]
        if policy == "cnn":  # every hidden size is a dense layer after the convolutions
            self.body = CNN(observation_space.shape, body_hidden)
            width = self.body.out_dim
        else:  # no hidden layers: a linear policy on the raw inputs
            n_in = self.n_obs if self.discrete_obs else int(np.prod(observation_space.shape))
            self.body = mlp([n_in, *body_hidden], activation, activation) if body_hidden else nn.Identity()
            if frame_diff and body_hidden:  # the first layer reads difference frames: mostly zeros
                first = self.body[0]
                self.body[0] = SparseInputLinear(first.in_features, first.out_features)
                self.body[0].load_state_dict(first.state_dict())  # (the same initial weights: same draws)
            width = body_hidden[-1] if body_hidden else n_in
        self.core = None
        if recurrent:
            self.core = RecurrentCore(policy, width, hidden[-1], forget_bias=forget_bias)
            width = hidden[-1]
        self.head = DuelingHead(width, stream_hidden, n_out, activation) if dueling else nn.Linear(width, n_out)
        self.width = width

    @property
    def stateful(self) -> bool:
        return self.core is not None or self.frame_diff

    def prepare(self, obs) -> torch.Tensor:
        """Observations (numpy or torch, batch first) as float inputs: one-hot for Discrete,
        [0, 1] for uint8 frames."""
        x = torch.as_tensor(np.asarray(obs) if not torch.is_tensor(obs) else obs)
        if self.discrete_obs:
            return nn.functional.one_hot(x.long(), self.n_obs).float()
        if self.image:  # (uint8: .float() makes a new tensor, scaled in place)
            return x.float().div_(255.0) if self.policy == "cnn" else x.float().div_(255.0).flatten(1)
        x = x.float()
        return x if self.policy == "cnn" else x.flatten(1)

    def forward(self, obs, state=None, starts=None):
        """One step for a batch: ``(out, state)``. ``starts`` (B,) marks entries whose
        episode begins now (their memory is cleared)."""
        x = self.prepare(obs)
        prev, core_state = state if state is not None else (None, None)
        if starts is not None and state is not None:
            s = torch.as_tensor(np.asarray(starts), dtype=torch.bool).view(-1)
            if prev is not None:  # a new episode has no frame before it: its first difference is 0
                prev = torch.where(s.view(-1, *([1] * (prev.dim() - 1))), x, prev)
            if core_state is not None:
                core_state = self.core.reset_state(core_state, s)
        # --8<-- [start:frame-diff]
        if self.frame_diff:
            x, prev = x - (prev if prev is not None else x), x  # zeros at an episode's first frame
        # --8<-- [end:frame-diff]
        h = self.body(x)
        if self.core is not None:
            out, core_state = self.core(h.unsqueeze(0), core_state)
            h = out.squeeze(0)
        return self.head(h), ((prev, core_state) if self.stateful else None)

    def sequence(self, obs, prev_obs=None) -> torch.Tensor:
        """Outputs over one whole episode from its start, ``obs``: (T, ...) -> (T, n_out),
        in one batched pass (the recurrent core runs over the time axis). ``prev_obs``: the frame
        seen before ``obs[0]`` (a round cut out of a game), for the first frame difference."""
        x = self.prepare(obs)
        if self.frame_diff:
            first = x[:1] if prev_obs is None else self.prepare(np.asarray(prev_obs)[None])  # (Karpathy: zeros)
            x = x - torch.cat([first, x[:-1]])
        h = self.body(x)
        if self.core is not None:
            h = self.core(h.unsqueeze(1))[0].squeeze(1)
        return self.head(h)
