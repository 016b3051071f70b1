"""What every benchmark shares: a side-by-side table on stdout, and the same rows as JSON.

Every results JSON says where its numbers come from: ``write_json`` stamps the whole file with
the commit (and whether the tree had uncommitted changes), the command that ran and the time;
``provenance(command)`` gives the same stamp for one row, for files whose rows come from
different commands or runs (``merge_rows`` keeps earlier rows, each with its own stamp).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    return str(v)


ROOT = Path(__file__).resolve().parents[1]
# One rule for every stamp, the sweeps' too: gymlab/provenance.py (commit, command, time, machine, load).
from gymlab.provenance import config_hash, load, provenance, this_command  # noqa: E402,F401


from gymlab.flags import REPORT_SEED_START  # noqa: E402  (one convention: report_seeds(10) is 1000..1009)


def report_seeds(n: int) -> list[int]:
    return list(range(REPORT_SEED_START, REPORT_SEED_START + n))


def seeds_argument(text: str) -> list[int]:
    """A benchmark's ``--seeds``: a count means that many report seeds; a range or list is taken as it is."""
    from gymlab.flags import seed_list

    seeds = seed_list(text)
    return report_seeds(len(seeds)) if text.strip().isdigit() else seeds


seeds_argument.__name__ = "seeds"


def seeds_flag(seeds: list[int]) -> str:
    """``--seeds`` as a user types it: ``1000-1009`` for a run of seeds (``5-5`` for one), else a list."""
    seeds = list(seeds)
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def write_json(name: str, payload: dict, path: Path | None = None) -> Path:
    path = path or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, **provenance(), **payload}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def merge_rows(path: Path, rows: list[dict], key: str) -> list[dict]:
    """``rows`` after the rows already in ``path``'s ``"rows"`` whose ``key`` they do not measure
    again (a partial run, ``--only``, updates its own rows and keeps the others, each with its stamp)."""
    try:
        old = json.loads(Path(path).read_text()).get("rows", [])
    except (OSError, ValueError):
        old = []
    new = {r[key] for r in rows}
    return [r for r in old if r.get(key) not in new] + rows


def sweep(flags: list[str], seeds: list[int], run_dir: Path) -> tuple[dict, list[dict]]:
    """``python train.py FLAGS --seeds SEEDS --run-dir RUN_DIR``: one sweep on Ray Tune (the very
    command a user runs), its stdout kept off ours. Returns its ``sweep.json`` and, for each trial
    in seed order, the trial's own ``summary.json`` (``{}`` for a trial that did not finish)."""
    import contextlib

    sys.path.insert(0, str(ROOT))
    import train

    argv = [*flags, "--seeds", seeds_flag(seeds), "--run-dir", str(run_dir), "--no-progress"]
    with contextlib.redirect_stdout(sys.stderr):
        code = train.main(argv)
    if code != 0:
        raise SystemExit(f"python train.py {' '.join(argv)} exited {code}")
    report = json.loads((Path(run_dir) / "sweep.json").read_text())
    summaries = []
    for trial in sorted(report["trials"], key=lambda t: t["seed"]):
        try:
            summaries.append(json.loads((Path(run_dir) / trial["run_dir"] / "summary.json").read_text()))
        except (OSError, ValueError):
            summaries.append({})
    return report, summaries


def sweep_command(flags: list[str], seeds: list[int]) -> str:
    return "python train.py " + " ".join(flags) + f" --seeds {seeds_flag(seeds)}"


def config_hashes(flags: list[str]) -> dict[str, str]:
    """For each setting of ``python train.py FLAGS``, the sha256 of the config its trials would
    resolve to now (``gymlab.resolved``: the hyper-parameters table's entry, the flags over it),
    as ``gymlab.provenance.config_hash`` of their summary.json would say it; nothing is trained."""
    import dataclasses

    sys.path.insert(0, str(ROOT))
    import train
    from gymlab import resolved
    from gymlab.flags import parse_grid
    from gymlab.sweep import settings

    args, agent_cls, _ = train.parse(list(flags))
    base = train.config(args, agent_cls)
    return {name: config_hash(resolved.identity(dataclasses.replace(base, overrides={**base.overrides, **values})))
            for name, values in settings(parse_grid(args.grid, agent_cls)).items()}


def measured_configs(report: dict, summaries: list[dict]) -> list[dict]:
    """Each trial's setting, seed and the sha256 of the config it ran with (its summary.json's)."""
    trials = sorted(report["trials"], key=lambda t: t["seed"])
    return [{"setting": t.get("setting", "defaults"), "seed": t["seed"], "config_sha256": config_hash(s) if s else None}
            for t, s in zip(trials, summaries)]


