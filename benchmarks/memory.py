"""Memory: recurrent agents against memoryless controls on the tasks that need one, over seeds.

    python benchmarks/memory.py --seeds 3 --work-dir runs/memory    # results/memory.json
    python benchmarks/memory.py --only cartpole-novel --seeds 3 --work-dir runs/memory
    python benchmarks/memory.py --seeds 2 --steps 2000 --json /tmp/quick.json   # does it run?

Every row is one sweep, ``python train.py ... --seeds N`` with the settings of
``agents/hyperparams.py`` (changed only where the row says so), each seed scored by
``train.py``'s own greedy evaluation; the row gives the IQM of the figure over seeds with its 95%
stratified-bootstrap interval from 10 seeds up (fewer: n and the range), every seed's figure, the budget and the median wall time a trial.
Rows already swept in ``--work-dir`` (same flags, same seeds) are read back, not run again.

- ``recall`` (``gymlab/Recall-v0``, delay 10, 4 symbols) and ``recall-50`` (delay 50):
  success rate over 100 episodes = mean return (chance 0.25);
- ``cartpole-novel`` (``gymlab/CartPoleNoVel-v1``: cart position and pole angle, the velocities
  hidden): greedy return over 20 episodes (500 at most; the issue's bar is 475).

The controls are the MLP DQN on its own recipe, not the recurrent DQN's entry: on CartPoleNoVel
its CartPole recipe (``DQNConfig``'s defaults and the dqn ``CartPole-v1`` entry), on Recall its
defaults; each row's flags set every setting the env's recurrent entry would otherwise give it
back to that recipe, and the budget is the recurrent DQN's. One is an MLP Q-network, one an MLP on
the last 4 observations (``--frame-stack 4``, the Atari answer to a hidden velocity, and no answer
to a symbol shown 10 steps ago). The references are REINFORCE with an LSTM
(``agents/reinforce.py``) and sb3-contrib's RecurrentPPO, each on its own table entry (on
CartPoleNoVel RL-Zoo's recipe); each row says where its settings come from (``recipe``) and a
reference's row how it differs from the reference's published recipe (``differs_from_recipe``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import (RESULTS, differs_from_recipe, iqm_cell, merge_rows, recipe_of, row_dir,  # noqa: E402
                               seeds_flag, sweep_arguments, sweep_row, table, write_json)

# env alias -> (figure name, evaluation episodes, chance or random's figure)
ENVS = {
    "recall": ("success rate", 100, "0.25"),
    "cartpole-novel": ("greedy return", 20, "about 22 (random)"),
    "recall-50": ("success rate", 100, "0.25"),
}
RUNS = [  # (env, agent, label, extra flags, recipe: "entry" (the table's) or a key of CONTROL_RECIPES)
    ("recall", "dqn", "DQN, LSTM 32 (recurrent DQN)", [], "entry"),
    ("recall", "dqn", "DQN, MLP 64,64 (control, DQN defaults)", [], "dqn-defaults"),
    ("recall", "dqn", "DQN, MLP 64,64 on 4 stacked frames (control, DQN defaults)", ["--frame-stack", "4"],
     "dqn-defaults"),
    ("recall", "reinforce", "REINFORCE, LSTM 64", [], "entry"),
    ("recall", "sb3-recurrent-ppo", "SB3 RecurrentPPO", [], "entry"),
    ("cartpole-novel", "dqn", "DQN, LSTM 64 (recurrent DQN)", [], "entry"),
    ("cartpole-novel", "dqn", "DQN, MLP 64,64 (control, CartPole recipe)", [], "dqn-cartpole"),
    ("cartpole-novel", "dqn", "DQN, MLP 64,64 on 4 stacked frames (control, CartPole recipe)", ["--frame-stack", "4"],
     "dqn-cartpole"),
    ("cartpole-novel", "reinforce", "REINFORCE, LSTM 64", [], "entry"),
    ("cartpole-novel", "sb3-recurrent-ppo", "SB3 RecurrentPPO (RL-Zoo's recipe)", [], "entry"),
    ("recall-50", "dqn", "DQN, LSTM 32 (recurrent DQN)", [], "entry"),
    ("recall-50", "dqn", "DQN, MLP 64,64 (control, DQN defaults)", [], "dqn-defaults"),
]
# The memoryless controls' own recipes: (what it is, the dqn table entry added to DQNConfig's defaults, or None)
CONTROL_RECIPES = {
    "dqn-cartpole": ("the MLP DQN's CartPole recipe: DQNConfig's defaults and the dqn CartPole-v1 entry "
                     "(agents/hyperparams.py)", "CartPole-v1"),
    "dqn-defaults": ("the MLP DQN's defaults (DQNConfig)", None),
}


def control_settings(recipe: str) -> dict:
    """Every DQN setting of a control's recipe (the budget aside), with ``--policy mlp``."""
    import dataclasses

    from gymlab.agents.dqn_config import DQNConfig
    from gymlab.agents.hyperparams import defaults

    source = CONTROL_RECIPES[recipe][1]
    return {**dataclasses.asdict(DQNConfig()), **(defaults("dqn", source)[0] if source else {}), "policy": "mlp"}


