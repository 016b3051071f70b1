"""Sweeps: one run over many seeds and settings, as Ray Tune trials, reported with statistics that hold up.

    python train.py --env CartPole-v1 --agent dqn --steps 50000 --seeds 10
    python train.py --env CartPole-v1 --agent dqn --seeds 3,5,7 --grid learning_rate=1e-3,3e-4 n_step=1,3
    python train.py --env CartPole-v1 --agent dqn --seeds 10 --ray-address HOST:6379   # on a cluster
    python train.py --resume RUN_DIR        # a sweep stopped by Ctrl-C runs what is left
    python train.py --env CartPole-v1 --agent dqn --search optuna --samples 12 \
        --space learning_rate=loguniform:1e-4:1e-2 n_step=int:1:5   # settings Optuna proposes (gymlab/search.py)

Each (setting, seed) is one Tune trial that calls ``gymlab.experiment.run``, the very
code of a single run, and writes an ordinary run directory under
``RUN_DIR/trials/<setting>__seed<i>/``: its ``summary.json`` is the one ``train.py
--seed i`` would write (timings aside). Ray is started in this process unless
``--ray-address`` (or ``RAY_ADDRESS``) names a cluster; each trial asks for
``--cpus-per-trial`` CPUs (default 1) and runs torch on ``--threads`` threads, as the single
run does (``train.py`` refuses more threads than a trial holds CPUs), so trials never fight
over cores.

What comes out, in ``RUN_DIR``:

- ``sweep.json``: every trial (setting, seed, status, error, final greedy return, its
  directory, its periodic evaluations with their wall time) and, per setting, the statistics
  of ``gymlab.stats.summarize``: every seed's return, mean, median, IQM with a 95%
  stratified-bootstrap confidence interval (seeded) from 10 seeds up (fewer: the range and
  n, no interval), the solved fraction where the env has a reward threshold, and the
  probability that one setting improves on another; and ``to_threshold``: env steps and wall
  seconds to the first periodic evaluation at or above that threshold
  (``gymlab.stats.time_to_threshold``; the seeds that never reach it censored, counted);
- ``report.md``: the same as tables;
- ``curves.png``: the IQM of the periodic greedy evaluations against env steps, one line
  per setting, with its confidence band from 10 seeds up, else the band of their range.

A trial that crashes is retried once (from its own ``resume.npz`` when it has one);
one that still fails, or ends with a non-finite return (diverged), is listed as failed
with its error and counted, never silently left out. Ctrl-C keeps the finished trials;
``train.py --resume RUN_DIR`` restores the Tune experiment and runs the rest.
``--scheduler asha`` stops unpromising trials early (Tune's ASHA, on the periodic
evaluations); their last evaluation is reported apart from the finished trials.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gymlab import provenance, ray_start, run_lock, runs
from gymlab.cli import EXIT_INTERRUPTED, EXIT_OK, UsageError, command, typed
from gymlab.experiment import RunConfig
from gymlab.sweep_report import curve_points, write_report  # noqa: F401  (the report: its own file)

SPEC_FILE = "sweep_spec.json"  # what --resume needs to rebuild the sweep
INSTALL = 'pip install "ray[tune]"  (or: pip install -e ".[sweep]")'


@dataclass
class SweepConfig:
    base: RunConfig  # the run every trial makes, but for its seed, its setting and its directory
    seeds: list[int]
    grid: dict[str, list] = field(default_factory=dict)  # Config field -> the values to cross
    run_dir: Path | None = None
    ray_address: str | None = None
    cpus_per_trial: int = 1
    scheduler: str | None = None  # None or "asha"
    command: str | None = None  # as the user typed it, for the stamp (default: this process's command line)
    stamp: dict | None = None  # gymlab.provenance's, taken as the sweep starts (kept through a restore)
    search: str | None = None  # "optuna": settings proposed by Optuna (gymlab/search.py), not a grid's
    space: dict = field(default_factory=dict)  # Config field -> its distribution (gymlab.search.parse_space)
    samples: int = 0  # how many settings the search tries, each on seeds[0]
    remeasure_seeds: list[int] = field(default_factory=list)  # the search's best, re-measured on these


def settings(grid: dict[str, list]) -> dict[str, dict]:
    """Every combination of the grid's values, by name: ``{"lr=0.001,n_step=3": {...}}``;
    ``{"defaults": {}}`` for an empty grid."""
    if not grid:
        return {"defaults": {}}
    keys = sorted(grid)
    out = {}
    for values in itertools.product(*(grid[k] for k in keys)):
        combo = dict(zip(keys, values))
        out[",".join(f"{k}={_text(v)}" for k, v in combo.items())] = combo
    return out


def _text(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)


def trial_dir(run_dir: Path, setting: str, seed: int) -> Path:
    slug = "".join(c if c.isalnum() or c in "=.-_" else "_" for c in setting)
    return Path(run_dir) / "trials" / f"{slug}__seed{seed}"


def require_ray():
    try:
        import ray  # noqa: F401
        from ray import tune  # noqa: F401  (the tune extra)
    except ImportError as err:
        raise UsageError(f"a sweep (--seeds, --grid) runs on Ray Tune, which is not installed: {INSTALL}") from err


# ------------------------------------------------------------------ one trial (in a Ray worker)
def _trial(config: dict) -> None:
    """A Tune function trainable: one run, its periodic evaluations reported to Tune."""
    from ray import tune

    from gymlab import experiment

    run = dict(config["run"])
    if "params" in config:  # a search's trial: the point Optuna proposed
        from gymlab import search

        values = search.decode(config["space"], config["params"])
        setting = search.setting_name(values)
    else:
        setting = config["setting"]
        values = config["settings"][setting]
    seed = config["seed"]
    run_dir = trial_dir(Path(config["run_dir"]), setting, seed)
    overrides = {**run.pop("overrides"), **values}  # threads too: the single run's

    def on_eval(step: int, mean_return: float) -> None:
        tune.report({"env_steps": step, "eval_return": mean_return, "final": False})

    # A finished trial met again (Tune retrying or restoring it after its run ended): its summary stands.
    started = runs.read_json(run_dir / "summary.json").get("interrupted") is False
    when = provenance.now((run_dir / "summary.json").stat().st_mtime if started else None)  # its measurement's
    if not started and (run_dir / "resume.npz").is_file():  # a retry, or a sweep resumed after Ctrl-C
        try:
            experiment.resume(run_dir, progress=False, on_eval=on_eval)  # go on from there
            started = True
        except UsageError:  # a resume state it cannot go on from: the trial starts again
            pass
    if not started:
        experiment.run(RunConfig(**{**run, "overrides": overrides, "seed": seed, "run_dir": run_dir, "force": True,
                                    "progress": False, "on_eval": on_eval}))
    summary = json.loads((run_dir / "summary.json").read_text())
    final = summary["eval"]["return_mean"]
    tune.report({"env_steps": summary["env_steps"], "eval_return": math.nan if final is None else final,
                 "final": True, "interrupted": summary["interrupted"], "when": when})


# ------------------------------------------------------------------ the sweep (in this process)
def trial_config(cfg: SweepConfig) -> dict:
    """What every trial is given, but its ``setting`` and ``seed``."""
    return {"run": _jsonable_run(cfg.base), "settings": settings(cfg.grid), "run_dir": str(cfg.run_dir)}


def run_sweep(cfg: SweepConfig, restore: bool = False) -> int:
    """Run (or, ``restore``, finish) the sweep; write sweep.json, report.md and curves.png."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no per-trial tables and tracebacks
    require_ray()
    import ray

    run_dir = Path(cfg.run_dir).resolve()
    if not restore:
        cfg.stamp = provenance.provenance(cfg.command)
        _write_json(run_dir / SPEC_FILE, spec_of(cfg))
    import logging

    for name in ("ray", "ray.tune", "ray.train"):  # failed trials are in the report, not in tracebacks here
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # A local Ray's workers inherit this environment: the driver's import path, so a module:id env or a
    # module:Class agent imports in the trials too (a cluster's nodes need the module installed).
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    if cfg.base.track:  # the store resolved here, once; the trials (their own working directories) log there
        from gymlab import tracking

        os.environ.setdefault("MLFLOW_TRACKING_URI", tracking.default_uri())
    try:  # a local Ray of its own, or the cluster named, that can hold a trial: else one line, exit 2
        ray_start.connect(cfg.ray_address, cfg.cpus_per_trial, restore)
    except UsageError:
        if not restore:  # what this sweep wrote goes: the corrected command is then accepted as it is
            (run_dir / SPEC_FILE).unlink(missing_ok=True)
            run_lock.discard(run_dir)  # its manifest's files, its lock, the dir if made here (the user's stay)
        raise
    try:
        if cfg.base.track:
            tracking.prepare(tracking.target(cfg.base.track))  # the experiment made once, not by racing trials
        trials, missing = _fit(cfg, run_dir, restore)
        report = write_report(run_dir, cfg, trials)
        if cfg.search and not missing and cfg.remeasure_seeds and report["best"] is not None and not any(
                t["status"] == "unfinished" for t in trials):
            trials, report = _remeasure(cfg, run_dir, report)
    finally:
        ray.shutdown()
    print(report["summary_line"])
    print(f"sweep directory: {run_dir} (sweep.json, report.md, curves.png; trials/)")
    unfinished = [t for t in trials if t["status"] == "unfinished"]
    if unfinished or missing:
        print(f"{len(unfinished) + missing} trials did not finish: {typed(command('train.py'))} --resume {run_dir}")
        return EXIT_INTERRUPTED
    return EXIT_OK


