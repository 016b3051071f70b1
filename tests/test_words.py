"""``python -m sequence_tasks words``: the rhyme's tables against the rhyme itself and the notes,
word2vec's two samplers against the notes' formulas, its losses' gradients against the hand-derived
ones, the switches, the evaluator, and bad input. All on tiny data (the sonnets at most)."""

import json
import re
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
import torch

from gymlab.sequence_tasks import word2vec, words
from gymlab.sequence_tasks.cli import main
from gymlab.sequence_tasks.word_data import (Vocab, cbow_windows, draw_negatives, keep_probabilities,
                                             noise_distribution, skipgram_pairs, subsample)
from gymlab.sequence_tasks.word_eval import analogy_accuracy, ranks, similarity_rho

# The notes' table header (seed 001, "N/1-Gram Word Model"): the rhyme's 25 words, sorted.
NOTES_WORDS = ("a all and bought cat caught crooked found he house in little lived man mile mouse sixpence stile "
               "there they together upon walked was who").split()


def rhyme_words():
    """The rhyme's words read here on their own: punctuation stripped, lower case."""
    return re.sub(r"[^a-z\s]", "", words.RHYME.lower()).split()


# -- 1. the rhyme's 1-gram model ---------------------------------------------------------------------

def test_next_word_counts_entry_by_entry():
    vocab, counts = words.next_word_counts(words.tokenize(words.RHYME))
    assert vocab == NOTES_WORDS
    pairs = Counter(zip(rhyme_words(), rhyme_words()[1:]))
    for i, a in enumerate(vocab):
        for j, b in enumerate(vocab):
            assert counts[i, j] == pairs[(a, b)], (a, b)
    assert counts.sum() == len(rhyme_words()) - 1


def test_next_word_probabilities_are_the_notes():
    vocab, counts = words.next_word_counts(words.tokenize(words.RHYME))
    probs = words.next_word_probabilities(counts)
    at = {w: i for i, w in enumerate(vocab)}
    p = lambda a, b: probs[at[a]][at[b]]  # noqa: E731
    # The notes' entries: a -> crooked 6/7, a -> little 1/7, who and "and" split 1/2, crooked 1/7 each.
    assert p("a", "crooked") == Fraction(6, 7) and p("a", "little") == Fraction(1, 7)
    assert p("who", "walked") == p("who", "caught") == Fraction(1, 2)
    assert p("and", "found") == p("and", "they") == Fraction(1, 2)
    assert all(p("crooked", w) == Fraction(1, 7) for w in ("man", "mile", "sixpence", "stile", "cat", "mouse", "house"))
    pairs = Counter(zip(rhyme_words(), rhyme_words()[1:]))
    follows = Counter(rhyme_words()[:-1])
    for a in vocab:
        for b in vocab:
            want = Fraction(pairs[(a, b)], follows[a]) if follows[a] else 0
            assert p(a, b) == want, (a, b)
        assert sum(probs[at[a]]) == (1 if follows[a] else 0)  # "house" ends the rhyme: never followed


def test_cooccurrence_two_word_window_is_the_notes():
    ws = words.tokenize(words.RHYME)
    vocab = sorted(set(ws))
    m = words.cooccurrence(ws, vocab, window=2)
    at = {w: i for i, w in enumerate(vocab)}
    # The notes' row "a": bought 1 caught 1 crooked 6 found 1 in 1 little 1 upon 1 walked 1 was 1.
    row = {vocab[j]: int(v) for j, v in enumerate(m[at["a"]]) if v}
    assert row == dict(bought=1, caught=1, crooked=6, found=1, little=1, upon=1, walked=1, was=1, **{"in": 1})
    assert (m == m.T).all() and m.sum() == 2 * (len(ws) - 1)
    adjacent = Counter(frozenset(p) for p in zip(ws, ws[1:]))
    for a in vocab:
        for b in vocab:
            if a != b:
                assert m[at[a], at[b]] == adjacent[frozenset((a, b))], (a, b)
    assert words.cooccurrence(ws, vocab, window=3)[at["a"], at["crooked"]] == 7  # a little crooked: 2 apart


