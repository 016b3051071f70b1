"""The sine experiment's numbers: what each one measures, on data and models whose answers are known.

Each test here was checked by mutation: the bug it names was planted in the code, the test
went red, the bug was reverted.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from benchmark_module import load_benchmark
import torch

from gymlab.sequence_tasks import sine
from gymlab.sequence_tasks.cli import main
from gymlab.sequence_tasks.data import SINE_PERIOD_SCALE, lecture_sines
from gymlab.sequence_tasks.models import NextValue

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--waves", "8", "--length", "40", "--future", "10", "--hidden", "4", "--layers", "1", "--no-progress",
        "--threads", "1"]
TINY_LECTURE = TINY + ["--recipe", "lecture", "--lbfgs-steps", "2"]


def _spy(monkeypatch, name, seen):
    """Wrap ``sine.<name>`` so that the positional arguments of each call land in ``seen[name]``."""
    original = getattr(sine, name)

    def spy(*args, **kwargs):
        seen.setdefault(name, []).append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(sine, name, spy)


# -- LBFGS: the loss logged is the loss after each step; a diverged step stops the run at once ------

def test_the_last_logged_loss_is_the_trained_models_loss(tmp_path, monkeypatch):
    """``LBFGS.step`` returns the loss before its step: logged as is, the log runs one step
    behind and never holds the loss of the model that comes out of training."""
    seen = {}
    _spy(monkeypatch, "train_lecture", seen)
    _spy(monkeypatch, "evaluate", seen)
    assert main(["sine", "--run-dir", str(tmp_path), *TINY_LECTURE]) == 0
    model, train = seen["train_lecture"][0][0], seen["train_lecture"][0][1]
    assert seen["evaluate"][0][0] is model  # the model evaluated is the one trained
    x = torch.as_tensor(train.T[:, :, None], dtype=torch.float32)
    with torch.no_grad():
        loss = float(torch.mean((model(x[:-1])[0] - x[1:]) ** 2))
    logged = json.loads((tmp_path / "summary.json").read_text())["train_loss"]
    assert len(logged) == 2 and logged[-1] == pytest.approx(loss, rel=1e-5)


def test_a_loss_that_diverges_in_the_last_step_ends_the_run_in_one_line(tmp_path, monkeypatch, capsys):
    """The check looks at the loss after each step: a step that leaves the weights NaN stops the
    command there (exit 2, one line, nothing left behind), even when it is the last step."""
    original = torch.optim.LBFGS.step

    def step_then_diverge(self, closure):
        loss = original(self, closure)
        for group in self.param_groups:
            for p in group["params"]:
                p.data.fill_(float("nan"))
        return loss

    monkeypatch.setattr(torch.optim.LBFGS, "step", step_then_diverge)
    run_dir = tmp_path / "new" / "run"
    code = main(["sine", "--run-dir", str(run_dir), *TINY_LECTURE[:-1], "1"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "diverged" in err and "step 1" in err and "Traceback" not in err
    assert not (tmp_path / "new").exists()


# -- the test sets: the lecture's three, and waves that are none of the training waves -------------

def test_training_sees_the_lecture_split_and_no_test_wave(tmp_path, monkeypatch):
    """Asserted on what ``run`` hands to training and to evaluation, not on a copy of its logic:
    the training waves are the lecture's 97 (here 5) after its 3 test waves, and no wave of
    either test set is a training wave."""
    seen = {}
    _spy(monkeypatch, "train_windows", seen)
    _spy(monkeypatch, "evaluate", seen)
    length, future = 40, 10
    assert main(["sine", "--run-dir", str(tmp_path), *TINY, "--window", "20", "--schedule", "0:1,5:1"]) == 0
    drawn = lecture_sines(np.random.default_rng(0), 8, length + future)  # seed 0's draw, made here again
    assert len(np.unique(drawn, axis=0)) == 8  # seed 0: no two of the 8 waves share a shift
    train = seen["train_windows"][0][1]
    np.testing.assert_array_equal(train, drawn[3:, :length])
    tested = [args[1] for args in seen["evaluate"]]
    assert sorted(len(w) for w in tested) == [3, sine.N_HELD_OUT]
    np.testing.assert_array_equal(next(w for w in tested if len(w) == 3), drawn[:3])
    for waves in tested:
        assert waves.shape[1] == length + future
        distance = np.abs(waves[:, None, :length] - train[None]).max(axis=2)  # every test wave to every training wave
        assert distance.min() > 1e-3, distance.min()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_lecture_test_waves_repeat_training_waves_and_the_fresh_ones_do_not(seed):
    """Why the lecture's test set is not the test set: for seeds 0-2, one or two of its 3 waves
    are training waves too; none of the 20 fresh ones is."""
    data = sine.draw_waves(np.random.default_rng(seed), 100, 1000, 1000)
    assert sine.also_in_training(data.lecture_test, data.train) in (1, 2)
    assert sine.also_in_training(data.test, data.train) == 0
    nearest = np.abs(data.test[:, None, :1000] - data.train[None]).max(axis=2).min()
    assert nearest > 1e-3  # not even nearly: the closest fresh wave is off somewhere by more than 1e-3


# -- the metrics, on a model whose errors are known in closed form ---------------------------------

W = 1 / SINE_PERIOD_SCALE  # radians a step


class KnownSine(torch.nn.Module):
    """y_t = 2 cos(w) x_t - x_t-1: the exact next value of every wave sin(w (t + s)), once it has
    read two values. It starts from x_-1 = 0, so its one error is its first prediction's, which
    is off by the wave's x_-1 = 2 cos(w) x_0 - x_1. Free running, it continues the wave exactly."""

    free_run = NextValue.free_run

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(()))  # LBFGS needs a weight; its gradient is 0

    def forward(self, x, state=None):
        before = torch.cat([torch.zeros_like(x[:1]) if state is None else state, x[:-1]])
        return 2 * np.cos(W) * x - before + 0 * self.unused, x[-1:]