def _fit(cfg: SweepConfig, run_dir: Path, restore: bool) -> tuple[list[dict], int]:
    """Tune's run of the sweep (Ray connected): its trials' outcomes, and how many samples a search
    has not yet proposed (Ctrl-C came first)."""
    from ray import tune

    if cfg.search:
        from gymlab import search

        config_space = {**trial_config(cfg), "run_dir": str(run_dir), "space": cfg.space,
                        "params": search.tune_space(cfg.space), "seed": cfg.seeds[0]}
    else:
        config_space = {**trial_config(cfg), "run_dir": str(run_dir),
                        "setting": tune.grid_search(list(settings(cfg.grid))), "seed": tune.grid_search(list(cfg.seeds))}
    trainable = tune.with_resources(_trial, {"cpu": cfg.cpus_per_trial})
    scheduler = None
    if cfg.scheduler == "asha":
        from ray.tune.schedulers import ASHAScheduler

        total = cfg.base.steps or 1
        # max_t past the budget: ASHA stops trials at its rungs, never one that has reached the end
        scheduler = ASHAScheduler(time_attr="env_steps", metric="eval_return", mode="max", max_t=total + 1,
                                  grace_period=max(1, total // 4), reduction_factor=2)
    storage = str(run_dir / "tune")
    if restore:
        tuner = tune.Tuner.restore(str(Path(storage) / "sweep"), trainable, resume_unfinished=True,
                                   resume_errored=False)  # a failed trial stays failed
    else:
        tuner = tune.Tuner(
            trainable, param_space=config_space,
            tune_config=tune.TuneConfig(scheduler=scheduler, num_samples=cfg.samples if cfg.search else 1,
                                        search_alg=search.searcher(cfg) if cfg.search else None),
            run_config=tune.RunConfig(name="sweep", storage_path=storage, verbose=0,
                                      failure_config=tune.FailureConfig(max_failures=1)))
    grid = tuner.fit()
    return _collect(grid, run_dir, cfg), max(0, cfg.samples - len(grid)) if cfg.search else 0


def _remeasure(cfg: SweepConfig, run_dir: Path, report: dict) -> tuple[list[dict], dict]:
    """The search's best setting, as a separate sweep on the report seeds (``gymlab/search.py``);
    its figure added to the search's report.md and sweep.json."""
    from gymlab import search, stats

    sub = search.remeasure_config(cfg, report["best_values"], run_dir)
    again = is_sweep(sub.run_dir)  # a re-measure stopped earlier: it goes on
    if not again:
        _write_json(sub.run_dir / SPEC_FILE, spec_of(sub))
    trials, _ = _fit(sub, sub.run_dir, again)
    sub_report = write_report(sub.run_dir, sub, trials)
    name = next(iter(settings(sub.grid)))
    entry, counts = sub_report["statistics"].get(name), sub_report["counts"][name]
    with open(run_dir / "report.md", "a") as f:
        f.write("\n".join(search.remeasure_lines(name, "remeasure", sub.seeds, entry, counts,
                                                 sub_report["threshold"])) + "\n")
    data = runs.read_json(run_dir / "sweep.json")
    data["remeasure"] = {"setting": name, "values": report["best_values"], "seeds": sub.seeds, "dir": "remeasure",
                         "statistics": entry, "counts": counts}
    _write_json(run_dir / "sweep.json", data)
    figure = f"IQM {stats.format_iqm(entry)}" if entry else "no seed finished"
    line = f"{report['summary_line']}; re-measured on report seeds {sub.seeds[0]}-{sub.seeds[-1]}: {figure}"
    return trials, {**report, "summary_line": line}


def _collect(grid, run_dir: Path, cfg: SweepConfig) -> list[dict]:
    """Every trial's outcome, from Tune's results and the trial's own summary.json; a trial Tune
    never got to (Ctrl-C before it started) is there too, as unfinished."""
    outcomes, keys, params = {}, [], {}
    for result in grid:
        if result.config is not None:
            if cfg.search:  # a search's trials are the points Optuna proposed
                from gymlab import search

                values = search.decode(cfg.space, result.config["params"])
                setting = search.setting_name(values)
                params[setting] = values
                keys.append((setting, result.config["seed"]))
            else:
                setting = result.config["setting"]
            outcomes[(setting, result.config["seed"])] = result
    if not cfg.search:
        keys = [(setting, seed) for setting in settings(cfg.grid) for seed in cfg.seeds]
    trials = []
    for setting, seed in dict.fromkeys(keys):  # (a point proposed twice is one trial: one directory)
        where = trial_dir(run_dir, setting, seed)
        record = {"setting": setting, "seed": seed, "run_dir": str(where.relative_to(run_dir)), "error": None,
                  "eval_return": None, "status": "finished", **({"params": params[setting]} if cfg.search else {})}
        summary = runs.read_json(where / "summary.json")
        result = outcomes.get((setting, seed))
        metrics = (result.metrics or {}) if result is not None else {}
        done = summary and not summary.get("interrupted", True)  # the run's own summary says it ended
        if result is not None and result.error is not None:
            text = str(result.error).strip().splitlines()
            record.update(status="failed", error=(text[-1] if text else type(result.error).__name__)[:500])
        elif done:
            value = summary["eval"]["return_mean"]
            if value is None or not math.isfinite(value):
                record.update(status="failed", error="diverged: the final greedy return is not a finite number")
            else:
                record["eval_return"] = float(value)
        elif cfg.scheduler and metrics.get("eval_return") is not None:
            record.update(status="stopped early", eval_return=metrics["eval_return"])
        else:
            record.update(status="unfinished")
        walls = summary.get("periodic_eval_wall_s") or []  # each evaluation's wall time, where logged
        record["periodic_eval"] = [{**e, "wall_s": walls[i] if i < len(walls) else None}
                                   for i, e in enumerate(summary.get("periodic_eval", []))]
        written = provenance.now((where / "summary.json").stat().st_mtime) if summary else None
        record["when"] = metrics.get("when") or written  # as the trial's measurement began (else ended)
        record["config_sha256"] = provenance.config_hash(summary) if summary else None
        trials.append(record)
    return trials


# ------------------------------------------------------------------ saving and restoring the sweep's spec
def spec_of(cfg: SweepConfig) -> dict:
    return {"base": _jsonable_run(cfg.base), "seeds": list(cfg.seeds), "grid": cfg.grid,
            "ray_address": cfg.ray_address, "cpus_per_trial": cfg.cpus_per_trial, "scheduler": cfg.scheduler,
            "command": cfg.command, "stamp": cfg.stamp, "search": cfg.search, "space": cfg.space, "samples": cfg.samples,
            "remeasure_seeds": cfg.remeasure_seeds}


def load_spec(run_dir: Path) -> SweepConfig:
    spec = json.loads((Path(run_dir) / SPEC_FILE).read_text())
    base = spec["base"]
    base["overrides"] = {k: tuple(v) if isinstance(v, list) else v for k, v in base["overrides"].items()}
    space = {k: {**s, "values": [tuple(v) if isinstance(v, list) else v for v in s["values"]]} if "values" in s else s
             for k, s in spec.get("space", {}).items()}
    return SweepConfig(RunConfig(**base), spec["seeds"], spec["grid"], Path(run_dir), spec["ray_address"],
                       spec["cpus_per_trial"], spec["scheduler"], spec.get("command"), spec.get("stamp"),
                       spec.get("search"), space, spec.get("samples", 0), spec.get("remeasure_seeds", []))


def is_sweep(run_dir: Path) -> bool:
    return (Path(run_dir) / SPEC_FILE).is_file()


def _jsonable_run(run: RunConfig) -> dict:
    out = {f.name: getattr(run, f.name) for f in dataclasses.fields(run) if f.name != "on_eval"}
    return {k: str(v) if isinstance(v, Path) else v for k, v in out.items()}


def _write_json(path: Path, obj) -> None:
    from gymlab.runs import write_json

    write_json(path, obj)
