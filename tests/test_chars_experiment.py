"""The chars experiment and its benchmark against min-char-rnn: which part of the text each step
reads, what the scores measure, and the recurrent state's reset. (The regularisers:
tests/test_chars_regularisers.py.)

The tests of which data a run uses run on a text in which every character occurs once, so that
a character's id is its position in the text (``Vocabulary`` sorts by code point): every id a
model reads says where in the text it was read from. Each test was checked by mutation: with
a bug its docstring names planted in the code, it fails.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from benchmark_module import load_benchmark
from chars_helpers import positions_text

from gymlab.sequence_tasks import chars
from gymlab.sequence_tasks.backbone import RecurrentCore
from gymlab.sequence_tasks.cli import main
from gymlab.sequence_tasks.data import Vocabulary, load_text, split_text
from gymlab.sequence_tasks.models import CharModel


ROOT = Path(__file__).resolve().parents[1]


def bounds(n: int) -> dict[str, range]:
    parts = chars.split_parts(positions_text(n))
    a, b = len(parts["train"]), len(parts["train"]) + len(parts["val"])
    return {"train": range(a), "val": range(a, b), "test": range(b, n)}


def as_range(ids) -> range | None:
    """``ids`` as the range of positions it is, or None if it is not one contiguous run."""
    ids = np.asarray(ids)
    if len(ids) and np.array_equal(ids, np.arange(ids[0], ids[0] + len(ids))):
        return range(int(ids[0]), int(ids[0]) + len(ids))
    return None


@pytest.mark.parametrize("n", [30, 37, 600, 46_278])
def test_split_parts_disjoint_in_order_and_whole(n):
    """Planted bug caught: a split whose parts overlap or miss characters (e.g. val = test)."""
    text = positions_text(n)
    parts = chars.split_parts(text)
    assert list(parts) == ["train", "val", "test"]
    assert "".join(parts.values()) == text  # disjoint, in order, nothing left out
    assert parts["test"] == split_text(text)[1]  # the tail CharPredict-v0 holds out too
    assert len(parts["val"]) == pytest.approx(n / 10, abs=1) and len(parts["test"]) == pytest.approx(n / 10, abs=1)


class Spy:
    """Records what a chars run reads: the ids its language model is trained on, the ids
    ``validate`` is given, and every ``bits_per_char`` call with its result, in order."""

    def __init__(self, monkeypatch, vocab_size):
        self.trained, self.validated, self.scored = [], [], []
        spy = self

        class RecordingCharModel(CharModel):
            def forward(self, ids, state=None):
                if self.training and self.vocab_size == vocab_size:  # (not the 4-letter "hello" toy)
                    spy.trained.append(ids.detach().numpy().copy())
                return super().forward(ids, state)

        real_validate, real_bpc = chars.validate, chars.bits_per_char

        def validate(model, val_ids, iteration, best):
            spy.validated.append(np.array(val_ids))
            return real_validate(model, val_ids, iteration, best)

        def bits_per_char(model, ids, *a, **k):
            value = real_bpc(model, ids, *a, **k)
            spy.scored.append((as_range(ids), value))
            return value

        monkeypatch.setattr(chars, "CharModel", RecordingCharModel)
        monkeypatch.setattr(chars, "validate", validate)
        monkeypatch.setattr(chars, "bits_per_char", bits_per_char)


def test_chars_run_trains_validates_and_scores_on_its_own_parts(tmp_path, monkeypatch):
    """On the data the run actually reads: training chunks come from the first 8/10 only, every
    validation (early stopping) reads exactly the ninth tenth, the last tenth is read once, by the
    final score, and the summary's three scores are those final ``bits_per_char`` calls on the
    kept weights (the best validation of the curve).
    Planted bugs caught: training on the whole text; early stopping on the test tail; the
    final weights scored instead of the kept ones; a summary figure converted to nats."""
    n = 600
    where = bounds(n)
    text = tmp_path / "positions.txt"
    text.write_text(positions_text(n), encoding="utf-8")
    spy = Spy(monkeypatch, vocab_size=n)
    assert main(["chars", "--text", str(text), "--run-dir", str(tmp_path / "run"), "--no-progress",
                 "--threads", "1", "--iterations", "24", "--eval-every", "4", "--batch", "4", "--seq-len", "16",
                 "--hidden", "8", "--lr", "3e-2", "--dropout", "0", "--sample-len", "5"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())

    trained = np.concatenate([t.ravel() for t in spy.trained])
    assert len(spy.trained) == 24 and trained.min() == 0
    assert trained.max() < where["train"].stop, "trained on characters beyond the training part"

    assert len(spy.validated) == 24 // 4
    assert all(as_range(v) == where["val"] for v in spy.validated), "validated on something else than val"
    # every score before the final three is a validation; the final three are train, val and test
    assert [r for r, _ in spy.scored[:-3]] == [where["val"]] * len(spy.validated)
    final = dict(spy.scored[-3:])
    assert set(final) == {where["train"], where["val"], where["test"]}

    assert summary["splits"] == {k: [r.start, r.stop] for k, r in where.items()}
    assert summary["train_bits_per_char"] == final[where["train"]]
    assert summary["val_bits_per_char"] == final[where["val"]]
    assert summary["bits_per_char"] == final[where["test"]]
    # the kept weights are the best of the validation curve (here the validation score rises as the
    # model learns the training characters, none of which is a validation character: the first is best)
    best = assert_kept_the_best(summary)
    assert summary["best_chars_trained"] == best[0] * 4 * 16


def _fixed_distribution_model(p: np.ndarray, dropout: float = 0.0) -> CharModel:
    """A CharModel that predicts ``p`` whatever it reads: zero read-out weights, bias log p."""
    model = CharModel(len(p), "lstm", hidden=4, dropout=dropout)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.from_numpy(np.log(p)))
    return model


@pytest.mark.parametrize("vocab", [2, 7, 58])
def test_bits_per_char_of_a_uniform_model_is_log2_of_the_vocabulary(vocab):
    """Planted bug caught: bits/char in nats (a uniform model over V symbols scores log2 V bits)."""
    ids = np.random.default_rng(vocab).integers(0, vocab, 500)
    model = _fixed_distribution_model(np.full(vocab, 1 / vocab))
    assert chars.bits_per_char(model, ids) == pytest.approx(math.log2(vocab), abs=1e-5)


def test_bits_per_char_of_a_known_distribution_and_chunking():
    """A model that predicts a fixed p scores the mean of -log2 p over the characters it
    predicts (all but the first), however the text is chunked."""
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(9))
    ids = rng.integers(0, 9, 301)
    expected = float(np.mean(-np.log2(p[ids[1:]])))
    model = _fixed_distribution_model(p)
    for chunk in (1, 7, 300, 4096):
        assert chars.bits_per_char(model, ids, chunk=chunk) == pytest.approx(expected, abs=1e-5)


def test_bits_per_char_scores_with_dropout_off():
    """The score of a model in training mode with heavy dropout is that of the same weights
    without dropout, and the model is left in the mode it was in. Planted bug caught: scoring
    with dropout on."""
    torch.manual_seed(0)
    model = CharModel(11, "lstm", hidden=16, dropout=0.8)
    plain = CharModel(11, "lstm", hidden=16)
    plain.load_state_dict(model.state_dict())
    ids = np.random.default_rng(0).integers(0, 11, 200)
    model.train()
    score = chars.bits_per_char(model, ids)
    assert model.training
    assert score == pytest.approx(chars.bits_per_char(plain.eval(), ids), abs=1e-6)


@pytest.mark.parametrize("impl", ["fused", "cells"])
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_reset_state_zeroes_the_whole_state_of_the_entries_that_start(kind, impl):
    """Every part of the state (an LSTM's h and its cell c) is zeroed where a sequence starts and
    kept elsewhere, so that the next step from a reset entry is the step from a fresh start.
    Planted bug caught: ``reset_state`` not zeroing the LSTM's cell."""
    torch.manual_seed(0)
    core = RecurrentCore(kind, 3, 5, num_layers=2, impl=impl).double()
    _, state = core(torch.randn(4, 3, 3, dtype=torch.float64))
    starts = torch.tensor([True, False, True])
    reset = core.reset_state(state, starts)
    parts, kept = (reset, state) if kind == "lstm" else ((reset,), (state,))
    assert len(parts) == (2 if kind == "lstm" else 1)
    for new, old in zip(parts, kept):
        assert torch.all(new[:, starts] == 0)
        assert torch.equal(new[:, ~starts], old[:, ~starts])
    x = torch.randn(2, 3, 3, dtype=torch.float64)
    out, _ = core(x, reset)
    fresh, _ = core(x)
    carried, _ = core(x, state)
    torch.testing.assert_close(out[:, starts], fresh[:, starts], rtol=0, atol=1e-12)
    torch.testing.assert_close(out[:, ~starts], carried[:, ~starts], rtol=0, atol=1e-12)


# -- benchmarks/chars_vs_minchar.py: min-char-rnn under the same rules --------------------------

def assert_kept_the_best(result: dict):
    """The kept weights are the validation curve's best, which is not its last point (so the test can
    tell kept weights from final ones); returns that best point."""
    curve = result["val_curve"]
    best = min(curve, key=lambda c: c[2])
    assert result["best_iteration"] == best[0] and result["val_bits_per_char"] == pytest.approx(best[2], abs=1e-4)
    assert best[0] != curve[-1][0] and curve[-1][2] > best[2] + 1e-3
    return best


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("chars_vs_minchar")


def test_minchar_is_scored_by_the_same_function_as_ours(bench):
    """min-char-rnn's weights, copied into a torch Elman RNN and scored by ``chars.bits_per_char``
    (float32), score what its own float64 forward pass gives; with zero weights, log2 V. (W_hh
    small: with a spectral radius above 1 the RNN is chaotic, and float32 and float64 part ways.)"""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 13, 400)
    model = bench.MinCharRNN(13, seed=0)
    scale = {"Wxh": 1.0, "Whh": 0.05, "Why": 1.0, "bh": 0.5, "by": 0.5}
    for name, value in model.params.items():
        value[...] = rng.standard_normal(value.shape) * scale[name]
    assert model.numpy_bits_per_char(ids) > 2 * math.log2(13)  # far from uniform
    assert chars.bits_per_char(model.to_torch(), ids) == pytest.approx(model.numpy_bits_per_char(ids), abs=1e-4)
    for value in model.params.values():
        value[...] = 0.0
    assert chars.bits_per_char(model.to_torch(), ids) == pytest.approx(math.log2(13), abs=1e-6)


