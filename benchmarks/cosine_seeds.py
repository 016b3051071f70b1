"""The ``cosine`` experiment's validation MSE over held-out seeds: ``python -m sequence_tasks cosine --seed S``
on each seed, each seed's ``val_mse`` (1000 validation cosines, 100 steps read, 900 run free), its best and
worst wave's, and over the seeds their IQM (an interval only from 10 seeds, ``gymlab.stats.describe``;
below that every seed's value and the range with n).

    python benchmarks/cosine_seeds.py           # 10 report seeds (1000-1009), one after another, one thread
                                                # each: about 10 x the command's 2000 iterations (tens of
                                                # minutes here); writes results/cosine_seeds.json
    python benchmarks/cosine_seeds.py --quick   # 40 iterations, 50 validation waves, seed 1000: NOT figures

The recipe's tuning seeds were not recorded (``sequence_tasks/tuned_on.py``), so every seed below 1000
counts as one: refused (``benchmarks/heldout.py``), or run and marked ``on_tuning_seeds`` with
``--allow-tuning-seeds``. No wall time here is a figure (the seeds run one after another, not timed alone).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import heldout  # noqa: E402
from benchmarks._common import RESULTS, provenance, report_seeds, seed_options, this_command, write_json  # noqa: E402
from benchmarks.rendering.sequence import cosine  # noqa: E402
from gymlab import stats  # noqa: E402

DEFAULT_SEEDS = report_seeds(10)
QUICK_FLAGS = ["--iterations", "40", "--val-waves", "50", "--val-len", "200", "--eval-every", "0"]


def run_seed(seed: int, extra: list[str]) -> dict:
    """``python -m sequence_tasks cosine --seed SEED`` (and ``extra``), its summary.json's figures, stamped."""
    argv = ["-m", "sequence_tasks", "cosine", "--seed", str(seed), "--threads", "1", *extra]
    stamp = provenance("python " + shlex.join(argv))  # as the run begins
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, *argv, "--run-dir", tmp, "--no-progress"], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        s = json.loads(Path(tmp, "summary.json").read_text())
    print(f"  seed {seed}: validation MSE {s['val_mse']:.3g}", flush=True)
    return {"seed": seed, **{k: s[k] for k in ("val_mse", "best_mse", "worst_mse", "waves_seen", "wall_time_s")
                             if k in s}, **stamp}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    seed_options(p, DEFAULT_SEEDS, "below 1000 (the recipe's tuning seeds are not recorded)", quick="1000")
    p.add_argument("--quick", action="store_true", help="tiny sizes, a check that it runs: not figures")
    p.add_argument("--json", type=Path, help="default results/cosine_seeds.json (--quick: *_quick.json, untracked)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    seeds = report_seeds(1) if args.quick and args.seeds is DEFAULT_SEEDS else args.seeds
    on_tuning = heldout.label_task("cosine", seeds, args.allow_tuning_seeds)
    stamp = {**provenance(), **on_tuning, "quick": args.quick}
    runs = [run_seed(seed, QUICK_FLAGS if args.quick else []) for seed in seeds]
    row = {"task": "cosine", "seeds": list(seeds), "figures": [r["val_mse"] for r in runs],
           **{k: stats.describe([r[k] for r in runs]) for k in ("val_mse", "best_mse", "worst_mse")},
           "runs": runs, **stamp}
    payload = {"seeds": list(seeds), "quick": args.quick, **on_tuning, "rows": [row]}
    print(cosine({**payload, "quick": False, "rows": [{**row, "quick": False}]}))
    name = "cosine_seeds_quick" if args.quick else "cosine_seeds"
    path = write_json(name, payload, args.json or RESULTS / f"{name}.json")
    print(f"\nwritten to {path} ({this_command()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
