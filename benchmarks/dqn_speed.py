"""Env steps per second of gymlab's DQN against Stable-Baselines3's DQN, learning included, at the
same gradient steps per env step, on CartPole-v1 and on pong-pixels, in one run (issue 13: aim at 2x).

    python benchmarks/dqn_speed.py --wait-idle 600   # 6 rounds: about 24 minutes alone on 2 cores
    python benchmarks/dqn_speed.py --only cartpole   # one task again (the other's rows are kept in the JSON)
    python benchmarks/dqn_speed.py --quick --json /tmp/q.json   # tiny budgets, one round: does it run?

The protocol (``benchmarks/_speed.py``, the only way a speed figure is made here): run it ALONE
on the machine. It records the CPU model and cores, and the load average before and after; a
start with the 1-minute load above 0.5 is warned about and marks the JSON ``"busy": true``
(``--wait-idle SECONDS`` first waits that long at most for the load to fall). Each task's
contestants run in 6 rounds (an even number, at least 5; fewer only with ``--quick``, marked ``"quick": true``
and not a figure), their order reversed every other round, each run a process of its own with
one torch thread (``--threads 1``, OMP_NUM_THREADS=1). A contestant's figure is the median of its
rounds; against ``sb3-dqn (same)`` it is the median of the per-round ratios (each taken within
one round), with their min and max.

What runs. Each run is ``python train.py --env ENV --agent AGENT --steps STEPS FLAGS --threads 1
--eval-every 0 --eval-episodes 0`` (the row's ``command``): the same code path
(``gymlab.experiment.run``, its ``RunLogger``, safe points and run directory), with no greedy
evaluation; its figure is the one ``train.py`` writes in ``summary.json``, ``env_steps_per_s``
(env steps over the seconds of ``agent.learn``, learning included; building the agent, the
checkpoint and the figures after it are not timed; the agent's class has its ``learn`` wrapped,
in that process only, to read its gradient steps afterwards).

The contestants, per task, all with the same settings, budget and seed:

- ``dqn``: our DQN with its defaults for the task (``agents/hyperparams.py``; on CartPole double
  Q and dueling streams, which SB3's DQN does not have);
- ``dqn (as sb3)``: the same with ``--no-double-q --no-dueling``, the algorithm and network of SB3's;
- ``sb3-dqn (same)``, the reference: SB3's DQN with the same settings translated one for one by
  ``benchmarks/dqn_vs_sb3.py``'s ``TO_SB3``;
- ``sb3-dqn (same, optimize_memory_usage)``: the same with SB3's memory-saving replay
  (``--optimize-memory-usage``: next_obs read from the next slot). SB3's ``ReplayBuffer`` refuses
  it with ``handle_timeout_termination`` (its default), so a timeout is then stored as an end, and
  its ``NStepReplayBuffer`` refuses it at all, so this contestant has 1-step returns (``n_steps=1``)
  where the others have 3: the row's ``differs`` says so.

CartPole-v1: 10,000 steps, learning from step 1,000 (4,500 gradient steps). pong-pixels: 4,000
steps over 4 courts, learning from step 500 (about 875 gradient steps on batches of 32 stacks of 4
80x80 frames: most of a run is learning); our pixel entry (a CNN on the last 4 frames, replay of
100k frames stored once). SB3's row there is ``benchmarks/sb3_stacked.py``'s ``SB3StackedDQN``:
SB3's DQN as an SB3 user stacks frames, ``VecFrameStack(n_stack=4)`` over 4 copies of the env
(``DummyVecEnv``), with our ``CNN`` as its features extractor and ``net_arch=[]``, so its Q-network
is ours layer for layer (the table counts the weights: were they not equal, it would say so and
exit 1). Other differences, all SB3's own way: its frame stack pads an episode's start with zeros
(ours with the first frame), it steps 4 Python envs (ours gymlab's vectorised engine), it transposes
every stack to channels first, and it acts uniformly at random, without a forward pass, until
``learning_starts`` (ours is epsilon-greedy from the first step). The replay memories at a FULL
buffer are measured apart, in seconds: ``benchmarks/replay_memory.py``.

Same gradient steps per env step. Our DQN counts ``--train-freq`` in env steps, adding up the
steps of every env (``agents/dqn.py``: ``step % train_freq == 0``). SB3 counts it in steps of the
vector env (``OffPolicyAlgorithm.collect_rollouts``: ``num_collected_steps += 1`` per
``env.step``, while ``num_timesteps += env.num_envs``), so SB3's ``train_freq`` is ours divided by
``n_envs`` (4 / 4 = 1; refused unless it divides). SB3's ``learning_starts`` and exploration read
``num_timesteps`` (env steps), and its target update runs every ``target_update_interval //
n_envs`` vector steps. Every run reports its gradient steps (our ``agent.updates``, SB3's
``model._n_updates``); the contestants of a round must agree within a round's worth.

Budget: 48 runs (2 tasks x 4 contestants x 6 rounds). From a ``--quick`` run on the loaded
machine and the earlier 20k-step runs: a CartPole run trains 10-20 s, a pixel run 30-45 s, and each
process takes about 5 s to start: about 20 minutes alone on this 2-core machine.
Prints the table and writes ``benchmarks/results/dqn_speed.json`` (``--quick``:
``dqn_speed_quick.json``, untracked). JSON: top level ``quick``, ``rounds``, ``busy``,
``load_before``, ``load_after``, ``checks_failed``, ``rows``; each row ``key`` (task/contestant),
``contestant``, ``command``, ``env_steps_per_s_per_round``, ``env_steps_per_s_median``, ``vs_ref``
(``{"ref", "per_round", "median", "min", "max"}``, None for the reference), ``gradient_steps`` per
round, ``q_weights``, ``busy``, ``load_before``, ``load_after``, and ``_common.provenance``'s stamp.
"""

