"""gradients: vanishing and exploding gradients, measured (seed 004, "Problems with RNNs").

Three measurements, each the lecture's argument made visible:

1. The norm of dJ^(t)/dh^(t-l) against the lag l, for the hand-written Elman,
   LSTM and GRU cells of the backbone (``backbone.elman_cell``, ``lstm_cell``,
   ``gru_cell``: what is differentiated can be read there), on a copy task whose
   answer depends on a distant input: random symbols in, and at the last step
   t the symbol read --max-lag steps before is the answer (cross-entropy J^(t)).
   Each sequence starts with --burn-in random steps before that symbol, so that lags 0 to
   --max-lag are measured in the middle of a sequence, not at its zero start (whose first
   states differ from later ones: with the start right behind lag --max-lag, an LSTM's
   norm there comes out larger than at lag 1).
   Each curve is the mean over --batch sequences of the gradient's norm, at the
   backbone's initialisation (torch's: weights uniform in +-1/sqrt(H), so the
   LSTM's forget gates start near sigma(0) = 0.5) and, with --train-steps, after
   that many Adam steps on the task (lr 1e-2, the gradient clipped to norm --train-clip
   before each step). The LSTM is measured once for each value of
   --forget-bias ("none": the backbone's default; 3: the forget gates start at
   sigma(3) = 0.95, as the suite's Recall-v0 recipe starts them). For the LSTM the norm of
   dJ^(t)/dc^(t-l) is measured too: its memory cell, the path the LSTM argument is about.
2. The linear RNN of the lecture's proof sketch, h^(t) = W_h h^(t-1) + W_x x^(t)
   (sigma the identity), with W_h a random matrix scaled to each spectral radius
   of --radii: the gradient autograd measures against the closed form
   dJ/dh^(t-l) = (W_h^T)^l dJ/dh^(t) (the notes' row-vector W_h^l, transposed).
3. What exploding does to training: a linear RNN with W_h at spectral radius
   --explode-radius, trained by plain SGD at --explode-lr on the copy task with
   delay --explode-delay, twice from the same weights and data: without clipping
   (the loss overflows to inf, then the weights to NaN) and with the gradient
   clipped to norm --clip (the lecture's Algorithm 1: g <- threshold g / ||g||
   when ||g|| >= threshold).

Printed: each cell's norms at lags 1, 10 and --max-lag, and their ratio to lag 1; the
linear case's worst relative difference from the closed form; each training run's
first non-finite step and last loss. Written: ``gradients.png`` (both sets of curves,
log scale), ``clipping.png`` (the two loss curves) and ``summary.json`` with every
curve (a non-finite loss is stored as null).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from torch import nn

from gymlab.cli import number
from gymlab.sequence_tasks.backbone import KINDS, RecurrentCore, gru_cell, lstm_cell, elman_cell

MAX_LAG, MAX_HIDDEN, MAX_BATCH, MAX_STEPS = 1000, 1024, 4096, 100_000
SHOWN_LAGS = (1, 10)  # and --max-lag: the lags the table prints


def _listed(kind_of_item, what: str):
    """An argparse ``type`` for a comma-separated list of ``kind_of_item``, none repeated."""

    def parse(text: str):
        items = [kind_of_item(t.strip()) for t in text.split(",") if t.strip()]
        if not items or len(set(items)) != len(items):
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}, none twice, got {text!r}")
        return items

    parse.__name__ = f"list of {what}"
    return parse


def _cell(text: str) -> str:
    if text not in KINDS:
        raise argparse.ArgumentTypeError(f"expected cells among {', '.join(KINDS)}, got {text!r}")
    return text


def _threshold(text: str) -> float | None:
    if text == "none":
        return None
    return number(float, lo=0, lo_open=True)(text)


def _forget_bias(text: str) -> float | None:
    if text == "none":
        return None
    return number(float, lo=-20, hi=20)(text)


def add_arguments(p):
    size = number(int, lo=1, hi=MAX_HIDDEN)
    p.add_argument("--cells", type=_listed(_cell, "rnn, lstm, gru"), default=list(KINDS),
                   help="the hand-written cells to measure, comma-separated (default rnn,lstm,gru)")
    p.add_argument("--max-lag", type=number(int, lo=1, hi=MAX_LAG), default=50,
                   help=f"the copy task's delay: the gradient is measured at lags 0 to this, 1 to {MAX_LAG} "
                        f"(default 50)")
    p.add_argument("--burn-in", type=number(int, lo=0, hi=MAX_LAG), default=100,
                   help=f"random steps before the answer's symbol in every sequence, 0 to {MAX_LAG}, so that "
                        f"even lag --max-lag is not the start of the sequence (default 100)")
    p.add_argument("--hidden", type=size, default=64, help=f"units of each cell, 1 to {MAX_HIDDEN} (default 64)")
    p.add_argument("--vocab", type=number(int, lo=2, hi=256), default=8,
                   help="symbols of the copy task, 2 to 256 (default 8)")
    p.add_argument("--batch", type=number(int, lo=1, hi=MAX_BATCH), default=64,
                   help="sequences each norm is averaged over (default 64)")
    p.add_argument("--forget-bias", type=_listed(_forget_bias, "numbers or none"), default=[None, 3.0],
                   help="the LSTM is measured once for each initial forget-gate bias listed; none is the "
                        "backbone's default (torch's init) (default none,3)")
    p.add_argument("--train-steps", type=number(int, lo=0, hi=MAX_STEPS), default=0,
                   help="also measure after this many Adam steps (lr 1e-2, clipped at --train-clip) on the copy "
                        "task (default 0: at initialisation only)")
    p.add_argument("--train-clip", type=_threshold, default=1.0,
                   help="--train-steps: clip the gradient to this norm before each Adam step, a positive number "
                        "or none (default 1)")
    p.add_argument("--radii", type=_listed(number(float, lo=0, lo_open=True, hi=10), "spectral radii"),
                   default=[0.9, 1.0, 1.1], help="the linear RNN's spectral radii of W_h (default 0.9,1,1.1)")
    p.add_argument("--explode-radius", type=number(float, lo=0, lo_open=True, hi=10), default=1.5,
                   help="spectral radius of W_h in the training runs (default 1.5)")
    p.add_argument("--explode-lr", type=number(float, lo=0, lo_open=True, hi=1e3), default=0.1,
                   help="plain SGD's step size in the training runs (default 0.1)")
    p.add_argument("--explode-steps", type=number(int, lo=1, hi=MAX_STEPS), default=100,
                   help="SGD steps of each training run (default 100)")
    p.add_argument("--explode-delay", type=number(int, lo=1, hi=MAX_LAG), default=20,
                   help="the copy task's delay in the training runs (default 20)")
    p.add_argument("--clip", type=number(float, lo=0, lo_open=True), default=1.0,
                   help="the clipped run's gradient-norm threshold (default 1)")


def check(args) -> dict:
    """Each option is checked by its type; here, whether the largest unrolled graph fits in memory."""
    from gymlab.sequence_tasks.common import activations, check_memory, flags

    steps = max(args.burn_in + args.max_lag, args.explode_delay) + 1
    numbers = activations("lstm", steps, args.batch, args.hidden, 1, impl="cells") + 8 * args.hidden ** 2
    check_memory(8 * numbers, flags(args, "hidden", "batch", "max_lag", "burn_in"), "the unrolled hand-written cells")
    return {}


# --8<-- [start:linear_cell]
def linear_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """The proof sketch's RNN: sigma the identity, so dh^(t)/dh^(t-1) = W_h exactly."""
    return x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