def test_minchar_trains_validates_and_scores_on_the_same_parts_as_ours(bench, monkeypatch):
    """min-char-rnn trains on the first 8/10 only, early-stops on the ninth tenth, keeps the best
    validation's weights, and is scored on the three parts by ``chars.bits_per_char``.
    Planted bugs caught: min-char-rnn trained on the whole text; early stopping on the test tail;
    its final weights scored instead of the kept ones."""
    n = 400
    where = bounds(n)
    text = positions_text(n)
    vocab, parts = Vocabulary(text), chars.split_parts(text)
    trained, scored = [], []
    real_step, real_bpc = bench.MinCharRNN.loss_and_grads, chars.bits_per_char

    def loss_and_grads(self, inputs, targets, h):
        trained.append(np.concatenate([inputs, targets[-1:]]))
        return real_step(self, inputs, targets, h)

    def bits_per_char(model, ids, *a, **k):
        value = real_bpc(model, ids, *a, **k)
        scored.append((as_range(ids), value))
        return value

    monkeypatch.setattr(bench.MinCharRNN, "loss_and_grads", loss_and_grads)
    monkeypatch.setattr(bench, "bits_per_char", bits_per_char)
    monkeypatch.setattr(chars, "bits_per_char", bits_per_char)
    result = bench.run_minchar(vocab, parts, seconds=None, eval_chars=100, max_steps=40)

    seen = np.concatenate(trained)
    assert len(trained) == 40 and seen.min() == 0
    assert seen.max() < where["train"].stop, "trained on characters beyond the training part"
    validations = [r for r, _ in scored[:-3]]
    assert validations == [where["val"]] * (40 * 25 // 100), "validated on something else than val"
    final = dict(scored[-3:])
    assert set(final) == {where["train"], where["val"], where["test"]}
    assert result["test_bits_per_char"] == final[where["test"]]
    assert result["train_bits_per_char"] == final[where["train"]]
    assert_kept_the_best(result)


def test_sonnets_split_as_the_benchmark_reports_it():
    parts = chars.split_parts(load_text())
    assert [len(parts[k]) for k in ("train", "val", "test")] == [37_022, 4_628, 4_628]
