"""A sweep's report from its trials' outcomes (no Ray needed): ``sweep.json``, ``report.md`` and
``curves.png`` in the sweep's directory. Intervals only from ``gymlab.stats.MIN_RUNS_FOR_INTERVAL`` (10)
seeds; fewer show every seed's value, the range and n (``gymlab.stats``' own rule)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from gymlab import runs

if TYPE_CHECKING:
    from gymlab.experiment import RunConfig
    from gymlab.sweep import SweepConfig

def write_report(run_dir: Path, cfg: SweepConfig, trials: list[dict]) -> dict:
    """sweep.json, report.md and curves.png from the trials' outcomes."""
    import gymnasium as gym

    from gymlab import envs, stats
    from gymlab.sweep import settings

    env_id = envs.resolve(cfg.base.env)[0]
    threshold = gym.spec(env_id).reward_threshold
    names = list(settings(cfg.grid))
    if cfg.search:  # the points Optuna proposed, the best first
        names = sorted(dict.fromkeys(t["setting"] for t in trials),
                       key=lambda n: -max((t["eval_return"] for t in trials if t["setting"] == n
                                           and t["status"] == "finished"), default=-math.inf))
    scores = {n: [t["eval_return"] for t in trials if t["setting"] == n and t["status"] == "finished"]
              for n in names}
    scored = {n: s for n, s in scores.items() if s}
    summary = stats.summarize(scored, threshold=threshold, seed=0) if scored else {}
    counts = {n: {status: sum(t["setting"] == n and t["status"] == status for t in trials)
                  for status in ("finished", "failed", "stopped early", "unfinished")} for n in names}
    ran = {n: counts[n]["finished"] + counts[n]["failed"] + counts[n]["stopped early"] for n in names}
    if threshold is not None:  # over every trial that ran: a failed or stopped one did not solve it
        for n, entry in summary.items():
            entry["solved_fraction"] = sum(x >= threshold for x in scores[n]) / ran[n]
    survivors = bool(cfg.scheduler) and any(c["stopped early"] for c in counts.values())
    budget = _budget(cfg.base, run_dir, trials)
    to_threshold = None if threshold is None else {  # over every trial that ran; one that never got there censored
        n: stats.time_to_threshold([t["periodic_eval"] for t in trials if t["setting"] == n
                                    and t["status"] != "unfinished"], threshold, budget) for n in names}
    out = {**(cfg.stamp or {}), "env": cfg.base.env, "agent": cfg.base.agent, "budget": budget,
           "seeds": list(cfg.seeds),
           "grid": cfg.grid, "reward_threshold": threshold, "counts": counts,
           "settings": {t["setting"]: t["params"] for t in trials} if cfg.search else settings(cfg.grid),
           **({"search": cfg.search, "space": cfg.space, "samples": cfg.samples} if cfg.search else {}),
           "statistics": summary, "to_threshold": to_threshold, "trials": trials}
    runs.write_json(run_dir / "sweep.json", out)
    lines = [f"# Sweep: {cfg.base.agent} on {cfg.base.env}, {budget}, seeds {_seeds(cfg.seeds)}", ""] if not cfg.search \
        else [f"# Search ({cfg.search}, {cfg.samples} samples): {cfg.base.agent} on {cfg.base.env}, {budget}, tuning "
              f"seed {cfg.seeds[0]}", "", "Space: " + "; ".join(f"{k} {_space(s)}" for k, s in cfg.space.items()),
              ""]
    lines += [
             "Final greedy evaluation return per trial; IQM = interquartile mean over seeds (the plain mean "
             f"below 4 seeds), over the trials that finished, with its 95% stratified-bootstrap confidence "
             f"interval (2000 resamples, seed 0) from {stats.MIN_RUNS_FOR_INTERVAL} seeds up; below that, no "
             "interval: n, the range [min, max] and every seed's return. The solved fraction is over every "
             "trial that ran.", "",
             "| setting | finished | failed |" + (" stopped early |" if cfg.scheduler else "")
             + " IQM [95% CI] or (n, range) | mean | median |"
             + (f" solved (>= {threshold:g}) |" if threshold is not None else ""),
             "|---|---:|---:|" + ("---:|" if cfg.scheduler else "") + "---|---:|---:|"
             + ("---:|" if threshold is not None else "")]
    for n in names:
        s = summary.get(n)
        cells = [n, str(counts[n]["finished"]), str(counts[n]["failed"])]
        cells += [str(counts[n]["stopped early"])] if cfg.scheduler else []
        cells += [stats.format_iqm(s), f"{s['mean']:.4g}", f"{s['median']:.4g}"] if s else ["-", "-", "-"]
        if threshold is not None:
            cells.append(f"{s['solved_fraction']:.0%}" if s else "-")
        lines.append("| " + " | ".join(cells) + " |")
    if survivors:
        lines += ["", "With --scheduler asha these statistics are over the survivors: the trials ASHA let finish. "
                  "It stopped the others early on these same returns, so the figures are biased upward."]
    partial = [n for n in names if counts[n]["failed"]]
    if partial:
        lines += [""] + [f"- {n}: {counts[n]['failed']} of {ran[n]} seeds failed; its statistics are over the "
                         f"{counts[n]['finished']} that finished" for n in partial]
    failed = [t for t in trials if t["status"] in ("failed", "unfinished", "stopped early")]
    if failed:
        lines += ["", "Not in the statistics above:", ""]
        lines += [f"- {t['setting']}, seed {t['seed']}: {t['status']}" + (f": {t['error']}" if t["error"] else "")
                  for t in failed]
    if to_threshold:
        lines += ["", f"Env steps and wall seconds to the first periodic greedy evaluation at or above {threshold:g}, "
                  "over the seeds that reached it (an interval from "
                  f"{stats.MIN_RUNS_FOR_INTERVAL} of them up); a seed that never did is censored at the budget:", ""]
        lines += [f"- {n}: {stats.format_to_threshold(r)}" for n, r in to_threshold.items() if r["n"]]
    if len(summary) > 1 and not cfg.search:  # (a search's settings have one seed each: no such comparison)
        lines += ["", "Probability of improvement, P(a run of one setting beats a run of the other) [95% CI, when "
                  f"both have {stats.MIN_RUNS_FOR_INTERVAL} seeds or more]:", ""]
        for n, entry in summary.items():
            for other, value in entry["probability_of_improvement"].items():
                ci = value["ci"]
                lines.append(f"- {n} over {other}: {value['p']:.2f} " + (
                    f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci is not None
                    else f"(n = {entry['n']} and {summary[other]['n']}, no interval)"))
    (run_dir / "report.md").write_text("\n".join(lines) + "\n")
    _curves(run_dir / "curves.png", trials, names, f"{cfg.base.agent} on {cfg.base.env}")
    clean = [n for n in summary if not counts[n]["failed"]] or list(summary)  # a setting that failed is no best
    best = max(clean, key=lambda n: summary[n]["iqm"], default=None)
    line = "no trial finished" if best is None else \
        f"{len(trials)} trials; best setting {best}: IQM {stats.format_iqm(summary[best])}" + \
        (f" ({counts[best]['failed']} of {ran[best]} seeds failed)" if counts[best]["failed"] else "") + \
        (" (ASHA survivors)" if survivors else "")
    return {"summary_line": line, "best": best, "best_values": (out["settings"] or {}).get(best),
            "statistics": summary, "counts": counts, "threshold": threshold}


