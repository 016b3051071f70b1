"""Env steps per second of gymlab's DQN against Stable-Baselines3's DQN, learning included, at the
same gradient steps per env step, on CartPole-v1 and on pong-pixels, in one run (issue 13: aim at 2x).

    python benchmarks/dqn_speed.py                   # 3 rounds, 20k steps a run: about 25 minutes when idle
    python benchmarks/dqn_speed.py --only cartpole   # one task again (the other's rows are kept in the JSON)
    python benchmarks/dqn_speed.py --quick           # tiny budgets, one round (1-2 minutes): does it run?

Run it on an otherwise idle machine: it times wall-clock seconds, and anything else running
(a sweep, another benchmark) slows the contestants by different amounts.

What runs. Each run is ``python train.py --env ENV --agent AGENT --steps STEPS FLAGS --eval-every 0
--eval-episodes 0``: the same code path (``gymlab.experiment.run``, as ``train.py`` calls it; its
``RunLogger``, its safe points, its run directory), with no periodic or final greedy evaluation;
its figure is the one ``train.py`` prints and writes in ``summary.json``, ``env_steps_per_s``
(env steps over the seconds of training: ``agent.learn``, learning included; building the agent,
the checkpoint and the figures after it are not timed; the agent's class has its ``learn`` wrapped,
in that process only, to keep the agent and read its gradient steps). Each run is a process of its own, alone
on the machine (one after the other), with one torch thread (``--threads 1``, OMP_NUM_THREADS=1).
The rounds alternate the contestants (their order reversed every other round), so the machine's
drift hits them alike; a contestant's figure is the median over rounds, and ``vs sb3`` is that
median over the SB3 row's (the per-round ratios are in the JSON).

The contestants, per task, all with the same settings, budget and seed:

- CartPole-v1 (20k steps, learning from step 1000): ``dqn``, our DQN with its defaults
  (``DQNConfig``: double Q and dueling streams, which SB3's DQN does not have); ``dqn (as sb3)``,
  the same with ``--no-double-q --no-dueling``, the algorithm and network of the SB3 row; and
  ``sb3-dqn (same)``, SB3's DQN (``--agent sb3-dqn``) with the same settings translated one for
  one by ``benchmarks/dqn_vs_sb3.py``'s ``TO_SB3``.
- pong-pixels (20k steps, learning from step 2000; 80x80x1 frames): ``dqn`` with the pixel
  entry of ``agents/hyperparams.py`` (a CNN on the last 4 frames, 4 courts side by side, replay
  of 100k frames each stored once), ``dqn (as sb3)`` with ``--no-double-q --no-dueling``, and
  ``sb3-dqn (same)``: SB3's DQN as an SB3 user stacks frames, ``VecFrameStack(n_stack=4)`` over 4
  copies of the env (SB3's ``DummyVecEnv``), with the same settings (``TO_SB3``) and the SAME
  network: its features extractor is our ``CNN`` (``agents/networks.py``: conv 8x8/4 16, conv
  4x4/2 32, dense 256) and ``net_arch=[]``, so its Q-network is ours layer for layer (the table
  counts the weights: were they not equal, it would say so and exit 1). It runs as ``--agent
  benchmarks.dqn_speed:SB3StackedDQN`` (below): ``SB3DQN`` with the vector env and the extractor.
  SB3's replay stores every transition's obs and next_obs whole, 4 frames each (8 frames a
  transition, against our 1): the table gives both replay memories, as allocated for the whole
  buffer (``replay MB``), and each run's peak resident memory, which counts what 20k steps filled.
  Other differences, all SB3's own way of doing it: its frame stack pads an episode's start with
  zeros (ours with the first frame), it steps 4 Python envs (ours gymlab's vectorised engine, a
  few microseconds a step against the milliseconds of a gradient step: ``benchmarks/env_speed.py``),
  and it transposes every stack to channels first (``VecTransposeImage``). On both tasks SB3 acts
  uniformly at random, without a forward pass, until ``learning_starts``; ours is epsilon-greedy
  from the first step (epsilon near 1 then, so few forward passes).

Same gradient steps per env step. Our DQN counts ``--train-freq`` in env steps, adding up the
steps of every env (``agents/dqn.py``: ``step % train_freq == 0``, step counting transitions).
SB3 counts it in steps of the vector env (``OffPolicyAlgorithm.collect_rollouts``:
``num_collected_steps += 1`` per ``env.step(actions)``, while ``num_timesteps += env.num_envs``;
``learn`` then runs ``gradient_steps`` after each rollout once ``num_timesteps >
learning_starts``), so SB3's ``train_freq`` is ours divided by ``n_envs`` (4 / 4 = 1: a gradient
step per vector step, 4 transitions; refused unless it divides). The other counts need no
translation: SB3's ``learning_starts`` and exploration schedule read ``num_timesteps`` (env steps),
and its target update runs every ``target_update_interval // n_envs`` vector steps (``DQN._on_step``).
Every run reports the gradient steps it took (our ``agent.updates``, SB3's ``model._n_updates``),
and the contestants of a task must agree within a round's worth (an SB3 run through ``train.py``
skips its last round: the budget callback stops SB3 before that rollout's ``train``).

Reading it: ``env steps/s`` is the median run's; ``vs sb3`` above 1 means ours is faster, and the
issue's aim is 2x on both tasks for ``dqn (as sb3)`` (the same algorithm and network) and for
``dqn`` (what a user runs). The full run is 9 runs a task, about 25 minutes on an idle 2-core
machine, a rough estimate from short runs on a loaded one (which took about twice as long as an
idle one would): a CartPole run trains for roughly 15-35 s, a pixel run 1.5-2 minutes (4,500
gradient steps on batches of 32 stacks of 4 80x80 frames: about 40 ms a step on the loaded machine,
acting included), and each process takes about 5 s to start.
Prints the table and writes ``benchmarks/results/dqn_speed.json`` (``--quick``:
``dqn_speed_quick.json``, untracked).
"""

