"""word2vec against the textbook and gensim, the points an independent review found untested: a
negative equal to the positive, subsampling before the windows, the drawn reach, 3CosAdd, Spearman,
gensim's settings, and the speed figure's work (``tests/test_words.py`` has the rest)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gymlab.sequence_tasks import word2vec, words
from gymlab.sequence_tasks.cli import main
from gymlab.sequence_tasks.word_data import Vocab, cbow_windows, draw_negatives, skipgram_pairs
from gymlab.sequence_tasks.word_eval import analogy_accuracy, similarity_rho

from test_words import grads, sonnets, tiny_model

def test_a_negative_equal_to_the_positive_contributes_nothing():
    m = tiny_model(3)
    x, y, neg = torch.tensor([1, 2]), torch.tensor([0, 4]), torch.tensor([[0, 3], [4, 4]])  # three collisions
    value = word2vec.negative_loss(m, m.hidden(x), y, neg)
    value.backward()
    g_in, g_out = grads(m)
    W, Wo = m.inp.weight.detach(), m.out.weight.detach()
    # word2vec.c skips a draw equal to the word (`if (target == word) continue;`): only (1, 0, neg 3) and
    # (2, 4, no negative) are left.
    want = -(torch.nn.functional.logsigmoid(Wo[0] @ W[1]) + torch.nn.functional.logsigmoid(-Wo[3] @ W[1])
             + torch.nn.functional.logsigmoid(Wo[4] @ W[2]))
    assert torch.allclose(value, want)
    want_in, want_out = torch.zeros_like(W), torch.zeros_like(Wo)
    for k, j, ns in ((1, 0, [3]), (2, 4, [])):
        s = torch.sigmoid(Wo[j] @ W[k]) - 1
        want_in[k] += s * Wo[j]
        want_out[j] += s * W[k]
        for n in ns:
            s = torch.sigmoid(Wo[n] @ W[k])
            want_in[k] += s * Wo[n]
            want_out[n] += s * W[k]
    assert torch.allclose(g_in, want_in) and torch.allclose(g_out, want_out)


@pytest.mark.parametrize("arch", ["skipgram", "cbow"])
def test_subsampling_comes_before_the_windows(arch):
    # `a X b`, X never kept, window 1: with X gone first, a and b are neighbours (as in word2vec.c).
    ids, sentence, keep = np.array([0, 1, 2]), np.zeros(3, dtype=np.int64), np.array([1.0, 0.0, 1.0])
    inputs, targets, kept = word2vec.epoch_examples(np.random.default_rng(0), ids, sentence, keep, arch, 1)
    assert kept == 2
    if arch == "skipgram":
        assert sorted(zip(inputs.tolist(), targets.tolist())) == [(0, 2), (2, 0)]
    else:
        assert sorted(zip(targets.tolist(), inputs.tolist())) == [(0, [-1, 2]), (2, [0, -1])]


def test_train_draws_its_negatives_from_the_three_quarter_power(monkeypatch):
    ids, sentence, vocab = sonnets()
    seen = []

    def spy(rng, cumulative, shape):
        seen.append(np.array(cumulative))
        return draw_negatives(rng, cumulative, shape)

    monkeypatch.setattr(word2vec, "draw_negatives", spy)
    word2vec.train(ids[:50], sentence[:50], vocab.counts, rng=np.random.default_rng(0), dim=4, epochs=1, batch=64)
    c = vocab.counts.astype(float)
    want = np.cumsum(c ** 0.75) / (c ** 0.75).sum()
    assert seen and all(np.allclose(s / s[-1], want) for s in seen)


def test_the_reach_is_drawn_so_near_words_count_more():
    # One long sentence of distinct words: distance d is used when the reach b >= d, b uniform in 1..5,
    # so the pairs at distance d go as 5 - d + 1 (5:4:3:2:1), not flat as a fixed full window gives.
    n, window = 20_000, 5
    ids, sentence = np.arange(n), np.zeros(n, dtype=np.int64)
    c, x = skipgram_pairs(np.random.default_rng(0), ids, sentence, window)
    got = np.bincount(np.abs(c - x), minlength=window + 1)[1:] / (2 * n)
    want = (window - np.arange(1, window + 1) + 1) / window
    assert np.allclose(got, want, atol=0.02), got
    _, ctx = cbow_windows(np.random.default_rng(0), ids, sentence, window)
    right = (ctx[:, window:] >= 0).mean(0)  # position window + d - 1: the word d to the right
    assert np.allclose(right, want, atol=0.02), right


def test_3cosadd_leaves_out_the_question_words():
    names = ["a", "b", "c", "d", "e"]
    v = np.array([[1, 0, 0], [1, 0.1, 0], [0, 0, 1], [0, 0.3, 1], [-1, 0, 0]], dtype=float)
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    t = u[1] - u[0] + u[2]
    assert np.argmax(u @ t) == 2  # b - a + c is nearest c itself: only leaving it out finds d
    got = analogy_accuracy(v, names, {"s": [("a", "b", "c", "d")]})
    assert got["accuracy"] == 1


def test_similarity_is_spearman_not_pearson():
    names = ["p", "q0", "q1", "q2", "q3"]
    angles = np.array([0.1, 0.5, 1.2, 2.8])  # cosine 0.995, 0.878, 0.362, -0.942: monotone, far from linear
    v = np.vstack([[1.0, 0.0], np.c_[np.cos(angles), np.sin(angles)]])
    human = [10.0, 9.9, 9.8, 0.0]
    got = similarity_rho(v, names, [("p", f"q{i}", s) for i, s in enumerate(human)])
    assert got["rho"] == pytest.approx(1.0)


def test_gensim_reference_uses_our_settings(monkeypatch):
    gensim_models = pytest.importorskip("gensim.models")
    from gymlab.sequence_tasks.word_data import load_corpus

    made = []

    class Spy(gensim_models.Word2Vec):
        def build_vocab(self, *a, **k):
            made.append(self)
            return super().build_vocab(*a, **k)

    monkeypatch.setattr(gensim_models, "Word2Vec", Spy)
    sentences = load_corpus("sonnets")[:300]
    args = type("Args", (), dict(dim=4, window=3, negative=4, arch="skipgram", subsample=1e-3, min_count=2, lr=0.025,
                                 epochs=1))()
    got = words.reference(sentences, args, 7, 100)
    (g,) = made
    assert (g.sg, g.window, g.sample, g.negative, g.hs, g.cbow_mean, g.min_count, g.seed, g.workers, g.epochs) == (
        1, 3, 1e-3, 4, 0, 1, 2, 7, 1, 1)
    assert (g.vector_size, g.alpha, g.min_alpha) == (4, 0.025, 0.025 * 1e-4)
    assert got["vectors"].shape[1] == 4


def test_speed_counts_the_same_work_for_both_and_the_words_kept(tmp_path, monkeypatch):
    gensim_models = pytest.importorskip("gensim.models")
    import time

    clock = [0.0]

    def tick():  # a fake clock: one second a reading, and encoding the corpus takes 1,000
        clock[0] += 1
        return clock[0]

    real_encode, returned = Vocab.encode, []

    def encode(self, sentences):
        clock[0] += 1000
        return real_encode(self, sentences)

    class Spy(gensim_models.Word2Vec):
        def train(self, *a, **k):
            returned.append(super().train(*a, **k))
            return returned[-1]

    monkeypatch.setattr(time, "perf_counter", tick)
    monkeypatch.setattr(Vocab, "encode", encode)
    monkeypatch.setattr(gensim_models, "Word2Vec", Spy)
    assert main(["words", "--run-dir", str(tmp_path / "r"), "--no-progress", "--epochs", "1", "--dim", "4",
                 "--seed", "3", "--neighbours", "love"]) == 0
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    ours, theirs = s["ours"], s["gensim"]
    assert ours["train_time_s"] > 1000  # our encoding is inside our timer, as gensim's look-ups are in its train()
    assert theirs["train_time_s"] < 1000 and "encod" in s["timed"]
    assert theirs["words_kept"] == returned[0][0]  # train()'s trained_word_count
    assert 0 < ours["words_kept"] < s["corpus_words"]
    for e in (ours, theirs):
        assert e["words_per_s"] == pytest.approx(s["corpus_words"] / e["train_time_s"], rel=1e-3, abs=0.06)
        assert e["kept_words_per_s"] == pytest.approx(e["words_kept"] / e["train_time_s"], rel=1e-3, abs=0.06)
    assert any("subsampl" in d for d in s["differs_from_gensim"])


def test_every_setting_that_differs_from_gensim_is_listed():
    from pathlib import Path

    listed = " ".join(words.DIFFERS_FROM_GENSIM)
    for said in ("1 - sqrt(t/f)", "sqrt(t/f) + t/f", "+-0.5/dim", "+-1/dim", "batched", "per pair"):
        assert said in listed, said
    root = Path(words.__file__).resolve().parents[1]
    bench = (root / "benchmarks" / "words.py").read_text()
    for said in ("differs_from_gensim", "1 - sqrt(t/f)", "+-0.5/dim", "+-1/dim", "batched", "timed"):
        assert said in bench, said
    guide = (root / "docs" / "guide" / "words.md").read_text()
    assert '--8<-- "sequence_tasks/words.py:differs"' in guide and "same step sizes" not in guide