import argparse
import contextlib
import shlex
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import _speed  # noqa: E402
from benchmarks._common import RESULTS, merge_rows, provenance, table, write_json  # noqa: E402
from benchmarks.dqn_vs_sb3 import TO_SB3, flags  # noqa: E402
from gymlab.agents import hyperparams  # noqa: E402

TARGET = 2.0  # the issue's aim: ours / SB3's env steps per second
TASKS = {  # --only name -> (train.py's --env, steps, learning starts, --quick's steps, learning starts)
    "cartpole": ("CartPole-v1", 10_000, 1_000, 2_000, 500),
    "pixels": ("pong-pixels", 4_000, 500, 800, 400),
}
SEED = 0
REFERENCE = "sb3-dqn (same)"
SAVING = "sb3-dqn (same, optimize_memory_usage)"


# ------------------------------------------------------------------ the contestants
def contestants(task: str, steps: int, learning_starts: int) -> list[dict]:
    """Each contestant of ``task``: its ``train.py`` agent and settings (``overrides``), what differs
    from the SB3 row, and the gradient steps per env step its settings ask for."""
    from gymlab.agents.dqn import DQNConfig

    env = TASKS[task][0]
    ours, _ = hyperparams.defaults("dqn", env)
    ours = {**ours, "learning_starts": learning_starts, "threads": 1}
    full = {**DQNConfig().__dict__, **ours}  # every setting, so the translation misses none
    same = {**{TO_SB3[k]: v for k, v in full.items() if k in TO_SB3}, "threads": 1}  # dqn_vs_sb3's translation
    agent = "sb3-dqn"
    if full["policy"] == "cnn":  # pixels: the same CNN, the same frames, the same envs side by side
        n = full["num_envs"]
        if full["train_freq"] % n:
            raise SystemExit(f"{task}: train_freq {full['train_freq']} counts the steps of all {n} envs; SB3 counts "
                             f"steps of the vector env, so it must be a multiple of num_envs")
        same.update(net_arch=(), cnn_hidden=tuple(full["hidden"]), n_envs=n, n_stack=full["history"],
                    train_freq=full["train_freq"] // n)
        agent = "benchmarks.sb3_stacked:SB3StackedDQN"
    elif full["num_envs"] != 1 or full["history"] != 1:
        raise SystemExit(f"{task}: translating num_envs/history to SB3 is done for CNN policies only")
    differs = ", ".join(what for what, on in (("double Q", full["double_q"]), ("dueling streams", full["dueling"]))
                        if on) or "nothing"
    ratio = full["gradient_steps"] / full["train_freq"]
    saving = {**same, "optimize_memory_usage": True, "n_steps": 1}  # what SB3 accepts (see the docstring)
    saving_differs = ", ".join(([f"1-step returns, not {same['n_steps']} (SB3's n-step replay refuses it)"]
                                if same["n_steps"] > 1 else []) + ["timeouts stored as ends (as SB3 requires)"])
    return [
        {"contestant": "dqn", "agent": "dqn", "overrides": ours, "differs": differs, "per_env_step": ratio},
        {"contestant": "dqn (as sb3)", "agent": "dqn", "overrides": {**ours, "double_q": False, "dueling": False},
         "differs": "nothing", "per_env_step": ratio},
        {"contestant": REFERENCE, "agent": agent, "overrides": same, "differs": "(the reference)",
         "per_env_step": same["gradient_steps"] / (same["train_freq"] * same.get("n_envs", 1))},
        {"contestant": SAVING, "agent": agent, "overrides": saving, "differs": saving_differs,
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
    evaluations; its speed, the gradient steps it took and its Q-network's weights."""
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
    q, updates = (agent.model.q_net, agent.model._n_updates) if hasattr(agent, "model") else (agent.q, agent.updates)
    return {"env_steps": summary["env_steps"], "env_steps_per_s": summary["env_steps_per_s"],
            "train_time_s": summary["wall_time_s"], "gradient_steps": int(updates),
            "q_weights": int(sum(p.numel() for p in q.parameters()))}


def run_alone(job: dict) -> dict:
    """``measure(job)`` in a process of its own (one torch thread), so every run starts alike."""
    return _speed.run_child(__file__, job, f"{job['contestant']} on {job['env']}")


# ------------------------------------------------------------------ the benchmark
def measure_task(task: str, rounds: int, quick: bool, runner) -> tuple:
    """Every contestant of ``task`` in ``rounds`` interleaved rounds: ``(who, runs, stamps, steps, starts)``."""
    env, full_steps, full_starts, quick_steps, quick_starts = TASKS[task]
    steps, starts = (quick_steps, quick_starts) if quick else (full_steps, full_starts)
    who = {w["contestant"]: w for w in contestants(task, steps, starts)}
    stamps = {name: provenance(command(task, w, steps)) for name, w in who.items()}

    def run(name, r):
        w = who[name]
        res = runner({"contestant": name, "agent": w["agent"], "env": env, "steps": steps, "overrides": w["overrides"]})
        print(f"{task} round {r + 1}/{rounds}: {name}: {res['env_steps_per_s']:,.0f} env steps/s, "
              f"{res['gradient_steps']} gradient steps", file=sys.stderr)
        return res

    return who, _speed.interleave(list(who), rounds, run), stamps, steps, starts


def checks(task: str, who: dict, runs: dict, rounds: int) -> list[str]:
    """The same gradient steps per env step (counted) in every round; the same network for "as sb3"."""
    failures = []
    rounds_of = max(1, int(max(w["overrides"].get("gradient_steps", 1) for w in who.values())))
    for r in range(rounds):
        counts = {name: x[r]["gradient_steps"] for name, x in runs.items()}
        if max(counts.values()) - min(counts.values()) > 2 * rounds_of:
            failures.append(f"{task} round {r + 1}: gradient steps differ: {counts}")
    for name in ("dqn (as sb3)", SAVING):
        if runs[name][0]["q_weights"] != runs[REFERENCE][0]["q_weights"]:
            failures.append(f"{task}: {name} has {runs[name][0]['q_weights']} Q-network weights, "
                            f"{REFERENCE} {runs[REFERENCE][0]['q_weights']}: not the same network")
    return failures


def main(argv=None, runner=run_alone) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _speed.add_arguments(p, quick_rounds=1)
    p.add_argument("--only", choices=sorted(TASKS), help="one task (the other's rows are kept from the JSON)")
    p.add_argument("--json", type=Path, help="where to write the results (default benchmarks/results/dqn_speed.json, "
                                             "--quick: dqn_speed_quick.json)")
    args = _speed.parse_args(p, argv, measure)
    if args is None:  # one run, in the process run_alone started: written
        return 0
    rounds = _speed.rounds_of(args, quick_rounds=1)
    path = args.json or RESULTS / ("dqn_speed_quick.json" if args.quick else "dqn_speed.json")
    state, measured, failures = _speed.start(args.wait_idle), [], []
    for task in [args.only] if args.only else list(TASKS):
        who, runs, stamps, steps, starts = measure_task(task, rounds, args.quick, runner)
        measured.append((task, who, runs, stamps, steps, starts))
        failures += checks(task, who, runs, rounds)
    state = _speed.finish(state)
    records = []
    for task, who, runs, stamps, steps, starts in measured:
        ref = [x["env_steps_per_s"] for x in runs[REFERENCE]]
        for name, w in who.items():
            mine = runs[name]
            records.append({
                "key": f"{task}/{name}", "task": task, "env": TASKS[task][0], "contestant": name,
                "agent": w["agent"], "overrides": w["overrides"], "differs_from_sb3_same": w["differs"],
                "steps": steps, "learning_starts": starts, "rounds": rounds, "quick": args.quick,
                "gradient_steps_per_env_step": w["per_env_step"],
                "expected_gradient_steps": int((steps - starts) * w["per_env_step"]),
                "gradient_steps": [x["gradient_steps"] for x in mine], "q_weights": mine[0]["q_weights"],
                **_speed.speed_fields([x["env_steps_per_s"] for x in mine], ref,
                                      None if name == REFERENCE else REFERENCE),
                "runs": mine, **state, **stamps[name]})
    # rows kept from an earlier run (--only): those measured by this protocol, never a figure made otherwise
    records = [r for r in merge_rows(path, records, "key") if "env_steps_per_s_per_round" in r]
    order = [f"{t}/{c}" for t in TASKS for c in ("dqn", "dqn (as sb3)", REFERENCE, SAVING)]
    records.sort(key=lambda r: order.index(r["key"]) if r["key"] in order else len(order))
    rows = [[r["env"] if r["contestant"] == "dqn" else "", r["contestant"], r["differs_from_sb3_same"],
             r["q_weights"], "/".join(map(str, r["gradient_steps"])), r["expected_gradient_steps"],
             r["env_steps_per_s_median"], _speed.ratio_cell(r["vs_ref"]), "busy" if r["busy"] else ""]
            for r in records]
    out = write_json("dqn_speed", {"target_vs_sb3": TARGET, "seed": SEED, "quick": args.quick, "rounds": rounds,
                                   **state, "checks_failed": failures, "rows": records}, path)
    print(table(["env", "contestant", "differs from sb3 (same)", "Q-net weights", "gradient steps", "expected",
                 "env steps/s (median)", f"vs sb3 (same): median [min-max] of rounds (aim {TARGET:g}x)", "load"],
                rows))
    _speed.say_verdict(state, args.quick, failures)
    print(f"\nwritten: {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
