"""word2vec in torch (seed 001, "word2vec" to "Negative Sampling"): skip-gram and CBOW, each with
the full softmax or negative sampling, and subsampling of frequent words, as switches.

Two tables of vectors: row k of W (``inp``) is word k's vector v_k, the one reported; row j of
W' (``out``) is its output vector v'_j. Skip-gram reads h = v_k of the centre word and predicts
each word of its window; CBOW reads h = the mean of the window's v and predicts the centre word.

- full softmax: prob(j | h) = exp(v'_j . h) / sum_j' exp(v'_j' . h); loss -log prob(j* | h);
- negative sampling: E = -log sigma(v'_j* . h) - sum_{j in W_neg} log sigma(-v'_j . h), the
  W_neg drawn from U(w)^{3/4} / Z (``word_data.draw_negatives``); a draw equal to j* is skipped.

Trained by plain SGD on sparse gradients, the step size falling linearly from ``lr`` to
``lr`` x 1e-4 over the run (as word2vec and gensim do); each step sums the loss over a batch
of pairs (``batch``). Hierarchical softmax is not built.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gymlab.sequence_tasks.word_data import (cbow_windows, draw_negatives, keep_probabilities, noise_distribution,
                                             skipgram_pairs, subsample)


class Word2Vec(nn.Module):
    """W (``inp``) initialised uniform in +-0.5/dim, W' (``out``) at zero, as word2vec does."""

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.inp = nn.Embedding(vocab_size, dim, sparse=True)
        self.out = nn.Embedding(vocab_size, dim, sparse=True)
        with torch.no_grad():
            self.inp.weight.uniform_(-0.5 / dim, 0.5 / dim)
            self.out.weight.zero_()

    def hidden(self, inputs: torch.Tensor) -> torch.Tensor:
        """h: the centre word's v (skip-gram, ``inputs`` (B,)), or the mean of the window's v
        (CBOW, ``inputs`` (B, 2 window) with -1 where there is no word)."""
        if inputs.dim() == 1:
            return self.inp(inputs)
        mask = (inputs >= 0).to(self.inp.weight.dtype)
        summed = (self.inp(inputs.clamp(min=0)) * mask[..., None]).sum(1)
        return summed / mask.sum(1, keepdim=True)


# --8<-- [start:losses]
def softmax_loss(model: Word2Vec, h: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Full softmax: -log prob(j* | h) summed over the batch, every v'_j in the normaliser."""
    return F.cross_entropy(h @ model.out.weight.T, targets, reduction="sum")


def negative_loss(model: Word2Vec, h: torch.Tensor, targets: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """Negative sampling: -log sigma(v'_j* . h) - sum_neg log sigma(-v'_j . h), summed over the batch.
    A noise word equal to the pair's target is skipped (no loss, no gradient), as word2vec.c and gensim do."""
    out = model.out(torch.cat([targets[:, None], negatives], 1))  # (B, 1 + negatives, dim): one look-up
    score = (out * h[:, None, :]).sum(-1)
    other = (negatives != targets[:, None]).to(score.dtype)
    return -(F.logsigmoid(score[:, 0]).sum() + (F.logsigmoid(-score[:, 1:]) * other).sum())
# --8<-- [end:losses]


def sgd_step(model: nn.Module, step_size: float) -> None:
    """p <- p - step_size * grad, for the sparse gradients of the looked-up rows (a row looked up
    twice gets both) and the dense one of the full softmax's W'; the gradients are then cleared.
    (Written out: torch.optim's first step imports torch._dynamo, seconds for one SGD update.)"""
    with torch.no_grad():
        for p in model.parameters():
            g, p.grad = p.grad, None
            if g is None:
                continue
            if g.is_sparse:
                p.index_add_(0, g._indices()[0], g._values(), alpha=-step_size)
            else:
                p.add_(g, alpha=-step_size)


def epoch_examples(rng, ids, sentence, keep, arch: str, window: int):
    """One epoch's training examples, shuffled: subsampling draws the words kept afresh, then the
    windows are cut from what is left (as word2vec does). ``(inputs, targets)``."""
    kept = subsample(rng, ids, keep)
    ids, sentence = ids[kept], sentence[kept]
    if arch == "skipgram":
        inputs, targets = skipgram_pairs(rng, ids, sentence, window)
    else:
        targets, inputs = cbow_windows(rng, ids, sentence, window)
    order = rng.permutation(len(targets))
    return inputs[order], targets[order], int(kept.sum())


def train(ids: np.ndarray, sentence: np.ndarray, counts: np.ndarray, *, rng: np.random.Generator, arch: str = "skipgram",
          loss: str = "negative", negative: int = 5, subsample_t: float = 1e-3, dim: int = 100, window: int = 5,
          epochs: int = 5, lr: float = 0.025, batch: int = 1024, progress=None, on_step=None) -> dict:
    """Train on the corpus ``ids`` (its sentences numbered by ``sentence``); returns the model and
    what was trained: ``{"model", "words_seen", "words_kept", "examples", "steps", "train_time_s",
    "loss_curve"}`` (the loss per example, averaged over each tenth of an epoch)."""
    model = Word2Vec(len(counts), dim)
    keep = keep_probabilities(counts, subsample_t)
    cumulative = np.cumsum(noise_distribution(counts))
    # The number of steps is known only epoch by epoch (subsampling and the reach are drawn): the
    # step size falls with the words read, as word2vec's does.
    total_words = epochs * len(ids)
    words_seen = words_kept = examples = steps = 0
    curve, start = [], time.perf_counter()
    for epoch in range(epochs):
        inputs, targets, kept = epoch_examples(rng, ids, sentence, keep, arch, window)
        n = len(targets)
        tenth, since, since_n = max(1, math.ceil(n / batch / 10)), 0.0, 0
        for k, s in enumerate(range(0, n, batch)):
            done = words_seen + len(ids) * s / max(n, 1)
            step_size = lr * max(1e-4, 1.0 - done / total_words)
            x, y = torch.from_numpy(inputs[s:s + batch]), torch.from_numpy(targets[s:s + batch])
            h = model.hidden(x)
            if loss == "softmax":
                value = softmax_loss(model, h, y)
            else:
                neg = torch.from_numpy(draw_negatives(rng, cumulative, (len(y), negative)))
                value = negative_loss(model, h, y, neg)
            value.backward()
            sgd_step(model, step_size)
            v = value.item()
            if not math.isfinite(v):
                raise FloatingPointError(f"the loss diverged ({v}) at step {steps + 1}; lower --lr (now {lr:g})")
            since, since_n, steps = since + v, since_n + len(y), steps + 1
            if (k + 1) % tenth == 0 or s + batch >= n:
                curve.append([round(epoch + (s + len(y)) / n, 3), round(since / since_n, 4)])
                since, since_n = 0.0, 0
            if progress is not None:
                progress.update(len(y))
            if on_step is not None:
                on_step(model, steps)
        words_seen += len(ids)
        words_kept += kept
        examples += n
    return {"model": model, "words_seen": words_seen, "words_kept": words_kept, "examples": examples, "steps": steps,
            "train_time_s": time.perf_counter() - start, "loss_curve": curve}


def vectors(model: Word2Vec) -> np.ndarray:
    """The reported word vectors: the rows of W."""
    return model.inp.weight.detach().cpu().numpy().copy()
