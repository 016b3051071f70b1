"""Tables and sentences of learning results: rows of sweeps over seeds, one JSON each.

The fields read, per row (``benchmarks/_common.sweep_row`` and the benchmark's own): ``seeds``,
``figures`` (each seed's figure, ``None`` for a seed that did not finish), ``iqm``, ``iqm_ci``,
``steps``, ``train_s_median``, ``threshold`` and ``solved`` (deep agents, untuned envs); ``runs``
with ``eval_return`` and ``status``, ``q_weights``, ``differs_from_sb3_same`` and
``probability_of_improvement_over_sb3_same`` (DQN against SB3); ``refused`` (the one line
``train.py`` said for an agent that cannot act in an env); and every row's stamp.
"""

from __future__ import annotations

from .rules import (MIN_RUNS_FOR_INTERVAL, blocks, busy, has_interval, not_measured, num, provenance, split, spread,
                    spread_with_values, table, timed, values)

DEEP_COMMAND = "python benchmarks/deep_agents.py --work-dir runs/deep_agents"
CLIFF_COMMAND = "python benchmarks/deep_agents.py --only CliffWalking-v1 --work-dir runs/deep_agents"
DQN_VS_SB3_COMMAND = "python benchmarks/dqn_vs_sb3.py --work-dir runs/dqn_vs_sb3"
UNTUNED_COMMAND = "python benchmarks/untuned_envs.py"
SPREAD_HEADER = f"IQM [95% CI] (from {MIN_RUNS_FOR_INTERVAL} runs; fewer: the range)"
REF = "sb3-dqn (same)"


def _name(row: dict) -> str:
    return row.get("row") or row.get("contestant") or f"{row.get('env', '?')} {row.get('agent', '?')}"


def _with_old(good: list[dict], old: list[dict], command: str, *parts: str) -> str:
    """The rendered parts; a line naming the rows not measured under the current protocol."""
    if not good:
        return not_measured(command)
    return blocks(*parts, not_measured(command, [_name(r) for r in old]) if old else "")


def _solved(row: dict) -> str:
    if row.get("threshold") is None or row.get("solved") is None:
        return "-"
    return f"{row['solved']}/{len(row['seeds'])} (>= {num(row['threshold'])})"


def to_threshold(tt: dict | None) -> str:
    """Env steps to the first periodic greedy evaluation at or above the threshold (``to_threshold`` of
    ``gymlab.stats.time_to_threshold``): the median over every run, a censored one counted as beyond
    the budget (so "beyond the budget" unless more than half reached it); then, of the runs that
    reached it, the IQM [CI] when there are 10 and none censored, else the range."""
    if not tt:
        return "-"
    m = tt.get("median_steps")
    text = f"{tt['reached']} of {tt['n']} reached {num(tt['threshold'])}; median over all {tt['n']}: " + \
        ("beyond the budget" if m is None else f"{num(m)} steps")
    steps = tt.get("steps") or {}
    if tt["reached"]:
        if steps.get("iqm_ci"):
            text += f" (IQM {num(steps['iqm'])} [{num(steps['iqm_ci'][0])}, {num(steps['iqm_ci'][1])}])"
        else:
            text += f" (those that reached it: {num(steps['range'][0])} to {num(steps['range'][1])})"
    return text


def deep_agents(d: dict) -> str:
    """``deep_agents.json``: each agent's tuned entry on its task, one sweep a row."""
    good, old = split(d.get("rows", []))
    lines = [[f"`{r['command']}`", f"{r['steps']:,} env steps", spread(r["figures"], r.get("iqm"), r.get("iqm_ci")),
              _solved(r), to_threshold(r.get("to_threshold")), values(r["figures"]),
              "-" if r["train_s_median"] is None else timed(f"{num(r['train_s_median'])} s", busy(r.get("load")))]
             for r in good]
    headers = ["command", "budget", SPREAD_HEADER, "solved", "env steps to the threshold (periodic greedy evaluations)",
               "greedy return per seed", "s a trial (median)"]
    return _with_old(good, old, DEEP_COMMAND, table(headers, lines) if good else "",
                     provenance(good, d.get("command"), d.get("commit")) if good else "")


