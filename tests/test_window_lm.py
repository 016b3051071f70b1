"""The fixed-window neural LM (Bengio et al. 2003) on characters: its forward pass against a hand
computation, its gradient against finite differences, the window carried across chunks, and what
it learns (a text whose next character depends on the two before: a unigram and a window of one
cannot learn it, a window of two can)."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from gymlab.sequence_tasks.cli import main
from gymlab.sequence_tasks.window import WindowLM


def by_hand(model: WindowLM, ids: list[int]) -> np.ndarray:
    """The lecture's equations in numpy, one position at a time, the window padded with the
    'nothing yet' symbol (id V) before the text."""
    C = model.embed.weight.detach().numpy()
    W, b1 = model.hidden.weight.detach().numpy(), model.hidden.bias.detach().numpy()
    U, b2 = model.out.weight.detach().numpy(), model.out.bias.detach().numpy()
    padded = [model.vocab_size] * (model.window - 1) + ids
    out = []
    for t in range(len(ids)):
        e = np.concatenate([C[i] for i in padded[t:t + model.window]])  # e = [C x^(t-n+1); ...; C x^(t)]
        h = np.tanh(W @ e + b1)
        y = U @ h + b2
        if model.direct is not None:
            y = y + model.direct.weight.detach().numpy() @ e
        out.append(y)
    return np.array(out)


@pytest.mark.parametrize("direct", [False, True])
def test_forward_is_the_lectures_equations(direct):
    torch.manual_seed(0)
    model = WindowLM(5, window=3, embed=2, hidden=4, direct=direct).double().eval()
    ids = [4, 0, 3, 3, 1, 2]
    logits, state = model(torch.tensor(ids).view(-1, 1))
    np.testing.assert_allclose(logits[:, 0].detach().numpy(), by_hand(model, ids), rtol=1e-12, atol=1e-12)
    assert state.view(-1).tolist() == [1, 2]


def test_the_window_reaches_back_into_the_previous_chunk():
    """Chunk after chunk with the state carried equals one pass over the whole (several streams)."""
    torch.manual_seed(1)
    model = WindowLM(6, window=4, embed=3, hidden=5).eval()
    ids = torch.randint(0, 6, (11, 3))
    whole, _ = model(ids)
    a, state = model(ids[:2])  # shorter than the window
    b, state = model(ids[2:7], state)
    c, _ = model(ids[7:], state)
    torch.testing.assert_close(torch.cat([a, b, c]), whole)


def test_gradient_matches_finite_differences():
    """torch's gradient of the loss against central finite differences of every weight (float64)."""
    torch.manual_seed(2)
    model = WindowLM(4, window=3, embed=2, hidden=3, direct=True).double()
    ids, targets = torch.tensor([[0], [3], [1], [2], [2]]), torch.tensor([3, 1, 2, 2, 0])
    names = [n for n, _ in model.named_parameters()]

    def loss(*weights):
        logits, _ = torch.func.functional_call(model, dict(zip(names, weights)), (ids,))
        return nn.functional.cross_entropy(logits[:, 0], targets)

    assert torch.autograd.gradcheck(loss, tuple(p.detach().clone().requires_grad_() for p in model.parameters()),
                                    eps=1e-6, atol=1e-7)


