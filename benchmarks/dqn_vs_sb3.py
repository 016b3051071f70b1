"""gymlab's DQN against Stable-Baselines3's DQN on CartPole-v1, several seeds, in one run.

    python benchmarks/dqn_vs_sb3.py                 # 10 seeds, 50k steps each: about 35 minutes on 2 cores
    python benchmarks/dqn_vs_sb3.py --seeds 2 --steps 20000 --no-zoo   # a quick look
    python benchmarks/dqn_vs_sb3.py --only dqn      # measure one contestant again, keep the other rows

Four contestants, each one sweep over the same seeds and budget, the very command a user
runs (``python train.py ... --seeds 10``, Ray Tune trials of one CPU and one torch thread
each, as many at once as the machine has cores; the contestants one after the other, so
their speeds are measured under the same load):

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
- ``sb3-dqn (zoo)``: SB3's DQN with RL-Zoo's CartPole recipe (hyperparams/dqn.yml, CartPole-v1,
  whose n_timesteps, 5e4, is this benchmark's budget); its row's ``differs_from_recipe`` states
  every way the run differs from the recipe as the zoo runs it.

The table says, for each, what differs from ``sb3-dqn (same)`` and how many weights
its Q-network has.
A seed is solved when the final greedy evaluation (10 episodes) averages >= 475. Per
contestant: IQM over seeds with its 95% stratified-bootstrap interval (from 10 seeds up; fewer:
n and the range), the solved fraction,
every seed's return, and the probability of improvement over ``sb3-dqn (same)`` (the
chance one of its runs beats one of the reference's; ``gymlab.stats``).

Not a speed benchmark: the trials run two at a time beside whatever else loads the machine, so
each run's ``env_steps_per_s`` (kept in the JSON's ``runs``, raw) is not a speed figure and no
speed ratio is printed or stored; speed is ``benchmarks/dqn_speed.py``'s, measured alone.
Prints the table and writes ``benchmarks/results/dqn_vs_sb3.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gymlab.agents import hyperparams  # noqa: E402
from benchmarks._common import (RESULTS, differs_from_recipe, measured_sweep, merge_rows, recipe_of,  # noqa: E402
                                report_seeds, seeds_argument, table, write_json)

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
        "sb3-dqn (zoo)": ("sb3-dqn", [], grad_ratio(zoo), "RL-Zoo's CartPole recipe (net 256,256)"),
    }


def q_weights(run_dir: Path) -> int:
    """How many numbers the run's Q-network holds (its target network aside), from its checkpoint."""
    import numpy as np

    with np.load(run_dir / "checkpoint.npz") as data:
        names = [k for k in data.files if k != "__meta__"]
        online = [k for k in names if k.startswith(("q/", "policy/q_net."))]  # not q_target/, policy/q_net_target.
        return int(sum(data[k].size for k in online))


