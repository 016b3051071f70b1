"""The recurrent backbone shared by the supervised sequence models and the recurrent policies.

    core = RecurrentCore("lstm", input_size=6, hidden_size=64, num_layers=2)
    out, state = core(x, state)          # x: (T, B, input_size) -> out: (T, B, hidden_size)

One interface, three kinds (``"rnn"`` Elman, ``"lstm"``, ``"gru"``), two
implementations:

- ``impl="fused"`` (default): torch's ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``, for speed;
- ``impl="cells"``: the cells below, written line by line from the equations, stepped
  in a Python loop, for reading and teaching.

Both hold their weights under the same names (``weight_ih_l0``, ``weight_hh_l0``,
``bias_ih_l0``, ``bias_hh_l0``, ... with torch's gate order), so one's
``state_dict`` loads into the other; tests/test_backbone.py proves they compute
the same outputs and gradients (float64, to 1e-8). ``state`` is ``None`` at the
start of a sequence; ``reset_state`` zeroes it where an episode starts anew, and
``detach_state`` cuts the graph between chunks for truncated backpropagation
through time.
"""

from __future__ import annotations

import math

import torch
from torch import nn

KINDS = ("rnn", "lstm", "gru")
IMPLS = ("fused", "cells")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # weight blocks per layer, in torch's order


# --8<-- [start:elman]
def elman_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """h_t = tanh(W_xh x_t + W_hh h_t-1 + b_h)   (the output y_t = W_hy h_t + b_y is the head's job)"""
    return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
# --8<-- [end:elman]


# --8<-- [start:lstm]
def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """The lecture's LSTM; torch stacks the four blocks in the order i, f, g, o."""
    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=-1)
    i = torch.sigmoid(i)  # input gate    i_t = sigma(W_i x_t + U_i h_t-1 + b_i)
    f = torch.sigmoid(f)  # forget gate   f_t = sigma(W_f x_t + U_f h_t-1 + b_f)
    g = torch.tanh(g)     # candidate     g_t = tanh(W_g x_t + U_g h_t-1 + b_g)
    o = torch.sigmoid(o)  # output gate   o_t = sigma(W_o x_t + U_o h_t-1 + b_o)
    c = f * c + i * g     # cell state    c_t = f_t * c_t-1 + i_t * g_t
    h = o * torch.tanh(c)  # hidden state h_t = o_t * tanh(c_t)
    return h, c
# --8<-- [end:lstm]


# --8<-- [start:gru]
def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """The GRU as torch computes it (blocks r, z, n). Two differences from the lecture's
    notation, both common in the literature: the reset gate multiplies U h + b after the
    product rather than h before it, and z keeps the old state where the lecture's z
    takes the new one (seed 002 writes it this way round)."""
    x_r, x_z, x_n = (x @ w_ih.T + b_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)     # reset gate   r_t = sigma(W_r x_t + U_r h_t-1 + b_r)
    z = torch.sigmoid(x_z + h_z)     # update gate  z_t = sigma(W_z x_t + U_z h_t-1 + b_z)
    n = torch.tanh(x_n + r * h_n)    # candidate    h~_t = tanh(W x_t + r_t * (U h_t-1 + b_U) + b_W)
    return (1.0 - z) * n + z * h     # new state    h_t = (1 - z_t) * h~_t + z_t * h_t-1
# --8<-- [end:gru]


class HandwrittenRecurrent(nn.Module):
    """A stack of the cells above, stepped through time in a Python loop; same weights,
    same names and same (T, B, ...) interface as torch's fused modules."""

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.kind, self.hidden_size, self.num_layers = kind, hidden_size, num_layers
        k = 1.0 / math.sqrt(hidden_size)  # torch's initialisation: U(-1/sqrt(H), 1/sqrt(H))
        blocks = GATES[kind] * hidden_size
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else hidden_size
            for name, shape in ((f"weight_ih_l{layer}", (blocks, n_in)), (f"weight_hh_l{layer}", (blocks, hidden_size)),
                                (f"bias_ih_l{layer}", (blocks,)), (f"bias_hh_l{layer}", (blocks,))):
                self.register_parameter(name, nn.Parameter(torch.empty(shape).uniform_(-k, k)))

    def _weights(self, layer: int):
        return [getattr(self, f"{n}_l{layer}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def forward(self, x, state):
        lstm = self.kind == "lstm"
        h_all, c_all = state if lstm else (state, None)
        h_out, c_out = [], []
        for layer in range(self.num_layers):
            w = self._weights(layer)
            h, c = h_all[layer], (c_all[layer] if lstm else None)
            outputs = []
            # --8<-- [start:unroll]
            for x_t in x:  # one time step at a time: backpropagation through time unrolls this loop
                if lstm:
                    h, c = lstm_cell(x_t, h, c, *w)
                elif self.kind == "gru":
                    h = gru_cell(x_t, h, *w)
                else:
                    h = elman_cell(x_t, h, *w)
                outputs.append(h)
            # --8<-- [end:unroll]
            x = torch.stack(outputs)  # this layer's outputs are the next layer's inputs
            h_out.append(h)
            c_out.append(c)
        h_n = torch.stack(h_out)
        return x, ((h_n, torch.stack(c_out)) if lstm else h_n)


class RecurrentCore(nn.Module):
    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int = 1, impl: str = "fused",
                 forget_bias: float | None = None):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        self.kind, self.hidden_size, self.num_layers, self.impl = kind, hidden_size, num_layers, impl
        if impl == "fused":
            self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](input_size, hidden_size, num_layers)
        else:
            self.rnn = HandwrittenRecurrent(kind, input_size, hidden_size, num_layers)
        if forget_bias is not None:
            self.set_forget_bias(forget_bias)

    @torch.no_grad()
    # --8<-- [start:forget_bias]
    def set_forget_bias(self, value: float):
        """Start the LSTM's forget gates at sigma(value) (torch starts them at about
        sigma(0) = 0.5, so a memory fades by half each step; value 1 to 3 keeps it longer,
        Gers et al. 2000, Jozefowicz et al. 2015). A no-op for the other kinds."""
        if self.kind != "lstm":
            return
        h = self.hidden_size
        for layer in range(self.num_layers):
            getattr(self.rnn, f"bias_ih_l{layer}")[h:2 * h] = 0.0  # torch's gate order: i, f, g, o
            getattr(self.rnn, f"bias_hh_l{layer}")[h:2 * h] = value
    # --8<-- [end:forget_bias]

    def initial_state(self, batch: int, device=None, dtype=None):
        zeros = torch.zeros(self.num_layers, batch, self.hidden_size, device=device, dtype=dtype)
        return (zeros, zeros.clone()) if self.kind == "lstm" else zeros

    def reset_state(self, state, starts: torch.Tensor):
        """Zero the state of batch entries where ``starts`` (B,) is true."""
        keep = (~starts).to(self._dtype(state)).view(1, -1, 1)
        if self.kind == "lstm":
            return (state[0] * keep, state[1] * keep)
        return state * keep

    @staticmethod
    def _dtype(state):
        return (state[0] if isinstance(state, tuple) else state).dtype

    def forward(self, x: torch.Tensor, state=None):
        if state is None:
            state = self.initial_state(x.shape[1], x.device, x.dtype)
        return self.rnn(x, state)


# --8<-- [start:detach_state]
def detach_state(state):
    """Keep the state's values but cut its history: truncated BPTT carries the state from one
    chunk to the next and backpropagates only within a chunk."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()
# --8<-- [end:detach_state]
