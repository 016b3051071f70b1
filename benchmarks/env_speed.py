"""Env steps per second of gymlab's Pong, side by side with Gymnasium's CartPole-v1, in one run.

    python benchmarks/env_speed.py            # about a minute; writes benchmarks/results/env_speed.json
    python benchmarks/env_speed.py --quick    # a few seconds, rougher (to env_speed_quick.json, untracked)

Single envs go through ``gym.make`` (with its wrappers, as a user gets them);
vector envs through ``gym.make_vec(..., vectorization_mode="vector_entry_point")``,
CartPole's being Gymnasium's own numpy-vectorised one. Every figure is the median
of several rounds, the candidates interleaved within each round so that the
machine's drift hits all of them alike; ratios, not absolute rates, are the result.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gymlab import envs  # noqa: E402,F401  (registers gymlab/*)
from benchmarks._common import RESULTS, table, write_json  # noqa: E402

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
    p.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    p.add_argument("--rounds", type=int, help="rounds per figure (default 5, or 3 with --quick)")
    p.add_argument("--json", type=Path, help="where to write the results (default benchmarks/results/env_speed.json)")
    args = p.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 5)
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

    samples = {k: [] for k in cases}
    for r in range(rounds):
        for key, fn in cases.items():
            samples[key].append(fn())
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    rate = {k: statistics.median(v) for k, v in samples.items()}

    rows, records = [], []
    for n in (1,) + VECTOR_SIZES:
        ref = rate[("CartPole-v1", n)]
        how = "gym.make" if n == 1 else "vector env"
        for name in ("features", "pixels"):
            label = f"{name}, {'single' if n == 1 else f'N={n}'}"
            ratio = rate[(name, n)] / ref
            need = THRESHOLDS.get(label)
            verdict = "" if need is None else (f"pass (>= {need}x)" if ratio >= need else f"FAIL (< {need}x)")
            rows.append([f"Pong {label}", rate[(name, n)], f"CartPole-v1 {how}" + ("" if n == 1 else f" N={n}"),
                         ref, f"{ratio:.2f}x", verdict])
            records.append({"case": f"Pong {label}", "num_envs": n, "steps_per_s": round(rate[(name, n)]),
                            "cartpole_steps_per_s": round(ref), "ratio": round(ratio, 3),
                            "threshold": need, "passed": None if need is None else ratio >= need})
    print(table(["gymlab", "env steps/s", "reference (same run)", "env steps/s", "ratio", "acceptance"], rows))
    # A --quick look is rougher than the tracked figures: it goes to its own file unless --json says where.
    out = args.json or (RESULTS / "env_speed_quick.json" if args.quick else None)
    path = write_json("env_speed", {"rounds": rounds, "single_steps": single_steps, "vector_env_steps": vector_steps,
                                    "quick": args.quick, "results": records}, out)
    print(f"\nwritten: {path}")
    return 0 if all(r["passed"] is not False for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
