"""``--search optuna``: a sweep whose settings Optuna proposes (Ray Tune's ``OptunaSearch``), then
the best one re-measured on report seeds the search never used.

    python train.py --env CartPole-v1 --agent dqn --steps 50000 --search optuna --samples 12 \\
        --space learning_rate=loguniform:1e-4:1e-2 n_step=int:1:5 gamma=choice:0.95,0.99

- ``--space FIELD=KIND:...`` per field of the agent's Config: ``loguniform:LO:HI`` and
  ``uniform:LO:HI`` (a float field), ``int:LO:HI`` (an int field, both ends included),
  ``choice:A,B,C`` (any field; sizes apart by ``/``, as ``--grid``). Every end and choice is
  checked by the agent's Config before Ray starts (one line, exit 2).
- Each of the ``--samples`` trials trains one sampled setting on the tuning seed ``--seed``
  (below 1000: issue 24's rule) and is scored by its final greedy evaluation, which Optuna's TPE
  sampler (seeded by ``--seed``) maximises; ``--scheduler asha`` stops unpromising trials early,
  as for a grid.
- The study lives in Tune's searcher checkpoint in ``RUN_DIR/tune/`` (Optuna's study, pickled by
  Tune with every trial it told): ``train.py --resume RUN_DIR`` goes on with the same study and the
  trials it already proposed, and proposes only the samples still missing.
- Then, automatically, the best setting is re-measured as a separate sweep in
  ``RUN_DIR/remeasure/`` on ``--remeasure-seeds`` (default 1000-1009: report seeds, none of the
  search's), every seed to the end (no ASHA): the figure to quote, in ``report.md`` and
  ``sweep.json`` (``remeasure``). A search's own best score is biased upward (it is the best of
  many noisy tries); the re-measure is not.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing

from gymlab.cli import UsageError
from gymlab.flags import REPORT_SEED_START

KINDS = ("loguniform", "uniform", "int", "choice")
SAMPLES = 12  # --samples' default: settings a search tries
REMEASURE_SEEDS = list(range(REPORT_SEED_START, REPORT_SEED_START + 10))  # report seeds: never a tuning seed
INSTALL = 'pip install "ray[tune]" optuna  (or: pip install -e ".[search]")'


def require_optuna():
    try:
        import optuna  # noqa: F401
    except ImportError as err:
        raise UsageError(f"--search optuna needs Optuna, which is not installed: {INSTALL}") from err


def parse_space(items: list[str] | None, agent_cls) -> dict[str, dict]:
    """``["learning_rate=loguniform:1e-4:1e-2", "n_step=int:1:5"]`` -> ``{"learning_rate":
    {"kind": "loguniform", "low": 0.0001, "high": 0.01}, "n_step": {"kind": "int", "low": 1,
    "high": 5}}``; choices as ``{"kind": "choice", "values": [...]}``, read as the field's flag."""
    from gymlab.cli import number
    from gymlab.flags import _boolean, _sizes

    hints = typing.get_type_hints(agent_cls.Config)
    fields = sorted(f.name for f in dataclasses.fields(agent_cls.Config))
    space = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        name = key.strip().lstrip("-").replace("-", "_")
        kind, _, rest = text.partition(":")
        if not sep or name not in fields:
            raise UsageError(f"--space takes FIELD=KIND:... for fields of agent {agent_cls.name!r} ("
                             + ", ".join(fields) + f"), got {item!r}")
        if name in space:
            raise UsageError(f"--space gives {name} twice")
        if kind not in KINDS:
            raise UsageError(f"--space {item}: the kind must be one of {', '.join(KINDS)} (e.g. "
                             f"learning_rate=loguniform:1e-4:1e-2, n_step=int:1:5, gamma=choice:0.9,0.99)")
        field_type = hints[name]
        if kind == "choice":
            if typing.get_origin(field_type) is tuple:
                parse_one, parts = _sizes(typing.get_args(field_type)[0]), rest.split("/")
            else:
                parse_one = _boolean if field_type is bool else number(field_type) if field_type in (int, float) \
                    else field_type
                parts = rest.split(",")
            try:
                values = [parse_one(p.strip()) for p in parts if p.strip()]
            except (argparse.ArgumentTypeError, ValueError) as err:
                raise UsageError(f"--space {item}: {err}") from err
            if not values or len(set(map(str, values))) != len(values):
                raise UsageError(f"--space {item}: choice needs one or more distinct values")
            space[name] = {"kind": "choice", "values": values}
            continue
        want = int if kind == "int" else float
        if field_type is not want:
            raise UsageError(f"--space {item}: {name} is a{'n' * (field_type is int)} "
                             f"{getattr(field_type, '__name__', field_type)} field; {kind} samples "
                             f"{'whole numbers' if want is int else 'floats'} (choice:... takes any values)")
        ends = rest.split(":")
        try:
            low, high = (number(want)(e.strip()) for e in ends) if len(ends) == 2 else (None, None)
        except argparse.ArgumentTypeError as err:
            raise UsageError(f"--space {item}: {err}") from err
        if low is None:
            raise UsageError(f"--space {item}: {kind} takes LOW:HIGH, e.g. {name}={kind}:"
                             + ("1:5" if want is int else "1e-4:1e-2"))
        if not low < high:
            raise UsageError(f"--space {item}: LOW must be below HIGH")
        if kind == "loguniform" and low <= 0:
            raise UsageError(f"--space {item}: loguniform needs LOW > 0")
        space[name] = {"kind": kind, "low": low, "high": high}
    if not space:
        raise UsageError("--search optuna needs a --space, e.g. --space learning_rate=loguniform:1e-4:1e-2")
    return space


