"""The one way a speed figure is measured here (issue 24, "speed measured alone").

Every speed benchmark (``dqn_speed.py``, ``env_speed.py``, ``cells_vs_torch.py``,
``resume_state.py``) runs its contestants in an even number of interleaved rounds, at least
``MIN_ROUNDS`` (``DEFAULT_ROUNDS`` unless asked), their order reversed every other round, so a drift of
the machine hits them alike and each order runs as often; one thread each. A contestant's figure is the median of its rounds; a
comparison is the median of the per-round ratios to the reference (each ratio taken within one
round, under that round's load), with their min and max, never a ratio of medians nor of runs
made at different times. The load average is read before and after: a start with the 1-minute
load above ``IDLE_LOAD`` marks the results busy (``"busy": true``), and a rise is said; so does other
work that used more than ``OTHERS_BUSY_CORES`` of the machine while it measured (``cpu_clocks``). Fewer
rounds only with ``--quick``, whose results are marked ``"quick": true`` and are not figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from benchmarks._common import load

MIN_ROUNDS = 5
DEFAULT_ROUNDS = 6  # even: each order (forwards, reversed) as often
IDLE_LOAD = 0.5  # the 1-minute load average under which the machine counts as idle
OTHERS_BUSY_CORES = 0.25  # CPU others used during the measurement (cores, on average) that makes it busy
POLL_S = 15  # --wait-idle reads the load this often
QUICK_NOTE = "--quick: a check that it runs, NOT a speed figure (too few rounds and steps)"


def add_arguments(p, quick_rounds: int) -> None:
    """``--quick``, ``--rounds`` and ``--wait-idle``, as every speed benchmark has them."""
    p.add_argument("--quick", action="store_true", help="tiny budgets: a check that it runs, not a figure")
    p.add_argument("--rounds", type=int, help=f"interleaved rounds (default {DEFAULT_ROUNDS}; an even number, at "
                                              f"least {MIN_ROUNDS}, unless --quick; --quick's default {quick_rounds})")
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help=f"first wait up to SECONDS for the 1-minute load to fall below {IDLE_LOAD}")


def check_rounds(rounds: int, quick: bool) -> int:
    """``rounds``, or one line on stderr and exit 2 when it is too few to be a figure, or odd (one
    order would run once more than the other)."""
    if rounds < 1 or (rounds < MIN_ROUNDS and not quick):
        print(f"error: --rounds {rounds}: a speed figure takes at least {MIN_ROUNDS} rounds "
              f"(fewer only with --quick, which is not a figure)", file=sys.stderr)
        raise SystemExit(2)
    if rounds % 2 and not quick:
        print(f"error: --rounds {rounds}: a speed figure takes an even number of rounds, so that each order "
              f"runs as often (e.g. {rounds + 1})", file=sys.stderr)
        raise SystemExit(2)
    return rounds


def rounds_of(args, quick_rounds: int) -> int:
    """The rounds ``args`` ask for (``add_arguments``'s options), checked; ``--quick`` said aloud."""
    if args.quick:
        print(QUICK_NOTE, file=sys.stderr)
    default = quick_rounds if args.quick else DEFAULT_ROUNDS
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


def read_cpu_clocks() -> tuple[float | None, float, float]:
    """``(machine busy s, own s, wall s)``: the CPU seconds every core of the machine has spent busy
    (``/proc/stat``; None where there is none), those of this process and its children (reaped ones),
    and a monotonic clock."""
    t = os.times()
    own = t.user + t.system + t.children_user + t.children_system
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        machine = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle, iowait
    except (OSError, ValueError, IndexError):
        machine = None
    return machine, own, time.monotonic()


cpu_clocks = read_cpu_clocks  # (what start and finish read)


def start(idle_wait: float = 0) -> dict:
    """The load as the measurement starts (after waiting up to ``idle_wait`` seconds for an idle machine:
    ``--wait-idle``): ``{"busy", "load_before"}``, warning when busy; and the CPU clocks, so that
    ``finish`` sees work that began after."""
    if idle_wait:
        wait_idle(idle_wait)
    before = load()
    busy = before is not None and before[0] > IDLE_LOAD
    if busy:
        print(f"WARNING: the machine is busy (1-minute load {before[0]} > {IDLE_LOAD}): the results are marked "
              f"busy; run it alone for a figure", file=sys.stderr)
    return {"busy": busy, "load_before": before, "_clocks": cpu_clocks()}


def finish(state: dict) -> dict:
    """``state`` with ``load_after`` and ``others_cpu_cores`` (the CPU the machine spent beyond this
    benchmark's own over the measurement, in cores on average): busy, and said, when others used more
    than ``OTHERS_BUSY_CORES``, or when the load rose."""
    state = dict(state)
    (m0, own0, w0), (m1, own1, w1) = state.pop("_clocks", None) or cpu_clocks(), cpu_clocks()
    others = None if m0 is None or m1 is None or w1 <= w0 else max(0.0, ((m1 - m0) - (own1 - own0)) / (w1 - w0))
    after = load()
    if after is not None and state["load_before"] is not None and after[0] > max(state["load_before"][0], IDLE_LOAD):
        print(f"WARNING: the load rose while measuring ({state['load_before'][0]} -> {after[0]}): something else "
              f"ran", file=sys.stderr)
    if others is not None and others > OTHERS_BUSY_CORES:
        print(f"WARNING: other work used {others:.2f} cores on average while measuring: something else ran; "
              f"the results are marked busy", file=sys.stderr)
        state["busy"] = True
    return {**state, "load_after": after, "others_cpu_cores": None if others is None else round(others, 3)}


def say_verdict(state: dict, quick: bool, failures=()) -> None:
    """The lines below a speed table that say what its figures are not: each failed check, ``--quick``
    (not a figure), and a busy machine (not a figure of the code alone)."""
    for line in failures:
        print(f"CHECK FAILED: {line}")
    if quick:
        print(QUICK_NOTE)
    if state["busy"]:
        print(f"BUSY: the 1-minute load was {state['load_before'][0]} at the start: not a figure of the code alone")


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


def parse_args(p, argv, measure, torch_threads: bool = True):
    """``p.parse_args(argv)``, with the hidden flags ``run_child`` starts a script with: given ``--child JOB
    --out FILE`` (this is the process ``run_child`` started), ``measure(JOB)`` is written to FILE as JSON,
    with torch on one thread (``torch_threads``), and None returned: the script's ``main`` returns 0."""
    import argparse
    import json

    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.child:
        return args
    if torch_threads:
        import torch

        torch.set_num_threads(1)
    args.out.write_text(json.dumps(measure(json.loads(args.child))))
    return None


def run_child(script: str, job: dict, what: str) -> dict:
    """``python SCRIPT --child JOB --out FILE`` in a process of its own, one thread (so each run starts
    alike and each peak of memory is that run's alone): the JSON it wrote, or exit naming ``what``
    (``parse_args`` is the other end, in SCRIPT)."""
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