# (no "from __future__ import annotations": the SB3 agent's Config is a dataclass, whose annotations
# must resolve in a module loaded without a sys.modules entry, as tests/benchmark_module.py loads it)
import argparse
import contextlib
import dataclasses
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import RESULTS, merge_rows, provenance, table, write_json  # noqa: E402
from benchmarks.dqn_vs_sb3 import TO_SB3, flags  # noqa: E402
from gymlab.agents import hyperparams  # noqa: E402
from gymlab.agents.base import WIDTHS, param  # noqa: E402
from gymlab.agents.sb3_agents import SB3DQN, SB3DQNConfig, _SpacesOnly  # noqa: E402

TARGET = 2.0  # the issue's aim: ours / SB3's env steps per second
TASKS = {  # --only name -> (train.py's --env, steps, learning starts, --quick's steps, learning starts)
    "cartpole": ("CartPole-v1", 20_000, 1_000, 2_000, 500),
    "pixels": ("pong-pixels", 20_000, 2_000, 800, 400),
}
SEED = 0
REFERENCE = "sb3-dqn (same)"


# ------------------------------------------------------------------ SB3's DQN on stacked frames
@dataclass
class SB3StackedDQNConfig(SB3DQNConfig):
    net_arch: tuple[int, ...] = param((), "hidden layers between the features extractor and the Q-values",
                                      WIDTHS, empty=True, arch=True)
    cnn_hidden: tuple[int, ...] = param((256,), "the features extractor: gymlab's CNN (agents/networks.py) with "
                                        "these dense layers after its two convolutions", WIDTHS, arch=True)
    n_envs: int = param(1, "copies of the env stepped side by side (SB3's DummyVecEnv); SB3 counts train_freq in "
                           "steps of the vector env, n_envs transitions each", "[1, 1024]")
    n_stack: int = param(1, "VecFrameStack(n_stack): the last frames side by side (obs and next_obs stored whole in "
                            "SB3's replay)", "[1, 64]", arch=True)


def gymlab_cnn():
    """gymlab's ``CNN`` as an SB3 features extractor (SB3 is imported only when one is built)."""
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    from gymlab.agents.networks import CNN

    class GymlabCNN(BaseFeaturesExtractor):
        """The layers of gymlab's CNN, reading what SB3 hands an extractor: (B, C, H, W) frames
        already in [0, 1] (``VecTransposeImage``, ``normalize_images``), where ours reads (B, H, W, C)."""

        def __init__(self, observation_space, hidden=(256,)):
            c, h, w = observation_space.shape
            cnn = CNN((h, w, c), tuple(hidden))
            super().__init__(observation_space, cnn.out_dim)
            self.cnn = cnn

        def forward(self, x):
            return self.cnn.dense(self.cnn.convs(x))

    return GymlabCNN