def corners(space: dict[str, dict]) -> dict[str, dict]:
    """Settings that between them hold every end and every choice of the space (for checking by
    the agent's Config before anything runs): ``{name: values}``."""
    out = {}
    longest = max(2 if s["kind"] != "choice" else len(s["values"]) for s in space.values())
    for i in range(longest):
        values = {k: (s["values"][min(i, len(s["values"]) - 1)] if s["kind"] == "choice"
                      else (s["low"], s["high"])[min(i, 1)]) for k, s in space.items()}
        out[setting_name(values)] = values
    return out


def tune_space(space: dict[str, dict]) -> dict:
    """The space as Ray Tune's domains (which ``OptunaSearch`` turns into Optuna's distributions);
    a choice as the text of its values (Optuna's categories are plain scalars)."""
    from ray import tune

    from gymlab.sweep import _text

    out = {}
    for name, s in space.items():
        if s["kind"] == "loguniform":
            out[name] = tune.loguniform(s["low"], s["high"])
        elif s["kind"] == "uniform":
            out[name] = tune.uniform(s["low"], s["high"])
        elif s["kind"] == "int":
            out[name] = tune.randint(s["low"], s["high"] + 1)  # (Tune's upper end is excluded)
        else:
            out[name] = tune.choice([_text(v) for v in s["values"]])
    return out


def decode(space: dict[str, dict], sampled: dict) -> dict:
    """A sampled point as the Config's values (a choice's text back to its value)."""
    from gymlab.sweep import _text

    out = {}
    for name, value in sampled.items():
        s = space[name]
        if s["kind"] == "choice":
            out[name] = next(v for v in s["values"] if _text(v) == value)
        else:
            out[name] = int(value) if s["kind"] == "int" else float(value)
    return out


def setting_name(values: dict) -> str:
    """A setting's name, as ``gymlab.sweep.settings`` names a grid's (so the re-measure's one
    setting has the same name)."""
    from gymlab.sweep import settings

    return next(iter(settings({k: [v] for k, v in values.items()})))


def searcher(cfg):
    """Ray Tune's Optuna searcher (TPE, seeded by the tuning seed), maximising the final return."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # (its line per trial: the report has them)
    return OptunaSearch(metric="eval_return", mode="max", seed=cfg.seeds[0])


def remeasure_config(cfg, values: dict, run_dir):
    """The re-measure of the best setting ``values``: a grid of that one setting on the report
    seeds, in ``RUN_DIR/remeasure/``, every seed to its end."""
    return dataclasses.replace(cfg, seeds=list(cfg.remeasure_seeds), grid={k: [v] for k, v in values.items()},
                               run_dir=run_dir / "remeasure", scheduler=None, search=None, space={},
                               samples=0, remeasure_seeds=[])


def remeasure_lines(setting: str, sub_dir: str, seeds: list[int], stats_entry: dict | None, counts: dict,
                    threshold) -> list[str]:
    """report.md's closing section: the best setting's figure on the report seeds."""
    from gymlab import stats
    from gymlab.sweep_report import _seeds

    lines = ["", f"## Re-measured: {setting}", "",
             f"The search's best setting, trained again as a separate sweep ({sub_dir}/) on report seeds "
             f"{_seeds(seeds)}, none of which the search used; every seed to the end. This is the figure to "
             "quote (the search's own best score is the best of many noisy tries: biased upward).", ""]
    if stats_entry is None:
        return lines + [f"No seed finished ({counts['failed']} failed, {counts['unfinished']} unfinished)."]
    lines.append(f"- IQM {stats.format_iqm(stats_entry)}; mean {stats_entry['mean']:.4g}, median "
                 f"{stats_entry['median']:.4g}; {counts['finished']} of {len(seeds)} seeds finished"
                 + (f", {counts['failed']} failed" if counts["failed"] else ""))
    if threshold is not None and "solved_fraction" in stats_entry:
        lines.append(f"- solved (>= {threshold:g}): {stats_entry['solved_fraction']:.0%}")
    return lines
