"""The chars block: min-char-rnn, our char model and the fixed-window LMs on held-out texts, each
trained for the same time (``benchmarks/chars_vs_minchar.py``).

Fields read: ``chars_vs_minchar.json``'s ``seconds``, ``quick`` and rows: ``text``, ``model``,
``description``, ``seed``, ``test_bits_per_char``, ``train_bits_per_char``, ``chars_per_s``,
``best_chars_trained``, ``chars_trained``, ``on_tuning_text``, ``quick``; and every row's stamp.
Until stamped rows that are not ``--quick`` exist, the block is the line naming the command.
"""

from __future__ import annotations

from .rules import blocks, busy, not_measured, provenance, split, spread_with_values, table, timed

CHARS_COMMAND = "python benchmarks/chars_vs_minchar.py --seconds 240"


def chars(d: dict) -> str:
    """Per text and model, in the order measured: the test tenth's bits/char over seeds (every
    seed's value; an interval from 10), the training part's, and the characters trained a second."""
    good, _ = split([r for r in d.get("rows", []) if not r.get("quick") and not d.get("quick")])
    if not good:
        return not_measured(CHARS_COMMAND)
    groups: dict[tuple, list[dict]] = {}
    for r in good:
        groups.setdefault((r["text"], r["model"]), []).append(r)
    lines = []
    for (text, model), rows in groups.items():
        speeds = sorted(r["chars_per_s"] for r in rows)
        lines.append([text + (" (tuned on)" if any(r.get("on_tuning_text") for r in rows) else ""),
                      rows[0]["description"], ", ".join(str(r["seed"]) for r in rows),
                      spread_with_values([r["test_bits_per_char"] for r in rows]),
                      spread_with_values([r["train_bits_per_char"] for r in rows]),
                      timed(f"{speeds[len(speeds) // 2]:,.0f}", any(busy(r.get("load")) for r in rows))])
    headers = ["text", "model", "seeds", "test (last tenth) bits/char", "train (first 8/10) bits/char",
               "chars/s (median)"]
    said = (f"Each model trained {d['seconds']:g} s, kept weights the best on the ninth tenth, every part scored "
            f"by `chars.bits_per_char`.")
    return blocks(said, table(headers, lines, "lllrrr"), provenance(good, d.get("command"), d.get("commit")))