def cliff_walking(d: dict) -> str:
    """The CliffWalking sentence, from its row of ``deep_agents.json``."""
    good, _ = split([r for r in d.get("rows", []) if r.get("env") == "CliffWalking-v1"])
    if not good:
        return not_measured(CLIFF_COMMAND)
    r = good[-1]
    figures = r["figures"]
    iqm, ci = r.get("iqm"), r.get("iqm_ci")
    how = f"IQM {spread(figures, iqm, ci)}" if has_interval(figures, iqm, ci) \
        else f"every seed: {values(figures)}; {spread(figures)}"
    when = f"median{', busy machine' if busy(r.get('load')) else ''}"
    return (f"`{r['command']}` ({r['steps']:,} env steps): {r['solved']} of {len(r['seeds'])} seeds reach the optimal "
            f"greedy return, {num(r['threshold'])} ({how}), {num(r['train_s_median'])} s a trial ({when}). "
            + provenance([r], d.get("command"), d.get("commit")))


def _returns(row: dict) -> list:
    return [x["eval_return"] if x.get("status") == "finished" else None for x in row.get("runs", [])]


def _improvement(row: dict, ref: dict | None) -> str:
    if row["contestant"] == REF:
        return "(the reference)"
    entry = row.get("probability_of_improvement_over_sb3_same")
    enough = ref is not None and all(sum(f is not None for f in _returns(r)) >= MIN_RUNS_FOR_INTERVAL
                                     for r in (row, ref))
    if not enough or not entry:
        return f"- ({MIN_RUNS_FOR_INTERVAL} runs a side needed)"
    return f"{entry['p']:.2f} [{entry['ci'][0]:.2f}, {entry['ci'][1]:.2f}]"


def dqn_vs_sb3(d: dict) -> str:
    """``dqn_vs_sb3.json``: the contestants on CartPole, learning only (speed is measured alone: ``dqn_speed``)."""
    good, old = split(d.get("rows", []))
    ref = next((r for r in good if r["contestant"] == REF), None)
    lines = [[f"`{r['contestant']}`", r.get("differs_from_sb3_same", ""), f"{r['q_weights']:,}",
              spread(_returns(r), r.get("iqm"), r.get("iqm_ci")), f"{r['solved']}/{len(r['seeds'])}",
              values(_returns(r)), _improvement(r, ref)] for r in good]
    headers = [f"contestant ({d.get('env', '?')}, {d.get('steps', 0):,} steps)", f"differs from `{REF}`",
               "Q-net weights", SPREAD_HEADER, f"solved (>= {num(d.get('solved_threshold'))})",
               "greedy return per seed", "P(> ref) [95% CI]"]
    return _with_old(good, old, DQN_VS_SB3_COMMAND, table(headers, lines, "llrllll") if good else "",
                     provenance(good, d.get("command"), d.get("commit")) if good else "")


def _untuned_cell(row: dict | None) -> str:
    if row is None:
        return "-"
    if row.get("refused"):
        return f"(refused: {row['refused']})"
    text = spread_with_values(row["figures"], row.get("iqm"), row.get("iqm_ci"))
    return text if row.get("threshold") is None or row.get("solved") is None \
        else f"{text}, {row['solved']}/{len(row['seeds'])}"


def untuned_envs(d: dict) -> str:
    """``untuned_envs.json``: every agent on its own defaults on classic-control envs it was not tuned on."""
    good, old = split(d.get("rows", []))
    envs = list(dict.fromkeys(r["env"] for r in good))
    agents = list(dict.fromkeys(r["agent"] for r in good))
    at = {(r["env"], r["agent"]): r for r in good}
    lines = []
    for env in envs:
        threshold = next((r["threshold"] for r in good if r["env"] == env and r.get("threshold") is not None), None)
        label = f"{env} (>= {num(threshold)})" if threshold is not None else f"{env} (no threshold)"
        lines.append([label, *[_untuned_cell(at.get((env, a))) for a in agents]])
    headers = ["env (solved at)", *[f"`{a}`" for a in agents]]
    return _with_old(good, old, UNTUNED_COMMAND, table(headers, lines) if good else "",
                     provenance(good, d.get("command"), d.get("commit")) if good else "")
