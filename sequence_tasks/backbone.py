"""The recurrent backbone shared by the supervised sequence models and the recurrent policies.

    core = RecurrentCore("lstm", input_size=6, hidden_size=64, num_layers=1)
    out, state = core(x, state)          # x: (T, B, input_size) -> out: (T, B, hidden_size)

One class, three kinds (``"rnn"`` Elman, ``"lstm"``, ``"gru"``), built on torch's
fused modules. ``state`` is ``None`` at the start of a sequence; ``reset_state``
zeroes it for the batch entries whose episode (or sequence) starts anew.
"""

from __future__ import annotations

import torch
from torch import nn

KINDS = ("rnn", "lstm", "gru")


class RecurrentCore(nn.Module):
    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.kind, self.hidden_size, self.num_layers = kind, hidden_size, num_layers
        module = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind]
        self.rnn = module(input_size, hidden_size, num_layers)

    def initial_state(self, batch: int, device=None):
        zeros = torch.zeros(self.num_layers, batch, self.hidden_size, device=device)
        return (zeros, zeros.clone()) if self.kind == "lstm" else zeros

    def reset_state(self, state, starts: torch.Tensor):
        """Zero the state of batch entries where ``starts`` (B,) is true."""
        keep = (~starts).to(torch.float32).view(1, -1, 1)
        if self.kind == "lstm":
            return (state[0] * keep, state[1] * keep)
        return state * keep

    def forward(self, x: torch.Tensor, state=None):
        if state is None:
            state = self.initial_state(x.shape[1], x.device)
        return self.rnn(x, state)