# --8<-- [end:linear_cell]


def unroll(kind: str, weights, x: torch.Tensor, memory: list | None = None) -> list[torch.Tensor]:
    """The hidden states h^(1) .. h^(T) of one layer of ``kind`` (``linear`` or a backbone kind)
    over x (T, B, V) from a zero state, each a node of the graph (so dJ/dh^(t) can be asked for);
    an LSTM's memory cells c^(1) .. c^(T) are appended to ``memory`` if it is given."""
    h = x.new_zeros(x.shape[1], weights[1].shape[1])
    c, states = torch.zeros_like(h), []
    for x_t in x:
        if kind == "lstm":
            h, c = lstm_cell(x_t, h, c, *weights)
            if memory is not None:
                memory.append(c)
        elif kind == "gru":
            h = gru_cell(x_t, h, *weights)
        elif kind == "rnn":
            h = elman_cell(x_t, h, *weights)
        else:
            h = linear_cell(x_t, h, *weights)
        states.append(h)
    return states


def copy_task(vocab: int, delay: int, batch: int, generator: torch.Generator, burn_in: int = 0):
    """Random symbols (burn_in + delay + 1, batch) as one-hot inputs, and the answer at the last
    step: the symbol read ``delay`` steps before it (after ``burn_in`` steps of others)."""
    ids = torch.randint(0, vocab, (burn_in + delay + 1, batch), generator=generator)
    return nn.functional.one_hot(ids, vocab).to(torch.get_default_dtype()), ids[burn_in]


