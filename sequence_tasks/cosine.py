"""cosine: the cosine-generation assignment (seed 003), with the lecture's teacher-forcing schedule.

Data: cosines A cos(10/99 t + phi) with phi uniform in [0, 2 pi) and A uniform
in [0.5, 1.5], sampled every 10/99 radians as in the lecture's sine example
(``np.linspace(0, 10, 100)``). Every training batch is freshly drawn, so the
answer to the assignment's "how much data do you need?" is printed as the
number of waves seen.

Training (the lecture's SineRNN loop): at each step the model reads the true
previous value with probability 1 - p, else its own last output; p starts at 0
and rises by 0.1 every ``--p-every`` iterations up to ``--p-max`` (0.85); the
loss counts after 20 warm-up steps; Adam.

Validation: 1000 fresh cosines of 1000 steps. The model reads the first 100
values (the warm-up), then runs free on its own outputs for the remaining 900;
the MSE is taken over those 900 steps, where prediction and real wave overlap.
Reported: ``val_mse`` (the mean over the 1000 waves), ``best_mse`` and
``worst_mse``, with plots of the best and the worst wave.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gymlab.cli import UsageError, number
from gymlab.sequence_tasks.common import (MAX_COUNT, MAX_SIZE, activations, add_backbone_arguments, check_memory,
                                          core_parameters, flags, time_major)
from gymlab.sequence_tasks.data import random_cosines
from gymlab.sequence_tasks.models import NextValue


def add_arguments(p):
    count, size = number(int, lo=1, hi=MAX_COUNT), number(int, lo=1, hi=MAX_SIZE)
    p.add_argument("--iterations", type=count, default=2000, help="Adam steps (default %(default)s)")
    p.add_argument("--batch", type=size, default=32, help="waves per step (default %(default)s)")
    p.add_argument("--seq-len", type=size, default=200, help="steps per training wave (default %(default)s)")
    p.add_argument("--warmup", type=number(int, lo=0, hi=MAX_SIZE), default=20,
                   help="training steps before the loss counts, fewer than --seq-len (default 20)")
    p.add_argument("--p-every", type=count, default=100, help="raise p by 0.1 every this many iterations")
    p.add_argument("--p-max", type=number(float, lo=0, hi=1), default=0.85,
                   help="the largest p, a probability in [0, 1] (default 0.85)")
    p.add_argument("--lr", type=number(float, lo=0, lo_open=True), default=3e-3,
                   help="Adam's step size, cosine-annealed to 0 (default 3e-3)")
    p.add_argument("--clip", type=number(float, lo=0, lo_open=True), default=1.0,
                   help="clip the gradient to this norm (default 1)")
    add_backbone_arguments(p, hidden=64)
    p.add_argument("--val-waves", type=size, default=1000, help="validation cosines (default 1000)")
    p.add_argument("--val-len", type=number(int, lo=3, hi=MAX_SIZE), default=1000,
                   help="steps per validation cosine, more than --val-warmup + 1 (default 1000)")
    p.add_argument("--val-warmup", type=size, default=100, help="true values read before generating (default 100)")
    p.add_argument("--eval-every", type=number(int, lo=0, hi=MAX_COUNT), default=200,
                   help="validate on 100 waves every this many iterations (default 200; 0: only at the end)")


VAL_CHUNK = 250  # validation cosines generated at once


def check(args) -> dict:
    """How the options fit together, and whether the run fits in memory: before anything is written."""
    if args.warmup >= args.seq_len:
        raise UsageError(f"--warmup {args.warmup} leaves no step of --seq-len {args.seq_len} for the loss; "
                         f"make --warmup smaller than --seq-len")
    if args.val_len <= args.val_warmup + 1:
        raise UsageError(f"--val-len {args.val_len} must exceed --val-warmup {args.val_warmup} + 1")
    params = core_parameters(args.kind, 1, args.hidden, args.layers) + args.hidden + 1
    chunk = min(args.val_waves, VAL_CHUNK)
    numbers = (4 * params  # weights, gradients, Adam's two moments
               + activations(args.kind, args.seq_len, args.batch, args.hidden, args.layers)
               + 3 * args.val_waves * args.val_len  # the validation set, its generation, the errors
               + chunk * (args.val_warmup * args.hidden * args.layers + 2 * args.val_len))
    data = 3 * 8 * args.batch * (args.seq_len + 1) + 48 * args.iterations  # a batch's waves, the loss log
    check_memory(4 * numbers + data, flags(args, "hidden", "layers", "batch", "seq_len", "val_waves", "val_len"),
                 "the model, a batch and the validation set")
    return {}


# --8<-- [start:generate]
@torch.no_grad()
def generate(model, waves: np.ndarray, warmup: int) -> np.ndarray:
    """Read the first ``warmup`` values, then run free: predictions of steps warmup .. end."""
    pred, state = model(time_major(waves[:, :warmup]))
    rest, _ = model.free_run(pred[-1:], state, waves.shape[1] - warmup - 1)
    return torch.cat([pred[-1:], rest])[:, :, 0].T.numpy()


def per_wave_mse(model, waves, warmup) -> tuple[np.ndarray, np.ndarray]:
    gen = np.concatenate([generate(model, waves[i:i + VAL_CHUNK], warmup) for i in range(0, len(waves), VAL_CHUNK)])
    return ((gen - waves[:, warmup:]) ** 2).mean(axis=1), gen
# --8<-- [end:generate]


def plot(exp, val, gen, mse, warmup):
    plt, path = exp.figure("best_and_worst.png")
    fig, axes = plt.subplots(2, 1, figsize=(11, 5.5), dpi=100, sharex=True)
    t = np.arange(val.shape[1])
    for ax, i, name in ((axes[0], int(np.argmin(mse)), "best"), (axes[1], int(np.argmax(mse)), "worst")):
        ax.plot(t, val[i], color="0.6", lw=2.5, label="real cosine")
        ax.plot(t[warmup:], gen[i], "--", color="tab:red", lw=1.2, label="generated")
        ax.axvspan(0, warmup, color="tab:blue", alpha=0.08, label=f"warm-up ({warmup} true values)")
        ax.set(ylabel="x", title=f"{name} of {len(val)} validation cosines: MSE {mse[i]:.2e}")
        ax.legend(loc="upper right", fontsize=8)
    axes[1].set_xlabel("t")
    return exp.save_figure(fig, path)


def plot_training(exp, losses, evals):
    plt, path = exp.figure("training.png")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.semilogy(np.arange(1, len(losses) + 1), losses, lw=0.6, alpha=0.6, label="training loss (scheduled inputs)")
    if evals:
        ax.semilogy(*zip(*evals), "o-", color="black", ms=4, label="validation MSE (100 waves, free running)")
    ax.set(xlabel="iteration", ylabel="MSE", title="cosine generation")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return exp.save_figure(fig, path)


def run(exp, args) -> dict:
    """The experiment, on options ``check`` has passed."""
    val = random_cosines(exp.rng, args.val_waves, args.val_len)  # drawn first: the same set for any training
    model = NextValue(args.kind, args.hidden, args.layers)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(args.iterations, 1))
    p, losses, evals = 0.0, [], []
    bar = exp.progress(args.iterations, "cosine (iterations)")
    kept = {}  # the weights after the last whole step: what Ctrl-C keeps
    exp.so_far = lambda: None if not kept else (kept, {
        "iterations": len(losses), "waves_seen": len(losses) * args.batch, "p": p, "train_loss": losses,
        "val_curve": evals})
    for it in range(args.iterations):
        # --8<-- [start:schedule]
        if it > 0 and it % args.p_every == 0:
            p = min(p + 0.1, args.p_max)  # the schedule: lean more and more on the model's own outputs
        x = time_major(random_cosines(exp.rng, args.batch, args.seq_len + 1))
        pred = model.scheduled(x[:-1], p, exp.rng, warmup=args.warmup)
        loss = torch.mean((pred[args.warmup:] - x[args.warmup + 1:]) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        # --8<-- [end:schedule]
        sched.step()
        kept = {k: v.detach().clone() for k, v in model.state_dict().items()}
        losses.append(loss.item())
        if not np.isfinite(losses[-1]):
            raise UsageError(f"the loss diverged ({losses[-1]}) at iteration {it + 1}; lower --lr (now {args.lr:g})")
        if args.eval_every and (it + 1) % args.eval_every == 0:
            evals.append((it + 1, float(per_wave_mse(model, val[:100], args.val_warmup)[0].mean())))
            bar.set_postfix(p=p, val=f"{evals[-1][1]:.4f}")
        bar.update()
    bar.close()
    mse, gen = per_wave_mse(model, val, args.val_warmup)
    figures = [plot(exp, val, gen, mse, args.val_warmup), plot_training(exp, losses, evals)]
    print(f"validation over {len(val)} cosines, {args.val_len - args.val_warmup} generated steps each: "
          f"MSE {mse.mean():.4f} (best {mse.min():.2e}, worst {mse.max():.2e})")
    return {"val_mse": float(mse.mean()), "best_mse": float(mse.min()), "worst_mse": float(mse.max()),
            "iterations": args.iterations, "waves_seen": args.iterations * args.batch, "final_p": p,
            "val_curve": evals, "figures": figures}
