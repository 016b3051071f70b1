"""Train, evaluate and report any gymlab agent on any env, from one command line.

    python train.py --env rooms --agent q                      # the lecture's Q-table
    python train.py --env CliffWalking-v1 --agent q --seed 1   # any registered Gymnasium id
    python train.py --env rooms --agent q --gamma 0.9          # override a hyper-parameter
    python train.py --env rooms --agent q --load runs/X/checkpoint.npz            # evaluate
    python train.py --env rooms --agent q --load runs/X/checkpoint.npz --steps 500  # continue
    python train.py --agent q --help                           # also lists the agent's flags

Every run writes a run directory (default ``runs/<env>__<agent>__<seed>__<time>/``):
``checkpoint.npz``, ``episodes.csv``, ``metrics.csv``, ``learning_curve.png``, any
agent figures (the tabular agent's ``q_table.png``) and ``summary.json``.

Exit codes: 0 done; 1 a checkpoint that cannot be read; 2 a usage error (an unknown
env or agent, an agent that cannot act in the env, a bad flag or path); 130 when
interrupted (the last good checkpoint is kept and the partial run summarised).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path

try:
    from gymlab.cli import EXIT_CHECKPOINT, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError, guarded
except KeyboardInterrupt:  # Ctrl-C while the suite is still being imported: quietly, as at any moment
    raise SystemExit(130) from None

DEFAULT_EPISODE_CAP = 1000  # for envs registered without a time limit (e.g. CliffWalking-v1)




def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_flags(parser: argparse.ArgumentParser, agent_cls) -> None:
    """One flag per field of the agent's Config dataclass, defaulting to None (= not given)."""
    group = parser.add_argument_group(f"hyper-parameters of agent {agent_cls.name!r}")
    hints = typing.get_type_hints(agent_cls.Config)
    for f in dataclasses.fields(agent_cls.Config):
        kind = hints[f.name]
        help_ = f"{f.metadata.get('help', '')} (default {f.default!r}, or the env's entry in agents/hyperparams.py)"
        if kind is bool:
            group.add_argument(_flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction,
                               default=None, help=help_)
        elif typing.get_origin(kind) is tuple:  # e.g. hidden layer sizes: --hidden 256,256
            item = typing.get_args(kind)[0]
            group.add_argument(_flag(f.name), dest=f.name, type=lambda v, item=item: tuple(map(item, v.split(","))),
                               default=None, metavar="N,N", help=help_)
        else:
            group.add_argument(_flag(f.name), dest=f.name, type=kind, default=None, metavar=kind.__name__.upper(),
                               help=help_)


def build_parser(agent_cls=None, for_help: bool = True) -> argparse.ArgumentParser:
    from gymlab import agents
    from gymlab import envs

    p = argparse.ArgumentParser(
        prog="train.py", description=__doc__.split("\n\n")[0], add_help=for_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="env aliases: " + ", ".join(sorted(envs.ALIASES)) + "\nagents: " + ", ".join(agents.names()),
    )
    p.add_argument("--env", required=for_help, help="an alias (rooms, ...) or any registered Gymnasium id")
    p.add_argument("--agent", help="agent name (" + ", ".join(agents.names()) + "); "
                   "may be left out with --load, which knows its agent")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="train for this many env steps (default: per env and agent)")
    budget.add_argument("--episodes", type=int, help="train for this many episodes instead")
    p.add_argument("--seed", type=int, default=0, help="seeds the env, the agent and the evaluation (default 0)")
    p.add_argument("--run-dir", type=Path, help="where to write the run (default runs/<env>__<agent>__<seed>__<time>)")
    p.add_argument("--load", type=Path, metavar="CKPT",
                   help="start from this checkpoint: evaluate it, or continue training with --steps/--episodes")
    p.add_argument("--eval-episodes", type=int, default=10, help="greedy evaluation episodes after training (default 10)")
    p.add_argument("--eval-every", type=int, metavar="STEPS",
                   help="evaluate (5 greedy episodes) and checkpoint every STEPS env steps "
                        "(default: a tenth of a step budget; 0: never)")
    p.add_argument("--max-episode-steps", type=int,
                   help=f"time limit per episode (default: the env's own, else {DEFAULT_EPISODE_CAP})")
    p.add_argument("--frame-stack", type=int, default=1, metavar="K",
                   help="show the agent the last K observations at once (flattened); default 1")
    p.add_argument("--render", action="store_true", help="show the evaluation episodes in a pygame window")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    if agent_cls is not None:
        add_config_flags(p, agent_cls)
    return p


