"""The chars experiment's regularisers (input dropout, weight drop, weight decay, the step size's
decay on a plateau): each flag reaches the model or the optimizer, and changes what it does.
(Which data a run reads, the scores and the state's reset: tests/test_chars_experiment.py.)
"""

import json

import numpy as np
import pytest
import torch
from chars_helpers import positions_text

from gymlab.sequence_tasks import chars
from gymlab.sequence_tasks.cli import main
from gymlab.sequence_tasks.models import CharModel


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
