"""Env steps per second of gymlab's Pong, side by side with Gymnasium's CartPole-v1, in one run.

    python benchmarks/env_speed.py --wait-idle 600   # 6 rounds, about a minute alone: results/env_speed.json
    python benchmarks/env_speed.py --quick --json /tmp/e.json   # a few seconds: does it run? (not a figure)

Single envs go through ``gym.make`` (with its wrappers, as a user gets them);
vector envs through ``gym.make_vec(..., vectorization_mode="vector_entry_point")``,
CartPole's being Gymnasium's own numpy-vectorised one. The speed protocol
(``benchmarks/_speed.py``): run it alone; one thread (OMP_NUM_THREADS=1); at least 5
interleaved rounds (fewer only with ``--quick``, marked ``"quick": true``), the cases' order
reversed every other round; a case's figure is the median of its rounds, and its ratio to
CartPole (the same kind of env, in the same round) the median of the per-round ratios, with
their min and max. The load average before and after is recorded; a start with the 1-minute load
above 0.5 marks the JSON busy. Ratios, not absolute rates, are the result.
JSON: top level ``quick``, ``rounds``, ``busy``, ``load_before``, ``load_after``, ``rows``;
each row ``case``, ``num_envs``, ``env_steps_per_s_per_round``, ``env_steps_per_s_median``,
``ref_env_steps_per_s_per_round``, ``ref_env_steps_per_s_median``, ``vs_ref`` (``{"ref",
"per_round", "median", "min", "max"}``), ``threshold``, ``passed``, ``busy``, the loads and
``_common.provenance``'s stamp.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread, before numpy is imported
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gymlab import envs  # noqa: E402,F401  (registers gymlab/*)
from benchmarks import _speed  # noqa: E402
from benchmarks._common import RESULTS, provenance, table, write_json  # noqa: E402

VECTOR_SIZES = (16, 64, 256)
THRESHOLDS = {  # the Pong issue's acceptance, as ratios to CartPole in the same run
    "features, single": 1.0,
    "pixels, single": 0.25,
    "features, N=256": 3.0,
}


def single_rate(env_id: str, kwargs: dict, steps: int) -> float:
    env = gym.make(env_id, **kwargs)
    n_actions = env.action_space.n
    actions = np.random.default_rng(0).integers(0, n_actions, steps).tolist()
    env.reset(seed=0)
    env.step(0)  # warm up (and compile, on first use)
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            env.reset()
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def vector_rate(env_id: str, kwargs: dict, num_envs: int, env_steps: int) -> float:
    venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    steps = max(env_steps // num_envs, 50)
    actions = np.random.default_rng(0).integers(0, venv.single_action_space.n, (steps, num_envs))
    venv.reset(seed=0)
    venv.step(actions[0])
    start = time.perf_counter()
    for a in actions:
        venv.step(a)
    rate = steps * num_envs / (time.perf_counter() - start)
    venv.close()
    return rate


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _speed.add_arguments(p, quick_rounds=3)
    p.add_argument("--json", type=Path, help="where to write the results (default benchmarks/results/env_speed.json)")
    args = p.parse_args(argv)
    rounds = _speed.rounds_of(args, quick_rounds=3)
    single_steps, vector_steps = (20_000, 400_000) if args.quick else (100_000, 2_000_000)

    cases = {  # name -> (function producing one rate)
        ("CartPole-v1", 1): lambda: single_rate("CartPole-v1", {}, single_steps),
        ("features", 1): lambda: single_rate("gymlab/Pong-v0", {}, single_steps),
        ("pixels", 1): lambda: single_rate("gymlab/Pong-v0", {"obs_type": "pixels"}, single_steps),
    }
    for n in VECTOR_SIZES:
        cases[("CartPole-v1", n)] = lambda n=n: vector_rate("CartPole-v1", {}, n, vector_steps)
        cases[("features", n)] = lambda n=n: vector_rate("gymlab/Pong-v0", {}, n, vector_steps)
        cases[("pixels", n)] = lambda n=n: vector_rate("gymlab/Pong-v0", {"obs_type": "pixels"}, n, vector_steps)

    state, stamp = _speed.start(args.wait_idle), provenance()
    samples = _speed.interleave(list(cases), rounds, lambda key, r: cases[key]())
    state = _speed.finish(state)

    rows, records = [], []
    for n in (1,) + VECTOR_SIZES:
        how = "CartPole-v1 " + ("gym.make" if n == 1 else f"vector env N={n}")
        ref = samples[("CartPole-v1", n)]
        for name in ("features", "pixels"):
            label = f"{name}, {'single' if n == 1 else f'N={n}'}"
            speed = _speed.speed_fields(samples[(name, n)], ref, how)
            ratio = speed["vs_ref"]["median"]
            need = THRESHOLDS.get(label)
            verdict = "" if need is None else (f"pass (>= {need}x)" if ratio >= need else f"FAIL (< {need}x)")
            rows.append([f"Pong {label}", speed["env_steps_per_s_median"], how, statistics.median(ref),
                         _speed.ratio_cell(speed["vs_ref"]), verdict])
            records.append({"case": f"Pong {label}", "num_envs": n, **speed, "ref_env_steps_per_s_per_round": ref,
                            "ref_env_steps_per_s_median": statistics.median(ref), "threshold": need,
                            "passed": None if need is None else ratio >= need, "rounds": rounds,
                            "quick": args.quick, **state, **stamp})
    print(table(["gymlab", "env steps/s (median)", "reference (same rounds)", "env steps/s",
                 "ratio: median [min-max] of rounds", "acceptance"], rows))
    if args.quick:
        print(_speed.QUICK_NOTE)
    # A --quick look is rougher than the tracked figures: it goes to its own file unless --json says where.
    out = args.json or (RESULTS / "env_speed_quick.json" if args.quick else None)
    path = write_json("env_speed", {"rounds": rounds, "single_steps": single_steps, "vector_env_steps": vector_steps,
                                    "quick": args.quick, **state, "rows": records}, out)
    print(f"\nwritten: {path}")
    return 0 if all(r["passed"] is not False for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
