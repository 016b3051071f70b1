"""sine: the lecture's sine prediction (seed 000), trained the fast way by default.

Data: waves of 1000 steps, x = sin((t + shift) / 20). As in the lecture, 100
waves with an integer shift in [-80, 80): the first 3 are the lecture's test
waves, the other 97 the training set. With 160 possible shifts, a lecture test
wave is often a training wave too (1 or 2 of the 3 for seeds 0-2), so the test
set proper is another 20 waves with fresh shifts, real numbers in the same
range, each a quarter step or more (around the period) from every training
wave's: none is a training wave, nor within an MSE of about 8e-5 of one. Sines
of one frequency differ only in phase, so what this tests is generalisation to
phases between those trained on. Model: two stacked LSTM layers of 51
and a linear read-out, predicting x_t+1 from x_1 .. x_t.

Two recipes, both LBFGS on the mean squared error of next-value prediction
over the 97 training waves, in float32 unless ``--float64`` (the lecture's
precision), on torch's fused LSTM unless ``--impl cells``:

- ``lecture``: the lecture's optimiser, LBFGS lr 0.4 with fixed steps (no line
  search), on the whole waves, ``--lbfgs-steps`` steps (15 in the lecture).
- ``windows`` (default): the stages of ``--schedule`` (default 0:10,20:2,50:2,100:2),
  each FREE:STEPS, on one ``--window``-step window of each training wave (a
  tenth of the cost per evaluation; every window starts from a zero state, as
  the test waves do). Only the first stage keeps the lecture's optimiser,
  LBFGS lr 0.4 with fixed steps; every later stage starts a fresh LBFGS with
  lr 1.0 and a strong-Wolfe line search (the loss has changed, and so has its
  curvature). The default's first stage (FREE 0, 10 steps) is next-step
  training on the windows; the later ones are a curriculum of free-running
  continuations: after the teacher-forced window the model feeds on its own
  outputs for FREE steps (20, 50, then 100, 2 steps each) and their error
  joins the loss. The first stage gets the next-step error down; the
  curriculum makes the 1000-step forecast stable, which next-step training
  alone does not.

Reported, for each test set: the next-step MSE, teacher forced over its first
1000 steps (``test_mse`` on the 20 fresh waves; ``lecture_test_mse`` on the
lecture's 3, its printed figure), and the forecast MSE: 1000 free-running
steps after them against the true continuation (``forecast_mse``,
``lecture_forecast_mse``; the lecture only plots it). ``train_loss`` holds the
training loss after every LBFGS step, ``train_s`` the training seconds up to
it and ``loss_evaluations`` the loss-and-gradient evaluations up to it (at
most 20 a step with fixed steps, 25 with the line search); ``--test-every-step`` adds both test MSEs
after every step, as the lecture prints them.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
import torch

from gymlab.cli import UsageError, number
from gymlab.sequence_tasks.common import (MAX_SIZE, activations, add_backbone_arguments, check_memory,
                                          core_parameters, flags, schedule, time_major)
from gymlab.sequence_tasks.data import fresh_shifts, lecture_shifts, sines
from gymlab.sequence_tasks.models import NextValue

N_TEST = 3  # the lecture's test waves: the first 3 of its draw
N_HELD_OUT = 20  # the test set proper: fresh shifts, none of them a training wave


def add_arguments(p):
    p.add_argument("--recipe", choices=("windows", "lecture"), default="windows",
                   help="windows: LBFGS on 100-step windows, then free-running continuations (default); "
                        "lecture: LBFGS lr 0.4 on whole waves")
    p.add_argument("--schedule", type=schedule(), default="0:10,20:2,50:2,100:2",
                   help="windows recipe: FREE:STEPS stages, LBFGS steps with FREE free-running steps "
                        "after each window; the first stage with lr 0.4 and fixed steps, the others "
                        "with lr 1 and a strong-Wolfe line search (default %(default)s)")
    p.add_argument("--window", type=number(int, lo=1, hi=MAX_SIZE), default=100,
                   help="windows recipe: teacher-forced steps per window (default 100)")
    p.add_argument("--lbfgs-steps", type=number(int, lo=1, hi=10_000), default=15,
                   help="lecture recipe: LBFGS steps, 1 to 10000 (default 15)")
    add_backbone_arguments(p, hidden=51, layers=2, impl=True)
    p.add_argument("--float64", action="store_true", help="train in double precision, as the lecture does")
    p.add_argument("--waves", type=number(int, lo=N_TEST + 1, hi=MAX_SIZE), default=100,
                   help=f"the lecture's waves, {N_TEST} of them its test waves (at least {N_TEST + 1}; default "
                        f"100); {N_HELD_OUT} fresh waves besides are the test set")
    p.add_argument("--length", type=number(int, lo=2, hi=MAX_SIZE), default=1000,
                   help="steps per wave (default 1000)")
    p.add_argument("--future", type=number(int, lo=1, hi=MAX_SIZE), default=1000,
                   help="free-running steps of the forecast (default 1000)")
    p.add_argument("--test-every-step", action="store_true",
                   help="after every LBFGS step, the next-step MSE on both test sets, as the lecture prints "
                        "it (the training clock stops meanwhile)")


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
               + (args.length + args.future) * N_HELD_OUT * args.hidden * 2)  # the evaluation's outputs
    data = (args.waves + N_HELD_OUT) * (args.length + args.future) * 8 * 3  # float64 waves, and their copies
    names = ("hidden", "layers", "waves", "length", "future") + (("window",) if args.recipe == "windows" else ())
    check_memory(numbers * size + data, flags(args, *names), "the model, LBFGS's memory and the waves")
    return {}


# -- the data ------------------------------------------------------------------------------------

class Waves(NamedTuple):
    """The experiment's data; the test sets run ``future`` steps past the training length."""
    train: np.ndarray  # (waves - N_TEST, length): all that training sees
    lecture_test: np.ndarray  # (N_TEST, length + future): the lecture's test waves, integer shifts
    test: np.ndarray  # (N_HELD_OUT, length + future): fresh shifts, none a training wave