def test_svd_rows_of_u_are_the_vectors():
    ws = words.tokenize(words.RHYME)
    vocab = sorted(set(ws))
    m = words.cooccurrence(ws, vocab).astype(float)
    u, s, vt = np.linalg.svd(m)
    xy = words.svd_vectors(m, 2)
    assert xy.shape == (25, 2) and np.allclose(xy, u[:, :2])
    assert np.allclose(xy.T @ xy, np.eye(2))


# -- 3. the samplers -----------------------------------------------------------------------------------

def chi_square(draws, p):
    seen = np.bincount(draws, minlength=len(p))
    expected = p * len(draws)
    return float(((seen - expected) ** 2 / expected).sum())


def test_negatives_follow_the_three_quarter_power():
    counts = np.array([1, 5, 20, 100, 1000])
    rng = np.random.default_rng(0)
    draws = draw_negatives(rng, np.cumsum(noise_distribution(counts)), (200_000,))
    p = counts ** 0.75 / (counts ** 0.75).sum()
    # 4 degrees of freedom: a correct sampler exceeds 23 once in 10,000.
    assert chi_square(draws, p) < 23
    assert chi_square(draws, counts / counts.sum()) > 1000  # the same draws are far from U^1
    broken = draw_negatives(rng, np.cumsum(noise_distribution(counts, power=1.0)), (200_000,))
    assert chi_square(broken, p) > 1000  # a sampler drawing from U^1 fails the bound


def test_frequent_words_are_dropped_at_the_stated_rate():
    counts = np.array([5000, 1000, 100, 9])  # f = 0.4636..., 0.0927..., 0.0093..., 0.0008...
    t = 1e-2
    f = counts / counts.sum()
    ids = np.repeat(np.arange(4), counts * 40)  # 40 epochs' worth of every occurrence
    kept = subsample(np.random.default_rng(1), ids, keep_probabilities(counts, t))
    for w in range(4):
        want = max(0.0, 1 - np.sqrt(t / f[w]))  # the notes: P(discard w) = 1 - sqrt(t / f(w))
        n = (ids == w).sum()
        dropped = 1 - kept[ids == w].mean()
        assert abs(dropped - want) <= 4 * np.sqrt(max(want * (1 - want), 1e-12) / n) + 1e-12, (w, dropped, want)
    assert kept[ids == 3].all()  # rarer than t: never discarded
    assert keep_probabilities(counts, 0).tolist() == [1, 1, 1, 1]  # t = 0: subsampling off


def test_windows_stay_in_their_sentence():
    ids, sentence = np.array([0, 1, 2, 3, 4]), np.array([0, 0, 0, 1, 1])
    c, x = skipgram_pairs(np.random.default_rng(0), ids, sentence, window=1)
    assert sorted(zip(c.tolist(), x.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1), (3, 4), (4, 3)]
    c, x = skipgram_pairs(np.random.default_rng(0), ids, sentence, window=5)
    assert all(sentence[a] == sentence[b] for a, b in zip(c, x))
    centre, ctx = cbow_windows(np.random.default_rng(0), ids, sentence, window=1)
    assert centre.tolist() == [0, 1, 2, 3, 4]
    assert ctx.tolist() == [[-1, 1], [0, 2], [1, -1], [-1, 4], [3, -1]]


# -- 3. the losses' gradients against the hand-derived ones ----------------------------------------

def tiny_model(seed=0, v=5, d=3):
    torch.manual_seed(seed)
    m = word2vec.Word2Vec(v, d).double()
    with torch.no_grad():
        m.out.weight.normal_()  # (zero at the start of training: here nonzero, so every term shows)
        m.inp.weight.normal_()
    return m


def grads(model):
    return [p.grad.to_dense() for p in (model.inp.weight, model.out.weight)]


