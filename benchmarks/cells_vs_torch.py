"""The hand-written cells against torch's fused modules: one forward and backward pass, at a few sizes.

    python benchmarks/cells_vs_torch.py --wait-idle 600   # about a minute alone: results/cells_vs_torch.json
    python benchmarks/cells_vs_torch.py --quick --json /tmp/c.json   # seconds: does it run? (not a figure)

Same weights in both (the hand-written core loads the fused one's state_dict), float32,
sequences of 100 steps, batch 32, one CPU thread (``torch.set_num_threads(1)``,
OMP_NUM_THREADS=1). A round times a pass of each (the mean of 10 passes, 3 at hidden 512),
after one warm-up pass of each. The speed protocol (``benchmarks/_speed.py``): run it alone;
an even number of interleaved rounds per row, at least 5 (6 by default) (fewer only with ``--quick``, which also shortens the
sequences to 20 steps and times hidden 32 only, marked ``"quick": true`` and not a figure), the
two in reversed order every other round; a row's time is the median of its rounds, and its
ratio (cells' time / fused time: above 1 the cells are slower) the median of the per-round
ratios, with their min and max. The load before and after is recorded; a start with the
1-minute load above 0.5 marks the results busy.
JSON: top level ``steps``, ``batch``, ``rounds``, ``quick``, ``busy``, ``load_before``,
``load_after``, ``results``; each row ``kind``, ``hidden``, ``steps``, ``batch``, ``passes``
(timed a round), ``cells_ms_per_round``, ``fused_ms_per_round``, ``cells_ms_median``,
``fused_ms_median``, ``vs_ref`` (``{"ref": "torch fused", "per_round", "median", "min", "max"}``,
ratios of times), ``rounds``, ``quick``, ``busy``, ``load_before``, ``load_after`` and
``_common.provenance``'s stamp (``load``: as the row began).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread, before torch is imported
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import _speed  # noqa: E402
from benchmarks._common import RESULTS, provenance, table, write_json  # noqa: E402
from gymlab.sequence_tasks.backbone import KINDS, RecurrentCore  # noqa: E402

SIZES, QUICK_SIZES = (32, 128, 512), (32,)
STEPS, QUICK_STEPS, BATCH = 100, 20, 32
REF = "torch fused"


def pass_time(core, x, repeats: int) -> float:
    """Seconds a forward and backward pass of ``core`` over ``x`` takes: the mean of ``repeats``."""
    start = time.perf_counter()
    for _ in range(repeats):
        out, _ = core(x)
        out.sum().backward()
    return (time.perf_counter() - start) / repeats


def measure_row(kind: str, size: int, steps: int, rounds: int, quick: bool) -> dict:
    """One row: the fused and the hand-written core of ``kind`` and ``size``, in ``rounds`` interleaved rounds."""
    torch.manual_seed(0)
    cores = {"fused": RecurrentCore(kind, size, size, impl="fused"),
             "cells": RecurrentCore(kind, size, size, impl="cells")}
    cores["cells"].load_state_dict(cores["fused"].state_dict())
    x = torch.randn(steps, BATCH, size)
    passes = 1 if quick else 3 if size >= 512 else 10
    stamp = provenance()
    for core in cores.values():  # warm up
        pass_time(core, x, 1)
    ms = _speed.interleave(["fused", "cells"], rounds, lambda name, r: pass_time(cores[name], x, passes) * 1e3)
    print(f"{kind} {size} done", file=sys.stderr)
    return {"kind": kind, "hidden": size, "steps": steps, "batch": BATCH, "passes": passes,
            "cells_ms_per_round": ms["cells"], "fused_ms_per_round": ms["fused"],
            "cells_ms_median": statistics.median(ms["cells"]), "fused_ms_median": statistics.median(ms["fused"]),
            "vs_ref": {"ref": REF, **_speed.ratios(ms["cells"], ms["fused"])}, **stamp}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _speed.add_arguments(p, quick_rounds=2)
    p.add_argument("--json", type=Path, help="where to write the results (default benchmarks/results/"
                                             "cells_vs_torch.json, --quick: cells_vs_torch_quick.json)")
    args = p.parse_args(argv)
    rounds = _speed.rounds_of(args, quick_rounds=2)
    steps, sizes = (QUICK_STEPS, QUICK_SIZES) if args.quick else (STEPS, SIZES)
    torch.set_num_threads(1)
    state = _speed.start(args.wait_idle)
    records = [measure_row(kind, size, steps, rounds, args.quick) for kind in KINDS for size in sizes]
    state = _speed.finish(state)
    records = [{**r, "rounds": rounds, "quick": args.quick, **state} for r in records]
    rows = [[f"{r['kind']}, hidden {r['hidden']}", f"{r['cells_ms_median']:.1f}", f"{r['fused_ms_median']:.1f}",
             _speed.ratio_cell(r["vs_ref"])] for r in records]
    print(table([f"forward+backward, T={steps}, B={BATCH}", "hand-written cells (ms, median)",
                 "torch fused (ms, median)", "cells / fused time: median [min-max] of rounds"], rows))
    _speed.say_verdict(state, args.quick)
    out = args.json or RESULTS / ("cells_vs_torch_quick.json" if args.quick else "cells_vs_torch.json")
    path = write_json("cells_vs_torch", {"steps": steps, "batch": BATCH, "rounds": rounds, "quick": args.quick,
                                         **state, "rows": records}, out)
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
