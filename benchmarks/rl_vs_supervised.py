"""RL against supervised learning on the same backbone and the same envs, with memoryless controls.

    python benchmarks/rl_vs_supervised.py            # about 20 minutes on 2 cores; results/rl_vs_supervised.json
    python benchmarks/rl_vs_supervised.py --only recall

Every row is one ``train.py`` run with the settings of ``agents/hyperparams.py``
(changed only where the row says so), scored by ``train.py``'s own greedy
evaluation over 100 episodes:

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
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import RESULTS, provenance, table, write_json  # noqa: E402

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

    out = []
    for alias, env_id, kwargs, label in (
            ("sine", "gymlab/SinePredict-v0", {}, "no change (predict the current value)"),
            ("chars", "gymlab/CharPredict-v0", {"split": "test"}, "no change (predict the current character)")):
        env, total = gym.make(env_id, **kwargs), 0.0  # scored where train.py scores the agents
        for i in range(episodes):
            obs, _ = env.reset(seed=seed + 1_000_000 + i)  # train.py's evaluation seeds
            done = False
            while not done:
                obs, r, term, trunc, _ = env.step(obs)
                total, done = total + r, term or trunc
        out.append((alias, label, total / episodes))
    return out + [("recall", "chance (name any symbol)", 0.25)]


def run(env: str, agent: str, extra: list[str], seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        flags = ["--env", env, "--agent", agent, "--seed", str(seed), "--eval-episodes", "100", *extra]
        cmd = [sys.executable, "train.py", *flags, "--run-dir", tmp, "--no-progress"]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        summary = json.loads(Path(tmp, "summary.json").read_text())
    return {"return_mean": summary["eval"]["return_mean"], "steps": summary["env_steps"],
            "train_s": summary["wall_time_s"], "eval_env_kwargs": summary.get("eval_env_kwargs", {}),
            **provenance("python train.py " + " ".join(flags))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=sorted(ENVS), help="one env only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    runs = [r for r in RUNS if args.only in (None, r[0])]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda r: run(r[0], r[1], r[3], args.seed), runs))
    rows, records = [], []
    for (env, agent, label, extra), res in zip(runs, results):
        name, figure = ENVS[env]
        rows.append([env, label, res["steps"], res["return_mean"], name, figure(res["return_mean"])])
        records.append({"env": env, "agent": agent, "label": label, "flags": extra, **res,
                        name: figure(res["return_mean"])})
    for env, label, ret in no_learning_baselines(args.seed):
        if args.only in (None, env):
            name, figure = ENVS[env]
            rows.append([env, label, 0, ret, name, figure(ret)])
            records.append({"env": env, "label": label, "return_mean": ret, name: figure(ret),
                            "eval_env_kwargs": {"split": "test"} if env == "chars" else {}, **provenance()})
    rows.sort(key=lambda r: list(ENVS).index(r[0]))
    print(table(["env", "agent", "env steps", "eval return", "figure", "value"], rows))
    path = args.json or RESULTS / "rl_vs_supervised.json"
    if args.only and path.exists():  # keep the other envs' rows of the last full run, each with its own stamp
        records = [r for r in json.loads(path.read_text())["runs"] if r["env"] != args.only] + records
    write_json("rl_vs_supervised", {"seed": args.seed, "runs": records}, path)
    return 0 if all(np.isfinite(r["return_mean"]) for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
