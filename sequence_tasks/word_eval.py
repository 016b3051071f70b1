"""How good a set of word vectors is: nearest neighbours, word analogies, word similarity. One
evaluator for ours and gensim's vectors alike (no torch).

- Analogy ``a : b :: c : ?`` is answered by 3CosAdd: the word whose unit vector is nearest in
  cosine to b - a + c (unit vectors), the three question words excluded; a question counts
  only when its four words are all in the vocabulary.
- Similarity: Spearman's rho between the cosines and human scores, over the pairs whose two
  words are both in the vocabulary.

Two analogy sets: ``sequence_tasks/data/analogies_kjv.txt``, built from the King James
vocabulary by ``build_analogies`` (``python benchmarks/word_analogies.py`` writes it), and
gensim's bundled questions-words.txt (Mikolov et al. 2013) restricted to the vocabulary; the
similarity sets are gensim's bundled wordsim353.tsv (Finkelstein et al. 2002) and simlex999.txt
(Hill et al. 2015). The gensim files
are read from its installed test data, offline, without importing gensim.

    >>> ranks(np.array([10, 30, 20, 20]))
    array([1. , 4. , 2.5, 2.5])
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np

OURS = Path(__file__).with_name("data") / "analogies_kjv.txt"
# The similarity sets gensim bundles: WordSim-353 (48 of its pairs in the King James vocabulary) and
# SimLex-999 (258 of its pairs there): the second, five times larger, is the less noisy figure.
SIMILARITY = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}

# Closed-class and near-closed pairs, each section's words (x, y): "x is to y". Only the pairs with
# both words frequent enough in the corpus are kept by ``build_analogies``.
PAIRS = {
    "pronouns": [("he", "she"), ("him", "her"), ("his", "her"), ("himself", "herself"), ("man", "woman"),
                 ("men", "women"), ("king", "queen"), ("father", "mother"), ("son", "daughter"),
                 ("sons", "daughters"), ("brother", "sister"), ("brethren", "sisters"), ("husband", "wife"),
                 ("lord", "lady"), ("prince", "princess"), ("nephew", "niece"), ("uncle", "aunt")],
    "thou-you": [("thou", "ye"), ("thee", "you"), ("thy", "your"), ("thine", "yours"), ("thyself", "yourselves")],
}
SUFFIXES = {"plural-s": "s", "past-ed": "ed", "present-eth": "eth"}
MAX_PAIRS = 25  # pairs of a suffix section, the most frequent first
MIN_COUNT = 20  # both words of a pair at least this often in the corpus


def build_analogies(counts: dict[str, int]) -> dict[str, list[tuple[str, str, str, str]]]:
    """Questions ``(a, b, c, d)`` from every two pairs (a, b), (c, d) of a section, both orders;
    the pairs are ``PAIRS`` and, for each suffix of ``SUFFIXES``, words w with w + suffix (the
    ``MAX_PAIRS`` most frequent such pairs), all words seen ``MIN_COUNT`` times or more."""
    common = {w for w, c in counts.items() if c >= MIN_COUNT}
    sections = {name: [p for p in pairs if set(p) <= common] for name, pairs in PAIRS.items()}
    for name, suffix in SUFFIXES.items():
        found = [(w, w + suffix) for w in common if len(w) >= 3 and w + suffix in common and not w.endswith(suffix)]
        found.sort(key=lambda p: (-min(counts[p[0]], counts[p[1]]), p))
        sections[name] = found[:MAX_PAIRS]
    return {name: [(a, b, c, d) for (a, b), (c, d) in itertools.permutations(pairs, 2)]
            for name, pairs in sections.items() if len(pairs) >= 2}


def write_questions(path: Path, sections: dict) -> None:
    """questions-words.txt's format: ``: section`` lines, then one question a line."""
    lines = []
    for name, questions in sections.items():
        lines += [f": {name}"] + [" ".join(q) for q in questions]
    Path(path).write_text("\n".join(lines) + "\n")


def read_questions(path: Path) -> dict[str, list[tuple[str, ...]]]:
    sections: dict[str, list[tuple[str, ...]]] = {}
    name = ""
    for line in Path(path).read_text().splitlines():
        if line.startswith(":"):
            name = line[1:].strip()
            sections.setdefault(name, [])
        elif len(words := line.lower().split()) == 4:
            sections.setdefault(name, []).append(tuple(words))
    return sections


