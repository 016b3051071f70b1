"""sine: the lecture's sine prediction (seed 000), trained the fast way by default.

Data: 100 waves of 1000 steps, x = sin((t + shift) / 20), shift an integer in
[-80, 80); the first 3 are the test set, the other 97 the training set. Model:
two stacked LSTM layers of 51 and a linear read-out, predicting x_t+1 from
x_1 .. x_t.

Two recipes:

- ``lecture``: LBFGS (lr 0.4) on the mean squared error of next-value
  prediction over the 97 whole waves, ``--lbfgs-steps`` steps (15 in the
  lecture); ``--float64`` for the lecture's precision.
- ``windows`` (default): the same loss and optimiser on one 100-step window of
  each training wave (a tenth of the cost per evaluation; every window starts
  from a zero state, just as the test waves do), then a curriculum of
  free-running continuations: after the teacher-forced window the model feeds
  on its own outputs for 20, 50, then 100 steps, and their error joins the
  loss. The first stage gets the next-step error down; the curriculum makes
  the 1000-step forecast stable, which next-step training alone does not.

Reported: ``test_mse`` (next step, teacher forced, over the 3 test waves: the
lecture's printed figure) and ``forecast_mse`` (1000 free-running steps after
the test input against the true continuation, which the lecture only plots).
"""

from __future__ import annotations

import numpy as np
import torch

from gymlab.cli import UsageError, number
from gymlab.sequence_tasks.common import (MAX_SIZE, activations, add_backbone_arguments, check_memory,
                                          core_parameters, flags, schedule, time_major)
from gymlab.sequence_tasks.data import lecture_sines
from gymlab.sequence_tasks.models import NextValue

N_TEST = 3


def add_arguments(p):
    p.add_argument("--recipe", choices=("windows", "lecture"), default="windows",
                   help="windows: LBFGS on 100-step windows, then free-running continuations (default); "
                        "lecture: LBFGS lr 0.4 on whole waves")
    p.add_argument("--schedule", type=schedule(), default="0:10,20:2,50:2,100:2",
                   help="windows recipe: FREE:STEPS stages, LBFGS steps with FREE free-running steps "
                        "after each window (default %(default)s)")
    p.add_argument("--window", type=number(int, lo=1, hi=MAX_SIZE), default=100,
                   help="windows recipe: teacher-forced steps per window (default 100)")
    p.add_argument("--lbfgs-steps", type=number(int, lo=1, hi=10_000), default=15,
                   help="lecture recipe: LBFGS steps, 1 to 10000 (default 15)")
    add_backbone_arguments(p, hidden=51, layers=2, impl=True)
    p.add_argument("--float64", action="store_true", help="train in double precision, as the lecture does")
    p.add_argument("--waves", type=number(int, lo=N_TEST + 1, hi=MAX_SIZE), default=100,
                   help=f"waves in all, {N_TEST} of them for the test (at least {N_TEST + 1}; default 100)")
    p.add_argument("--length", type=number(int, lo=2, hi=MAX_SIZE), default=1000,
                   help="steps per wave (default 1000)")
    p.add_argument("--future", type=number(int, lo=1, hi=MAX_SIZE), default=1000,
                   help="free-running steps of the forecast (default 1000)")


LBFGS_HISTORY = 100  # torch's LBFGS keeps up to this many pairs of past steps, each the model's size


def check(args) -> dict:
    """How the options fit together, and whether the run fits in memory: before anything is written."""
    if args.recipe == "windows":
        longest = max(free for free, _ in args.schedule)
        span = args.window + longest + 1
        if span > args.length:
            raise UsageError(f"--window {args.window} + the longest free run of --schedule ({longest}) + 1 = "
                             f"{span} steps do not fit in --length {args.length}")
        steps = span - 1
    else:
        steps = args.length - 1
    size = 8 if args.float64 else 4
    n_train = args.waves - N_TEST
    params = core_parameters(args.kind, 1, args.hidden, args.layers) + args.hidden + 1
    numbers = (params * (2 * LBFGS_HISTORY + 6)
               + activations(args.kind, steps, n_train, args.hidden, args.layers, args.impl)
               + (args.length + args.future) * N_TEST * args.hidden * 2)  # the evaluation's outputs
    data = args.waves * (args.length + args.future) * 8 * 3  # float64 waves, and their copies
    names = ("hidden", "layers", "waves", "length", "future") + (("window",) if args.recipe == "windows" else ())
    check_memory(numbers * size + data, flags(args, *names), "the model, LBFGS's memory and the waves")
    return {}


def _lbfgs(model, closure, steps, lr, line_search, progress, log):
    opt = torch.optim.LBFGS(model.parameters(), lr=lr, line_search_fn=line_search)
    for _ in range(steps):
        loss = opt.step(closure).item()
        log.append(loss)
        progress.set_postfix(loss=f"{loss:.2e}")
        progress.update()
        if not np.isfinite(loss):
            raise UsageError(f"the loss diverged ({loss}) at LBFGS step {len(log)}; try another --seed or "
                             f"--recipe")


