"""Held-out seeds, checked: a reported row never shares seeds (or, for the char model, a text) with what
its settings were tuned on (``tuned_on`` in ``gymlab/hyperparams/<agent>.yml``, ``sequence_tasks/tuned_on.py``).

``check(flags, seeds)``: the seeds of a ``train.py FLAGS`` row its entry was tuned on. ``label``: the
harness's verdict on a row (refused in one line, exit 2, unless ``--allow-tuning-seeds``, which marks
the row ``"on_tuning_seeds": true``). ``findings(payload)``: a results JSON's rows on tuning seeds or
texts, and its rows that do not say which seeds they ran. Where an entry's seeds were not recorded
(or a row runs a user's file, ``--hyperparams``), every seed below the report seeds (1000) counts as
one it may have been tuned on: the convention is that tuning used those.
"""

from __future__ import annotations

import argparse
import shlex
import sys

# A row reports a learned figure when it carries one of these (a speed row is not scored on seeds).
FIGURES = ("iqm", "figures", "returns", "statistics", "final_eval", "summary", "test_bits_per_char")


def _parse(flags: list[str]) -> argparse.Namespace:
    """What the flags name; flags argparse cannot read (``--env-kwargs`` with no value) name nothing,
    so the row counts as unknown (every seed below 1000 a tuning seed), never a usage screen."""
    p = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    for name in ("--env", "--agent", "--seeds", "--seed", "--text", "--hyperparams"):
        p.add_argument(name)
    p.add_argument("--env-kwargs", nargs="+")
    try:
        return p.parse_known_args(flags)[0]
    except argparse.ArgumentError:
        return argparse.Namespace(env=None, agent=None, seeds=None, seed=None, text=None, env_kwargs=None,
                                  hyperparams=None)


def _within(seeds, tuning: set[int] | None) -> set[int]:
    from benchmarks._common import REPORT_SEED_START

    return {s for s in seeds if (s < REPORT_SEED_START if tuning is None else s in tuning)}


def _tuning(agent, env, args: argparse.Namespace) -> set[int] | None:
    """The tuning seeds of the entry a row runs; None (every seed below 1000) when the flags do not name one,
    or run a user's file (``--hyperparams``), which our records do not cover."""
    from gymlab.agents.hyperparams import tuning_seeds
    from gymlab.flags import parse_env_kwargs

    return tuning_seeds(agent, env, parse_env_kwargs(args.env_kwargs)) if agent and env and not args.hyperparams \
        else None


def check(flags: list[str], seeds) -> set[int]:
    """The seeds among ``seeds`` that the entry ``train.py FLAGS`` runs with was tuned on."""
    args = _parse(flags)
    return _within(seeds, _tuning(args.agent, args.env, args))


def label(flags: list[str], seeds, allow: bool = False) -> dict:
    """``{"on_tuning_seeds": ...}`` for a row's stamp; a row on tuning seeds is refused (one line on
    stderr, exit 2) unless ``allow``, and then says which."""
    return _verdict(f"train.py {' '.join(flags)}", "its entry", "gymlab/hyperparams/<agent>.yml", check(flags, seeds),
                    allow)


def label_task(name: str, seeds, allow: bool = False) -> dict:
    """``label`` for ``python -m sequence_tasks NAME`` on ``seeds``: its recipe's tuning seeds are
    ``sequence_tasks/tuned_on.py``'s (not recorded: every seed below 1000)."""
    from gymlab.sequence_tasks.tuned_on import TUNED_ON

    record = TUNED_ON.get(name, {}).get("seeds")
    overlap = _within(seeds, None if record is None else set(record))
    return _verdict(f"sequence_tasks {name}", "its recipe", "sequence_tasks/tuned_on.py", overlap, allow)


def _verdict(what: str, whose: str, where: str, overlap, allow: bool) -> dict:
    overlap = sorted(overlap)
    if overlap and not allow:
        print(f"refused: {what} on seeds {', '.join(map(str, overlap))}, which {whose} was tuned on ({where}); "
              f"report on seeds 1000 and up, or give --allow-tuning-seeds to keep the row marked on_tuning_seeds",
              file=sys.stderr)
        raise SystemExit(2)
    return {"on_tuning_seeds": bool(overlap), **({"tuning_seed_overlap": overlap} if overlap else {})}


def _row_seeds(row: dict, args: argparse.Namespace, payload: dict) -> list[int] | None:
    from gymlab.flags import seed_list

    if isinstance(row.get("seeds"), list):
        return row["seeds"]
    if args.seeds:
        return seed_list(args.seeds)
    if args.seed is not None and args.seed.isdigit():
        return [int(args.seed)]
    if isinstance(payload.get("seeds"), list):  # a file that is one row, or its rows' shared seeds
        return payload["seeds"]
    return None


def _row_overlap(row: dict, payload: dict) -> tuple[str, set, list] | None:
    """``(what, seeds on tuning seeds, texts tuned on)`` for a row, or None when it does not say what
    ran on which seeds."""
    from gymlab.sequence_tasks.tuned_on import TUNED_ON

    words = shlex.split(row.get("command") or payload.get("command") or "")
    args = _parse(words)
    if "train.py" in " ".join(words[:2]) or (row.get("agent") and row.get("env")):
        agent, env = args.agent or row.get("agent"), args.env or row.get("env")
        seeds = _row_seeds(row, args, payload) if (row.get("seeds") or args.seeds or args.seed) else (
            [0] if "train.py" in " ".join(words[:2]) else None)  # train.py's default --seed is 0
        if seeds is None or not (agent and env):
            return None
        return f"{agent} on {env}", _within(seeds, _tuning(agent, env, args)), []
    if "sequence_tasks" in words or row.get("task") in TUNED_ON:  # a sequence_tasks command, or a row of them
        name = row.get("task") or words[words.index("sequence_tasks") + 1]
        record = TUNED_ON.get(name, dict(seeds=None, texts=()))
        seeds = row["seeds"] if isinstance(row.get("seeds"), list) else (
            [int(args.seed)] if args.seed and args.seed.isdigit() else [0])  # its default --seed is 0
        text = args.text or "bundled sonnets"
        return name, _within(seeds, None if record["seeds"] is None else set(record["seeds"])), \
            [t for t in record["texts"] if t == text]
    return None


def findings(payload: dict) -> tuple[list[str], list[str]]:
    """``(rows on tuning seeds or texts, rows that do not say their seeds)`` of a results JSON, each
    named ``row I`` (a file without ``rows`` or ``runs`` is one row, ``row 0``)."""
    rows = next((payload[k] for k in ("rows", "runs") if isinstance(payload.get(k), list)), [payload])
    on, unknown = [], []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not any(k in row for k in FIGURES):
            continue
        found = _row_overlap(row, payload if row is not payload else {})
        if found is None:
            unknown.append(f"row {i}")
            continue
        what, seeds, texts = found
        parts = ([f"seeds {sorted(seeds)}"] if seeds else []) + ([f"texts {texts}"] if texts else [])
        if parts or row.get("on_tuning_seeds"):
            on.append(f"row {i}: {' and '.join(parts) or 'on_tuning_seeds'} of {what}")
    return on, unknown