def swept(flags: list[str], seeds: list[int], where: Path):
    """A row this work dir has already swept with these flags and seeds, every trial with the config
    it would resolve to now: ``(sweep.json, summaries, stamp)``, ``stamp`` being the one written when
    the sweep was measured; else None (a config changed since is said on stderr)."""
    try:
        report = json.loads((where / "sweep.json").read_text())
        row = json.loads((where / "row.json").read_text())
    except (OSError, ValueError):
        return None
    if (row.get("flags"), row.get("seeds")) != (flags, list(seeds)) or "stamp" not in row \
            or any(t["status"] != "finished" for t in report["trials"]):
        return None
    try:
        summaries = [json.loads((where / t["run_dir"] / "summary.json").read_text())
                     for t in sorted(report["trials"], key=lambda t: t["seed"])]
    except (OSError, ValueError):  # a trial's summary gone or torn: measured again, not read back
        print(f"{where.name}: a trial's summary.json is missing or unreadable: measured again", file=sys.stderr)
        return None
    now = config_hashes(flags)
    measured = row.get("configs") or measured_configs(report, summaries)  # (a row.json from before the hashes)
    changed = sorted({c["setting"] for c in measured if c["config_sha256"] != now.get(c["setting"])})
    if changed:
        print(f"{where.name}: measured with another config than these flags resolve to now ({', '.join(changed)}: "
              f"the hyper-parameters table or a default changed since {row['stamp']['when']}): measured again",
              file=sys.stderr)
        return None
    print(f"{where.name}: read back ({len(summaries)} finished trials, measured {row['stamp']['when']})",
          file=sys.stderr)
    return report, summaries, row["stamp"]


def measured_sweep(flags: list[str], seeds: list[int], where: Path, allow_tuning_seeds: bool = False
                   ) -> tuple[dict, list[dict], dict]:
    """The sweep in ``where``, read back when it is there, finished, with these flags and seeds and the
    config they resolve to now (row.json keeps each trial's config hash), else run now (a sweep there
    before moved aside): ``(sweep.json, summaries, stamp)``. The stamp (commit, command, time, machine,
    load at the start and ``load_after``) is written when the sweep is measured and kept when read back.
    Seeds its entry was tuned on are refused, or with ``allow_tuning_seeds`` marked in the stamp
    (``benchmarks/heldout.py``)."""
    from benchmarks import heldout

    on_tuning = heldout.label(flags, seeds, allow_tuning_seeds)
    done = swept(flags, seeds, where)
    if done is not None:
        return (*done[:2], {**done[2], **on_tuning})
    if where.exists() and any(where.iterdir()):  # a sweep not to be read back: kept aside, not mixed in
        stem, n = f"{where.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}", 1
        aside = where.with_name(stem)
        while aside.exists():  # (two set aside within one second: both kept)
            n += 1
            aside = where.with_name(f"{stem}-{n}")
        where.rename(aside)
        print(f"{where.name}: the sweep there before is now {aside.name}", file=sys.stderr)
    stamp = {**provenance(sweep_command(flags, seeds)), **on_tuning}
    report, summaries = sweep(flags, seeds, where)
    stamp["load_after"] = load()
    (where / "row.json").write_text(json.dumps({"flags": flags, "seeds": list(seeds), "stamp": stamp,
                                                "configs": measured_configs(report, summaries)}))
    return report, summaries, stamp


def row_dir(env: str, label: str) -> str:
    """A row's sweep directory name: ``recall-reinforce--lstm-64``."""
    return env + "-" + "".join(c if c.isalnum() else "-" for c in label.lower()).strip("-")


def sweep_row(flags: list[str], seeds: list[int], where: Path, figure, *, threshold: float | None = None,
              allow_tuning_seeds: bool = False) -> dict:
    """One table row: the sweep ``python train.py FLAGS --seeds SEEDS`` in ``where`` (read back when
    it is already there, finished, with the same flags), each seed's greedy evaluation return turned
    into the row's ``figure``; its IQM over seeds with the 95% stratified-bootstrap interval from 10
    seeds up (else ``iqm_ci`` None: ``n`` and ``range`` and every seed's figure say it), the budget,
    the median training time a trial, and ``to_threshold``: env steps and wall seconds to the first
    periodic evaluation at or above ``threshold`` (default: the env's reward threshold; None without
    one), as ``gymlab.stats.time_to_threshold`` gives them."""
    import numpy as np

    from gymlab import stats

    report, summaries, stamp = measured_sweep(flags, seeds, where, allow_tuning_seeds)
    trials = sorted(report["trials"], key=lambda t: t["seed"])
    values = [figure(t["eval_return"]) for t in trials if t["status"] == "finished"]
    out = {"seeds": [t["seed"] for t in trials],
           "figures": [None if t["eval_return"] is None else figure(t["eval_return"]) for t in trials],
           "statuses": [t["status"] for t in trials], "steps": _budget_steps(summaries),
           "train_s_median": float(np.median([s["wall_time_s"] for s in summaries if s])) if values else None,
           "eval_env_kwargs": next((s.get("eval_env_kwargs", {}) for s in summaries if s), {}),
           **stamp}
    if values:
        d = stats.describe(values, seed=0)
        out.update(iqm=d["iqm"], iqm_ci=d["iqm_ci"], n=d["n"], range=d["range"])
    threshold = report.get("reward_threshold") if threshold is None else threshold
    out["to_threshold"] = None if threshold is None else stats.time_to_threshold(
        [t["periodic_eval"] for t in trials if t["status"] != "unfinished"], threshold, report.get("budget"))
    return out


