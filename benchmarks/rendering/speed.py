"""Speed tables and sentences, from the speed benchmarks' JSON.

The fields read: per row, ``env_steps_per_s_per_round``, ``env_steps_per_s_median`` and ``vs_ref``
(``{"ref", "per_round", "median", "min", "max"}``: the ratio to the reference row's rate, round
by round; absent on the reference row), its label (``contestant`` or ``case``), ``env``,
``differs_from_sb3_same`` and its stamp; for the file,
``busy``, ``load_before``, ``load_after``, ``rounds`` and ``command``.
"""

from __future__ import annotations

from .rules import blocks, busy, not_measured, num, provenance, ratio, split, table, timed

DQN_SPEED_COMMAND = "python benchmarks/dqn_speed.py"
ENV_SPEED_COMMAND = "python benchmarks/env_speed.py"


def _busy(d: dict, row: dict) -> bool:
    """The protocol's own verdict (``benchmarks/_speed.py``: the 1-minute load before the rounds began);
    a row's ``load``, read while the benchmark itself ran, is its own load and says nothing."""
    return bool(d.get("busy") or row.get("busy")) or busy(d.get("load_before"))


def _provenance(d: dict, rows: list[dict]) -> str:
    load = lambda key: num(d[key][0]) if d.get(key) else "?"  # noqa: E731
    return provenance(rows, d.get("command"), d.get("commit"))[:-1] + (f"; {d.get('rounds', '?')} interleaved rounds, 1-minute load "
                                                      f"{load('load_before')} before and {load('load_after')} after.")


def _versus(rows: list[dict], label: str) -> list[tuple[dict, dict | None]]:
    """Each row with its ``vs_ref``, ``None`` for a reference row (one another row's ``vs_ref`` names);
    a row that is neither is of another shape: ``KeyError('vs_ref')``, never shown as a reference."""
    refs = {r["vs_ref"]["ref"] for r in rows if r.get("vs_ref")}
    out = []
    for r in rows:
        if not r.get("vs_ref") and r[label] not in refs:
            raise KeyError("vs_ref")
        out.append((r, r.get("vs_ref")))
    return out


def _rate(d: dict, row: dict | None) -> str:
    return "-" if row is None else timed(f"{row['env_steps_per_s_median']:,.0f}", _busy(d, row))


def dqn_speed(d: dict) -> str:
    """``dqn_speed.json``: one table a task, each contestant alone, against SB3's DQN with the same settings."""
    good, old = split(d.get("rows", []))
    if not good:
        return not_measured(DQN_SPEED_COMMAND)
    parts = []
    for env in dict.fromkeys(r["env"] for r in good):
        rows = [r for r in good if r["env"] == env]
        ref = next((r["vs_ref"]["ref"] for r in rows if r.get("vs_ref")), None)
        lines = [[f"`{r['contestant']}`", r.get("differs_from_sb3_same", ""), _rate(d, r),
                  timed(ratio(vs), _busy(d, r)) if vs else "(the reference)"]
                 for r, vs in _versus(rows, "contestant")]
        headers = ["contestant", f"differs from `{ref}`" if ref else "differs", "env steps/s (median over rounds)",
                   f"vs `{ref}`" if ref else "vs the reference"]  # (memory: replay_memory.json's own table)
        parts += [f"**{env}**", table(headers, lines, "llrr"), _provenance(d, rows)]
    if old:
        parts.append(not_measured(DQN_SPEED_COMMAND, [f"{r.get('env', '?')} {r.get('contestant', '?')}" for r in old]))
    return blocks(*parts)


def dqn_speed_cartpole(d: dict) -> str:
    """The CartPole speed sentence beside the DQN-against-SB3 table."""
    good, _ = split([r for r in d.get("rows", []) if r.get("env") == "CartPole-v1"])
    if not good:
        return not_measured(DQN_SPEED_COMMAND)
    versus = [r for r, vs in _versus(good, "contestant") if vs]
    ref = versus[0]["vs_ref"]["ref"]
    said = ", ".join(f"`{r['contestant']}` {timed(ratio(r['vs_ref']), _busy(d, r))}" for r in versus)
    return f"Each contestant measured alone, its env steps/s against `{ref}` on CartPole-v1: {said}. " \
        + _provenance(d, good)


def env_speed(d: dict) -> str:
    """``env_speed.json``: gymlab's envs against Gymnasium's CartPole-v1 in the same rounds (each row
    holds its reference's rate, ``ref_env_steps_per_s_median``, and ``vs_ref``)."""
    good, old = split(d.get("rows", []))
    if not good:
        return not_measured(ENV_SPEED_COMMAND)
    lines = [[r["case"], _rate(d, r), r["vs_ref"]["ref"],
              timed(f"{r['ref_env_steps_per_s_median']:,.0f}", _busy(d, r)), timed(ratio(r["vs_ref"]), _busy(d, r))]
             for r in good]
    headers = ["gymlab", "env steps/s (median over rounds)", "reference (same rounds)", "env steps/s", "ratio"]
    return blocks(table(headers, lines, "lrlrr"), _provenance(d, good),
                  not_measured(ENV_SPEED_COMMAND, [r.get("case", "?") for r in old]) if old else "")
