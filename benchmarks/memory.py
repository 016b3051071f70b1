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
from benchmarks._common import RESULTS, iqm_cell, merge_rows, row_dir, sweep_row, table, write_json  # noqa: E402

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=sorted(ENVS), help="one env only")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 of every row (default 3)")
    p.add_argument("--steps", type=int, help="every row's budget (a quick look; default: each row's own)")
    p.add_argument("--json", type=Path)
    p.add_argument("--work-dir", type=Path, help="keep each row's sweep here, and read back rows already swept")
    args = p.parse_args(argv)
    runs = [r for r in RUNS if args.only in (None, r[0])]
    rows, records = [], []
    with tempfile.TemporaryDirectory() as tmp:  # each row a sweep: as many trials at once as cores
        work = args.work_dir or Path(tmp)
        for env, agent, label, extra in runs:
            name, episodes, chance = ENVS[env]
            extra = [f.format(budget=args.steps or rdqn_budget(env)) for f in extra]
            extra += ["--steps", str(args.steps)] if args.steps and "--steps" not in extra else []
            flags = ["--env", env, "--agent", agent, "--eval-episodes", str(episodes), *extra]
            res = sweep_row(flags, args.seeds, work / row_dir(env, label), lambda r: r)
            rows.append([env, label, res["steps"], name, iqm_cell(res),
                         " ".join("x" if f is None else f"{f:.4g}" for f in res["figures"]),
                         res["train_s_median"] or 0.0])
            records.append({"row": f"{env}: {label}", "env": env, "agent": agent, "label": label,
                            "figure": name, "chance": chance, **res})
            print(table(["env", "agent", "env steps", "figure", f"IQM [95% CI], seeds 0-{args.seeds - 1}",
                         "per seed", "s a trial"], rows[-1:]), file=sys.stderr)
    print(table(["env", "agent", "env steps", "figure", f"IQM [95% CI], seeds 0-{args.seeds - 1}", "per seed",
                 "s a trial (median)"], rows))
    path = args.json or RESULTS / "memory.json"
    write_json("memory", {"seeds": args.seeds, "rows": merge_rows(path, records, "row")}, path)
    return 0 if all(s == "finished" for r in records for s in r["statuses"]) else 1


if __name__ == "__main__":
    sys.exit(main())