class SB3StackedDQN(SB3DQN):
    """SB3's DQN on ``VecFrameStack(n_stack)`` over ``n_envs`` copies of the env, its Q-network
    gymlab's CNN (``net_arch`` after it): ``--agent benchmarks.dqn_speed:SB3StackedDQN``."""

    name, Config = "sb3-dqn-stacked", SB3StackedDQNConfig

    def _build(self, env):
        import gymnasium as gym
        from stable_baselines3 import DQN
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.vec_env import VecFrameStack

        from gymlab.agents.frame_replay import stacked_space

        c = self.config
        if isinstance(env, _SpacesOnly):  # before learning: the spaces the model will see
            venv = _SpacesOnly(stacked_space(env.observation_space, c.n_stack), env.action_space)
        else:  # copies of the env as made for the run (its id, arguments and time limit)
            spec = dataclasses.replace(env.spec, kwargs={k: v for k, v in env.spec.kwargs.items()
                                                         if k != "render_mode"})
            venv = VecFrameStack(make_vec_env(lambda: gym.make(spec), n_envs=c.n_envs, seed=self.seed),
                                 n_stack=c.n_stack)
        kwargs = dataclasses.asdict(c)
        for key in ("threads", "n_envs", "n_stack"):
            kwargs.pop(key)
        policy_kwargs = {"net_arch": list(kwargs.pop("net_arch")), "features_extractor_class": gymlab_cnn(),
                         "features_extractor_kwargs": {"hidden": tuple(kwargs.pop("cnn_hidden"))}}
        if kwargs.pop("lr_anneal"):  # as SB3Agent: a schedule of the progress remaining (1 -> 0)
            from gymlab.agents.sb3_agents import Linear

            kwargs["learning_rate"] = Linear(kwargs["learning_rate"])
        return DQN("CnnPolicy", venv, seed=self.seed, verbose=0, device="cpu", policy_kwargs=policy_kwargs, **kwargs)

    def learn(self, env, budget, logger):
        """``SB3Agent.learn``, each sub-env's step counted (a callback step is n_envs env steps)."""
        from stable_baselines3.common.callbacks import BaseCallback

        weights = self.model.policy.state_dict()
        self.model = self._build(env)
        self.model.policy.load_state_dict(weights)

        class FeedLogger(BaseCallback):
            def _on_step(self) -> bool:
                for i, (reward, done) in enumerate(zip(self.locals["rewards"], self.locals["dones"])):
                    logger.step(float(reward), bool(done), env=i)
                return not budget.spent(logger.steps, logger.episodes)

        total = budget.steps if budget.steps is not None else 10**12
        self.model.learn(total_timesteps=total, callback=FeedLogger())
        return self