def draw_waves(rng: np.random.Generator, waves: int, length: int, future: int) -> Waves:
    """The lecture's draw, split as the lecture splits it, and the test waves: fresh shifts a
    quarter step or more from every training wave's. These come from a child of ``rng``, which
    leaves ``rng``'s own stream (the windows' starts) as it was."""
    shifts = lecture_shifts(rng, waves)
    drawn = sines(shifts, length + future)
    fresh = sines(fresh_shifts(rng.spawn(1)[0], N_HELD_OUT, taken=shifts[N_TEST:]), length + future)
    return Waves(train=drawn[N_TEST:, :length], lecture_test=drawn[:N_TEST], test=fresh)


def also_in_training(waves: np.ndarray, train: np.ndarray) -> int:
    """How many of ``waves`` start as one of the training waves does, value for value."""
    head = waves[:, :train.shape[1]]
    return sum(bool(np.any(np.all(train == w, axis=1))) for w in head)


# -- training: LBFGS steps, each logged with the loss it leaves ----------------------------------

class StepLog:
    """After every LBFGS step: the training loss of the model it leaves (``loss``), the training
    seconds so far (``seconds``), the loss-and-gradient evaluations so far (``evaluations``)
    and, given ``test``, that function's MSEs (``tests``), measured with the training clock
    stopped. A loss that is not finite ends the run there."""

    def __init__(self, progress, test=None):
        self.progress, self.test = progress, test
        self.loss: list[float] = []
        self.seconds: list[float] = []
        self.evaluations: list[int] = []
        self.tests: list[tuple[float, float]] = []
        self.evaluated = 0  # LBFGS's calls of its closure, up to now
        self.weights = None  # the model's after the last whole step: what Ctrl-C keeps

    def add(self, loss: float, seconds: float, weights: dict | None = None) -> None:
        if weights is not None:
            self.weights = {k: v.detach().clone() for k, v in weights.items()}
        self.loss.append(loss)
        self.seconds.append((self.seconds[-1] if self.seconds else 0.0) + seconds)
        self.evaluations.append(self.evaluated)
        self.progress.set_postfix(loss=f"{loss:.2e}")
        self.progress.update()
        if not math.isfinite(loss):
            raise UsageError(f"the loss diverged ({loss}) at LBFGS step {len(self.loss)}; try another --seed or "
                             f"--recipe")
        if self.test is not None:
            self.tests.append(self.test())