def _budget_steps(summaries: list[dict]) -> int:
    """The sweep's budget in env steps, as configured (an episode can end past it); else the most
    env steps a run took (an --episodes budget)."""
    budgets = {(s.get("budget") or {}).get("steps") for s in summaries if s}
    if len(budgets) == 1 and None not in budgets:
        return int(budgets.pop())
    return max(s.get("env_steps", 0) for s in summaries)


def iqm_cell(res: dict) -> str:
    """``IQM [low, high]`` of a ``sweep_row``, or ``-`` when no seed finished."""
    if res.get("iqm") is None:
        return "-"
    if res.get("iqm_ci") is None:  # fewer than 10 seeds (gymlab.stats.MIN_RUNS_FOR_INTERVAL)
        low, high = res["range"]
        return f"{res['iqm']:.4g} (n = {res['n']}, no interval; range [{low:.4g}, {high:.4g}])"
    low, high = res["iqm_ci"]
    return f"{res['iqm']:.4g} [{low:.4g}, {high:.4g}]"


def seed_options(p, default: list[int], tuned_on: str, quick: str = "") -> None:
    """``--seeds`` (default ``default``, report seeds; ``quick``: what --quick takes instead) and
    ``--allow-tuning-seeds`` (``tuned_on``: which seeds the settings were tuned on), as every
    benchmark that reports learned figures has them."""
    p.add_argument("--seeds", type=seeds_argument, default=default, metavar="N|A-B|S,S",
                   help=f"a count N is the first N report seeds ({REPORT_SEED_START}..); or a range or list "
                        f"(default {seeds_flag(default)}{'; with --quick ' + quick if quick else ''})")
    p.add_argument("--allow-tuning-seeds", action="store_true",
                   help=f"run seeds {tuned_on}, marked on_tuning_seeds (else refused)")


def sweep_arguments(p, envs, seeds: int) -> None:
    """The options every table of sweeps shares: ``--only ENV``, ``--seeds N``, ``--steps``,
    ``--json`` and ``--work-dir``."""
    p.add_argument("--only", choices=sorted(envs), help="one env only")
    seed_options(p, report_seeds(seeds), "its entry was tuned on")
    p.add_argument("--steps", type=int, help="every row's budget (a quick look; default: each row's own)")
    p.add_argument("--json", type=Path)
    p.add_argument("--work-dir", type=Path, help="keep each row's sweep here, and read back rows already swept")


def recipe_of(agent: str, env: str) -> str:
    """Where a row's settings come from: the published recipe its table entry is, else the entry."""
    from gymlab.agents.hyperparams import PUBLISHED

    published = PUBLISHED.get((agent, _task(env)))
    return published[0] if published else f"agents/hyperparams.py's {agent} entry for {_task(env)}"


def differs_from_recipe(agent: str, env: str, steps: int | None = None) -> str:
    """Every way a reference row (``agent`` on ``env`` with its table entry; ``steps``, when the row
    gives its own budget) differs from the reference's published recipe, as
    ``agents/hyperparams.PUBLISHED`` says; where the reference has none, that and the row's settings."""
    from gymlab.agents.base import as_flags
    from gymlab.agents.hyperparams import PUBLISHED, defaults

    settings, budget = defaults(agent, env)
    own = budget.get("steps")
    published = PUBLISHED.get((agent, _task(env)))
    if published is None:
        return (f"no published recipe; settings: {as_flags({**settings, 'steps': steps or own})} "
                f"(the rest {agent}'s defaults)")
    differences = dict(published[1])
    if steps not in (None, own):
        differences["steps"] = f"--steps {steps} (the recipe's n_timesteps: {own})"
    return "; ".join(differences.values())


def _task(env: str) -> str:
    from gymlab.agents.hyperparams import task_key
    from gymlab.envs import ALIASES

    return task_key(*ALIASES.get(env, (env, {})))