def fit(window: int, text: str, steps: int = 80) -> float:
    """Bits per character on ``text`` after ``steps`` of Adam on it (one stream)."""
    torch.manual_seed(0)
    vocab = sorted(set(text))
    ids = torch.tensor([vocab.index(c) for c in text]).view(-1, 1)
    model = WindowLM(len(vocab), window=window, embed=4, hidden=16)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(model(ids[:-1])[0][:, 0], ids[1:, 0])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(nn.functional.cross_entropy(model.eval()(ids[:-1])[0][:, 0], ids[1:, 0])) / np.log(2)


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread (two spin-wait for each other on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_learns_what_a_unigram_and_a_short_window_cannot(one_thread):
    """'aab' repeated: a unigram needs 0.918 bits/char (H(2/3, 1/3)); after an 'a' the next is 'a' or
    'b' as often, so a window of one (a bigram) needs 2/3 bit; a window of two determines it."""
    text = "aab" * 30
    assert fit(2, text) < 0.05
    assert fit(1, text) > 0.6


def test_chars_command_trains_the_window_model(tmp_path):
    (tmp_path / "t.txt").write_text("aab" * 400)
    run = tmp_path / "run"
    assert main(["chars", "--model", "window", "--window", "2", "--embed", "4", "--hidden", "16", "--text",
                 str(tmp_path / "t.txt"), "--run-dir", str(run), "--iterations", "60", "--batch", "4",
                 "--seq-len", "16", "--eval-every", "20", "--lr", "0.02", "--dropout", "0", "--input-dropout", "0",
                 "--sample-len", "30", "--no-progress"]) == 0
    s = json.loads((run / "summary.json").read_text())
    assert s["model"] == "window" and s["window"] == 2 and s["hello"] is None
    assert s["bits_per_char"] < 0.1  # the held-out tail, scored by chars.bits_per_char
    assert "aab" * 5 in s["sample"]


@pytest.mark.parametrize("flags, named", [
    (["--window", "4"], "--window"), (["--embed", "4"], "--embed"), (["--direct"], "--direct"),
    (["--model", "window", "--kind", "gru"], "--kind"), (["--model", "window", "--layers", "2"], "--layers"),
    (["--model", "window", "--weight-drop", "0.5"], "--weight-drop")])
def test_an_option_of_the_other_model_is_refused(tmp_path, capsys, flags, named):
    assert main(["chars", "--run-dir", str(tmp_path / "r"), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0]
    assert not (tmp_path / "r").exists()


def test_bits_per_char_carries_the_window_between_scoring_chunks():
    """Scored 3 characters at a time or all at once: the same bits/char, and the hand computation from
    one pass (a scorer that forgot the window between chunks would pad each chunk's start)."""
    from gymlab.sequence_tasks.chars import bits_per_char

    torch.manual_seed(0)
    model = WindowLM(6, window=4, embed=3, hidden=8)
    ids = np.random.default_rng(0).integers(0, 6, 61)
    with torch.no_grad():
        logits, _ = model.eval()(torch.from_numpy(ids[:-1]).view(-1, 1))
        hand = float(nn.functional.cross_entropy(logits[:, 0], torch.from_numpy(ids[1:]))) / np.log(2)
    assert bits_per_char(model, ids, chunk=3) == pytest.approx(hand, rel=1e-5)
    assert bits_per_char(model, ids, chunk=4096) == pytest.approx(hand, rel=1e-5)


def test_training_chunks_carry_the_window(tmp_path, monkeypatch):
    """chars' training loop: each chunk's logits equal, with the weights of that moment, the last
    logits of one pass over every character of the streams so far (a loop that dropped the window
    at each chunk would pad every chunk's start instead)."""
    from gymlab.sequence_tasks import window as window_module

    forward, seen, gaps = window_module.WindowLM.forward, [], []

    def recording(self, ids, state=None):
        logits, new_state = forward(self, ids, state)
        if self.training:
            seen.append(ids)
            with torch.no_grad():
                whole, _ = forward(self, torch.cat(seen))
            gaps.append(float((whole[-len(ids):] - logits.detach()).abs().max()))
        return logits, new_state

    monkeypatch.setattr(window_module.WindowLM, "forward", recording)
    (tmp_path / "t.txt").write_text("abcab" * 200)
    assert main(["chars", "--model", "window", "--window", "3", "--embed", "2", "--hidden", "4", "--text",
                 str(tmp_path / "t.txt"), "--run-dir", str(tmp_path / "run"), "--iterations", "4", "--batch", "2",
                 "--seq-len", "5", "--eval-every", "4", "--dropout", "0", "--input-dropout", "0",
                 "--sample-len", "5", "--no-progress"]) == 0
    assert len(gaps) == 4 and max(gaps) < 1e-6


def test_input_dropout_drops_a_character_everywhere_it_is_read():
    """--input-dropout p on the window model: each character of the text is dropped (its embedding
    zeroed) with probability p in every window slot that reads it, in this chunk and in the next one's
    windows that reach back into it; kept characters are scaled by 1 / (1 - p), the padding never."""
    torch.manual_seed(0)
    n, p = 4, 0.3
    model = WindowLM(5, window=n, embed=2, hidden=3, input_dropout=p).train()
    with torch.no_grad():
        model.embed.weight.fill_(1.0)
    seen = []
    model.hidden.register_forward_pre_hook(lambda _, args: seen.append(args[0].detach().view(*args[0].shape[:2], n, 2)))
    ids = torch.randint(0, 5, (400, 3))
    _, state = model(ids[:200])
    model(ids[200:], state)
    slots = torch.cat(seen)[..., 0]  # (T, B, n): the value each window slot read
    assert torch.all((slots == 0) | (slots == 1) | torch.isclose(slots, torch.tensor(1 / (1 - p))))
    assert torch.all(slots[0, :, :n - 1] == 1.0)  # the padding before the text: neither dropped nor scaled
    dropped = slots == 0
    for pos in range(400):  # text position pos is read by window t at slot n - 1 - (t - pos), t = pos .. pos + n - 1
        reads = [dropped[t, :, n - 1 - (t - pos)] for t in range(pos, min(pos + n, 400))]
        assert all(torch.equal(r, reads[0]) for r in reads), pos
    assert 0.25 < float(dropped[:, :, -1].float().mean()) < 0.35  # about p of the characters