def train_windows(model, train, args, exp, dtype, log):
    """LBFGS on one window per training wave, teacher forced, then with free-running tails."""
    stages = args.schedule  # FREE:STEPS pairs, checked against the wave length by ``check``
    longest = max(free for free, _ in stages)
    span = args.window + longest + 1
    starts = exp.rng.integers(0, train.shape[1] - span + 1, size=len(train))
    seg = time_major(train[np.arange(len(train))[:, None], starts[:, None] + np.arange(span)], dtype)
    w = args.window
    progress = exp.progress(sum(n for _, n in stages), "sine (LBFGS steps)")
    for stage, (free, steps) in enumerate(stages):

        def closure():
            model.zero_grad()
            pred, state = model(seg[:w])
            loss = torch.mean((pred - seg[1:w + 1]) ** 2)  # next-step error, teacher forced
            if free:  # then free running: the model continues from its own last prediction
                tail, _ = model.free_run(pred[-1:], state, free)
                loss = loss + torch.mean((tail - seg[w + 1:w + 1 + free]) ** 2)
            loss.backward()
            return loss

        # A fresh optimiser per stage (its curvature memory belongs to the old loss); the
        # lecture's fixed step 0.4 for the first, a line search once the loss has changed.
        _lbfgs(model, closure, steps, 0.4 if stage == 0 else 1.0, None if stage == 0 else "strong_wolfe",
               progress, log)
    progress.close()


def train_lecture(model, train, args, exp, dtype, log):
    """The lecture's recipe: LBFGS lr 0.4 on whole waves, teacher forced."""
    x, y = time_major(train[:, :-1], dtype), time_major(train[:, 1:], dtype)

    def closure():
        model.zero_grad()
        loss = torch.mean((model(x)[0] - y) ** 2)
        loss.backward()
        return loss

    progress = exp.progress(args.lbfgs_steps, "sine (LBFGS steps)")
    _lbfgs(model, closure, args.lbfgs_steps, 0.4, None, progress, log)
    progress.close()


@torch.no_grad()
def evaluate(model, test, length, future, dtype):
    """``(test_mse, forecast_mse, predictions)``: predictions (n, length - 1 + future) of x_1 on."""
    x, y = time_major(test[:, :length - 1], dtype), time_major(test[:, 1:length], dtype)
    pred, state = model(x)
    forecast, _ = model.free_run(pred[-1:], state, future)
    truth = time_major(test[:, length:length + future], dtype)
    test_mse = float(torch.mean((pred - y) ** 2))
    forecast_mse = float(torch.mean((forecast - truth) ** 2))
    return test_mse, forecast_mse, torch.cat([pred, forecast])[:, :, 0].T.double().numpy()


def plot(exp, test, predictions, length, test_mse, forecast_mse):
    plt, path = exp.figure("predictions.png")
    fig, ax = plt.subplots(figsize=(12, 4.5), dpi=100)
    t = np.arange(1, predictions.shape[1] + 1)
    for i, colour in zip(range(len(test)), "rgb"):
        ax.plot(np.arange(test.shape[1]), test[i], color="0.8", lw=3, zorder=0)
        ax.plot(t[:length - 1], predictions[i, :length - 1], color=colour, lw=1.2)
        ax.plot(t[length - 1:], predictions[i, length - 1:], color=colour, lw=1.2, ls="--")
    ax.axvline(length - 0.5, color="black", lw=0.8)
    future = predictions.shape[1] - length + 1
    ax.set(xlabel="t", ylabel="x", title=f"sine: next-step predictions (solid), {future}-step "
                                         f"forecast (dashed), truth (grey); test MSE {test_mse:.2e}, "
                                         f"forecast MSE {forecast_mse:.2e}")
    ax.title.set_fontsize(10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path.name


def run(exp, args) -> dict:
    """The experiment, on options ``check`` has passed."""
    dtype = torch.float64 if args.float64 else torch.float32
    # Waves twice as long as trained on: the second half is the forecast's ground truth.
    waves = lecture_sines(exp.rng, args.waves, args.length + args.future)
    test, train = waves[:N_TEST], waves[N_TEST:, :args.length]
    model = NextValue(args.kind, args.hidden, args.layers, args.impl).to(dtype)
    log: list[float] = []
    (train_windows if args.recipe == "windows" else train_lecture)(model, train, args, exp, dtype, log)
    train_time = exp.elapsed()
    test_mse, forecast_mse, predictions = evaluate(model, test, args.length, args.future, dtype)
    figure = plot(exp, waves[:N_TEST], predictions, args.length, test_mse, forecast_mse)
    print(f"test MSE (next step, teacher forced): {test_mse:.3e}")
    print(f"forecast MSE ({args.future} free-running steps): {forecast_mse:.3e}")
    return {"recipe": args.recipe, "test_mse": test_mse, "forecast_mse": forecast_mse,
            "lbfgs_steps": len(log), "train_loss": log, "train_time_s": round(train_time, 3),
            "figures": [figure]}