def lbfgs(model, loss_fn, steps: int, lr: float, line_search: str | None, log: StepLog) -> None:
    """``steps`` LBFGS steps on ``loss_fn()``. torch's ``step`` returns the loss *before* its
    step, so the loss after it is evaluated once more, without gradients, and logged."""
    opt = torch.optim.LBFGS(model.parameters(), lr=lr, line_search_fn=line_search)

    def closure():
        log.evaluated += 1
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    for _ in range(steps):
        start = time.perf_counter()
        opt.step(closure)
        with torch.no_grad():
            loss = float(loss_fn())
        log.add(loss, time.perf_counter() - start, model.state_dict())


def train_windows(model, train, args, exp, dtype, log):
    """LBFGS on one window per training wave, teacher forced, then with free-running tails."""
    stages = args.schedule  # FREE:STEPS pairs, checked against the wave length by ``check``
    longest = max(free for free, _ in stages)
    span = args.window + longest + 1
    starts = exp.rng.integers(0, train.shape[1] - span + 1, size=len(train))
    seg = time_major(train[np.arange(len(train))[:, None], starts[:, None] + np.arange(span)], dtype)
    w = args.window
    for stage, (free, steps) in enumerate(stages):

        def loss_fn():
            pred, state = model(seg[:w])
            loss = torch.mean((pred - seg[1:w + 1]) ** 2)  # next-step error, teacher forced
            if free:  # then free running: the model continues from its own last prediction
                tail, _ = model.free_run(pred[-1:], state, free)
                loss = loss + torch.mean((tail - seg[w + 1:w + 1 + free]) ** 2)
            return loss

        # A fresh optimiser per stage (its curvature memory belongs to the old loss); the
        # lecture's fixed step 0.4 for the first, a line search once the loss has changed.
        lbfgs(model, loss_fn, steps, 0.4 if stage == 0 else 1.0, None if stage == 0 else "strong_wolfe", log)


def train_lecture(model, train, args, exp, dtype, log):
    """The lecture's recipe: LBFGS lr 0.4 on whole waves, teacher forced."""
    x, y = time_major(train[:, :-1], dtype), time_major(train[:, 1:], dtype)
    lbfgs(model, lambda: torch.mean((model(x)[0] - y) ** 2), args.lbfgs_steps, 0.4, None, log)


# -- evaluation ----------------------------------------------------------------------------------

@torch.no_grad()
def next_step_mse(model, waves, length, dtype) -> float:
    """The MSE of the predictions of x_1 .. x_length-1, reading x_0 .. x_length-2 teacher forced."""
    return float(_teacher_forced(model, waves, length, dtype)[0])


def both_tests(model, data: Waves, length: int, dtype):
    """For --test-every-step: a function giving the next-step MSEs on both test sets, as they stand."""
    return lambda: (next_step_mse(model, data.test, length, dtype), next_step_mse(model, data.lecture_test, length,
                                                                                  dtype))


def _teacher_forced(model, waves, length, dtype):
    """``(mse, predictions, state)`` of the model reading x_0 .. x_length-2 of ``waves``."""
    x, y = time_major(waves[:, :length - 1], dtype), time_major(waves[:, 1:length], dtype)
    pred, state = model(x)
    return torch.mean((pred - y) ** 2), pred, state


@torch.no_grad()
def evaluate(model, waves, length, future, dtype):
    """``(test_mse, forecast_mse, predictions)`` on ``waves`` (n, length + future): the next-step
    MSE over x_1 .. x_length-1, teacher forced; then ``future`` steps of free running from the
    model's own prediction of x_length-1, against x_length .. x_length+future-1. Predictions
    (n, length - 1 + future) are of x_1 on."""
    test_mse, pred, state = _teacher_forced(model, waves, length, dtype)
    forecast, _ = model.free_run(pred[-1:], state, future)
    truth = time_major(waves[:, length:length + future], dtype)
    forecast_mse = float(torch.mean((forecast - truth) ** 2))
    return float(test_mse), forecast_mse, torch.cat([pred, forecast])[:, :, 0].T.double().numpy()