class CopyNet(nn.Module):
    """One layer of the backbone's hand-written cells (or the linear RNN) and a linear read-out."""

    def __init__(self, kind: str, vocab: int, hidden: int, forget_bias: float | None = None):
        super().__init__()
        self.kind = kind
        self.core = RecurrentCore("rnn" if kind == "linear" else kind, vocab, hidden, impl="cells",
                                  forget_bias=forget_bias)
        self.head = nn.Linear(hidden, vocab)

    def states(self, x, memory: list | None = None):
        return unroll(self.kind, self.core.rnn._weights(0), x, memory)

    def loss(self, x, answer, states=None):
        """J^(t): the summed cross-entropy at the last step (each sequence's gradient unscaled)."""
        states = self.states(x) if states is None else states
        return nn.functional.cross_entropy(self.head(states[-1]), answer, reduction="sum")


# --8<-- [start:lag_norms]
def lag_norms(net: CopyNet, x, answer, lags: int | None = None, wrt: str = "h") -> np.ndarray:
    """||dJ^(t)/dh^(t-l)|| (``wrt="c"``: an LSTM's memory cell, ||dJ^(t)/dc^(t-l)||) for l = 0 ..
    ``lags`` (default T-1), each the mean over the batch of one sequence's norm."""
    memory = []
    states = net.states(x, memory)
    if wrt == "c" and not memory:
        raise ValueError(f"only the LSTM has a memory cell, not {net.kind}")
    grads = torch.autograd.grad(net.loss(x, answer, states), states if wrt == "h" else memory)  # every lag
    return np.array([float(g.norm(dim=-1).mean()) for g in reversed(grads)])[:None if lags is None else lags + 1]
# --8<-- [end:lag_norms]


