"""Where the time of ``train.py --env pong-pixels --agent reinforce`` goes, under cProfile.

    python benchmarks/pong_pixels_profile.py                       # 100k env steps: results/pong_pixels_profile.json
    python benchmarks/pong_pixels_profile.py --quick --json /tmp/p.json   # a few seconds: does it run? (not a figure)
    python benchmarks/pong_pixels_profile.py --steps 50000 -- --policy cnn --hidden 128   # any train.py flags after --

One training run in this process (the entry's defaults unless flags follow ``--``; no evaluation:
``--eval-episodes 0 --eval-every 0``), profiled by cProfile; the time of the agent's ``learn``
(start-up and summary aside) is split into parts by the cumulative time of the functions that do them:

- ``acting``: the forward pass and the sampling of the courts' actions (``Rollout._act_vector``,
  ``Rollout._act_single``);
- ``env_step``: the courts' physics and drawing (``PongVectorEnv.step``, ``PongEnv.step``);
- ``update``: the gradient step on a batch (``Reinforce.update``; with ``--workers 2``,
  ``SplitUpdates.update``: waiting for the learner process's sums, and the step);
- ``evaluation``: greedy evaluations (none unless the flags after ``--`` ask for them);
- ``other``: the rest (bookkeeping of episodes and batches, logging; the engine's numba
  kernels are compiled before the profile starts).

cProfile slows Python-heavy parts more than torch's and numba's compiled ones, so the fractions
lean towards ``other``; they compare recipes measured the same way, on a machine run alone.
JSON: ``steps``, ``flags``, ``wall_s``, ``training_s``, ``seconds`` and ``fractions`` (by part),
``env_steps_per_s`` and ``gymlab.provenance``'s stamp.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import RESULTS, table, write_json  # noqa: E402

# part -> the (file's ending, function name) pairs whose cumulative time it is
PARTS = {
    "acting": [("agents/torch_agent.py", "_act_vector"), ("agents/torch_agent.py", "_act_single"),
               ("agents/point_batches.py", "act")],
    "env_step": [("envs/pong_vector.py", "step"), ("envs/pong.py", "step")],
    "update": [("agents/reinforce.py", "update"), ("agents/reinforce_workers.py", "update")],
    "evaluation": [("agents/rollout.py", "evaluate")],  # none unless the flags ask for it
}


def split(stats: pstats.Stats, total: float) -> dict[str, float]:
    """Seconds by part (``PARTS``; ``other``: what is left of ``total``). A function that a part's
    other function calls (a nested match) is not counted twice: only outermost matches add up."""
    matched = {part: [] for part in PARTS}
    for func, (_, _, _, cumulative, callers) in stats.stats.items():
        filename, _, name = func
        for part, targets in PARTS.items():
            if any(filename.replace(os.sep, "/").endswith(f) and name == n for f, n in targets):
                matched[part].append((func, cumulative, callers))
    seconds = {}
    every = {func for found in matched.values() for func, _, _ in found}
    for part, found in matched.items():
        # time reached from another matched function is already in that one's cumulative time
        seconds[part] = sum(cum - sum(c[3] for caller, c in callers.items() if caller in every)
                            for _, cum, callers in found)
    seconds["other"] = max(0.0, total - sum(seconds.values()))
    return seconds


def warm_up() -> None:
    """Compile the engine's numba kernels (tens of seconds, once) before the profile starts."""
    import gymnasium as gym

    from gymlab import envs  # noqa: F401  (registers gymlab/*)

    for make in (lambda: gym.make("gymlab/Pong-v0", obs_type="pixels"),
                 lambda: gym.make_vec("gymlab/Pong-v0", num_envs=2, vectorization_mode="vector_entry_point",
                                      obs_type="pixels")):
        env = make()
        env.reset(seed=0)
        for _ in range(3):
            env.step(env.action_space.sample())
        env.close()


def training_seconds(stats: pstats.Stats) -> float:
    """The cumulative time of the agent's ``learn`` (the run's start-up and summary left out)."""
    return sum(cumulative for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items()
               if filename.replace(os.sep, "/").endswith("agents/reinforce.py") and name == "learn")


def profile(steps: int, flags: list[str]) -> dict:
    import train

    warm_up()

    with tempfile.TemporaryDirectory() as tmp:
        argv = ["--env", "pong-pixels", "--agent", "reinforce", "--steps", str(steps), "--eval-episodes", "0",
                "--eval-every", "0", "--no-progress", "--run-dir", str(Path(tmp) / "run"), *flags]
        profiler = cProfile.Profile()
        start = time.perf_counter()
        code = profiler.runcall(train.main, argv)
        wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"pong_pixels_profile: train.py {' '.join(argv)} exited {code}")
    stats = pstats.Stats(profiler)
    total = training_seconds(stats)
    seconds = split(stats, total)
    return {"steps": steps, "flags": flags, "wall_s": wall, "training_s": total, "seconds": seconds,
            "fractions": {k: v / total for k, v in seconds.items()}, "env_steps_per_s": steps / wall}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=100_000, help="env steps of the profiled run (default 100000)")
    p.add_argument("--quick", action="store_true", help="2000 steps: does it run? (not a figure)")
    p.add_argument("--json", type=Path, help="write here (default benchmarks/results/pong_pixels_profile.json)")
    p.add_argument("flags", nargs="*", help="train.py flags after --, over the entry's defaults")
    args = p.parse_args(argv)
    if args.steps < 1:
        print("pong_pixels_profile: --steps must be at least 1", file=sys.stderr)
        return 2
    row = profile(2000 if args.quick else args.steps, args.flags)
    print(table(["part", "seconds", "fraction"], [[k, row["seconds"][k], row["fractions"][k]] for k in row["seconds"]]))
    print(f"{row['steps']} env steps in {row['wall_s']:.1f} s under cProfile ({row['env_steps_per_s']:.0f} a second)")
    write_json("pong_pixels_profile", {"quick": args.quick, **row}, args.json or RESULTS / "pong_pixels_profile.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