def control_flags(env: str, recipe: str, budget: int) -> list[str]:
    """The flags that run a control on its recipe on ``env``: ``--policy mlp``, every setting the env's
    own (recurrent) dqn entry would give an MLP set to the recipe's value, and ``--steps budget``."""
    import shlex

    from gymlab.agents.base import as_flags
    from gymlab.agents.hyperparams import defaults

    own, _ = defaults("dqn", env, policy="mlp")
    wanted = control_settings(recipe)
    return ["--policy", "mlp", *shlex.split(as_flags({k: wanted[k] for k in own if k != "policy"})),
            "--steps", str(budget)]


def rdqn_budget(alias: str) -> int:
    """The recurrent DQN's budget on an env (``agents/hyperparams.py``), which its controls get too."""
    from gymlab.agents.hyperparams import defaults

    return defaults("dqn", alias)[1]["steps"]


def training_curve(where: Path, bins: int = 25):
    """``(steps, iqm, low, high, band)``: each seed's training episodes' mean return in ``bins`` equal
    stretches of env steps (exploration and all: a row's evaluations are only at the end), then
    the IQM over seeds of each stretch with its band (``gymlab.stats.curve_band``: the 95% interval
    from 10 seeds up, else ``"range"``, min to max)."""
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
        return [], [], [], [], "range"
    edges = np.linspace(0, max(s[-1, 0] for s in per_seed), bins + 1)
    xs, columns = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        values = [s[(s[:, 0] > a) & (s[:, 0] <= b), 1].mean() for s in per_seed if ((s[:, 0] > a) & (s[:, 0] <= b)).any()]
        if values:
            xs.append(float(b)), columns.append(values)
    return (xs, *stats.curve_band(columns, seed=0))


def plot(curves: list, path: Path, seeds: list[int]) -> None:
    """A panel an env, a line a row: training return against env steps (log scale: the budgets
    run from 24k to 600k), IQM over the seeds with its band (95% CI from 10 seeds, else the range)."""
    from gymlab.runs import pyplot

    plt = pyplot()
    envs = list(dict.fromkeys(env for env, _, _ in curves))
    fig, axes = plt.subplots(1, len(envs), figsize=(5.2 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs):
        for _, label, (xs, mid, lo, hi, band) in [c for c in curves if c[0] == env]:
            if xs:
                ax.plot(xs, mid, label=f"{label} (band: {'95% CI' if band == '95% CI' else 'range, min to max'})")
                ax.fill_between(xs, lo, hi, alpha=0.15)
        ax.set_xscale("log")
        ax.set_xlabel("env steps")
        ax.set_title(f"{env} ({ENVS[env][0]}; training episodes)", fontsize=10)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(f"training return, IQM over seeds {seeds_flag(seeds)} ({len(seeds)})")
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
        for env, agent, label, extra, recipe in runs:
            name, episodes, chance = ENVS[env]
            if recipe in CONTROL_RECIPES:
                extra = control_flags(env, recipe, args.steps or rdqn_budget(env)) + extra
                about = {"recipe": CONTROL_RECIPES[recipe][0] + ", --policy mlp; the recurrent DQN's budget"}
            else:
                extra = extra + (["--steps", str(args.steps)] if args.steps else [])
                about = {"recipe": recipe_of(agent, env)}
                if agent != "dqn":  # a reference
                    about["differs_from_recipe"] = differs_from_recipe(agent, env, args.steps)
            flags = ["--env", env, "--agent", agent, "--eval-episodes", str(episodes), *extra]
            res = sweep_row(flags, args.seeds, work / row_dir(env, label), lambda r: r, allow_tuning_seeds=args.allow_tuning_seeds)
            curves.append((env, label, training_curve(work / row_dir(env, label))))
            rows.append([env, label, res["steps"], name, iqm_cell(res),
                         " ".join("x" if f is None else f"{f:.4g}" for f in res["figures"]),
                         res["train_s_median"] or 0.0])
            records.append({"row": f"{env}: {label}", "env": env, "agent": agent, "label": label, "flags": flags,
                            **about, "figure": name, "chance": chance, **res})
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
