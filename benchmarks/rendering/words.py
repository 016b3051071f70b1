"""The word-vectors block: our word2vec (skip-gram, negative sampling) against gensim's, per seed.

Fields read: ``words.json``: ``tolerance``, ``summary`` and ``rows``, each row: ``seed``, ``quick``,
``corpus_words``, ``settings`` and ``ours``/``gensim`` with ``analogies_kjv_accuracy``,
``analogies_google_accuracy``, ``wordsim353_rho``, ``simlex999_rho`` (None when no item of the set is in the
vocabulary), their ``*_n`` counts and ``words_per_s``; and every row's stamp.
"""

from __future__ import annotations

from .rules import blocks, busy, not_measured, provenance, split, table, timed

WORDS_COMMAND = "python benchmarks/words.py"
CORPUS = {"kjv": "the King James Bible", "sonnets": "the sonnets"}
METRICS = ("analogies_kjv_accuracy", "analogies_google_accuracy", "wordsim353_rho", "simlex999_rho")


def _n(x) -> str:
    return f"{x:,}" if isinstance(x, int) else "-"


def _f(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def words(d: dict) -> str:
    """Per seed: both analogy accuracies, wordsim353's rho and words per second, ours beside gensim's;
    then the means and ours over gensim's against the tolerance."""
    good, _ = split([r for r in d.get("rows", []) if not r.get("quick")])
    if not good or d.get("quick"):
        return not_measured(WORDS_COMMAND)
    lines = [[str(r["seed"]), *[f"{_f(r['ours'].get(k))} / {_f(r['gensim'].get(k))}" for k in METRICS],
              timed(f"{r['ours']['words_per_s']:,.0f} / {r['gensim']['words_per_s']:,.0f}", busy(r.get("load")))]
             for r in good]
    headers = ["seed", "analogies, KJV set (ours / gensim)", "analogies, questions-words in vocabulary",
               "wordsim353 rho", "SimLex-999 rho", "words/s (ours / gensim)"]
    r0 = good[0]
    corpus = CORPUS.get(r0["settings"]["corpus"], r0["settings"]["corpus"])
    sizes = (f"{r0['corpus_words']:,} words of {corpus}; analogy questions in the vocabulary: "
             f"{_n(r0['ours'].get('analogies_kjv_n'))} of the KJV set, "
             f"{_n(r0['ours'].get('analogies_google_n'))} of questions-words; wordsim353 pairs: "
             f"{_n(r0['ours'].get('wordsim353_n'))}, SimLex-999 pairs: {_n(r0['ours'].get('simlex999_n'))}.")
    tol = d.get("tolerance", 0.1)
    verdict = "; ".join(f"{k}: mean {_f(v['ours'])} / {_f(v['gensim'])}, ratio {_f(v['ratio'])} "
                        f"({'within' if v['within'] else 'not within'} {tol:.0%})"
                        for k, v in d.get("summary", {}).items())
    return blocks(table(headers, lines, "lrrrrr"), sizes, verdict, provenance(good, d.get("command"), d.get("commit")))
