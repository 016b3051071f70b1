"""RL against supervised learning on the same backbone and the same envs, with memoryless controls.

    python benchmarks/rl_vs_supervised.py --seeds 5  # about 65 minutes on 2 cores; results/rl_vs_supervised.json
    python benchmarks/rl_vs_supervised.py --only recall
    python benchmarks/rl_vs_supervised.py --seeds 2 --steps 3000 --json /tmp/quick.json   # does it run?
    python benchmarks/rl_vs_supervised.py --seeds 5 --work-dir runs/rvs   # rows already swept there are read back

With ``--work-dir`` each row's sweep lives in ``DIR/<env>-<row>`` and outlasts the run: a row
whose ``sweep.json`` is there (with the same command) is read back, not run again, so a
benchmark stopped part-way goes on from the first row it had not finished.

Every row is one sweep, ``python train.py ... --seeds N`` with the settings of
``agents/hyperparams.py`` (changed only where the row says so), each seed scored by
``train.py``'s own greedy evaluation over 100 episodes; the row gives the IQM of the
figure over seeds with its 95% stratified-bootstrap interval from 10 seeds up (fewer: n and
the range), and every seed's figure:

- ``gymlab/Recall-v0`` (delay 10, 4 symbols): success rate = mean return (chance 0.25);
- ``gymlab/SinePredict-v0`` (200 steps): mean squared error a step = -return / 200;
- ``gymlab/CharPredict-v0`` (trained on 100-character windows of the sonnets'
  training split, scored on windows of the held-out test split, ``train.py``'s
  default for it): accuracy = return / 100.

REINFORCE is scored on its guesses; the supervised agent is told each answer
(the next observation) and never sees a reward, so Recall, whose answers are
not observations, is out of its reach. Two reference points need no learning:
"no change" (predict the current value or character again) and chance.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import (RESULTS, iqm_cell, merge_rows, provenance, row_dir, seeds_flag,  # noqa: E402
                               sweep_arguments, sweep_row, table, write_json)

# env alias -> (figure name, return -> figure)
ENVS = {
    "recall": ("success rate", lambda r: r),
    "sine": ("MSE a step", lambda r: -r / 200),  # 200 steps an episode
    "chars": ("accuracy", lambda r: r / 100),  # 100 characters an episode
}
RUNS = [  # (env, agent, label, extra flags)
    ("recall", "reinforce", "REINFORCE, LSTM 64", []),
    ("recall", "reinforce", "REINFORCE, GRU 64", ["--policy", "gru", "--forget-bias", "0"]),
    ("recall", "reinforce", "REINFORCE, MLP 64 (control)", ["--policy", "mlp"]),
    ("recall", "reinforce", "REINFORCE, MLP 64 on 4 stacked frames (control)", ["--policy", "mlp",
                                                                               "--frame-stack", "4"]),
    ("sine", "supervised", "supervised, LSTM 64", []),
    ("sine", "supervised", "supervised, MLP 64 (control)", ["--policy", "mlp"]),
    ("sine", "reinforce", "REINFORCE (Gaussian), LSTM 64", []),
    ("sine", "reinforce", "REINFORCE (Gaussian), MLP 64 (control)", ["--policy", "mlp"]),
    ("chars", "supervised", "supervised, LSTM 128", []),
    ("chars", "supervised", "supervised, MLP 128 (control)", ["--policy", "mlp"]),
    ("chars", "reinforce", "REINFORCE, LSTM 128", []),
    ("chars", "reinforce", "REINFORCE, MLP 128 (control)", ["--policy", "mlp"]),
]


def no_learning_baselines(seed: int, episodes: int = 100) -> list[tuple[str, str, float]]:
    """Returns of policies that need no training, on the same evaluation seeds as train.py."""
    import gymnasium as gym

    from gymlab import envs  # noqa: F401
    from gymlab.agents import seeding

    out = []
    for alias, env_id, kwargs, label in (
            ("sine", "gymlab/SinePredict-v0", {}, "no change (predict the current value)"),
            ("chars", "gymlab/CharPredict-v0", {"split": "test"}, "no change (predict the current character)")):
        env, total = gym.make(env_id, **kwargs), 0.0  # scored where train.py scores the agents
        for episode_seed in seeding.eval_seeds(seed, episodes):
            obs, _ = env.reset(seed=episode_seed)  # train.py's evaluation seeds
            done = False
            while not done:
                obs, r, term, trunc, _ = env.step(obs)
                total, done = total + r, term or trunc
        out.append((alias, label, total / episodes))
    return out + [("recall", "chance (name any symbol)", 0.25)]


def run(env: str, agent: str, extra: list[str], seeds: list[int], where: Path, steps: int | None = None,
        allow_tuning_seeds: bool = False) -> dict:
    flags = ["--env", env, "--agent", agent, "--eval-episodes", "100", *extra]
    flags += ["--steps", str(steps)] if steps else []
    return sweep_row(flags, seeds, where, ENVS[env][1], allow_tuning_seeds=allow_tuning_seeds)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sweep_arguments(p, ENVS, seeds=5)
    args = p.parse_args(argv)
    runs = [r for r in RUNS if args.only in (None, r[0])]
    with tempfile.TemporaryDirectory() as tmp:  # each row a sweep: as many trials at once as cores
        work = args.work_dir or Path(tmp)
        results = [run(env, agent, extra, args.seeds, work / row_dir(env, label), args.steps, args.allow_tuning_seeds)
                   for env, agent, label, extra in runs]
    rows, records = [], []
    for (env, agent, label, extra), res in zip(runs, results):
        name, figure = ENVS[env]
        rows.append([env, label, res["steps"], name, iqm_cell(res),
                     " ".join("x" if f is None else f"{f:.4g}" for f in res["figures"])])
        records.append({"env": env, "agent": agent, "label": label, "flags": extra, "figure": name, **res})
    stamp = provenance()  # the no-learning rows are measured by this command, from now
    for seed in args.seeds:  # the same evaluation episodes as each seed's trial
        for env, label, ret in no_learning_baselines(seed):
            if args.only in (None, env):
                name, figure = ENVS[env]
                old = next((r for r in records if r["label"] == label), None)
                if old is None:
                    old = {"env": env, "label": label, "figure": name, "seeds": list(args.seeds), "figures": [],
                           "eval_env_kwargs": {"split": "test"} if env == "chars" else {}, **stamp}
                    records.append(old)
                old["figures"].append(figure(ret))
    for r in records:
        if "agent" not in r:
            r["iqm"] = float(np.mean(r["figures"]))  # the same for every seed but for its episodes
            rows.append([r["env"], r["label"], 0, r["figure"], f"{r['iqm']:.4g} (mean)",
                         " ".join(f"{f:.4g}" for f in r["figures"])])
    rows.sort(key=lambda r: list(ENVS).index(r[0]))
    print(table(["env", "agent", "env steps", "figure", f"IQM [95% CI], seeds {seeds_flag(args.seeds)}", "per seed"],
                rows))
    path = args.json or RESULTS / "rl_vs_supervised.json"
    records = merge_rows(path, records, "env")  # (--only: the other envs' rows kept, each with its own stamp)
    write_json("rl_vs_supervised", {"seeds": args.seeds, "rows": records}, path)
    return 0 if all(s == "finished" for r in records for s in r.get("statuses", [])) else 1


if __name__ == "__main__":
    sys.exit(main())
