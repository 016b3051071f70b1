"""The word-vectors block: our word2vec (skip-gram, negative sampling) against gensim's, per seed.

Fields read: ``words.json``: ``tolerance``, ``summary`` and ``rows``, each row: ``seed``, ``quick``,
``corpus_words``, ``settings`` and ``ours``/``gensim`` with ``analogies_kjv_accuracy``,
``analogies_google_accuracy``, ``wordsim353_rho``, ``simlex999_rho`` (None when no item of the set is in the
vocabulary), their ``*_n`` counts, ``words_per_s`` and ``kept_words_per_s``; every row's stamp; and
``timed`` (what both timers cover) and ``differs_from_gensim`` (the settings that still differ).
"""

from __future__ import annotations

from .rules import blocks, busy, not_measured, provenance, split, table, timed

WORDS_COMMAND = "python benchmarks/words.py"
CORPUS = {"kjv": "the King James Bible", "sonnets": "the sonnets"}
METRICS = ("analogies_kjv_accuracy", "analogies_google_accuracy", "wordsim353_rho", "simlex999_rho")


def _n(x) -> str:
    return f"{x:,}" if isinstance(x, int) else "-"


def _speed(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _f(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def words(d: dict) -> str:
    """Per seed: both analogy accuracies, both similarity rhos, words and words kept per second, ours
    beside gensim's; then what was timed, what differs from gensim, and the means against the tolerance."""
    good, _ = split([r for r in d.get("rows", []) if not r.get("quick")])
    if not good or d.get("quick"):
        return not_measured(WORDS_COMMAND)
    lines = [[str(r["seed"]), *[f"{_f(r['ours'].get(k))} / {_f(r['gensim'].get(k))}" for k in METRICS],
              *[timed(f"{_speed(r['ours'].get(k))} / {_speed(r['gensim'].get(k))}", busy(r.get("load")))
                for k in ("words_per_s", "kept_words_per_s")]] for r in good]
    headers = ["seed", "analogies, KJV set (ours / gensim)", "analogies, questions-words in vocabulary",
               "wordsim353 rho", "SimLex-999 rho", "words/s (ours / gensim)", "words kept/s (ours / gensim)"]
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
    timing = f"Timed: {d['timed']}." if d.get("timed") else ""
    differs = ("Differs from gensim at the same settings: " + "; ".join(d["differs_from_gensim"]) + "."
               if d.get("differs_from_gensim") else "")
    return blocks(table(headers, lines, "lrrrrrr"), sizes, timing, differs, verdict,
                  provenance(good, d.get("command"), d.get("commit")))