def test_full_softmax_gradient_is_the_hand_derived_one():
    m = tiny_model()
    x, y = torch.tensor([0, 3, 0]), torch.tensor([2, 1, 4])
    word2vec.softmax_loss(m, m.hidden(x), y).backward()
    g_in, g_out = grads(m)
    W, Wo = m.inp.weight.detach(), m.out.weight.detach()
    want_in, want_out = torch.zeros_like(W), torch.zeros_like(Wo)
    for k, j in zip(x.tolist(), y.tolist()):
        h = W[k]
        p = torch.exp(Wo @ h) / torch.exp(Wo @ h).sum()  # prob(j' | k) for every j'
        e = p.clone()
        e[j] -= 1  # d(-log prob(j | k)) / du = p - onehot(j)
        want_in[k] += Wo.T @ e
        want_out += torch.outer(e, h)
    assert torch.allclose(g_in, want_in) and torch.allclose(g_out, want_out)
    assert (g_out != 0).all()  # every output vector is in the normaliser


def test_negative_sampling_gradient_is_the_hand_derived_one():
    m = tiny_model(1)
    x, y, neg = torch.tensor([1, 2]), torch.tensor([0, 4]), torch.tensor([[3, 3], [1, 0]])
    word2vec.negative_loss(m, m.hidden(x), y, neg).backward()
    g_in, g_out = grads(m)
    W, Wo = m.inp.weight.detach(), m.out.weight.detach()
    want_in, want_out = torch.zeros_like(W), torch.zeros_like(Wo)
    for k, j, ns in zip(x.tolist(), y.tolist(), neg.tolist()):
        h = W[k]
        s = torch.sigmoid(Wo[j] @ h) - 1  # d(-log sigma(v'_j . h)) / d(v'_j . h)
        want_in[k] += s * Wo[j]
        want_out[j] += s * h
        for n in ns:
            s = torch.sigmoid(Wo[n] @ h)  # d(-log sigma(-v'_n . h)) / d(v'_n . h)
            want_in[k] += s * Wo[n]
            want_out[n] += s * h
    assert torch.allclose(g_in, want_in) and torch.allclose(g_out, want_out)


def test_cbow_reads_the_mean_of_its_window():
    m = tiny_model()
    h = m.hidden(torch.tensor([[1, -1, 3, 4]]))
    assert torch.allclose(h[0], m.inp.weight[[1, 3, 4]].mean(0))


# -- 3. the switches change what is trained ------------------------------------------------------------

def sonnets():
    from gymlab.sequence_tasks.word_data import load_corpus

    sentences = load_corpus("sonnets")
    vocab = Vocab.build(sentences, 5)
    return (*vocab.encode(sentences), vocab)


def test_the_loss_switch_changes_which_output_vectors_move():
    ids, sentence, vocab = sonnets()
    touched = {}
    for loss in ("softmax", "negative"):  # W' starts at zero: the rows one step moved are the nonzero ones
        def first(model, step, loss=loss):
            if step == 1:
                touched[loss] = set(torch.nonzero((model.out.weight != 0).any(1))[:, 0].tolist())

        word2vec.train(ids[:40], sentence[:40], vocab.counts, rng=np.random.default_rng(0), loss=loss, dim=4,
                       epochs=1, batch=8, subsample_t=0, on_step=first)
    assert touched["softmax"] == set(range(len(vocab)))  # the full softmax moves every v'
    assert len(touched["negative"]) < 8 * 6  # negative sampling: only the batch's targets and noise words


def test_the_subsampling_switch_changes_the_words_trained():
    ids, sentence, vocab = sonnets()
    counts = vocab.counts
    rng = np.random.default_rng(0)
    keep = keep_probabilities(counts, 1e-3)
    *_, kept_all = word2vec.epoch_examples(rng, ids, sentence, keep_probabilities(counts, 0), "skipgram", 2)
    assert kept_all == len(ids)
    kept_words = []
    for _ in range(30):
        mask = subsample(rng, ids, keep)
        kept_words.append(np.bincount(ids[mask], minlength=len(vocab)))
    rate = np.mean(kept_words, axis=0) / counts
    top = 0  # the most frequent word
    assert abs(rate[top] - keep[top]) < 0.03 and keep[top] < 0.5
    assert np.allclose(rate[keep == 1], 1)


