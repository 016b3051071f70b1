"""The ``sine`` experiment against the lecture's recipe, on the same data from the same initial
weights, seed by seed: training time to a test MSE at or under 1e-5, and which change buys how much of it.

    python benchmarks/sine_vs_lecture.py           # 10 report seeds (1000-1009): 70-100 minutes here, alone on
                                                   # the machine (7-10 a seed); writes results/sine_vs_lecture.json
    python benchmarks/sine_vs_lecture.py --quick   # toy sizes on seed 1000, about a minute: NOT figures
                                                   # (marked "quick"; to *_quick.json, untracked)

Seeds: ``--seeds`` (default the 10 report seeds 1000-1009; a count N is the first N). The recipe was
tuned on seeds 0-2 (``sequence_tasks/tuned_on.py``): those are refused (``benchmarks/heldout.py``), or
with ``--allow-tuning-seeds`` run and marked ``on_tuning_seeds``. Every figure is given per seed; an
IQM's interval only from 10 seeds (``gymlab.stats.describe``), below that every seed's value and the
range with n. Time to the threshold: ``gymlab.stats.time_to_threshold`` over the seeds, a run that
never gets there censored (counted, its median "beyond the budget" unless more than half got there).

Timed figures follow ``benchmarks/_speed.py``: the load before and after (``speed.busy``), the five
rows run interleaved, their order reversed from one seed to the next, and the evaluation costs in
interleaved rounds, each the median of its rounds.

Every run of a seed uses that seed's data: the lecture's 97 training waves and its 3
test waves, and the 20 fresh test waves of ``python -m sequence_tasks sine``
(shifts that no training wave has), all from ``sequence_tasks.sine.draw_waves``.
Every run of a seed starts from the same weights: ``torch.manual_seed(seed)``, then the
2x51 LSTM and its read-out, made in the command's order. One torch thread
throughout (the command's default). "Test MSE" is the next-step MSE on the 20
fresh waves; the lecture's 3 have a column of their own. Like the lecture,
which prints its test loss after every LBFGS step, every run is evaluated
after every step, with the training clock stopped.

Two tables:

1. The cost of one loss-and-gradient evaluation over the first seed's 97 training waves: the
   lecture's two ``nn.LSTMCell`` stepped in a Python loop (float64), torch's
   fused LSTM holding the same weights (float64: the same loss and gradient to
   rounding, checked here, so LBFGS takes the same path; then float32), on
   whole waves and on the default recipe's windows.
2. Training, each row adding one change to the row above:
   - the lecture's code as it stands (LSTMCell loop, float64, whole waves,
     LBFGS lr 0.4, fixed steps), until the test MSE is at or under 1e-5 or
     ``--lecture-steps`` steps have run;
   - the fused LSTM and 100-step windows, still float64 and the lecture's
     optimiser: ``sine --schedule 0:16 --float64`` (the kernel alone changes
     only the cost per evaluation: table 1);
   - float32: ``sine --schedule 0:16``;
   - the line search: ``sine --schedule 0:10,0:6``, steps 11-16 a fresh LBFGS
     with lr 1 and a strong-Wolfe line search;
   - the curriculum: ``sine``, the default (0:10,20:2,50:2,100:2): steps 11-16
     as the row above, but with 20, 50 and 100 free-running steps after each
     window. This is the recipe as it is.
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import _speed, heldout  # noqa: E402
from benchmarks._common import RESULTS, provenance, report_seeds, seed_options, this_command, write_json  # noqa: E402
from benchmarks.rendering.sequence import sine_tables  # noqa: E402
from gymlab import stats  # noqa: E402
from gymlab.sequence_tasks.common import time_major  # noqa: E402
from gymlab.sequence_tasks.models import NextValue  # noqa: E402
from gymlab.sequence_tasks.sine import N_HELD_OUT, N_TEST, draw_waves  # noqa: E402

THRESHOLD = 1e-5  # the lecture's log: 8.5e-6 after 8 steps, its first test loss under 1e-5
DEFAULT_SEEDS = report_seeds(10)

# Sizes and schedules: the real ones, and toy ones for --quick (every code path, in about a minute).
# ``sizes``: the command's flags for them (none: its defaults); ``first``: the steps of the first stage.
FULL = {"waves": 100, "length": 1000, "future": 1000, "window": 100, "tail": 100, "sizes": [], "lecture_steps": 12,
        "repeats": _speed.DEFAULT_ROUNDS, "first": 10, "next_step": "0:16", "line_search": "0:10,0:6", "curriculum": []}
QUICK = {"waves": 12, "length": 150, "future": 50, "window": 30, "tail": 20, "lecture_steps": 2, "repeats": 1,
         "sizes": ["--waves", "12", "--length", "150", "--future", "50", "--window", "30"], "first": 2,
         "next_step": "0:3", "line_search": "0:2,0:1", "curriculum": ["--schedule", "0:2,20:1"]}


class LectureSequence(nn.Module):
    """The lecture's model, as written there: two LSTMCells and a Linear, stepped by hand."""

    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)

    def forward(self, input, future=0):
        outputs = []
        n = input.size(0)
        h_t = torch.zeros(n, 51, dtype=torch.double)
        c_t = torch.zeros(n, 51, dtype=torch.double)
        h_t2 = torch.zeros(n, 51, dtype=torch.double)
        c_t2 = torch.zeros(n, 51, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for _ in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


def initial_models(seed: int) -> tuple[LectureSequence, NextValue]:
    """The command's initial weights (seeded, then made, as ``sine.run`` does), float64, in our
    fused model and copied into the lecture's: torch's LSTMCell and LSTM share their layout."""
    torch.manual_seed(seed)
    ours = NextValue("lstm", 51, 2, "fused").double()
    lecture = LectureSequence().double()
    with torch.no_grad():
        for layer, cell in enumerate((lecture.lstm1, lecture.lstm2)):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(cell, name).copy_(getattr(ours.core.rnn, f"{name}_l{layer}"))
        lecture.linear.load_state_dict(ours.head.state_dict())
    return lecture, ours


# -- 1. the cost of one evaluation ------------------------------------------------------------------

def _seconds(evaluate) -> float:
    start = time.perf_counter()
    evaluate()
    return time.perf_counter() - start


def evaluation_costs(data, cfg, seed: int) -> tuple[list[dict], dict]:
    """Seconds per loss-and-gradient evaluation over seed ``seed``'s training waves, five ways, in
    interleaved rounds (``_speed.interleave``), each the median of its rounds."""
    lecture, fused64 = initial_models(seed)
    fused32 = copy.deepcopy(fused64).float()
    x, y = torch.from_numpy(data.train[:, :-1]), torch.from_numpy(data.train[:, 1:])  # (waves, steps)
    w, tail = cfg["window"], cfg["tail"]
    seg = time_major(data.train[:, :w + tail + 1], torch.float32)

    def loop64():
        lecture.zero_grad()
        loss = torch.mean((lecture(x) - y) ** 2)
        loss.backward()
        return loss

    def whole(model, dtype):
        xt, yt = time_major(data.train[:, :-1], dtype), time_major(data.train[:, 1:], dtype)

        def evaluate():
            model.zero_grad()
            loss = torch.mean((model(xt)[0] - yt) ** 2)
            loss.backward()
            return loss
        return evaluate

    def windows(free):
        def evaluate():
            fused32.zero_grad()
            pred, state = fused32(seg[:w])
            loss = torch.mean((pred - seg[1:w + 1]) ** 2)
            if free:
                run, _ = fused32.free_run(pred[-1:], state, free)
                loss = loss + torch.mean((run - seg[w + 1:w + 1 + free]) ** 2)
            loss.backward()
            return loss
        return evaluate

    steps = data.train.shape[1] - 1
    cases = [(f"the lecture's loop: 2 LSTMCell, float64, whole waves ({steps} steps)", loop64),
             ("fused LSTM, float64, whole waves", whole(fused64, torch.float64)),
             ("fused LSTM, float32, whole waves", whole(fused32, torch.float32)),
             (f"fused LSTM, float32, {w}-step windows", windows(0)),
             (f"fused LSTM, float32, {w}-step windows + {tail} free-running steps", windows(tail))]
    stamp = provenance()  # as the rounds begin
    for _, evaluate in cases:
        evaluate()  # warm up
    times = _speed.interleave([n for n, _ in cases], cfg["repeats"], lambda name, r: _seconds(dict(cases)[name]))
    rows = [{"evaluation": name, "seconds": statistics.median(times[name]), "seconds_per_round": times[name],
             **stamp} for name, _ in cases]
    for r in rows:
        print(f"  {r['evaluation']}: {r['seconds']:.3f} s", flush=True)
    # Same weights, same data: the fused LSTM in float64 must give the loop's loss and gradient.
    loss_loop, loss_fused = float(loop64()), float(whole(fused64, torch.float64)())
    grads = [(getattr(cell, n).grad, getattr(fused64.core.rnn, f"{n}_l{layer}").grad)
             for layer, cell in enumerate((lecture.lstm1, lecture.lstm2))
             for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    grads += [(lecture.linear.weight.grad, fused64.head.weight.grad), (lecture.linear.bias.grad, fused64.head.bias.grad)]
    same = {"loss_loop": loss_loop, "loss_fused": loss_fused,
            "max_gradient_difference": max(float((a - b).abs().max()) for a, b in grads)}
    print(f"  same weights, loop vs fused, float64: loss {loss_loop:.12g} vs {loss_fused:.12g}, largest gradient "
          f"difference {same['max_gradient_difference']:.1e}", flush=True)
    return rows, same


# -- 2. training runs, each evaluated after every LBFGS step ---------------------------------------

@torch.no_grad()
def _lecture_test_mse(model, waves, length) -> float:
    x, y = torch.from_numpy(waves[:, :length - 1]), torch.from_numpy(waves[:, 1:length])
    return float(torch.mean((model(x) - y) ** 2))


def run_lecture(data, cfg, seed: int) -> dict:
    """The lecture's training loop as it stands, on our data, until the test MSE is under the
    threshold or ``lecture_steps`` steps have run; the clock runs for training only."""
    stamp = provenance()  # as the run begins
    model, _ = initial_models(seed)
    length = cfg["length"]
    x, y = torch.from_numpy(data.train[:, :-1]), torch.from_numpy(data.train[:, 1:])
    criterion = nn.MSELoss()
    optimizer = torch.optim.LBFGS(model.parameters(), lr=0.4)
    evaluations, trained = 0, 0.0

    def closure():
        nonlocal evaluations
        evaluations += 1
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        return loss

    def point(step):
        return {"step": step, "train_s": trained, "loss_evaluations": evaluations,
                "test_mse": _lecture_test_mse(model, data.test, length),
                "lecture_test_mse": _lecture_test_mse(model, data.lecture_test, length)}

    curve = [point(0)]  # before training
    for step in range(1, cfg["lecture_steps"] + 1):
        start = time.perf_counter()
        optimizer.step(closure)
        trained += time.perf_counter() - start
        curve.append(point(step))
        print(f"  lecture step {step}: {trained:.1f} s, test MSE {curve[-1]['test_mse']:.2e}", flush=True)
        if curve[-1]["test_mse"] <= THRESHOLD:
            break
    with torch.no_grad():
        forecasts = {}
        for name, waves in (("forecast_mse", data.test), ("lecture_forecast_mse", data.lecture_test)):
            pred = model(torch.from_numpy(waves[:, :length - 1]), future=cfg["future"])
            forecasts[name] = float(criterion(pred[:, length - 1:], torch.from_numpy(waves[:, length:])))
    return {"curve": curve, **forecasts, **stamp}


def run_command(extra: list[str], cfg, seed: int) -> dict:
    """``python -m sequence_tasks sine`` with ``extra`` (and the sizes), its curve from summary.json."""
    argv = ["-m", "sequence_tasks", "sine", "--seed", str(seed), "--test-every-step", *cfg["sizes"], *extra]
    stamp = provenance("python " + shlex.join(argv))  # as the run begins
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, *argv, "--run-dir", tmp, "--no-progress"], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        s = json.loads(Path(tmp, "summary.json").read_text())
    curve = [{"step": i + 1, "train_s": t, "loss_evaluations": n, "test_mse": m, "lecture_test_mse": lm}
             for i, (t, n, m, lm) in enumerate(zip(s["train_s"], s["loss_evaluations"], s["test_mse_curve"],
                                                   s["lecture_test_mse_curve"]))]
    print(f"  {' '.join(extra) or '(default)'}: {curve[-1]['train_s']:.1f} s, test MSE {s['test_mse']:.2e}, "
          f"forecast MSE {s['forecast_mse']:.2e}", flush=True)
    return {"curve": curve, "forecast_mse": s["forecast_mse"], "lecture_forecast_mse": s["lecture_forecast_mse"],
            "command_wall_s": s["wall_time_s"], **stamp}


def at_time(curve: list[dict], seconds: float) -> dict | None:
    """The last point of ``curve`` reached within ``seconds`` of training (None: none)."""
    return next((p for p in reversed(curve) if p["train_s"] <= seconds), None)


# -- every seed, the rows interleaved --------------------------------------------------------------

def rows_of(cfg) -> list[tuple[str, str, list[str] | None]]:
    """``(row, precision, the command's flags)`` of each row, the lecture's code first (flags None)."""
    later = f"from step {cfg['first'] + 1}"
    return [("the lecture's code: LSTMCell loop, whole waves, LBFGS lr 0.4", "float64", None),
            (f"+ fused LSTM, {cfg['window']}-step windows (lr 0.4 throughout)", "float64",
             ["--schedule", cfg["next_step"], "--float64"]),
            ("+ float32", "float32", ["--schedule", cfg["next_step"]]),
            (f"+ line search {later}: a fresh LBFGS, lr 1, strong Wolfe", "float32", ["--schedule", cfg["line_search"]]),
            (f"+ curriculum {later}: free-running tails after the windows (ours, the default)", "float32",
             cfg["curriculum"])]


def train(seeds: list[int], cfg) -> dict[str, list[dict]]:
    """Every row on every seed: seed after seed, the rows' order reversed from one seed to the next
    (``_speed.interleave``, a round a seed), so a drift of the machine hits ours and the lecture's alike."""
    flags = {name: extra for name, _, extra in rows_of(cfg)}
    data: dict[int, object] = {}

    def run(name: str, r: int) -> dict:
        seed = seeds[r]
        if seed not in data:
            data.clear()
            data[seed] = draw_waves(np.random.default_rng(seed), cfg["waves"], cfg["length"], cfg["future"])
        print(f"seed {seed}: {name}", flush=True)
        extra = flags[name]
        out = run_lecture(data[seed], cfg, seed) if extra is None else run_command(extra, cfg, seed)
        return {"seed": seed, **out}

    return _speed.interleave(list(flags), len(seeds), run)


def to_threshold(runs: list[dict]) -> dict:
    """LBFGS steps and training seconds to a test MSE at or under ``THRESHOLD`` over the runs, the
    ones that never get there censored at their last step (``gymlab.stats.time_to_threshold``, on the
    MSE negated: reaching it counts)."""
    budget = f"{max(r['curve'][-1]['step'] for r in runs)} LBFGS steps"
    curves = [[(p["step"], -p["test_mse"], p["train_s"]) for p in r["curve"]] for r in runs]
    return {**stats.time_to_threshold(curves, -THRESHOLD, budget), "threshold": THRESHOLD,
            "rule": "the first step whose test MSE is at or under the threshold; LBFGS steps, training seconds"}


def summarize(name: str, precision: str, runs: list[dict], stamp: dict) -> dict:
    """One row over the seeds: every seed's figures, each ``stats.describe``d (an IQM's interval
    only from 10 seeds), and the time to the threshold."""
    last = [r["curve"][-1] for r in runs]
    return {"run": name, "precision": precision, "task": "sine", "seeds": [r["seed"] for r in runs],
            "figures": [p["test_mse"] for p in last],
            "test_mse": stats.describe([p["test_mse"] for p in last]),
            "lecture_test_mse": stats.describe([p["lecture_test_mse"] for p in last]),
            "forecast_mse": stats.describe([r["forecast_mse"] for r in runs]),
            "lbfgs_steps": stats.describe([p["step"] for p in last]),
            "train_s": stats.describe([p["train_s"] for p in last]),
            "to_threshold": to_threshold(runs), "runs": runs, **stamp}


def compare(ours: dict, lecture: dict) -> list[dict]:
    """Seed by seed (each pair measured in one round): ours' training time, the lecture's test MSE at
    that time, and each one's seconds to the threshold (None: not reached)."""
    out = []
    for mine, theirs, a, b in zip(ours["runs"], lecture["runs"], ours["to_threshold"]["runs"],
                                  lecture["to_threshold"]["runs"], strict=True):
        seconds, then = mine["curve"][-1]["train_s"], at_time(theirs["curve"], mine["curve"][-1]["train_s"])
        out.append({"seed": mine["seed"], "ours_train_s": seconds,
                    "lecture_test_mse_at_ours_train_s": then and then["test_mse"],
                    "ours_to_threshold_s": a and a["wall_s"], "lecture_to_threshold_s": b and b["wall_s"]})
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    seed_options(p, DEFAULT_SEEDS, "the recipe was tuned on (0-2)", quick="1000")
    p.add_argument("--quick", action="store_true", help="toy sizes, every code path in about a minute: not figures")
    p.add_argument("--lecture-steps", type=int, help="the most LBFGS steps of the lecture's code (default 12; "
                                                     "it stops early once the test MSE is at or under 1e-5)")
    p.add_argument("--json", type=Path, help="where to write the results (default results/sine_vs_lecture.json, "
                                             "or *_quick.json with --quick)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    seeds = report_seeds(1) if args.quick and args.seeds is DEFAULT_SEEDS else args.seeds
    on_tuning = heldout.label_task("sine", seeds, args.allow_tuning_seeds)
    if args.quick:
        print(_speed.QUICK_NOTE, file=sys.stderr)
    cfg = dict(QUICK if args.quick else FULL)
    if args.lecture_steps:
        cfg["lecture_steps"] = args.lecture_steps
    torch.set_num_threads(1)
    speed = _speed.start()
    stamp = {**provenance(), **on_tuning, "quick": args.quick}  # every row's, as the measurement begins

    print(f"1. one loss-and-gradient evaluation over seed {seeds[0]}'s training waves:", flush=True)
    data = draw_waves(np.random.default_rng(seeds[0]), cfg["waves"], cfg["length"], cfg["future"])
    costs, same = evaluation_costs(data, cfg, seeds[0])

    print("2. training, evaluated after every LBFGS step, seed by seed:", flush=True)
    runs = train(seeds, cfg)
    speed = _speed.finish(speed)
    rows = [summarize(name, precision, runs[name], stamp) for name, precision, _ in rows_of(cfg)]
    payload = {"threshold": THRESHOLD, "seeds": list(seeds), "threads": 1, "settings": cfg, "quick": args.quick,
               **on_tuning, "speed": speed,
               "test_sets": {"test_mse": f"next-step MSE on {N_HELD_OUT} waves with fresh shifts, none a training wave",
                             "lecture_test_mse": f"next-step MSE on the lecture's {N_TEST} test waves "
                                                 f"(integer shifts; some are training waves too)"},
               "evaluation_costs": costs, "loop_vs_fused_float64": same, "rows": rows,
               "ours_vs_lecture": compare(rows[-1], rows[0])}
    print()
    print(sine_tables(payload))
    name = "sine_vs_lecture_quick" if args.quick else "sine_vs_lecture"
    path = write_json(name, payload, args.json or RESULTS / f"{name}.json")
    print(f"\nwritten to {path} ({this_command()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
