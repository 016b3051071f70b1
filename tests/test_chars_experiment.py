"""The chars experiment and its benchmark against min-char-rnn: which part of the text each step
reads, what the scores measure, and the recurrent state's reset.

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
from benchmark_module import load_benchmark
import torch

from gymlab.sequence_tasks import chars
from gymlab.sequence_tasks.backbone import RecurrentCore
from gymlab.sequence_tasks.cli import main
from gymlab.sequence_tasks.data import Vocabulary, load_text, split_text
from gymlab.sequence_tasks.models import CharModel

ROOT = Path(__file__).resolve().parents[1]


def positions_text(n: int) -> str:
    """``n`` distinct characters in increasing code point order: character i has id i."""
    return "".join(chr(0x100 + i) for i in range(n))


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


# -- the regularisers: each flag reaches the model or the optimizer, and changes what it does -----

def test_input_dropout_zeroes_whole_characters_in_training_only(monkeypatch):
    """In training a fraction ``input_dropout`` of the (step, stream) one-hot inputs is all zero
    and the rest are scaled by 1 / (1 - p); in eval mode every input is its plain one-hot."""
    seen = []
    model = CharModel(7, "lstm", hidden=4, input_dropout=0.4)
    real = model.core.forward
    monkeypatch.setattr(model.core, "forward", lambda x, state=None: (seen.append(x.clone()), real(x, state))[1])
    ids = torch.from_numpy(np.random.default_rng(0).integers(0, 7, (200, 16)))
    torch.manual_seed(0)
    model.train()(ids)
    model.eval()(ids)
    onehot = nn_one_hot(ids, 7)
    train, evaluated = seen
    dropped = train.sum(-1) == 0
    assert 0.3 < dropped.float().mean() < 0.5
    torch.testing.assert_close(train[~dropped], onehot[~dropped] / 0.6)
    assert torch.equal(evaluated, onehot)


def nn_one_hot(ids, n):
    return torch.nn.functional.one_hot(ids, n).float()


def test_weight_drop_masks_the_recurrent_weights_in_training_only():
    """With weight drop the training-mode output is not the plain model's, the gradient of the
    dropped recurrent weights is zero (about a fraction p of them), the weights themselves are
    left as they were; in eval mode the model computes exactly what the same weights without
    weight drop compute."""
    torch.manual_seed(0)
    model = CharModel(9, "lstm", hidden=12, layers=2, weight_drop=0.5)
    plain = CharModel(9, "lstm", hidden=12, layers=2)
    plain.load_state_dict(model.state_dict())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ids = torch.from_numpy(np.random.default_rng(1).integers(0, 9, (20, 3)))
    out, _ = model.train()(ids)
    assert not torch.allclose(out, plain.train()(ids)[0])
    out.square().sum().backward()
    for layer in (0, 1):
        grad = getattr(model.core.rnn, f"weight_hh_l{layer}").grad
        assert 0.4 < (grad == 0).float().mean() < 0.6
        assert (getattr(model.core.rnn, f"weight_ih_l{layer}").grad == 0).float().mean() < 0.1
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    torch.testing.assert_close(model.eval()(ids)[0], plain.eval()(ids)[0], rtol=0, atol=0)


def test_weight_decay_shrinks_the_weight_matrices_and_not_the_biases():
    """``chars.optimizer``: with --weight-decay, AdamW, whose step with a zero gradient shrinks every
    weight matrix by the factor (1 - lr x decay) and leaves the biases; with 0, Adam, which leaves
    all as they were."""
    from argparse import Namespace
    for decay in (0.0, 0.5):
        torch.manual_seed(0)
        model = CharModel(5, "lstm", hidden=6)
        before = {k: v.clone() for k, v in model.named_parameters()}
        opt = chars.optimizer(model, Namespace(lr=0.1, weight_decay=decay))
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        opt.step()
        for name, p in model.named_parameters():
            factor = 1 - 0.1 * decay if p.dim() >= 2 else 1.0
            torch.testing.assert_close(p.detach(), before[name] * factor)
    assert isinstance(chars.optimizer(model, Namespace(lr=0.1, weight_decay=0.0)), torch.optim.Adam)


def test_regularisation_flags_reach_the_model_and_the_optimizer(tmp_path, monkeypatch):
    """--dropout, --input-dropout, --weight-drop reach the CharModel; --weight-decay the optimizer's
    weight matrices."""
    made, opts = [], []
    real_optimizer = chars.optimizer

    class Recording(CharModel):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    monkeypatch.setattr(chars, "CharModel", Recording)
    monkeypatch.setattr(chars, "optimizer", lambda model, args: opts.append(real_optimizer(model, args)) or opts[-1])
    text = tmp_path / "t.txt"
    text.write_text("the cat sat on the mat. " * 50)
    assert main(["chars", "--text", str(text), "--run-dir", str(tmp_path / "r"), "--no-progress", "--threads", "1",
                 "--iterations", "2", "--batch", "4", "--seq-len", "8", "--hidden", "8", "--sample-len", "0",
                 "--dropout", "0.25", "--input-dropout", "0.15", "--weight-drop", "0.35",
                 "--weight-decay", "0.07"]) == 0
    model = made[0]
    assert (model.dropout.p, model.input_dropout, model.weight_drop) == (0.25, 0.15, 0.35)
    decays = {id(p): g["weight_decay"] for g in opts[0].param_groups for p in g["params"]}
    assert all(decays[id(p)] == (0.07 if p.dim() >= 2 else 0.0) for p in model.parameters())


@pytest.mark.parametrize("decay", [0.5, 1.0])
def test_lr_decay_on_plateau(tmp_path, decay):
    """On the positions text, where the validation score only worsens after the first validation
    (no validation character is ever trained on), --lr-decay multiplies the step size after every
    --patience validations without improvement; at 1 it never does."""
    text = tmp_path / "positions.txt"
    text.write_text(positions_text(600), encoding="utf-8")
    assert main(["chars", "--text", str(text), "--run-dir", str(tmp_path / "run"), "--no-progress",
                 "--threads", "1", "--iterations", "24", "--eval-every", "4", "--batch", "4", "--seq-len", "16",
                 "--hidden", "8", "--lr", "3e-2", "--sample-len", "0", "--lr-decay", str(decay),
                 "--patience", "2", "--dropout", "0", "--input-dropout", "0", "--weight-drop", "0",
                 "--weight-decay", "0"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["best_iteration"] == 4
    if decay == 1.0:
        assert summary["lr_drops"] == []
    else:  # validations at 4 (the best), 8, 12 (decay), 16, 20 (decay), 24
        assert summary["lr_drops"] == [[12, pytest.approx(3e-2 * 0.5)], [20, pytest.approx(3e-2 * 0.25)]]


@pytest.mark.parametrize("iterations", [12, 10])
def test_no_step_size_drop_is_recorded_after_the_last_chunk(tmp_path, iterations):
    """The validation after the last chunk (at 12: on the eval grid; at 10: the chunks since 8)
    may find the patience run out, but no chunk is left to train at a smaller step: no drop."""
    text = tmp_path / "positions.txt"
    text.write_text(positions_text(600), encoding="utf-8")
    assert main(["chars", "--text", str(text), "--run-dir", str(tmp_path / "run"), "--no-progress",
                 "--threads", "1", "--iterations", str(iterations), "--eval-every", "4", "--batch", "4",
                 "--seq-len", "16", "--hidden", "8", "--lr", "3e-2", "--sample-len", "0", "--lr-decay", "0.5",
                 "--patience", "2", "--dropout", "0", "--input-dropout", "0", "--weight-drop", "0"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["best_iteration"] == 4 and summary["lr_drops"] == []


def test_weight_drop_draws_a_new_mask_each_chunk_and_scales_the_survivors():
    """Two training forward calls of one chunk differ (a mask a call, not one for the whole run),
    and the masked W_hh's survivors are scaled by 1 / (1 - p): with the same draws, the output is
    the plain model's with W_hh replaced by dropout(W_hh, p)."""
    torch.manual_seed(0)
    model = CharModel(5, "lstm", hidden=6, weight_drop=0.5).train()
    ids = torch.randint(0, 5, (7, 3))
    a, _ = model(ids)
    b, _ = model(ids)
    assert not torch.allclose(a, b)
    torch.manual_seed(1)
    out, _ = model(ids)
    torch.manual_seed(1)
    masked = torch.nn.functional.dropout(model.core.rnn.weight_hh_l0.detach(), 0.5)
    plain = CharModel(5, "lstm", hidden=6).train()
    plain.load_state_dict(model.state_dict())
    with torch.no_grad():
        plain.core.rnn.weight_hh_l0.copy_(masked)
    expected, _ = plain(ids)
    assert torch.allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("field", ["input_dropout", "weight_drop", "dropout"])
@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5])
def test_char_model_refuses_a_dropout_outside_0_1(field, value):
    with pytest.raises(ValueError, match=field):
        CharModel(5, "lstm", hidden=6, **{field: value})
