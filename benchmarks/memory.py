"""Memory: recurrent agents against memoryless controls on the tasks that need one, over seeds.

    python benchmarks/memory.py --seeds 3 --work-dir runs/memory    # results/memory.json
    python benchmarks/memory.py --only cartpole-novel --seeds 3 --work-dir runs/memory
    python benchmarks/memory.py --seeds 2 --steps 2000 --json /tmp/quick.json   # does it run?

Every row is one sweep, ``python train.py ... --seeds N`` with the settings of
``agents/hyperparams.py`` (changed only where the row says so), each seed scored by
``train.py``'s own greedy evaluation; the row gives the IQM of the figure over seeds with its 95%
stratified-bootstrap interval, every seed's figure, the budget and the median wall time a trial.
Rows already swept in ``--work-dir`` (same flags, same seeds) are read back, not run again.

- ``recall`` (``gymlab/Recall-v0``, delay 10, 4 symbols) and ``recall-50`` (delay 50):
  success rate over 100 episodes = mean return (chance 0.25);
- ``cartpole-novel`` (``gymlab/CartPoleNoVel-v1``: cart position and pole angle, the velocities
  hidden): greedy return over 20 episodes (500 at most; the issue's bar is 475).

The controls have the recurrent DQN's budget: an MLP Q-network, and an MLP on the last 4
observations (``--frame-stack 4``, the Atari answer to a hidden velocity, and no answer to a
symbol shown 10 steps ago). The references are REINFORCE with an LSTM (``agents/reinforce.py``)
and sb3-contrib's RecurrentPPO, each on its own table entry.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import (RESULTS, iqm_cell, merge_rows, row_dir, seeds_flag,  # noqa: E402
                               sweep_arguments, sweep_row, table, write_json)

# env alias -> (figure name, evaluation episodes, chance or random's figure)
ENVS = {
    "recall": ("success rate", 100, "0.25"),
    "cartpole-novel": ("greedy return", 20, "about 22 (random)"),
    "recall-50": ("success rate", 100, "0.25"),
}
RUNS = [  # (env, agent, label, extra flags); {budget} is the recurrent DQN's budget on that env
    ("recall", "dqn", "DQN, LSTM 32 (recurrent DQN)", []),
    ("recall", "dqn", "DQN, MLP 32 (control)", ["--policy", "mlp", "--steps", "{budget}"]),
    ("recall", "dqn", "DQN, MLP 32 on 4 stacked frames (control)", ["--policy", "mlp", "--frame-stack", "4",
                                                                  "--steps", "{budget}"]),
    ("recall", "reinforce", "REINFORCE, LSTM 64", []),
    ("recall", "sb3-recurrent-ppo", "SB3 RecurrentPPO", []),
    ("cartpole-novel", "dqn", "DQN, LSTM 64 (recurrent DQN)", []),
    ("cartpole-novel", "dqn", "DQN, MLP 64,64 (control)", ["--policy", "mlp", "--hidden", "64,64",
                                                           "--steps", "{budget}"]),
    ("cartpole-novel", "dqn", "DQN, MLP 64,64 on 4 stacked frames (control)", ["--policy", "mlp", "--hidden",
                                                                                "64,64", "--frame-stack", "4",
                                                                                "--steps", "{budget}"]),
    ("cartpole-novel", "reinforce", "REINFORCE, LSTM 64", []),
    ("cartpole-novel", "sb3-recurrent-ppo", "SB3 RecurrentPPO", []),
    ("recall-50", "dqn", "DQN, LSTM 32 (recurrent DQN)", []),
    ("recall-50", "dqn", "DQN, MLP 32 (control)", ["--policy", "mlp", "--steps", "{budget}"]),
]


def rdqn_budget(alias: str) -> int:
    """The recurrent DQN's budget on an env (``agents/hyperparams.py``), which its controls get too."""
    from gymlab.agents.hyperparams import defaults

    return defaults("dqn", alias)[1]["steps"]