def _space(s: dict) -> str:
    return f"{s['kind']} [{s['low']:g}, {s['high']:g}]" if "low" in s else "choice of " + ", ".join(map(str, s["values"]))


def curve_points(trials: list[dict], name: str, reps: int = 2000):
    """``(xs, iqm, low, high, band)``: the IQM over seeds of one setting's periodic evaluations, with
    its band: ``band`` is ``"95% CI"`` (the IQM's interval) when every point has at least
    ``gymlab.stats.MIN_RUNS_FOR_INTERVAL`` seeds, else ``"range"`` (min to max over the seeds). When
    every seed evaluated at the same steps (a --steps budget) they are the x's; otherwise (an
    --episodes budget: every N episodes, at other steps in every seed) the i-th evaluations go
    together, at the median of their steps. Non-finite evaluations are left out."""
    import numpy as np

    from gymlab import stats

    curves = [t["periodic_eval"] for t in trials if t["setting"] == name and t["status"] == "finished"
              and t["periodic_eval"]]
    if not curves:
        return [], [], [], [], "range"
    if all([e["step"] for e in c] == [e["step"] for e in curves[0]] for c in curves):
        columns = [[c[i] for c in curves] for i in range(len(curves[0]))]
    else:
        columns = [[c[i] for c in curves] for i in range(min(map(len, curves)))]
    points = []
    for column in columns:
        values = np.array([e["return_mean"] for e in column if e["return_mean"] is not None
                           and math.isfinite(e["return_mean"])], dtype=float)
        if len(values):
            points.append((float(np.median([e["step"] for e in column])), values))
    mid, lo, hi, band = stats.curve_band([v for _, v in points], reps=reps, seed=0)
    return [x for x, _ in points], mid, lo, hi, band


def _curves(path: Path, trials: list[dict], names: list[str], title: str) -> None:
    """IQM of the periodic evaluations over seeds, one line per setting, with its band (the 95% CI
    from 10 seeds up, else the range of the seeds), which the legend names."""
    from gymlab.runs import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for n in names:
        xs, mid, lo, hi, band = curve_points(trials, n)
        if xs:
            seeds = sum(t["setting"] == n and t["status"] == "finished" for t in trials)
            label = "95% CI" if band == "95% CI" else "range, min to max"
            ax.plot(xs, mid, label=f"{n} (n={seeds}; band: {label})")
            ax.fill_between(xs, lo, hi, alpha=0.2)
    ax.set_xlabel("env steps")
    ax.set_ylabel("greedy return: IQM over seeds")
    ax.set_title(title)
    if ax.lines:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _budget(run: RunConfig, run_dir: Path | None = None, trials: list[dict] = ()) -> str:
    """The trials' budget: as given, else the agent's default for the env, as a trial's summary says."""
    if run.steps or run.episodes:
        return f"{run.steps} steps" if run.steps else f"{run.episodes} episodes"
    for t in trials:
        budget = runs.read_json(Path(run_dir) / t["run_dir"] / "summary.json").get("budget")
        if budget:
            return " ".join(f"{v} {k}" for k, v in budget.items()) + " (the default)"
    return "the default budget"


def _seeds(seeds: list[int]) -> str:
    return f"{seeds[0]}-{seeds[-1]}" if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))) else \
        ",".join(map(str, seeds))
