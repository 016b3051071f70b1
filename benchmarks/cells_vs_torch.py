"""The hand-written cells against torch's fused modules: one forward and backward pass, at a few sizes.

    python benchmarks/cells_vs_torch.py          # about a minute; writes benchmarks/results/cells_vs_torch.json

Same weights in both (the hand-written core loads the fused one's state_dict),
float32, sequences of 100 steps, batch 32, one CPU thread; the median of 5
interleaved rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import provenance, table, write_json  # noqa: E402
from gymlab.sequence_tasks.backbone import KINDS, RecurrentCore  # noqa: E402

SIZES = (32, 128, 512)
STEPS, BATCH = 100, 32


def pass_time(core, x, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        out, _ = core(x)
        out.sum().backward()
    return (time.perf_counter() - start) / repeats


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rows, records = [], []
    for kind in KINDS:
        for size in SIZES:
            stamp = provenance()  # as the row's measurement begins
            fused = RecurrentCore(kind, size, size, impl="fused")
            cells = RecurrentCore(kind, size, size, impl="cells")
            cells.load_state_dict(fused.state_dict())
            x = torch.randn(STEPS, BATCH, size)
            repeats = 3 if size >= 512 else 10
            times = {"fused": [], "cells": []}
            pass_time(fused, x, 1), pass_time(cells, x, 1)  # warm up
            for _ in range(args.rounds):
                times["fused"].append(pass_time(fused, x, repeats))
                times["cells"].append(pass_time(cells, x, repeats))
            f, c = statistics.median(times["fused"]), statistics.median(times["cells"])
            rows.append([f"{kind}, hidden {size}", f"{c * 1e3:.1f}", f"{f * 1e3:.1f}", f"{c / f:.2f}x"])
            records.append({"kind": kind, "hidden": size, "cells_ms": c * 1e3, "fused_ms": f * 1e3, "ratio": c / f,
                            **stamp})
            print(f"{kind} {size} done", file=sys.stderr)
    print(table([f"forward+backward, T={STEPS}, B={BATCH}", "hand-written cells (ms)", "torch fused (ms)",
                 "cells / fused"], rows))
    path = write_json("cells_vs_torch", {"steps": STEPS, "batch": BATCH, "rounds": args.rounds, "rows": records},
                      args.json)
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