def _known_mse(waves, length):
    """KnownSine's next-step MSE over x_1 .. x_length-1: one error per wave, x_-1."""
    first_error = 2 * np.cos(W) * waves[:, 0] - waves[:, 1]
    return float(np.sum(first_error ** 2) / (len(waves) * (length - 1)))


def test_the_metrics_of_a_model_that_knows_the_sine(tmp_path, monkeypatch):
    """Every number the run reports, against its closed form: a forecast compared with the wrong
    stretch of the wave (off by one step) costs about 1e-3, here against < 1e-20."""
    seen = {}
    _spy(monkeypatch, "evaluate", seen)
    _spy(monkeypatch, "train_lecture", seen)
    monkeypatch.setattr(sine, "NextValue", lambda *args, **kwargs: KnownSine())
    length = 40
    assert main(["sine", "--run-dir", str(tmp_path), *TINY_LECTURE[:-1], "1", "--float64"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    waves = {len(args[1]): args[1] for args in seen["evaluate"]}
    assert summary["test_mse"] == pytest.approx(_known_mse(waves[sine.N_HELD_OUT], length), rel=1e-9)
    assert summary["lecture_test_mse"] == pytest.approx(_known_mse(waves[3], length), rel=1e-9)
    assert summary["forecast_mse"] < 1e-20 and summary["lecture_forecast_mse"] < 1e-20
    train = seen["train_lecture"][0][1]
    assert summary["train_loss"] == [pytest.approx(_known_mse(train, length), rel=1e-9)]


# -- teacher forcing, which lives in cosine: the schedule and its extremes -------------------------

def test_scheduled_inputs_at_the_extremes_of_p():
    """p = 0 is teacher forcing (the model reads the true values: its plain forward pass);
    p = 1 is free running after the warm-up."""
    torch.manual_seed(0)
    model = NextValue(hidden=5, layers=1).double()
    x = torch.randn(12, 3, 1, dtype=torch.float64)
    rng = np.random.default_rng(0)
    torch.testing.assert_close(model.scheduled(x, 0.0, rng, warmup=4), model(x)[0])
    pred, state = model(x[:4])
    rest, _ = model.free_run(pred[-1:], state, 8)
    torch.testing.assert_close(model.scheduled(x, 1.0, rng, warmup=4), torch.cat([pred, rest]))


def test_cosine_starts_teacher_forced_and_leans_on_its_own_outputs_up_to_p_max(tmp_path, monkeypatch):
    """The p that cosine's training hands to the model, iteration by iteration: 0 at the start
    (all true inputs), +0.1 every --p-every iterations, capped at --p-max."""
    ps = []
    original = NextValue.scheduled

    def spy(self, x, p_own, rng, warmup=0):
        ps.append(p_own)
        return original(self, x, p_own, rng, warmup=warmup)

    monkeypatch.setattr(NextValue, "scheduled", spy)
    assert main(["cosine", "--run-dir", str(tmp_path), "--no-progress", "--iterations", "8", "--batch", "2",
                 "--seq-len", "12", "--warmup", "2", "--val-waves", "2", "--val-len", "20", "--val-warmup", "5",
                 "--eval-every", "0", "--p-every", "2", "--p-max", "0.25", "--hidden", "4"]) == 0
    assert ps == pytest.approx([0.0, 0.0, 0.1, 0.1, 0.2, 0.2, 0.25, 0.25])


# -- benchmarks/sine_vs_lecture.py: the lecture's code on our data, from our initial weights -------

def test_the_benchmarks_lecture_model_starts_where_the_command_does(tmp_path, monkeypatch):
    """The benchmark's claim "same initial weights": the weights it copies into the lecture's
    LSTMCells are those ``python -m sequence_tasks sine`` starts from, and in float64 the
    lecture's loop gives the fused model's loss on them."""
    bench = load_benchmark("sine_vs_lecture")
    made = []

    def recording(*args, **kwargs):
        model = NextValue(*args, **kwargs)
        made.append({k: v.clone() for k, v in model.state_dict().items()})
        return model

    monkeypatch.setattr(sine, "NextValue", recording)
    assert main(["sine", "--run-dir", str(tmp_path), "--waves", "5", "--length", "30", "--future", "5",
                 "--window", "10", "--schedule", "0:1", "--no-progress"]) == 0  # 2x51, the defaults
    lecture, ours = bench.initial_models(0)
    for name, value in made[0].items():
        torch.testing.assert_close(ours.state_dict()[name], value.double(), rtol=0, atol=0)
    waves = lecture_sines(np.random.default_rng(0), 4, 30)
    with torch.no_grad():
        loop = lecture(torch.from_numpy(waves))
        fused = ours(torch.as_tensor(waves.T[:, :, None]))[0][:, :, 0].T
    torch.testing.assert_close(loop, fused, rtol=0, atol=1e-12)