def gensim_data(name: str) -> Path | None:
    """A file of gensim's bundled test data, or None when gensim is not installed."""
    spec = importlib.util.find_spec("gensim")
    for root in (spec.submodule_search_locations or []) if spec else []:
        if (path := Path(root, "test", "test_data", name)).is_file():
            return path
    return None


def read_similarity(path: Path) -> list[tuple[str, str, float]]:
    """wordsim353.tsv's or simlex999.txt's pairs and human scores (``#`` lines are comments)."""
    pairs = []
    for line in Path(path).read_text().splitlines():
        parts = line.split("\t")
        if line.startswith("#") or len(parts) < 3:
            continue
        pairs.append((parts[0].lower(), parts[1].lower(), float(parts[2])))
    return pairs


def unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def neighbours(vectors: np.ndarray, words: list[str], word: str, k: int = 8) -> list[tuple[str, float]]:
    """The ``k`` words nearest ``word`` in cosine, itself left out."""
    index = {w: i for i, w in enumerate(words)}
    u = unit(vectors)
    sims = u @ u[index[word]]
    sims[index[word]] = -np.inf
    best = np.argsort(-sims)[:k]
    return [(words[i], round(float(sims[i]), 3)) for i in best]


def analogy_accuracy(vectors: np.ndarray, words: list[str], sections: dict, batch: int = 512) -> dict:
    """3CosAdd accuracy over the questions whose words are all in ``words`` (None when there are
    none): ``{"accuracy",
    "correct", "questions", "total", "sections": {name: [correct, questions]}}``."""
    index = {w: i for i, w in enumerate(words)}
    u = unit(np.asarray(vectors, dtype=np.float32))
    result, correct, asked, total = {}, 0, 0, 0
    for name, questions in sections.items():
        total += len(questions)
        q = np.array([[index[w] for w in qq] for qq in questions if all(w in index for w in qq)], dtype=np.int64)
        right = 0
        for s in range(0, len(q), batch):
            b = q[s:s + batch]
            sims = unit(u[b[:, 1]] - u[b[:, 0]] + u[b[:, 2]]) @ u.T
            rows = np.arange(len(b))[:, None]
            sims[rows, b[:, :3]] = -np.inf  # the question's own words are not answers
            right += int((sims.argmax(axis=1) == b[:, 3]).sum())
        result[name] = [right, len(q)]
        correct, asked = correct + right, asked + len(q)
    return {"accuracy": correct / asked if asked else None, "correct": correct, "questions": asked,
            "total": total, "sections": result}


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their mean rank (as Spearman's rho needs)."""
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(1, len(x) + 1)
    _, tie = np.unique(x, return_inverse=True)
    return (np.bincount(tie, weights=r) / np.bincount(tie))[tie]


def similarity_rho(vectors: np.ndarray, words: list[str], pairs) -> dict:
    """Spearman's rho between cosine and human score over the pairs in the vocabulary (None for
    fewer than 3)."""
    index = {w: i for i, w in enumerate(words)}
    u = unit(np.asarray(vectors, dtype=np.float64))
    kept = [(index[a], index[b], s) for a, b, s in pairs if a in index and b in index]
    if len(kept) < 3:
        return {"rho": None, "pairs": len(kept), "total": len(pairs)}
    cos = np.array([u[a] @ u[b] for a, b, _ in kept])
    human = np.array([s for _, _, s in kept])
    rho = float(np.corrcoef(ranks(cos), ranks(human))[0, 1])
    return {"rho": rho, "pairs": len(kept), "total": len(pairs)}


def evaluate(vectors: np.ndarray, words: list[str], show: list[str], k: int = 8) -> dict:
    """Every report on one set of vectors: neighbours of ``show`` (those in the vocabulary), the
    accuracy on both analogy sets and the rho on both similarity sets (when gensim's data is there)."""
    out = {"neighbours": {w: neighbours(vectors, words, w, k) for w in show if w in set(words)}}
    out["analogies_kjv"] = analogy_accuracy(vectors, words, read_questions(OURS))
    if (path := gensim_data("questions-words.txt")) is not None:
        out["analogies_google"] = analogy_accuracy(vectors, words, read_questions(path))
    for name, file in SIMILARITY.items():
        if (path := gensim_data(file)) is not None:
            out[name] = similarity_rho(vectors, words, read_similarity(path))
    return out
