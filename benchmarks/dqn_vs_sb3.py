"""gymlab's DQN against Stable-Baselines3's DQN on CartPole-v1, several seeds, in one run.

    python benchmarks/dqn_vs_sb3.py                 # 5 seeds, 50k steps each: about 15 minutes
    python benchmarks/dqn_vs_sb3.py --seeds 2 --steps 20000 --no-zoo   # a quick look

Four contestants, each run through ``train.py`` one after the other (never two at
once, so their speeds are comparable), with the same budget and seeds:

- ``dqn``: gymlab's DQN with its CartPole defaults (``agents/hyperparams.py``), which
  add two things SB3's DQN does not have: double Q-learning and dueling streams
  (each stream its own hidden layer, so its network is also larger);
- ``dqn (as sb3)``: the same, with ``--no-double-q --no-dueling``: the algorithm and
  network of the next row exactly, so this pair compares implementations, speed
  included;
- ``sb3-dqn (same)``: SB3's DQN with the same hyper-parameters, translated one for
  one (network, learning rate and its decay, batch, buffer, learning starts, train
  frequency, gradient steps, target interval, n-step, exploration, gamma, clipping):
  so all three take the same gradient steps per env step;
- ``sb3-dqn (zoo)``: SB3's DQN with RL-Zoo's tuned CartPole settings.

The table says, for each, what differs from ``sb3-dqn (same)`` and how many weights
its Q-network has.
A seed is solved when the final greedy evaluation (10 episodes) averages >= 475.
Prints the table and writes ``benchmarks/results/dqn_vs_sb3.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gymlab import train  # noqa: E402
from gymlab.agents import hyperparams  # noqa: E402
from benchmarks._common import provenance, table, write_json  # noqa: E402

SOLVED = 475.0
# gymlab DQN config field -> SB3 DQN keyword
TO_SB3 = {"hidden": "net_arch", "learning_rate": "learning_rate", "lr_anneal": "lr_anneal", "batch_size": "batch_size",
          "buffer_size": "buffer_size", "learning_starts": "learning_starts", "train_freq": "train_freq",
          "gradient_steps": "gradient_steps", "target_update_interval": "target_update_interval", "tau": "tau",
          "n_step": "n_steps", "exploration_fraction": "exploration_fraction", "epsilon_start": "exploration_initial_eps",
          "epsilon_end": "exploration_final_eps", "gamma": "gamma", "max_grad_norm": "max_grad_norm"}


def flags(settings: dict) -> list[str]:
    out = []
    for key, value in settings.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else "--no-" + key.replace("_", "-"))
        elif isinstance(value, (tuple, list)):
            out += [flag, ",".join(map(str, value))]
        else:
            out += [flag, str(value)]
    return out


def contestants() -> dict[str, tuple[str, list[str]]]:
    from gymlab.agents.dqn import DQNConfig

    ours, _ = hyperparams.defaults("dqn", "CartPole-v1")
    full = {**DQNConfig().__dict__, **ours}  # every setting, so the translation misses none
    same = {TO_SB3[k]: v for k, v in full.items() if k in TO_SB3}
    zoo, _ = hyperparams.defaults("sb3-dqn", "CartPole-v1")
    grad_ratio = lambda s: s["gradient_steps"] / s["train_freq"]  # noqa: E731
    differs = ", ".join(what for what, on in (("double Q", full["double_q"]), ("dueling streams", full["dueling"]))
                        if on) or "nothing"
    return {  # name -> (agent, flags, gradient steps per env step, what differs from sb3-dqn (same))
        "dqn": ("dqn", [], grad_ratio(full), differs),
        "dqn (as sb3)": ("dqn", ["--no-double-q", "--no-dueling"], grad_ratio(full), "nothing"),
        "sb3-dqn (same)": ("sb3-dqn", flags(same), grad_ratio(same), "(the reference)"),
        "sb3-dqn (zoo)": ("sb3-dqn", [], grad_ratio(zoo), "RL-Zoo's settings (net 256,256)"),
    }


def q_weights(run_dir: Path) -> int:
    """How many numbers the run's Q-network holds (its target network aside), from its checkpoint."""
    import numpy as np

    with np.load(run_dir / "checkpoint.npz") as data:
        names = [k for k in data.files if k != "__meta__"]
        online = [k for k in names if k.startswith(("q/", "policy/q_net."))]  # not q_target/, policy/q_net_target.
        return int(sum(data[k].size for k in online))


