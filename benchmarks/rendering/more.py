"""The other results blocks: the rooms' Q-table, the replay at a full buffer, and the families not
yet re-measured under the current protocol (their block names the command that measures them).

Fields read: ``rooms_table.json`` rows: ``q_table_header``, ``q_table``, ``routes``, ``command``;
``replay_memory.json`` rows: ``task``, ``contestant``, ``buffer_size``, ``replay_bytes``,
``replay_bytes_if_stored_whole``, ``peak_rss_mb``, ``quick``; and every row's stamp.
"""

from __future__ import annotations

from .rules import blocks, not_measured, provenance, split, table

ROOMS_COMMAND = "python benchmarks/rooms_table.py"
REPLAY_COMMAND = "python benchmarks/replay_memory.py"


def rooms_table(d: dict) -> str:
    """What ``train.py --env rooms --agent q`` printed, as measured (``rooms_table.json``)."""
    good, _ = split(d.get("rows", []))
    if not good:
        return not_measured(ROOMS_COMMAND)
    r = good[-1]
    lines = [f"    {r['command']}", "", f"    {r['q_table_header']}"]
    lines += ["    " + "".join(f"{v:5d}" for v in row) for row in r["q_table"]]
    lines += ["    Greedy route from each state:"] + [f"      {route}" for route in r["routes"]]
    return blocks("\n".join(lines), provenance(good, d.get("command"), d.get("commit")))


def _mb(n) -> str:
    return "-" if n is None else f"{n / 1e6:,.0f} MB"


def replay_memory(d: dict) -> str:
    """Each contestant's replay at a full buffer: its bytes and the process's peak memory."""
    good, _ = split([r for r in d.get("rows", []) if not r.get("quick")])
    if not good:
        return not_measured(REPLAY_COMMAND)
    lines = [[r["task"], f"`{r['contestant']}`", f"{r['buffer_size']:,}", _mb(r["replay_bytes"]),
              _mb(r.get("replay_bytes_if_stored_whole")), f"{r['peak_rss_mb']:,.0f} MB"] for r in good]
    headers = ["task", "contestant", "transitions (full)", "replay", "the same stored whole", "peak resident"]
    return blocks(table(headers, lines, "llrrrr"), provenance(good, d.get("command"), d.get("commit")))


def pending(command: str, to_build: str | None = None):
    """A block whose family is not re-measured yet: the line naming its command (``to_build``: the
    command does not exist yet, and this says who builds it). Once stamped rows exist it refuses
    (``KeyError``, named by the renderer) until a table function is written."""
    def render(d: dict) -> str:
        good, _ = split(d.get("rows", []))
        if good:
            raise KeyError("a table renderer for this block (stamped rows exist; write one in rendering/more.py)")
        if to_build:
            return f"Not yet measured: its benchmark, `{command}`, is still to be written ({to_build})."
        return not_measured(command)

    render.__doc__ = f"Not re-measured yet: ``{command}``."
    return render


CELLS_COMMAND = "python benchmarks/cells_vs_torch.py --wait-idle 600"
RESUME_COMMAND = "python benchmarks/resume_state.py --wait-idle 600"


def _speed_rows(d: dict) -> list[dict]:
    """The stamped rows of a speed JSON that are figures (not ``--quick``)."""
    good, _ = split([r for r in d.get("rows", []) if not r.get("quick") and not d.get("quick")])
    return good


def _busy(d: dict, row: dict) -> bool:
    """As the speed tables: the protocol's verdict from the load before the rounds began."""
    from .speed import _busy as speed_busy

    return speed_busy(d, row)


def cells_vs_torch(d: dict) -> str:
    """The hand-written cells' time over torch's fused modules', per kind and size (``vs_ref``)."""
    from .rules import ratio, timed

    good = _speed_rows(d)
    if not good:
        return not_measured(CELLS_COMMAND)
    lines = [[r["kind"], r["hidden"], f"{r['cells_ms_median']:.3g} ms", f"{r['fused_ms_median']:.3g} ms",
              timed(ratio(r["vs_ref"]), _busy(d, r))] for r in good]
    headers = ["kind", "hidden size", "cells (median)", "fused (median)", "cells / fused time"]
    return blocks(table(headers, lines, "lrrrr"), provenance(good, d.get("command"), d.get("commit")))


def resume_state(d: dict) -> str:
    """Writing and reading a DQN resume state with a full replay: seconds and memory beyond the buffer."""
    from .rules import ratio, timed

    good = _speed_rows(d)
    if not good:
        return not_measured(RESUME_COMMAND)
    lines = [[r["case"], r["label"], _mb(r.get("resume_bytes")), timed(f"{r['seconds_median']:.3g} s", _busy(d, r)),
              f"{r['peak_beyond_buffer_mb_median']:,.0f} MB",
              timed(ratio(r["vs_ref"]), _busy(d, r)) if r.get("vs_ref") else "-"] for r in good]
    headers = ["case", "phase", "resume state", "seconds (median)", "peak beyond the buffer", "vs the reference"]
    return blocks(table(headers, lines, "llrrrl"), provenance(good, d.get("command"), d.get("commit")))
