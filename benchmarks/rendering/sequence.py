"""The lecture's sequence experiments: ``sine`` against the lecture's code (``benchmarks/sine_vs_lecture.py``)
and ``cosine``'s validation MSE (``benchmarks/cosine_seeds.py``), each over held-out seeds.

Fields read: ``sine_vs_lecture.json``'s ``quick``, ``seeds``, ``speed`` (``busy``), ``evaluation_costs``
(``evaluation``, ``seconds``, ``seconds_per_round``) and rows: ``run``, ``precision``, ``seeds``,
``test_mse``, ``lecture_test_mse``, ``forecast_mse``, ``train_s`` (each ``gymlab.stats.describe``),
``to_threshold`` (``gymlab.stats.time_to_threshold``), ``on_tuning_seeds``, ``quick``;
``cosine_seeds.json``'s ``quick`` and rows: ``seeds``, ``val_mse``, ``best_mse``, ``worst_mse``,
``on_tuning_seeds``, ``quick``; and every row's stamp. Until stamped rows that are not ``--quick``
exist, a block is the line naming its command.
"""

from __future__ import annotations

from .rules import blocks, not_measured, num, provenance, spread_with_values, split, table, timed

SINE_COMMAND = "python benchmarks/sine_vs_lecture.py"
COSINE_COMMAND = "python benchmarks/cosine_seeds.py"


def _figures(d: dict) -> list[dict]:
    good, _ = split([r for r in d.get("rows", []) if not r.get("quick") and not d.get("quick")])
    return good


def _seeds(seeds: list[int]) -> str:
    seeds = list(seeds)
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return ",".join(map(str, seeds))


def _spread(d: dict) -> str:
    """Every seed's value and the range with n below 10 seeds, else the IQM and its interval."""
    return spread_with_values(d["values"], d["iqm"], d["iqm_ci"])


def _reached(t: dict, busy: bool) -> str:
    m = t["median_wall_s"]
    median = f"median {m:.3g} s" if m is not None else "median beyond the budget"
    return f"{t['reached']} of {t['n']} reached; " + timed(median, busy) + (
        f" ({t['censored']} censored at {t['budget']})" if t["censored"] else "")


def sine_tables(d: dict, rows: list[dict] | None = None) -> str:
    """The evaluation costs and the training rows of a ``sine_vs_lecture.py`` payload (``--quick``'s too)."""
    rows = d["rows"] if rows is None else rows
    busy = bool(d["speed"]["busy"])
    costs = d.get("evaluation_costs") or []
    parts = []
    if costs:
        base = costs[0]["seconds"]
        parts.append(table(["one loss-and-gradient evaluation (1 thread)", "seconds (median of rounds)",
                            "the loop's time / this"],
                           [[c["evaluation"], timed(f"{c['seconds']:.3g} ({len(c['seconds_per_round'])} rounds)", busy),
                             f"{base / c['seconds']:.1f}x"] for c in costs], "lrr"))
    lines = [[r["run"] + (" (tuning seeds)" if r.get("on_tuning_seeds") else ""), r["precision"],
              _spread(r["test_mse"]), _spread(r["lecture_test_mse"]), _spread(r["forecast_mse"]),
              timed(f"median {num(r['train_s']['median'])}", busy), _reached(r["to_threshold"], busy)] for r in rows]
    threshold = rows[0]["to_threshold"]["threshold"] if rows else 1e-5
    parts.append(table(["run (each row adds one change)", "precision", "test MSE, fresh waves",
                        "test MSE, the lecture's 3 waves", "forecast MSE", "training s",
                        f"training s to test MSE <= {threshold:g}"], lines, "llrrrrr"))
    return blocks(*parts)


def sine(d: dict) -> str:
    """Each row over the seeds: its MSEs (every seed's value below 10 seeds, an interval from 10),
    its training time and its time to the threshold (censored runs counted)."""
    good = _figures(d)
    if not good:
        return not_measured(SINE_COMMAND)
    seeds = good[0]["seeds"]
    busy = bool(d["speed"]["busy"])
    said = (f"Seeds {_seeds(seeds)} ({len(seeds)} seeds), each row run on every seed from that seed's data and "
            f"initial weights, one thread; timed on a {'busy machine (other work ran: not a speed figure)' if busy else 'idle machine'}, "
            f"the rows interleaved, their order reversed from seed to seed.")
    return blocks(said, sine_tables(d, good), provenance(good, d.get("command"), d.get("commit")))


def cosine(d: dict) -> str:
    """The validation MSE (100 steps read, 900 run free) over the seeds: every seed's value below 10, an
    interval from 10; the best and worst wave's."""
    good = _figures(d)
    if not good:
        return not_measured(COSINE_COMMAND)
    lines = [[_seeds(r["seeds"]) + (" (tuning seeds)" if r.get("on_tuning_seeds") else ""), _spread(r["val_mse"]),
              _spread(r["best_mse"]), _spread(r["worst_mse"])] for r in good]
    return blocks(table(["seeds", "validation MSE", "best wave's MSE", "worst wave's MSE"], lines,
                        "lrrr"), provenance(good, d.get("command"), d.get("commit")))
