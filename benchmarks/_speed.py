"""The one way a speed figure is measured here (issue 24, "speed measured alone").

Every speed benchmark (``dqn_speed.py``, ``env_speed.py``, ``cells_vs_torch.py``,
``resume_state.py``) runs its contestants in at least
``MIN_ROUNDS`` interleaved rounds, their order reversed every other round, so a drift of the
machine hits them alike; one thread each. A contestant's figure is the median of its rounds; a
comparison is the median of the per-round ratios to the reference (each ratio taken within one
round, under that round's load), with their min and max, never a ratio of medians nor of runs
made at different times. The load average is read before and after: a start with the 1-minute
load above ``IDLE_LOAD`` marks the results busy (``"busy": true``), and a rise is said. Fewer
rounds only with ``--quick``, whose results are marked ``"quick": true`` and are not figures.
"""

from __future__ import annotations

import statistics
import sys
import time

from benchmarks._common import load

MIN_ROUNDS = 5
IDLE_LOAD = 0.5  # the 1-minute load average under which the machine counts as idle
POLL_S = 15  # --wait-idle reads the load this often
QUICK_NOTE = "--quick: a check that it runs, NOT a speed figure (too few rounds and steps)"


def add_arguments(p, quick_rounds: int) -> None:
    """``--quick``, ``--rounds`` and ``--wait-idle``, as every speed benchmark has them."""
    p.add_argument("--quick", action="store_true", help="tiny budgets: a check that it runs, not a figure")
    p.add_argument("--rounds", type=int, help=f"interleaved rounds (default {MIN_ROUNDS}, at least {MIN_ROUNDS} "
                                              f"unless --quick; --quick's default {quick_rounds})")
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help=f"first wait up to SECONDS for the 1-minute load to fall below {IDLE_LOAD}")


def check_rounds(rounds: int, quick: bool) -> int:
    """``rounds``, or one line on stderr and exit 2 when it is too few to be a figure."""
    if rounds < 1 or (rounds < MIN_ROUNDS and not quick):
        print(f"error: --rounds {rounds}: a speed figure takes at least {MIN_ROUNDS} rounds "
              f"(fewer only with --quick, which is not a figure)", file=sys.stderr)
        raise SystemExit(2)
    return rounds


def rounds_of(args, quick_rounds: int) -> int:
    """The rounds ``args`` ask for (``add_arguments``'s options), checked; ``--quick`` said aloud."""
    if args.quick:
        print(QUICK_NOTE, file=sys.stderr)
    default = quick_rounds if args.quick else MIN_ROUNDS
    return check_rounds(default if args.rounds is None else args.rounds, args.quick)


def wait_idle(seconds: float, sleep=time.sleep, clock=time.monotonic) -> bool:
    """Wait up to ``seconds`` for the 1-minute load to fall below ``IDLE_LOAD``; whether it did."""
    end = clock() + seconds
    while True:
        now = load()
        if now is None or now[0] < IDLE_LOAD:
            return True
        if clock() >= end:
            return False
        print(f"waiting for the machine to be idle: 1-minute load {now[0]}", file=sys.stderr)
        sleep(min(POLL_S, max(end - clock(), 0)))


def start() -> dict:
    """The load as the measurement starts: ``{"busy", "load_before"}``, warning when busy."""
    before = load()
    busy = before is not None and before[0] > IDLE_LOAD
    if busy:
        print(f"WARNING: the machine is busy (1-minute load {before[0]} > {IDLE_LOAD}): the results are marked "
              f"busy; run it alone for a figure", file=sys.stderr)
    return {"busy": busy, "load_before": before}


def finish(state: dict) -> dict:
    """``state`` with ``load_after``, saying so when the load rose during the measurement."""
    after = load()
    if after is not None and state["load_before"] is not None and after[0] > max(state["load_before"][0], IDLE_LOAD):
        print(f"WARNING: the load rose while measuring ({state['load_before'][0]} -> {after[0]}): something else "
              f"ran", file=sys.stderr)
    return {**state, "load_after": after}


def interleave(names: list[str], rounds: int, run) -> dict[str, list]:
    """``run(name, round)`` for each name, round after round, the order reversed every other round."""
    out = {name: [] for name in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            out[name].append(run(name, r))
    return out


def ratios(mine: list[float], ref: list[float]) -> dict:
    """Per-round ratios of ``mine`` to ``ref`` (round by round) with their median, min and max."""
    per_round = [a / b for a, b in zip(mine, ref, strict=True)]
    return {"per_round": per_round, "median": statistics.median(per_round), "min": min(per_round),
            "max": max(per_round)}


def speed_fields(rates: list[float], ref_rates: list[float], ref: str | None) -> dict:
    """A row's speed: every round's env steps/s, their median, and ``vs_ref`` (None for the reference)."""
    return {"env_steps_per_s_per_round": list(rates), "env_steps_per_s_median": statistics.median(rates),
            "vs_ref": None if ref is None else {"ref": ref, **ratios(rates, ref_rates)}}


def ratio_cell(vs: dict | None) -> str:
    """``2.01x [1.80-2.20]``: the median of the per-round ratios and their min-max."""
    return "(ref)" if vs is None else f"{vs['median']:.2f}x [{vs['min']:.2f}-{vs['max']:.2f}]"


def run_child(script: str, job: dict, what: str) -> dict:
    """``python SCRIPT --child JOB --out FILE`` in a process of its own, one thread (so each run starts
    alike and each peak of memory is that run's alone): the JSON it wrote, or exit naming ``what``."""
    import json
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    from benchmarks._common import ROOT

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        proc = subprocess.run([sys.executable, str(Path(script).resolve()), "--child", json.dumps(job),
                               "--out", str(out)], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.is_file():
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"{what} failed (exit {proc.returncode})")
        return json.loads(out.read_text())