def command(agent: str, extra: list[str], seed: int, steps: int) -> str:
    return " ".join(["python train.py --env CartPole-v1 --agent", agent, "--steps", str(steps), "--seed", str(seed),
                     "--eval-every 0 --eval-episodes 10", *extra])


def run_one(agent: str, extra: list[str], seed: int, steps: int, run_dir: Path) -> dict:
    argv = ["--env", "CartPole-v1", "--agent", agent, "--steps", str(steps), "--seed", str(seed),
            "--eval-every", "0", "--eval-episodes", "10", "--no-progress", "--run-dir", str(run_dir), *extra]
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the table
        code = train.main(argv)
    if code != 0:
        raise SystemExit(f"train.py {' '.join(argv)} exited {code}")
    return json.loads((run_dir / "summary.json").read_text())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    p.add_argument("--steps", type=int, default=50_000, help="env steps per run (default 50000)")
    p.add_argument("--no-zoo", action="store_true", help="leave out SB3 with RL-Zoo's settings")
    p.add_argument("--json", type=Path, help="where to write the results (default benchmarks/results/dqn_vs_sb3.json)")
    args = p.parse_args(argv)

    who = contestants()
    if args.no_zoo:
        who.pop("sb3-dqn (zoo)")
    results = {name: [] for name in who}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for name, (agent, extra, _, _) in who.items():
                slug = name.replace(" ", "").replace("(", "-").replace(")", "")  # one directory per contestant and seed
                run_dir = Path(tmp) / f"{slug}-{seed}"
                summary = run_one(agent, extra, seed, args.steps, run_dir)
                results[name].append({"seed": seed, "eval_return": summary["eval"]["return_mean"],
                                      "env_steps_per_s": summary["env_steps_per_s"],
                                      "wall_time_s": summary["wall_time_s"], "q_weights": q_weights(run_dir),
                                      **provenance(command(agent, extra, seed, args.steps))})
                print(f"seed {seed} {name}: return {summary['eval']['return_mean']:.1f}, "
                      f"{summary['env_steps_per_s']:.0f} steps/s", file=sys.stderr)

    rows, records = [], []
    ref_sps = statistics.median(r["env_steps_per_s"] for r in results["sb3-dqn (same)"])
    for name, runs in results.items():
        returns = [r["eval_return"] for r in runs]
        sps = statistics.median(r["env_steps_per_s"] for r in runs)
        solved = sum(r >= SOLVED for r in returns)
        rows.append([name, who[name][3], runs[0]["q_weights"], f"{solved}/{len(runs)}", statistics.mean(returns),
                     " ".join(f"{r:.0f}" for r in returns), sps, f"{sps / ref_sps:.2f}x", f"{who[name][2]:g}"])
        records.append({"contestant": name, "agent": who[name][0], "flags": who[name][1],
                        "differs_from_sb3_same": who[name][3], "q_weights": runs[0]["q_weights"], "solved": solved,
                        "seeds": len(runs), "return_mean": statistics.mean(returns), "runs": runs,
                        "env_steps_per_s_median": sps, "speed_vs_sb3_same": sps / ref_sps,
                        "gradient_steps_per_env_step": who[name][2]})
    print(table(["CartPole-v1, " + f"{args.steps} steps", "differs from sb3 (same)", "Q-net weights",
                 "solved (>=475)", "mean return", "per seed", "env steps/s", "vs sb3 (same)",
                 "grad steps / env step"], rows))
    path = write_json("dqn_vs_sb3", {"env": "CartPole-v1", "steps": args.steps, "solved_threshold": SOLVED,
                                     "results": records}, args.json)
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