def training_curve(where: Path, bins: int = 25):
    """``(steps, iqm, low, high)``: each seed's training episodes' mean return in ``bins`` equal
    stretches of env steps (exploration and all: a row's evaluations are only at the end), then
    the IQM over seeds of each stretch with its 95% interval."""
    import csv
    import json

    import numpy as np

    from gymlab import stats

    report = json.loads((where / "sweep.json").read_text())
    per_seed = []
    for trial in report["trials"]:
        try:
            with open(where / trial["run_dir"] / "episodes.csv") as f:
                rows = [(int(r["global_step"]), float(r["return"])) for r in csv.DictReader(f)]
        except (OSError, ValueError, KeyError):
            continue
        if rows:
            per_seed.append(np.array(rows))
    if not per_seed:
        return [], [], [], []
    edges = np.linspace(0, max(s[-1, 0] for s in per_seed), bins + 1)
    xs, mid, lo, hi = [], [], [], []
    for a, b in zip(edges[:-1], edges[1:]):
        values = np.array([s[(s[:, 0] > a) & (s[:, 0] <= b), 1].mean() for s in per_seed
                           if ((s[:, 0] > a) & (s[:, 0] <= b)).any()])
        if len(values):
            low, high = stats.bootstrap_ci(values, seed=0)
            xs.append(b), mid.append(stats.iqm(values)), lo.append(low), hi.append(high)
    return xs, mid, lo, hi


def plot(curves: list, path: Path, seeds: int) -> None:
    """A panel an env, a line a row: training return against env steps (log scale: the budgets
    run from 24k to 600k), IQM over the seeds with its 95% band."""
    from gymlab.runs import pyplot

    plt = pyplot()
    envs = list(dict.fromkeys(env for env, _, _ in curves))
    fig, axes = plt.subplots(1, len(envs), figsize=(5.2 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs):
        for _, label, (xs, mid, lo, hi) in [c for c in curves if c[0] == env]:
            if xs:
                ax.plot(xs, mid, label=label)
                ax.fill_between(xs, lo, hi, alpha=0.15)
        ax.set_xscale("log")
        ax.set_xlabel("env steps")
        ax.set_title(f"{env} ({ENVS[env][0]}; training episodes)", fontsize=10)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(f"training return, IQM over {seeds} seeds, 95% CI")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sweep_arguments(p, ENVS, seeds=3)
    p.add_argument("--plot", type=Path, help="draw each row's training curve (IQM over seeds) to this PNG, a panel "
                   "an env (docs/memory.png in the README)")
    args = p.parse_args(argv)
    runs = [r for r in RUNS if args.only in (None, r[0])]
    rows, records, curves = [], [], []
    with tempfile.TemporaryDirectory() as tmp:  # each row a sweep: as many trials at once as cores
        work = args.work_dir or Path(tmp)
        for env, agent, label, extra in runs:
            name, episodes, chance = ENVS[env]
            extra = [f.format(budget=args.steps or rdqn_budget(env)) for f in extra]
            extra += ["--steps", str(args.steps)] if args.steps and "--steps" not in extra else []
            flags = ["--env", env, "--agent", agent, "--eval-episodes", str(episodes), *extra]
            res = sweep_row(flags, args.seeds, work / row_dir(env, label), lambda r: r)
            curves.append((env, label, training_curve(work / row_dir(env, label))))
            rows.append([env, label, res["steps"], name, iqm_cell(res),
                         " ".join("x" if f is None else f"{f:.4g}" for f in res["figures"]),
                         res["train_s_median"] or 0.0])
            records.append({"row": f"{env}: {label}", "env": env, "agent": agent, "label": label,
                            "figure": name, "chance": chance, **res})
            print(table(["env", "agent", "env steps", "figure", f"IQM [95% CI], seeds {seeds_flag(args.seeds)}",
                         "per seed", "s a trial"], rows[-1:]), file=sys.stderr)
    print(table(["env", "agent", "env steps", "figure", f"IQM [95% CI], seeds {seeds_flag(args.seeds)}", "per seed",
                 "s a trial (median)"], rows))
    if args.plot:
        plot(curves, args.plot, len(args.seeds))
    path = args.json or RESULTS / "memory.json"
    write_json("memory", {"seeds": args.seeds, "rows": merge_rows(path, records, "row")}, path)
    return 0 if all(s == "finished" for r in records for s in r["statuses"]) else 1


if __name__ == "__main__":
    sys.exit(main())