def train_copy(net: CopyNet, args, generator: torch.Generator) -> float:
    """``--train-steps`` Adam steps on fresh copy-task batches, each after the gradient is clipped to
    norm ``--train-clip`` (``clip_by_norm``; None: not clipped); the last batch's mean loss."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss = math.nan
    for _ in range(args.train_steps):
        x, answer = copy_task(args.vocab, args.max_lag, args.batch, generator, args.burn_in)
        value = net.loss(x, answer) / args.batch
        opt.zero_grad()
        value.backward()
        clip_by_norm(list(net.parameters()), args.train_clip)
        opt.step()
        loss = value.item()
    return loss


@torch.no_grad()
def scaled_matrix(hidden: int, radius: float, generator: torch.Generator) -> torch.Tensor:
    """A Gaussian matrix scaled so that its spectral radius (largest |eigenvalue|) is ``radius``."""
    w = torch.randn(hidden, hidden, generator=generator, dtype=torch.float64)
    return w * (radius / torch.linalg.eigvals(w).abs().max())


# --8<-- [start:closed_form]
def linear_case(radius: float, hidden: int, lags: int, vocab: int, batch: int, generator) -> dict:
    """The linear RNN with W_h at spectral radius ``radius``, in float64: dJ/dh^(t-l) measured by
    autograd against the closed form (W_h^T)^l dJ/dh^(t), for l = 0 .. ``lags``."""
    w_hh = scaled_matrix(hidden, radius, generator)
    weights = [torch.randn(hidden, vocab, generator=generator, dtype=torch.float64), w_hh.requires_grad_(),
               torch.zeros(hidden, dtype=torch.float64), torch.zeros(hidden, dtype=torch.float64)]
    x = nn.functional.one_hot(torch.randint(0, vocab, (lags + 1, batch), generator=generator), vocab).double()
    states = unroll("linear", weights, x)
    g = torch.randn(batch, hidden, generator=generator, dtype=torch.float64)  # dJ/dh^(t): J = <g, h^(t)>
    measured = torch.autograd.grad((g * states[-1]).sum(), states)[::-1]  # lag 0, 1, ...
    closed, v = [], g
    for _ in range(lags + 1):
        closed.append(v)
        v = v @ w_hh.detach()  # a row of (W_h^T)^l g is g^T W_h^l: the notes' row-vector form
    error = max(float((m - c).norm() / c.norm()) for m, c in zip(measured, closed))
    norms = lambda gs: [float(t.norm(dim=-1).mean()) for t in gs]  # noqa: E731
    return {"radius": radius, "measured": norms(measured), "closed_form": norms(closed), "max_rel_error": error}
# --8<-- [end:closed_form]


# --8<-- [start:clip]
def clip_by_norm(params, threshold: float | None) -> float:
    """The lecture's Algorithm 1: if ||g|| >= threshold, g <- (threshold / ||g||) g (``None``: left
    as it is). The norm before."""
    grads = [p.grad for p in params if p.grad is not None]
    norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])))
    if threshold is not None and norm >= threshold:
        for g in grads:
            g.mul_(threshold / norm)
    return norm
# --8<-- [end:clip]


def training_run(args, clip: float | None, seed: int) -> dict:
    """Plain SGD on the copy task (delay --explode-delay) from a linear RNN with W_h at spectral radius
    --explode-radius; every step's loss and gradient norm before clipping (None where not finite),
    up to the first loss that is not finite, where the run stops. The weights and batches depend on ``seed`` only, so both runs start alike."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = CopyNet("linear", args.vocab, args.hidden)
    with torch.no_grad():
        net.core.rnn.weight_hh_l0.copy_(scaled_matrix(args.hidden, args.explode_radius, generator))
    opt = torch.optim.SGD(net.parameters(), lr=args.explode_lr)
    losses, norms, first_bad = [], [], None
    for step in range(1, args.explode_steps + 1):
        x, answer = copy_task(args.vocab, args.explode_delay, args.batch, generator)
        loss = net.loss(x, answer) / args.batch
        opt.zero_grad()
        loss.backward()
        norm = clip_by_norm(list(net.parameters()), clip)
        opt.step()
        finite = math.isfinite(loss.item())
        losses.append(loss.item() if finite else None)
        norms.append(norm if math.isfinite(norm) else None)
        if not finite:  # the weights are inf/NaN from here on: the run is over (restart from a checkpoint)
            first_bad = step
            break
    weights_finite = all(bool(torch.isfinite(p).all()) for p in net.parameters())
    return {"clip": clip, "losses": losses, "grad_norms": norms, "first_nonfinite_step": first_bad,
            "weights_finite": weights_finite, "last_loss": losses[-1]}