def make_env(env_id: str, kwargs: dict, max_episode_steps: int | None, render_mode: str | None = None,
             frame_stack: int = 1):
    import gymnasium as gym

    spec = gym.spec(env_id)
    if render_mode is not None:
        modes = spec.metadata.get("render_modes", []) if hasattr(spec, "metadata") else None
        kwargs = {**kwargs, "render_mode": render_mode}
        if modes is not None and modes and render_mode not in modes:
            raise UsageError(f"{env_id} cannot render in {render_mode!r} mode (it offers {modes})")
    cap = max_episode_steps or (None if spec.max_episode_steps else DEFAULT_EPISODE_CAP)
    env = gym.make(env_id, **kwargs, **({"max_episode_steps": cap} if cap else {}))
    if frame_stack > 1:  # the memoryless control: the last K observations side by side
        from gymnasium.wrappers import FlattenObservation, FrameStackObservation

        env = FlattenObservation(FrameStackObservation(env, frame_stack))
    return env


def parse(argv: list[str]):
    """Parse in two passes: the agent (named, or read from --load's checkpoint) decides
    which hyper-parameter flags exist. Returns ``(args, agent_cls)``."""
    from gymlab import agents
    from gymlab.agents import checkpoint

    known, _ = build_parser(for_help=False).parse_known_args(argv)
    wants_help = "-h" in argv or "--help" in argv
    agent_name = known.agent
    if known.load is not None and not wants_help:
        meta, _ = checkpoint.load(known.load)  # CheckpointError: missing or corrupt
        if agent_name is None:
            agent_name = meta.get("agent")
        elif agent_name != meta.get("agent"):
            raise UsageError(f"{known.load} holds a {meta.get('agent')!r} agent, not {agent_name!r}")
    agent_cls = None
    if agent_name is not None:
        try:
            agent_cls = agents.get(agent_name)
        except agents.UnknownAgentError as err:
            if not wants_help:
                raise UsageError(str(err)) from err
    args = build_parser(agent_cls).parse_args(argv)  # --help and malformed flags exit here
    if agent_cls is None:
        raise UsageError("--agent is required (valid agents: " + ", ".join(agents.names()) + ")")
    return args, agent_cls


def main(argv: list[str] | None = None) -> int:
    """The command line (``python train.py``, ``gymlab train``, ``gymlab-train``): exit codes as in
    ``gymlab/cli.py``; no input ends in a traceback."""
    return guarded("train.py", lambda: _main(list(sys.argv[1:] if argv is None else argv)))


def _main(argv: list[str]) -> int:
    from gymlab.agents import CheckpointError

    try:
        args, agent_cls = parse(argv)
        return run(args, agent_cls)
    except CheckpointError as err:
        print(f"train.py: checkpoint error: {err}", file=sys.stderr)
        return EXIT_CHECKPOINT if err.corrupt else EXIT_USAGE


