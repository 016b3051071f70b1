"""Held-out seeds, checked: a reported row never shares seeds (or, for the char model, a text) with what
its settings were tuned on (``tuned_on`` in ``gymlab/hyperparams/<agent>.yml``, ``sequence_tasks/tuned_on.py``).

``check(flags, seeds)``: the seeds of a ``train.py FLAGS`` row its entry was tuned on. ``label``: the
harness's verdict on a row (refused in one line, exit 2, unless ``--allow-tuning-seeds``, which marks
the row ``"on_tuning_seeds": true``). ``findings(payload)``: a results JSON's rows on tuning seeds or
texts, and its rows that do not say which seeds they ran. Where an entry's seeds were not recorded
(or a row runs a user's file, ``--hyperparams``), every seed below the report seeds (1000) counts as
one it may have been tuned on: the convention is that tuning used those.

A recipe travels as flags too: a row whose settings (its env's entry, then its flags) hold every
setting of another entry of its agent (``benchmarks/memory.py``'s controls run one entry's recipe on
another env) is checked against that entry's tuning seeds as well (``transplanted``).
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


def _tuning(agent, env, args: argparse.Namespace, flags: list[str] = ()) -> set[int] | None:
    """The tuning seeds of the entry a row runs, and of every entry whose recipe its ``flags`` give
    (``transplanted``); None (every seed below 1000) when the flags do not name one, or run a user's file
    (``--hyperparams``), which our records do not cover, or when one of those entries has no record."""
    from gymlab.agents.hyperparams import TABLE, tuning_seeds
    from gymlab.flags import parse_env_kwargs

    if not (agent and env) or args.hyperparams:
        return None
    kwargs = parse_env_kwargs(args.env_kwargs)
    records = [tuning_seeds(agent, env, kwargs)] + [TABLE[agent][key]["tuned_on"]["seeds"]
                                                   for key in transplanted(agent, env, kwargs, flags)]
    return None if any(r is None for r in records) else set().union(*records)


def given(flags: list[str]) -> dict:
    """The settings ``flags`` give, by field: ``--hidden 64,64`` -> ``{"hidden": "64,64"}``, ``--dueling``
    -> True, ``--no-dueling`` -> False (values as typed; the last of a flag given twice)."""
    out = {}
    for i, word in enumerate(flags):
        if not word.startswith("--"):
            continue
        name, eq, text = word[2:].partition("=")
        value = text if eq else flags[i + 1] if i + 1 < len(flags) and not flags[i + 1].startswith("--") else None
        if value is None and name.startswith("no-"):
            name, value = name[3:], False
        out[name.replace("-", "_")] = True if value is None else value
    return out


def _same(value, typed) -> bool:
    """Whether a setting typed on the command line (``typed``: text, or a switch's bool) is ``value``."""
    if isinstance(value, bool) or isinstance(typed, bool):
        return typed is value
    try:
        if isinstance(value, (tuple, list)):
            return tuple(float(v) for v in typed.split(",") if v.strip()) == tuple(map(float, value))
        if isinstance(value, (int, float)):
            return float(typed) == float(value)
    except ValueError:
        return False
    return str(typed) == str(value)


def transplanted(agent: str, env: str, env_kwargs: dict, flags: list[str]) -> list[str]:
    """The entries of ``agent``'s table whose every setting (budget aside; at least one) a row on ``env``
    holds, its own entry's settings laid under its ``flags``: the recipes it runs, by name or by flags."""
    from gymlab.agents.hyperparams import BUDGET_KEYS, TABLE, defaults

    typed = given(flags)
    own = defaults(agent, env, env_kwargs, policy=typed.get("policy"))[0]
    row = {**own, **typed}
    found = []
    for key, entry in TABLE.get(agent, {}).items():
        settings = {k: v for k, v in entry.items() if k not in (*BUDGET_KEYS, "tuned_on", "env_kwargs")}
        if settings and all(k in row and (_same(v, row[k]) if k in typed else row[k] == v) for k, v in settings.items()):
            found.append(key)
    return found


def check(flags: list[str], seeds) -> set[int]:
    """The seeds among ``seeds`` that the entry ``train.py FLAGS`` runs with (or a recipe its flags give)
    was tuned on."""
    args = _parse(flags)
    return _within(seeds, _tuning(args.agent, args.env, args, flags))


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
        return f"{agent} on {env}", _within(seeds, _tuning(agent, env, args, words)), []
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