# ------------------------------------------------------------------ the contestants
def contestants(task: str, steps: int, learning_starts: int) -> list[dict]:
    """Each contestant of ``task``: its ``train.py`` agent and settings (``overrides``), what differs
    from the SB3 row, and the gradient steps per env step its settings ask for."""
    from gymlab.agents.dqn import DQNConfig

    env = TASKS[task][0]
    ours, _ = hyperparams.defaults("dqn", env)
    ours = {**ours, "learning_starts": learning_starts}
    full = {**DQNConfig().__dict__, **ours}  # every setting, so the translation misses none
    same = {TO_SB3[k]: v for k, v in full.items() if k in TO_SB3}  # dqn_vs_sb3's one-for-one translation
    agent = "sb3-dqn"
    if full["policy"] == "cnn":  # pixels: the same CNN, the same frames, the same envs side by side
        n = full["num_envs"]
        if full["train_freq"] % n:
            raise SystemExit(f"{task}: train_freq {full['train_freq']} counts the steps of all {n} envs; SB3 counts "
                             f"steps of the vector env, so it must be a multiple of num_envs")
        same.update(net_arch=(), cnn_hidden=tuple(full["hidden"]), n_envs=n, n_stack=full["history"],
                    train_freq=full["train_freq"] // n)
        agent = "benchmarks.dqn_speed:SB3StackedDQN"
    elif full["num_envs"] != 1 or full["history"] != 1:
        raise SystemExit(f"{task}: translating num_envs/history to SB3 is done for CNN policies only")
    differs = ", ".join(what for what, on in (("double Q", full["double_q"]), ("dueling streams", full["dueling"]))
                        if on) or "nothing"
    ratio = full["gradient_steps"] / full["train_freq"]
    return [
        {"contestant": "dqn", "agent": "dqn", "overrides": ours, "differs": differs, "per_env_step": ratio},
        {"contestant": "dqn (as sb3)", "agent": "dqn", "overrides": {**ours, "double_q": False, "dueling": False},
         "differs": "nothing", "per_env_step": ratio},
        {"contestant": REFERENCE, "agent": agent, "overrides": same, "differs": "(the reference)",
         "per_env_step": same["gradient_steps"] / (same["train_freq"] * same.get("n_envs", 1))},
    ]


def command(task: str, who: dict, steps: int) -> str:
    """The ``train.py`` command a run is."""
    args = ["--env", TASKS[task][0], "--agent", who["agent"], "--steps", str(steps), *flags(who["overrides"]),
            "--eval-every", "0", "--eval-episodes", "0", "--seed", str(SEED)]
    return "python train.py " + " ".join(shlex.quote(a) for a in args)


# ------------------------------------------------------------------ one run
def measure(job: dict) -> dict:
    """One run (in this process): ``gymlab.experiment.run`` as ``train.py`` makes it, without
    evaluations; its speed, the gradient steps it took, its Q-network's weights and its replay memory."""
    import resource

    import numpy as np

    from gymlab import agents
    from gymlab.experiment import RunConfig, run

    cls = agents.get(job["agent"])
    seen, original, own = [], cls.learn, "learn" in cls.__dict__

    def learn(self, env, budget, logger):  # the agent run() builds, kept to read its counts afterwards
        seen.append(self)
        return original(self, env, budget, logger)

    cls.learn = learn
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in job["overrides"].items()}
    try:
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
            result = run(RunConfig(env=job["env"], agent=job["agent"], overrides=overrides, steps=job["steps"],
                                   seed=SEED, run_dir=Path(tmp) / "run", eval_episodes=0, eval_every=0,
                                   progress=False))
    finally:
        if own:
            cls.learn = original
        else:
            del cls.learn
    agent, summary = seen[0], result.summary
    if hasattr(agent, "model"):  # SB3
        q, updates, buffer = agent.model.q_net, agent.model._n_updates, agent.model.replay_buffer
        replay = sum(a.nbytes for a in vars(buffer).values() if isinstance(a, np.ndarray))
        whole = replay
    else:
        q, updates = agent.q, agent.updates
        replay = summary["replay_bytes"]
        whole = summary.get("replay_bytes_if_stored_whole", replay)
    return {"env_steps": summary["env_steps"], "env_steps_per_s": summary["env_steps_per_s"],
            "train_time_s": summary["wall_time_s"], "gradient_steps": int(updates),
            "q_weights": int(sum(p.numel() for p in q.parameters())), "replay_bytes": int(replay),
            "replay_bytes_if_stored_whole": int(whole),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def run_alone(job: dict) -> dict:
    """``measure(job)`` in a process of its own (one torch thread), so every run starts alike."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job),
                               "--out", str(out)], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.is_file():
            sys.stderr.write(proc.stderr[-4000:])
            raise SystemExit(f"{job['contestant']} on {job['env']} failed (exit {proc.returncode})")
        return json.loads(out.read_text())


# ------------------------------------------------------------------ the benchmark
def main(argv=None, runner=run_alone) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny budgets and one round: to check it runs")
    p.add_argument("--only", choices=sorted(TASKS), help="one task (the other's rows are kept from the JSON)")
    p.add_argument("--rounds", type=int, help="runs of each contestant, alternated (default 3, --quick 1)")
    p.add_argument("--json", type=Path, help="where to write the results (default benchmarks/results/dqn_speed.json, "
                                             "--quick: dqn_speed_quick.json)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:  # one run, in the process run_alone started
        import torch

        torch.set_num_threads(1)
        args.out.write_text(json.dumps(measure(json.loads(args.child))))
        return 0
    rounds = args.rounds or (1 if args.quick else 3)
    path = args.json or RESULTS / ("dqn_speed_quick.json" if args.quick else "dqn_speed.json")
    records, failures = [], []
    for task in [args.only] if args.only else list(TASKS):
        env, full_steps, full_starts, quick_steps, quick_starts = TASKS[task]
        steps, starts = (quick_steps, quick_starts) if args.quick else (full_steps, full_starts)
        who = contestants(task, steps, starts)
        runs = {w["contestant"]: [] for w in who}
        for r in range(rounds):
            for w in (who if r % 2 == 0 else who[::-1]):
                job = {"contestant": w["contestant"], "agent": w["agent"], "env": env, "steps": steps,
                       "overrides": w["overrides"]}
                res = runner(job)
                runs[w["contestant"]].append(res)
                print(f"{task} round {r + 1}/{rounds}: {w['contestant']}: {res['env_steps_per_s']:,.0f} env steps/s, "
                      f"{res['gradient_steps']} gradient steps", file=sys.stderr)
        ref = runs[REFERENCE]
        for w in who:
            mine = runs[w["contestant"]]
            median = statistics.median(x["env_steps_per_s"] for x in mine)
            ratios = [a["env_steps_per_s"] / b["env_steps_per_s"] for a, b in zip(mine, ref)]
            records.append({
                "key": f"{task}/{w['contestant']}", "task": task, "env": env, "contestant": w["contestant"],
                "agent": w["agent"], "overrides": w["overrides"], "differs_from_sb3_same": w["differs"],
                "steps": steps, "learning_starts": starts, "rounds": rounds, "quick": args.quick,
                "gradient_steps_per_env_step": w["per_env_step"],
                "expected_gradient_steps": int((steps - starts) * w["per_env_step"]),
                "gradient_steps": [x["gradient_steps"] for x in mine],
                "q_weights": mine[0]["q_weights"], "replay_bytes": mine[0]["replay_bytes"],
                "replay_bytes_if_stored_whole": mine[0]["replay_bytes_if_stored_whole"],
                "peak_rss_mb": max(x["peak_rss_mb"] for x in mine),
                "env_steps_per_s_median": median, "vs_sb3_same": median / statistics.median(
                    x["env_steps_per_s"] for x in ref),
                "vs_sb3_same_per_round": [round(x, 3) for x in ratios], "runs": mine,
                **provenance(command(task, w, steps))})
        # the checks: the same gradient steps per env step (counted), the same network for "as sb3"
        for r in range(rounds):
            counts = {name: x[r]["gradient_steps"] for name, x in runs.items()}
            rounds_of = max(1, int(max(w["overrides"].get("gradient_steps", 1) for w in who)))
            if max(counts.values()) - min(counts.values()) > 2 * rounds_of:
                failures.append(f"{task} round {r + 1}: gradient steps differ: {counts}")
        if runs["dqn (as sb3)"][0]["q_weights"] != ref[0]["q_weights"]:
            failures.append(f"{task}: dqn (as sb3) has {runs['dqn (as sb3)'][0]['q_weights']} Q-network weights, "
                            f"{REFERENCE} {ref[0]['q_weights']}: not the same network")
    records = merge_rows(path, records, "key")
    order = [f"{t}/{c}" for t in TASKS for c in ("dqn", "dqn (as sb3)", REFERENCE)]
    records.sort(key=lambda r: order.index(r["key"]) if r["key"] in order else len(order))
    rows = [[r["env"] if r["contestant"] == "dqn" else "", r["contestant"], r["differs_from_sb3_same"],
             r["q_weights"], "/".join(map(str, r["gradient_steps"])), r["expected_gradient_steps"],
             f"{r['replay_bytes'] / 1e6:,.0f}" + (f" ({r['replay_bytes_if_stored_whole'] / 1e6:,.0f} whole)"
                                                  if r["replay_bytes_if_stored_whole"] != r["replay_bytes"] else ""),
             f"{r['peak_rss_mb']:,.0f}", r["env_steps_per_s_median"],
             "(ref)" if r["contestant"] == REFERENCE else f"{r['vs_sb3_same']:.2f}x",
             " ".join(f"{x:.2f}" for x in r["vs_sb3_same_per_round"]) if r["contestant"] != REFERENCE else ""]
            for r in records]
    out = write_json("dqn_speed", {"target_vs_sb3": TARGET, "seed": SEED, "checks_failed": failures,
                                   "rows": records}, path)
    print(table(["env", "contestant", "differs from sb3 (same)", "Q-net weights", "gradient steps", "expected",
                 "replay MB", "peak RSS MB", "env steps/s", f"vs sb3 (aim {TARGET:g}x)", "per round"], rows))
    for line in failures:
        print(f"CHECK FAILED: {line}")
    print(f"\nwritten: {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