def run(args, agent_cls) -> int:
    from gymlab import envs
    from gymlab.agents import SpaceError, hyperparams
    from gymlab.agents.base import Budget
    from gymlab.agents.logger import RunLogger, default_run_dir
    from gymlab.agents.rollout import evaluate

    try:
        env_id, env_kwargs = envs.resolve(args.env)
    except envs.UnknownEnvError as err:
        raise UsageError(str(err)) from err
    if args.steps is not None and args.steps <= 0 or args.episodes is not None and args.episodes <= 0:
        raise UsageError("--steps and --episodes must be positive")
    if args.eval_episodes < 0:
        raise UsageError("--eval-episodes cannot be negative")

    if args.frame_stack < 1:
        raise UsageError("--frame-stack must be at least 1")
    env = make_env(env_id, env_kwargs, args.max_episode_steps, frame_stack=args.frame_stack)
    try:
        agent_cls.check_spaces(env.observation_space, env.action_space)
    except SpaceError as err:
        raise UsageError(f"agent {agent_cls.name!r} cannot act in {env_id}: {err}") from err

    config_defaults, default_budget = hyperparams.defaults(agent_cls.name, args.env, env_id)
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(agent_cls.Config)
                 if getattr(args, f.name) is not None}
    try:  # a config can rule a pairing out too (e.g. a recurrent policy for an agent without one)
        if args.load is not None:
            agent = agent_cls.load(args.load, env.observation_space, env.action_space, **overrides)
            agent.seed = args.seed
            budget = None
        else:
            config = agent_cls.Config(**{**config_defaults, **overrides})
            agent = agent_cls(env.observation_space, env.action_space, config=config, seed=args.seed)
            budget = Budget(**default_budget)
    except SpaceError as err:
        raise UsageError(f"agent {agent_cls.name!r} cannot act in {env_id}: {err}") from err
    except (TypeError, ValueError) as err:
        raise UsageError(f"bad hyper-parameters for agent {agent_cls.name!r}: {err}") from err
    if args.steps is not None or args.episodes is not None:
        budget = Budget(steps=args.steps, episodes=args.episodes)

    env_name = args.env if "/" not in args.env else env_id
    run_dir = args.run_dir or default_run_dir(env_name, agent_cls.name, args.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt = run_dir / "checkpoint.npz"

    print(f"gymlab: agent {agent_cls.name!r} on {env_id}, seed {args.seed}, "
          + (f"{budget.total} {budget.unit}" if budget else "evaluating " + str(args.load)))
    logger = RunLogger(run_dir, budget, progress=not args.no_progress, desc=f"{agent_cls.name} on {env_name}")
    eval_every = args.eval_every
    if eval_every is None:
        eval_every = budget.steps // 10 if budget is not None and budget.steps else 0
    if eval_every > 0:
        periodic_env = make_env(env_id, env_kwargs, args.max_episode_steps, frame_stack=args.frame_stack)

        def evaluate_and_checkpoint():
            returns, _ = evaluate(agent, periodic_env, min(5, args.eval_episodes or 5), seed=args.seed + 2_000_000)
            logger.log_eval(float(returns.mean()))
            agent.save(ckpt)  # atomic: an interrupted run keeps its last good checkpoint

        logger.every(eval_every, evaluate_and_checkpoint)
    interrupted = False
    try:
        if budget is not None:
            agent.learn(env, budget, logger)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: saving what was learned so far", file=sys.stderr)
    finally:
        logger.close()
    train_time = logger.elapsed
    agent.save(ckpt)

    eval_returns, eval_lengths = [], []
    if args.eval_episodes and not interrupted:
        eval_env = make_env(env_id, env_kwargs, args.max_episode_steps, "human" if args.render else None,
                            args.frame_stack)
        try:
            eval_returns, eval_lengths = evaluate(agent, eval_env, args.eval_episodes, seed=args.seed + 1_000_000)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            eval_env.close()

    figures, report_lines = agent.report(env, run_dir)
    if logger.returns:
        from gymlab.agents.plots import learning_curve

        learning_curve(run_dir / "learning_curve.png", logger.end_steps, logger.returns, logger.lengths,
                       f"{agent_cls.name} on {env_id} (seed {args.seed})", evals=logger.evals)
    env.close()

    summary = {
        "env": env_id,
        "env_kwargs": env_kwargs,
        "agent": agent_cls.name,
        "seed": args.seed,
        "config": dataclasses.asdict(agent.config),
        "budget": None if budget is None else {budget.unit: budget.total},
        "loaded_from": None if args.load is None else str(args.load),
        "env_steps": logger.steps,
        "episodes": logger.episodes,
        "train_return_mean_last_100": _mean(logger.returns[-100:]),
        "periodic_eval": [{"step": st, "return_mean": round(r, 6)} for st, r in logger.evals],
        "wall_time_s": round(train_time, 4),
        "env_steps_per_s": round(logger.steps / train_time, 1) if train_time > 0 else None,
        "eval": {
            "episodes": len(eval_returns),
            "return_mean": _mean(eval_returns),
            "return_std": None if len(eval_returns) == 0 else round(float(_std(eval_returns)), 6),
            "length_mean": _mean(eval_lengths),
        },
        "interrupted": interrupted,
        "checkpoint": ckpt.name,
        **figures,
    }
    from gymlab.agents.checkpoint import write_json

    write_json(run_dir / "summary.json", summary)

    if budget is not None:
        print(f"trained {logger.steps} env steps ({logger.episodes} episodes) in {train_time:.2f} s "
              f"({summary['env_steps_per_s']} steps/s)")
    if len(eval_returns):
        print(f"evaluation over {len(eval_returns)} episodes (deterministic actions): return "
              f"{summary['eval']['return_mean']:.2f} +- {summary['eval']['return_std']:.2f}")
    print(f"run directory: {run_dir}")
    for line in report_lines:
        print(line)
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def _mean(xs):
    return None if len(xs) == 0 else round(float(sum(xs) / len(xs)), 6)


def _std(xs):
    m = sum(xs) / len(xs)
    return (sum((x - m) ** 2 for x in xs) / len(xs)) ** 0.5


if __name__ == "__main__":
    sys.exit(main())