# -- 5. the evaluator ------------------------------------------------------------------------------------

def test_analogies_and_similarity_on_known_vectors():
    names = ["man", "woman", "king", "queen", "apple"]
    v = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [-1, 0, 0]], dtype=float)
    got = analogy_accuracy(v, names, {"s": [("man", "woman", "king", "queen"), ("man", "woman", "king", "pear")]})
    assert got["accuracy"] == 1 and got["questions"] == 1 and got["total"] == 2
    rho = similarity_rho(v, names, [("man", "woman", 3), ("man", "king", 3), ("man", "apple", 0), ("x", "man", 1)])
    assert rho["pairs"] == 3 and rho["rho"] == pytest.approx(np.corrcoef(ranks(np.array([0.7071, 0.7071, -1])),
                                                                       ranks(np.array([3, 3, 0])))[0, 1])


# -- 8. the command --------------------------------------------------------------------------------------

def test_the_command_on_the_sonnets(tmp_path, capsys):
    argv = ["words", "--run-dir", str(tmp_path / "r"), "--no-progress", "--epochs", "1", "--dim", "8",
            "--no-reference", "--seed", "3", "--neighbours", "love,thou"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "a -> crooked 6/7, little 1/7" in out and "love:" in out
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["seed"] == 3 and s["rhyme"]["next_word_probabilities"][0][6] == "6/7"
    assert set(s["ours"]["neighbours"]) == {"love", "thou"} and np.isfinite(s["loss"])
    for name in s["figures"]:
        assert (tmp_path / "r" / name).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, flag", [
    (["--corpus", "brown"], "--corpus"),
    (["--negative", "0"], "--negative"),
    (["--subsample", "1"], "--subsample"),
    (["--subsample", "-0.1"], "--subsample"),
    (["--neighbours", "love,zzzq"], "--neighbours"),
    (["--neighbours", ",,"], "--neighbours"),
    (["--min-count", "100000"], "--min-count"),
    (["--seed", "-1"], "--seed"),
    (["--arch", "glove"], "--arch"),
])
def test_bad_input_is_one_line_exit_2(args, flag, tmp_path, capsys):
    assert main(["words", "--run-dir", str(tmp_path / "r"), "--no-progress", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and flag in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_a_step_moves_each_row_by_its_whole_gradient():
    m = tiny_model(2)
    x, y, neg = torch.tensor([1, 1, 2]), torch.tensor([0, 0, 4]), torch.tensor([[3], [3], [0]])  # rows met twice
    word2vec.negative_loss(m, m.hidden(x), y, neg).backward()
    want = [p.detach() - 0.1 * g for p, g in zip((m.inp.weight, m.out.weight), grads(m))]
    word2vec.sgd_step(m, 0.1)
    assert torch.allclose(m.inp.weight, want[0]) and torch.allclose(m.out.weight, want[1])
    assert m.inp.weight.grad is None and m.out.weight.grad is None


@pytest.mark.parametrize("arch, loss", [("skipgram", "negative"), ("cbow", "softmax")])
def test_both_architectures_and_both_losses_learn(arch, loss):
    ids, sentence, vocab = sonnets()
    got = word2vec.train(ids[:600], sentence[:600], vocab.counts, rng=np.random.default_rng(0), arch=arch, loss=loss,
                         dim=16, epochs=3, batch=32, lr=0.5, subsample_t=0, window=2)
    curve = [c[1] for c in got["loss_curve"]]
    assert curve[-1] < 0.95 * curve[0], curve


# -- review: negatives equal to the positive, the samplers as train() uses them, the evaluator, gensim --