def run(exp, args) -> dict:
    from gymlab.sequence_tasks.gradient_plots import plot_clipping, plot_gradients

    # one random stream for the cells' data and training, one for the linear RNNs: each part's
    # numbers depend on --seed, not on what the other part was asked to do
    cell_seed, linear_seed = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(exp.seed).spawn(2))
    generator = torch.Generator().manual_seed(cell_seed)
    x, answer = copy_task(args.vocab, args.max_lag, args.batch, generator, args.burn_in)  # one batch, every cell
    cells = {}
    for kind in args.cells:
        for bias in (args.forget_bias if kind == "lstm" else [None]):
            name = kind if bias is None else f"{kind} forget-bias {bias:g}"
            torch.manual_seed(exp.seed)  # each cell's weights from the same seed
            net = CopyNet(kind, args.vocab, args.hidden, forget_bias=bias)
            entry = {"kind": kind, "forget_bias": bias, "init": lag_norms(net, x, answer, args.max_lag).tolist()}
            if kind == "lstm":
                entry["memory_init"] = lag_norms(net, x, answer, args.max_lag, wrt="c").tolist()
            if args.train_steps:
                entry["train_loss"] = train_copy(net, args, generator)
                entry["trained"] = lag_norms(net, x, answer, args.max_lag).tolist()
                if kind == "lstm":
                    entry["memory_trained"] = lag_norms(net, x, answer, args.max_lag, wrt="c").tolist()
            cells[name] = entry
    generator = torch.Generator().manual_seed(linear_seed)
    linear = [linear_case(r, args.hidden, args.max_lag, args.vocab, args.batch, generator) for r in args.radii]
    runs = {"no_clip": training_run(args, None, exp.seed), "clip": training_run(args, args.clip, exp.seed)}
    figures = [plot_gradients(exp, cells, linear), plot_clipping(exp, runs, args)]

    lags = [lag for lag in (*SHOWN_LAGS, args.max_lag) if lag <= args.max_lag]
    print(f"||dJ^(t)/dh^(t-l)||, mean over {args.batch} sequences of {args.burn_in + args.max_lag + 1} steps "
          f"(seed {exp.seed}, hidden {args.hidden}):")
    def line(name, when, n):
        print(f"  {name:<24} {when:<8}" + "".join(f"  l={lag}: {n[lag]:.3g}" for lag in lags)
              + f"  (l={args.max_lag} / l=1: {n[args.max_lag] / n[1]:.2g})" * (args.max_lag > 1))

    for name, entry in cells.items():
        for when in ("init", "trained"):
            if when in entry:
                line(name, when, entry[when])
    memories = [(name, when, entry[f"memory_{when}"]) for name, entry in cells.items() for when in ("init", "trained")
                if f"memory_{when}" in entry]
    if memories:
        print("||dJ^(t)/dc^(t-l)||, the LSTM's memory cell, on the same sequences:")
        for name, when, n in memories:
            line(name, when, n)
    for case in linear:
        print(f"  linear, radius {case['radius']:g}: l={args.max_lag}: {case['measured'][-1]:.3g} "
              f"(closed form {case['closed_form'][-1]:.3g}; worst relative difference {case['max_rel_error']:.1e})")
    for r in runs.values():
        how = f"clipped to norm {args.clip:g}" if r["clip"] else "not clipped"
        if r["first_nonfinite_step"]:
            print(f"  training, {how}: loss {r['losses'][0]:.3g} at step 1, not finite at step "
                  f"{r['first_nonfinite_step']} (the step before followed a gradient of norm "
                  f"{r['grad_norms'][-2] or math.inf:.3g}, unclipped)"
                  if len(r["losses"]) > 1 else f"  training, {how}: loss not finite at step 1")
        else:
            print(f"  training, {how}: loss {r['losses'][0]:.3g} at step 1, {r['last_loss']:.3g} at step "
                  f"{len(r['losses'])}, finite throughout (largest gradient norm {max(r['grad_norms']):.3g})")
    return {"max_lag": args.max_lag, "burn_in": args.burn_in, "train_clip": args.train_clip, "hidden": args.hidden, "batch": args.batch, "vocab": args.vocab,
            "cells": cells, "linear": linear, "training": runs, "figures": figures}