def command(agent: str, extra: list[str], seeds: int, steps: int) -> list[str]:
    """The sweep a contestant is: the flags of ``python train.py``."""
    return ["--env", "CartPole-v1", "--agent", agent, "--steps", str(steps), "--eval-every", "0",
            "--eval-episodes", "10", *extra]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=seeds_argument, default=report_seeds(10), metavar="N|A-B|S,S",
                   help="a count N is the first N report seeds (1000..); or a range or list (default 1000-1009)")
    p.add_argument("--work-dir", type=Path, help="keep each contestant's sweep here, and read back those already swept")
    p.add_argument("--allow-tuning-seeds", action="store_true",
                   help="run on seeds the entries were tuned on, each row marked on_tuning_seeds (else refused)")
    p.add_argument("--steps", type=int, default=50_000, help="env steps per run (default 50000)")
    p.add_argument("--no-zoo", action="store_true", help="leave out SB3 with RL-Zoo's settings")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these contestants (the others' rows "
                   "are kept from the JSON), e.g. --only dqn")
    p.add_argument("--json", type=Path, help="where to write the results (default benchmarks/results/dqn_vs_sb3.json)")
    args = p.parse_args(argv)

    from gymlab import stats

    who = contestants()
    if args.no_zoo:
        who.pop("sb3-dqn (zoo)")
    path = args.json or RESULTS / "dqn_vs_sb3.json"
    measured = {name: who[name] for name in (args.only or who) if name in who}
    if args.only and len(measured) != len(args.only):
        p.error(f"--only: contestants are {', '.join(who)}")
    records = []
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.work_dir or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        for name, (agent, extra, ratio, differs) in measured.items():
            slug = name.replace(" ", "").replace("(", "-").replace(")", "")
            flags_ = command(agent, extra, args.seeds, args.steps)
            report, summaries, stamp = measured_sweep(flags_, args.seeds, Path(tmp) / slug,
                                                      args.allow_tuning_seeds)
            trials = sorted(report["trials"], key=lambda t: t["seed"])
            runs = [{"seed": t["seed"], "status": t["status"], "error": t["error"], "eval_return": t["eval_return"],
                     "env_steps_per_s": s.get("env_steps_per_s"), "wall_time_s": s.get("wall_time_s")}
                    for t, s in zip(trials, summaries)]
            finished = [r for r in runs if r["status"] == "finished"]
            entry = report["statistics"].get("defaults", {})
            records.append({"contestant": name, "agent": agent, "flags": extra, "differs_from_sb3_same": differs,
                            "q_weights": q_weights(Path(tmp) / slug / trials[0]["run_dir"]),
                            "gradient_steps_per_env_step": ratio, "seeds": args.seeds, "finished": len(finished),
                            "solved": sum(r["eval_return"] >= SOLVED for r in finished),
                            "iqm": entry.get("iqm"), "iqm_ci": entry.get("iqm_ci"), "mean": entry.get("mean"),
                            "n": entry.get("n"), "range": entry.get("range"),
                            "runs": runs,
                            **({"recipe": recipe_of(agent, "CartPole-v1"),
                                "differs_from_recipe": differs_from_recipe(agent, "CartPole-v1", args.steps)}
                               if name == "sb3-dqn (zoo)" else {}),
                            **stamp})
            print(f"{name}: IQM {stats.format_iqm(entry) if entry else '-'}, "
                  f"{records[-1]['solved']}/{len(args.seeds)} solved", file=sys.stderr)
    records = merge_rows(path, records, "contestant")
    for r in records:  # rows kept from before speed was measured only alone carry no speed figure either
        for key in ("speed_vs_sb3_same", "env_steps_per_s_median"):
            r.pop(key, None)
        done = [x["eval_return"] for x in r["runs"] if x["status"] == "finished"]
        if done and "n" not in r:  # a row kept from before n and range were stored: both from its runs
            r.update(n=len(done), range=[min(done), max(done)])
    order = list(who)
    records.sort(key=lambda r: order.index(r["contestant"]) if r["contestant"] in order else len(order))
    ref = next((r for r in records if r["contestant"] == "sb3-dqn (same)"), None)
    rows = []
    for r in records:
        returns = [x["eval_return"] for x in r["runs"] if x["status"] == "finished"]
        if ref is not None:
            ref_returns = [x["eval_return"] for x in ref["runs"] if x["status"] == "finished"]
            p_imp = stats.probability_of_improvement(returns, ref_returns)
            ci = None  # an interval only from 10 runs on each side (gymlab.stats.MIN_RUNS_FOR_INTERVAL)
            if stats.enough_runs(len(returns)) and stats.enough_runs(len(ref_returns)):
                ci = list(stats.probability_of_improvement_ci(returns, ref_returns, seed=0))
            r["probability_of_improvement_over_sb3_same"] = {"p": p_imp, "ci": ci}
        rows.append([r["contestant"], r["differs_from_sb3_same"], r["q_weights"],
                     f"{r['solved']}/{len(r['seeds'])}", stats.format_iqm(r) if r["iqm"] is not None else "-",
                     " ".join(f"{x:.0f}" for x in returns),
                     f"{r['probability_of_improvement_over_sb3_same']['p']:.2f}" if ref else "-"])
    out = write_json("dqn_vs_sb3", {"env": "CartPole-v1", "steps": args.steps, "solved_threshold": SOLVED,
                                    "rows": records}, path)
    print(table([f"CartPole-v1, {args.steps} steps", "differs from sb3 (same)", "Q-net weights",
                 "solved (>=475)", "IQM [95% CI]", "per seed", "P(> sb3 same)"],
                rows))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