def plot(exp, panels, length):
    """One panel per test set: ``(title, waves, predictions)``, three waves each."""
    plt, path = exp.figure("predictions.png")
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 4 * len(panels)), dpi=100, sharex=True)
    for ax, (title, waves, predictions) in zip(np.atleast_1d(axes), panels):
        t = np.arange(1, predictions.shape[1] + 1)
        for i, colour in zip(range(min(3, len(waves))), "rgb"):
            ax.plot(np.arange(waves.shape[1]), waves[i], color="0.8", lw=3, zorder=0)
            ax.plot(t[:length - 1], predictions[i, :length - 1], color=colour, lw=1.2)
            ax.plot(t[length - 1:], predictions[i, length - 1:], color=colour, lw=1.2, ls="--")
        ax.axvline(length - 0.5, color="black", lw=0.8)
        ax.set(ylabel="x", title=title)
        ax.title.set_fontsize(10)
    ax.set_xlabel("t: next-step predictions (solid), forecast (dashed), truth (grey)")
    return exp.save_figure(fig, path)


def run(exp, args) -> dict:
    """The experiment, on options ``check`` has passed."""
    dtype = torch.float64 if args.float64 else torch.float32
    # Waves longer than trained on: the part past --length is the forecast's ground truth.
    data = draw_waves(exp.rng, args.waves, args.length, args.future)
    model = NextValue(args.kind, args.hidden, args.layers, args.impl).to(dtype)
    progress = exp.progress(args.lbfgs_steps if args.recipe == "lecture" else sum(n for _, n in args.schedule),
                            "sine (LBFGS steps)")
    log = StepLog(progress, both_tests(model, data, args.length, dtype) if args.test_every_step else None)
    exp.so_far = lambda: None if not log.loss else (log.weights, {
        "recipe": args.recipe, "precision": "float64" if args.float64 else "float32", "lbfgs_steps": len(log.loss),
        "train_loss": log.loss, "train_s": [round(x, 3) for x in log.seconds], "loss_evaluations": log.evaluations})
    (train_windows if args.recipe == "windows" else train_lecture)(model, data.train, args, exp, dtype, log)
    progress.close()
    return report(exp, args, model, data, log, dtype)


def report(exp, args, model, data: Waves, log: StepLog, dtype) -> dict:
    """Both test sets' figures, printed, plotted and returned, each named for what it measures."""
    test_mse, forecast_mse, predictions = evaluate(model, data.test, args.length, args.future, dtype)
    lecture_mse, lecture_forecast, lecture_predictions = evaluate(model, data.lecture_test, args.length,
                                                                  args.future, dtype)
    repeats = also_in_training(data.lecture_test, data.train)
    figure = plot(exp, [
        (f"the lecture's {N_TEST} test waves ({repeats} of them also training waves): test MSE {lecture_mse:.2e}, "
         f"forecast MSE {lecture_forecast:.2e}", data.lecture_test, lecture_predictions),
        (f"3 of the {N_HELD_OUT} test waves (fresh shifts, none a training wave): test MSE {test_mse:.2e} (all "
         f"{N_HELD_OUT}), forecast MSE {forecast_mse:.2e}", data.test, predictions)], args.length)
    print(f"test MSE (next step, teacher forced, {N_HELD_OUT} fresh waves): {test_mse:.3e}")
    print(f"forecast MSE ({args.future} free-running steps, the same waves): {forecast_mse:.3e}")
    print(f"the lecture's {N_TEST} test waves ({repeats} of them also training waves): test MSE {lecture_mse:.3e}, "
          f"forecast MSE {lecture_forecast:.3e}")
    curves = {}
    if log.tests:
        curves = {"test_mse_curve": [t for t, _ in log.tests], "lecture_test_mse_curve": [t for _, t in log.tests]}
    return {"recipe": args.recipe, "precision": "float64" if args.float64 else "float32",
            "test_mse": test_mse, "forecast_mse": forecast_mse,
            "lecture_test_mse": lecture_mse, "lecture_forecast_mse": lecture_forecast,
            "test_sets": {
                "test": f"{N_HELD_OUT} waves with fresh shifts (real, uniform in [-80, 80), each at least a quarter "
                        f"step from every training wave's, around the period): none a training wave",
                "lecture_test": f"the lecture's {N_TEST} test waves (the first {N_TEST} of its draw, integer "
                                f"shifts in [-80, 80)); {repeats} of them also training waves"},
            "lecture_test_in_training": repeats,
            "lbfgs_steps": len(log.loss), "train_loss": log.loss,
            "train_s": [round(s, 3) for s in log.seconds], "loss_evaluations": log.evaluations, **curves,
            "train_time_s": round(log.seconds[-1], 3), "figures": [figure]}
