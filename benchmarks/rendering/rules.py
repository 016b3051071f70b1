"""The rules every rendered figure follows, each written once.

- An interval is printed only from ``MIN_RUNS_FOR_INTERVAL`` runs; below that, every run's
  value, the range and ``n = k`` (``spread``).
- A row is rendered only with its own stamp (``stamped``: commit, command, time, machine with
  its CPU); the others are named in one line that says how to measure them (``not_measured``).
- Every table carries a provenance line made from its rows' stamps (``provenance``): commit
  (a ``+dirty`` one said aloud), date, CPU and cores, and the command that wrote the file.
- A row measured with the 1-minute load above ``BUSY_LOAD`` says "(busy machine)" beside every
  wall time or speed it shows (``busy``, ``timed``).
- A speed ratio is its median over the rounds, with their min, max and count (``ratio``).

Pure functions of plain dicts and numbers, no numpy: the README's renderer and the docs call them.
"""

from __future__ import annotations

# The fewest runs an interval is printed from (issue 24; gymlab.stats.MIN_RUNS_FOR_INTERVAL when that lands).
MIN_RUNS_FOR_INTERVAL = 10
# A row measured with the 1-minute load average above this was measured on a busy machine.
BUSY_LOAD = 0.5
NOT_MEASURED = "not yet re-measured under the current protocol: run `{command}`."


def stamped(row: dict) -> bool:
    """Does the row carry its own stamp of the current protocol (``benchmarks/_common.provenance``)?"""
    machine = row.get("machine")
    return all(row.get(k) for k in ("commit", "command", "when")) and isinstance(machine, dict) \
        and bool(machine.get("cpu"))


def not_measured(command: str, names: list[str] | None = None) -> str:
    """The line for rows not (yet) measured under the current protocol; ``names`` when others are."""
    line = NOT_MEASURED.format(command=command)
    return f"{', '.join(names)}: {line}" if names else line[0].upper() + line[1:]


def busy(*loads) -> bool:
    """Was any of these load stamps (``[1, 5, 15]``-minute averages) above ``BUSY_LOAD`` at 1 minute?"""
    return any(bool(load) and load[0] > BUSY_LOAD for load in loads)


def timed(text: str, is_busy: bool) -> str:
    """A wall time or speed, marked when it was measured on a busy machine."""
    return f"{text} (busy machine)" if is_busy else text


def num(x) -> str:
    """A figure as the tables print it: four significant digits, thousands separated."""
    if x is None:
        return "x"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def values(figures) -> str:
    """Every run's figure in order, ``x`` for a run that did not finish."""
    return " ".join(num(f) for f in figures)


def has_interval(figures, iqm=None, iqm_ci=None) -> bool:
    """Are there enough finished runs (and a stored interval) to print one?"""
    done = [f for f in figures if f is not None]
    return len(done) >= MIN_RUNS_FOR_INTERVAL and iqm is not None and bool(iqm_ci)


def spread(figures, iqm=None, iqm_ci=None) -> str:
    """``IQM [low, high]`` from ``MIN_RUNS_FOR_INTERVAL`` finished runs, else ``range a to b, n = k``."""
    done = [f for f in figures if f is not None]
    if not done:
        return "no run finished"
    if has_interval(figures, iqm, iqm_ci):
        return f"{num(iqm)} [{num(iqm_ci[0])}, {num(iqm_ci[1])}]"
    return f"range {num(min(done))} to {num(max(done))}, n = {len(done)}"


def spread_with_values(figures, iqm=None, iqm_ci=None) -> str:
    """``spread``, preceded by every value when there are too few runs for an interval."""
    text = spread(figures, iqm, iqm_ci)
    if has_interval(figures, iqm, iqm_ci) or all(f is None for f in figures):
        return text
    return f"{values(figures)} ({text})"


def ratio(vs: dict) -> str:
    """A speed ratio: ``median Nx (rounds: min-max, n rounds)``."""
    n = len(vs.get("per_round") or [])
    return f"median {vs['median']:.2f}x (rounds: {vs['min']:.2f}-{vs['max']:.2f}, {n} rounds)"


def _distinct(items) -> list:
    out = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def provenance(rows: list[dict], command: str | None, written: str | None = None) -> str:
    """One line from the rows' stamps: commit(s), date(s), machine(s), the command that wrote the file,
    and the commit that wrote it (``written``) when no row was measured at it (``+dirty`` said aloud)."""
    commits = _distinct(r["commit"] for r in rows)
    said = ", ".join(f"`{c}`" for c in commits)
    if any(c.endswith("+dirty") for c in commits):
        said += " (uncommitted changes: not exactly that commit's code)"
    days = sorted({r["when"][:10] for r in rows})
    when = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
    machines = _distinct(f"{r['machine']['cpu']} ({r['machine'].get('cores', '?')} cores)" for r in rows)
    line = f"Measured at commit{'s' if len(commits) > 1 else ''} {said} on {when}, {'; '.join(machines)}"
    if written and written not in commits:
        line += f", written at `{written}`" + (" (uncommitted changes)" if written.endswith("+dirty") else "")
    return line + (f" by `{command}`." if command and written and written not in commits else
                   f", written by `{command}`." if command else ".")


def cell(text) -> str:
    return str(text).replace("|", "\\|")


def table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """A markdown table; ``align`` one letter a column, ``l`` or ``r``."""
    align = align or "l" * len(headers)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [headers, rule, *[[cell(c) for c in row] for row in rows]]
    return "\n".join("| " + " | ".join(map(str, line)) + " |" for line in lines)


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The stamped rows and the others."""
    return [r for r in rows if stamped(r)], [r for r in rows if not stamped(r)]


def blocks(*parts: str) -> str:
    """Paragraphs of a block, the empty ones left out."""
    return "\n\n".join(p for p in parts if p)
