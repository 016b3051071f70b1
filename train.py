"""Train, evaluate and report any gymlab agent on any env, from one command line.

    python train.py --env rooms --agent q                      # the lecture's Q-table
    python train.py --env CliffWalking-v1 --agent q --seed 1   # any registered Gymnasium id
    python train.py --env my_package:MyEnv-v0 --agent dqn      # an env that a module registers
    python train.py --env pong --agent dqn --env-kwargs difficulty=0.8 points_to_win=5
    python train.py --env rooms --agent q --gamma 0.9          # override a hyper-parameter
    python train.py --load runs/X/checkpoint.npz               # evaluate (env and agent from the checkpoint)
    python train.py --load runs/X/checkpoint.npz --steps 500   # a new run starting from these weights
    python train.py --resume runs/X                            # go on where run X stopped (Ctrl-C, crash)
    python train.py --resume runs/X --steps 200000             # or train a finished run longer
    python train.py --agent q --help                           # also lists the agent's flags

Installed, the same command is ``gymlab train ...`` (or ``gymlab-train ...``).

Every run writes a run directory (default ``runs/<env>__<agent>__<seed>__<time>/``;
an existing one is refused unless ``--force``): ``checkpoint.npz``,
``episodes.csv``, ``metrics.csv``, ``learning_curve.png``, any agent figures
(the tabular agent's ``q_table.png``), ``summary.json`` and, for agents that can
be resumed (all but the SB3 references), ``resume.npz``: written at each periodic
evaluation, on Ctrl-C and at the end, it is what ``--resume`` goes on from.

``--load CKPT`` and ``--resume RUN_DIR`` differ: ``--load`` takes a checkpoint's
weights into a *new* run (a fresh optimizer, replay buffer, exploration schedule and
counters); ``--resume`` continues the *same* run, and a run stopped and resumed ends
with the same weights and ``summary.json`` (timings aside) as one never stopped.

Exit codes: 0 done; 1 a checkpoint that cannot be read; 2 a usage error (an unknown
env or agent, an agent that cannot act in the env, a bad flag, value or path: one
line, nothing written); 70 an internal error (a bug; the traceback is saved as
``crash.txt`` in the run directory); 130 interrupted (Ctrl-C: the run stops at
the next step boundary, writes its checkpoint and resume state, and summarises the
partial run; a second Ctrl-C stops at once, keeping the last periodic ones).
"""

from __future__ import annotations

try:  # Ctrl-C while Python is still importing: exit 130 quietly, as at any later moment
    import argparse
    import contextlib
    import dataclasses
    import sys
    import typing
    from pathlib import Path

    from gymlab.cli import EXIT_CHECKPOINT, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError, guarded
except KeyboardInterrupt:
    raise SystemExit(130) from None

DEFAULT_EPISODE_CAP = 1000  # for envs registered without a time limit (e.g. CliffWalking-v1)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _sizes(item):
    """An argparse type for hidden layer sizes: ``64,64`` -> ``(64, 64)``; ``""`` -> ``()``."""
    def parse(text: str):
        try:
            return tuple(item(v) for v in text.split(",") if v.strip() != "")
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected sizes separated by commas, e.g. 64,64, got {text!r}") from None

    parse.__name__ = "sizes"
    return parse


def add_config_flags(parser: argparse.ArgumentParser, agent_cls) -> None:
    """One flag per field of the agent's Config dataclass, defaulting to None (= not given).
    The values' ranges are the Config's own to check."""
    from gymlab.cli import number

    group = parser.add_argument_group(f"hyper-parameters of agent {agent_cls.name!r}")
    hints = typing.get_type_hints(agent_cls.Config)
    for f in dataclasses.fields(agent_cls.Config):
        kind = hints[f.name]
        help_ = f"{f.metadata.get('help', '')} (default {f.default!r}, or the env's entry in agents/hyperparams.py)"
        if kind is bool:
            group.add_argument(_flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction,
                               default=None, help=help_)
        elif typing.get_origin(kind) is tuple:  # e.g. hidden layer sizes: --hidden 256,256
            group.add_argument(_flag(f.name), dest=f.name, type=_sizes(typing.get_args(kind)[0]),
                               default=None, metavar="N,N", help=help_)
        elif kind in (int, float):
            group.add_argument(_flag(f.name), dest=f.name, type=number(kind), default=None,
                               metavar=kind.__name__.upper(), help=help_)
        else:
            group.add_argument(_flag(f.name), dest=f.name, type=kind, default=None, metavar=kind.__name__.upper(),
                               help=help_)


def build_parser(agent_cls=None, for_help: bool = True) -> argparse.ArgumentParser:
    from gymlab import agents, envs
    from gymlab.cli import Parser, number, path_arg

    p = Parser(
        prog="train.py", description=__doc__.split("\n\n")[0], add_help=for_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="env aliases: " + ", ".join(sorted(envs.ALIASES)) + "\nagents: " + ", ".join(agents.names()),
    )
    p.add_argument("--env", help="an alias (rooms, ...), any registered Gymnasium id, or module:id (imports the "
                   "module, which registers the id); may be left out with --load, which knows its env")
    p.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY=VALUE",
                   help="arguments for gym.make, values read as Python literals (else as strings), "
                        "e.g. --env-kwargs difficulty=0.8 points_to_win=5")
    p.add_argument("--eval-env-kwargs", nargs="+", default=None, metavar="KEY=VALUE",
                   help="arguments that differ for the evaluation env (default: the env's own evaluation "
                        "arguments, e.g. CharPredict's split='test': scored on text it never trained on)")
    p.add_argument("--agent", help="agent name (" + ", ".join(agents.names()) + "); "
                   "may be left out with --load, which knows its agent")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=number(int, lo=1), help="train for this many env steps (default: per env "
                        "and agent)")
    budget.add_argument("--episodes", type=number(int, lo=1), help="train for this many episodes instead")
    p.add_argument("--seed", type=number(int, lo=0), default=0,
                   help="seeds the env, the agent and the evaluation (default 0)")
    p.add_argument("--run-dir", type=path_arg, help="where to write the run (default runs/<env>__<agent>__<seed>__<time>)")
    p.add_argument("--force", action="store_true", help="replace an earlier run in --run-dir (refused otherwise)")
    p.add_argument("--load", type=path_arg, metavar="CKPT",
                   help="start from this checkpoint (its weights, its env unless --env is given): evaluate it, "
                        "or train a new run from it with --steps/--episodes (a new run: fresh optimizer, "
                        "replay buffer, exploration and counters; to continue a run, --resume)")
    p.add_argument("--resume", type=path_arg, metavar="RUN_DIR",
                   help="go on with the run in RUN_DIR exactly where it stopped (Ctrl-C, a crash, or its end: "
                        "with a larger --steps/--episodes), from its resume.npz: its weights, optimizer, replay "
                        "buffer, random streams, envs and counters; it ends as if never stopped")
    p.add_argument("--eval-episodes", type=number(int, lo=0, hi=1_000_000), default=10,
                   help="greedy evaluation episodes after training (default 10)")
    p.add_argument("--eval-every", type=number(int, lo=0), metavar="STEPS",
                   help="evaluate (5 greedy episodes) and checkpoint every STEPS env steps "
                        "(default: a tenth of a step budget; 0: never)")
    p.add_argument("--max-episode-steps", type=number(int, lo=1),
                   help=f"time limit per episode (default: the env's own, else {DEFAULT_EPISODE_CAP})")
    p.add_argument("--frame-stack", type=number(int, lo=1, hi=1024), default=1, metavar="K",
                   help="show the agent the last K observations at once (flattened); default 1")
    p.add_argument("--render", action="store_true", help="show the evaluation episodes in a pygame window")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    if agent_cls is not None:
        add_config_flags(p, agent_cls)
    return p


def parse_env_kwargs(items: list[str] | None) -> dict:
    """``["difficulty=0.8", "obs_type=pixels"]`` -> ``{"difficulty": 0.8, "obs_type": "pixels"}``:
    each value read as a Python literal, else kept as a string."""
    import ast

    kwargs = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(f"--env-kwargs takes KEY=VALUE pairs, got {item!r}")
        if key in kwargs:
            raise UsageError(f"--env-kwargs gives {key!r} twice")
        if key in ("render_mode", "max_episode_steps"):
            raise UsageError(f"--env-kwargs {key}: use --{'render' if key == 'render_mode' else 'max-episode-steps'}")
        try:
            kwargs[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            kwargs[key] = text
    return kwargs


def check_env_kwargs(env_id: str, kwargs: dict) -> None:
    """Refuse keyword arguments the env's constructor does not take, naming the ones it does."""
    import inspect

    import gymnasium as gym
    from gymnasium.envs.registration import load_env_creator

    spec = gym.spec(env_id)
    try:
        creator = load_env_creator(spec.entry_point) if isinstance(spec.entry_point, str) else spec.entry_point
        params = inspect.signature(creator).parameters
    except gym.error.DependencyNotInstalled as err:
        raise UsageError(missing_dependency(env_id, err)) from err
    except (TypeError, ValueError):  # no signature to read: let the env itself judge
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if n not in ("self", "render_mode")
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [k for k in kwargs if k not in accepted]
    if unknown:
        raise UsageError(f"{env_id} does not take {', '.join(map(repr, unknown))} (--env-kwargs); it takes: "
                         + (", ".join(accepted) or "no arguments"))


def evaluation_kwargs(env_id: str, env_kwargs: dict) -> dict:
    """The env's own arguments for evaluation (its class's ``evaluation_kwargs``, e.g. a held-out
    split), for those the run did not set itself in ``--env-kwargs``."""
    import gymnasium as gym
    from gymnasium.envs.registration import load_env_creator

    entry = gym.spec(env_id).entry_point
    try:
        creator = load_env_creator(entry) if isinstance(entry, str) else entry
    except (ImportError, AttributeError, gym.error.Error):
        return {}
    return {k: v for k, v in getattr(creator, "evaluation_kwargs", {}).items() if k not in env_kwargs}


def missing_dependency(env_id: str, err) -> str:
    """One line for an env whose optional dependency is missing. Gymnasium suggests its extras
    (``gymnasium[box2d]``), which pull pygame-ce, and that clashes with gymlab's pygame: name the
    package itself where we know it."""
    text = str(err).split("\n")[0]
    for needle, package in (("Box2D", "swig box2d"), ("MuJoCo", "mujoco"), ("ale_py", "ale-py")):
        if needle.lower() in text.lower():
            return f"{env_id} needs {needle}, which is not installed: pip install {package}"
    return f"{env_id} needs a package that is not installed: {text}"


def has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("SDL_VIDEODRIVER"))


def make_env(env_id: str, kwargs: dict, max_episode_steps: int | None, render_mode: str | None = None,
             frame_stack: int = 1):
    """``gym.make`` with the run's time limit and frame stack; a missing optional dependency
    or arguments the env refuses become a ``UsageError``."""
    import gymnasium as gym

    spec = gym.spec(env_id)
    if render_mode is not None:
        modes = spec.metadata.get("render_modes", []) if hasattr(spec, "metadata") else None
        kwargs = {**kwargs, "render_mode": render_mode}
        if modes is not None and modes and render_mode not in modes:
            raise UsageError(f"{env_id} cannot render in {render_mode!r} mode (it offers {modes})")
    cap = max_episode_steps or (None if spec.max_episode_steps else DEFAULT_EPISODE_CAP)
    try:
        env = gym.make(env_id, **kwargs, **({"max_episode_steps": cap} if cap else {}))
    except gym.error.DependencyNotInstalled as err:
        raise UsageError(missing_dependency(env_id, err)) from err
    except (TypeError, ValueError, gym.error.Error) as err:
        if not kwargs:
            raise  # the env fails with no arguments of ours: a bug, reported as one
        shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise UsageError(f"{env_id} refused the arguments {shown}: {err}") from err
    if frame_stack > 1:  # the memoryless control: the last K observations side by side
        from gymnasium.wrappers import FlattenObservation, FrameStackObservation

        env = FlattenObservation(FrameStackObservation(env, frame_stack))
    return env


def parse(argv: list[str]):
    """Parse in two passes: the agent (named, or read from --load's checkpoint) decides
    which hyper-parameter flags exist. Returns ``(args, agent_cls, loaded_meta)``."""
    from gymlab import agents
    from gymlab.agents import checkpoint

    known, _ = build_parser(for_help=False).parse_known_args(argv)
    wants_help = "-h" in argv or "--help" in argv
    agent_name, meta = known.agent, None
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
    args = build_parser(agent_cls).parse_args(argv)  # --help and malformed flags end here
    if agent_cls is None:
        raise UsageError("--agent is required (valid agents: " + ", ".join(agents.names()) + ")")
    if args.env is None:
        if meta is None or not meta.get("env"):
            raise UsageError("--env is required" + (" (this checkpoint does not say which env it learned)"
                                                    if meta is not None else ""))
        args.env = meta["env"]
        if args.env_kwargs is None:
            args.env_kwargs = [f"{k}={v!r}" for k, v in meta.get("env_kwargs", {}).items()]
    return args, agent_cls, meta


def main(argv: list[str] | None = None) -> int:
    """The command line (``python train.py``, ``gymlab train``, ``gymlab-train``): exit codes as in
    ``gymlab/cli.py``; no input ends in a traceback."""
    return guarded("train.py", lambda: _main(list(sys.argv[1:] if argv is None else argv)))


def _main(argv: list[str]) -> int:
    from gymlab.agents import CheckpointError

    try:
        known, _ = build_parser(for_help=False).parse_known_args(argv)
        if known.resume is not None and not ("-h" in argv or "--help" in argv):
            return resume(build_parser().parse_args(argv))
        args, agent_cls, _ = parse(argv)
        return run(args, agent_cls)
    except CheckpointError as err:
        print(f"train.py: checkpoint error: {err}", file=sys.stderr)
        return EXIT_CHECKPOINT if err.corrupt else EXIT_USAGE


def run(args, agent_cls) -> int:
    from gymlab import envs, runs
    from gymlab.agents import SpaceError, hyperparams
    from gymlab.agents.base import Budget
    from gymlab.agents.logger import RunLogger
    from gymlab.agents.rollout import evaluate

    # 1. Everything is checked before anything is written.
    try:
        env_id, env_kwargs = envs.resolve(args.env)
    except envs.UnknownEnvError as err:
        raise UsageError(str(err)) from err
    env_kwargs = {**env_kwargs, **parse_env_kwargs(args.env_kwargs)}
    check_env_kwargs(env_id, env_kwargs)
    if args.render and not has_display():
        raise UsageError("--render needs a display, and there is none here (DISPLAY is not set)")
    eval_kwargs = {**evaluation_kwargs(env_id, env_kwargs), **parse_env_kwargs(args.eval_env_kwargs)}
    check_env_kwargs(env_id, eval_kwargs)
    env = make_env(env_id, env_kwargs, args.max_episode_steps, frame_stack=args.frame_stack)
    if eval_kwargs:  # refused now, before anything is written, rather than after training
        make_env(env_id, {**env_kwargs, **eval_kwargs}, args.max_episode_steps, frame_stack=args.frame_stack).close()
    try:
        agent_cls.check_spaces(env.observation_space, env.action_space)
    except SpaceError as err:
        raise UsageError(f"agent {agent_cls.name!r} cannot act in {env_id}: {err}") from err

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(agent_cls.Config)
                 if getattr(args, f.name) is not None}
    config_defaults, default_budget = hyperparams.defaults(agent_cls.name, env_id, env_kwargs,  # by task, not spelling
                                                           policy=overrides.get("policy"))
    try:  # a config can rule a pairing out too (e.g. a recurrent policy for an agent without one)
        if args.load is not None:
            agent = agent_cls.load(args.load, env.observation_space, env.action_space, seed=args.seed, **overrides)
            budget = None
        else:
            config = agent_cls.Config(**{**config_defaults, **overrides})
            agent = agent_cls(env.observation_space, env.action_space, config=config, seed=args.seed)
            budget = Budget(**default_budget)
    except SpaceError as err:
        raise UsageError(f"agent {agent_cls.name!r} cannot act in {env_id}: {err}") from err
    except (TypeError, ValueError) as err:
        raise UsageError(f"bad hyper-parameters for agent {agent_cls.name!r}: {err}") from err
    except MemoryError as err:
        raise UsageError(f"not enough memory for agent {agent_cls.name!r} with these hyper-parameters "
                         f"({', '.join(_flag(k) for k in overrides) or 'the defaults'}): {err}") from err
    if args.steps is not None or args.episodes is not None:
        budget = Budget(steps=args.steps, episodes=args.episodes)
    warning = _budget_warning(agent.config, budget)
    if warning:
        print(f"train.py: warning: {warning}", file=sys.stderr)

    # 2. The run directory: refused if it holds an earlier run (unless --force).
    env_name = args.env if "/" not in args.env else env_id
    try:
        run_dir = runs.prepare_run_dir(args.run_dir, (env_name, agent_cls.name, args.seed), force=args.force)
    except runs.RunDirError as err:
        raise UsageError(str(err)) from err
    eval_every, eval_unit = args.eval_every, "steps"
    if eval_every is None and budget is not None:  # a tenth of the budget, in its own unit
        eval_every, eval_unit = budget.total // 10, budget.unit
    eval_every = eval_every or 0
    spec = {  # everything --resume needs to rebuild this run
        "env": args.env if ":" in args.env else env_id, "env_id": env_id, "env_name": env_name,
        "env_kwargs": env_kwargs, "eval_env_kwargs": eval_kwargs, "agent": agent_cls.name, "config": dataclasses.asdict(agent.config),
        "seed": args.seed, "budget": None if budget is None else {budget.unit: budget.total},
        "eval_every": eval_every, "eval_unit": eval_unit, "eval_episodes": args.eval_episodes, "max_episode_steps": args.max_episode_steps,
        "frame_stack": args.frame_stack, "loaded_from": None if args.load is None else str(args.load),
    }
    print(f"gymlab: agent {agent_cls.name!r} on {env_id}, seed {args.seed}, "
          + (f"{budget.total} {budget.unit}" if budget else "evaluating " + str(args.load)))
    return execute(spec, env, agent, budget, run_dir, progress=not args.no_progress, render=args.render)


def resume(args) -> int:
    """``--resume RUN_DIR``: rebuild the run from its resume state and go on to its budget."""
    import gymnasium as gym

    from gymlab import agents, envs, resume as resume_state

    given = [f"--{name.replace('_', '-')}" for name, value in vars(args).items()
             if name not in ("resume", "steps", "episodes", "no_progress") and value != _DEFAULTS.get(name)]
    if given:
        raise UsageError(f"--resume goes on with the run's own settings; {', '.join(given)} cannot be given with it "
                         f"(only --steps or --episodes, to train longer, and --no-progress)")
    run_dir = args.resume
    if not run_dir.is_dir():
        raise UsageError(f"--resume {run_dir}: no such run directory")
    try:
        meta, tree = resume_state.read(run_dir / resume_state.FILE)
    except resume_state.ResumeError as err:
        if not (run_dir / resume_state.FILE).exists():
            raise UsageError(f"--resume {run_dir}: it holds no {resume_state.FILE} (a run writes one at each periodic "
                             f"evaluation, on Ctrl-C and when it ends, for agents that can be resumed)") from err
        raise UsageError(f"--resume {run_dir}: {err}") from err
    try:
        spec, agent, env, budget, done = _rebuild(meta, tree, args)
    except UsageError:
        raise
    except resume_state.ResumeError as err:
        raise UsageError(f"--resume {run_dir}: {err}") from err
    except (KeyError, ValueError, TypeError, AttributeError, resume_state.ResumeError, gym.error.Error,
            agents.UnknownAgentError, envs.UnknownEnvError) as err:
        raise UsageError(f"--resume {run_dir}: its resume state does not fit this gymlab ({type(err).__name__}: "
                         f"{err})") from err
    for stale in run_dir.glob(f".{resume_state.FILE}.*.tmp"):  # a write a hard stop cut short
        stale.unlink(missing_ok=True)
    (unit, total), = spec["budget"].items()
    if total != meta["run"]["budget"].get(unit, total):
        print(f"train.py: note: the budget grows from {meta['run']['budget'][unit]} to {total} {unit}; schedules "
              f"that span the budget (exploration, prioritised replay's beta, --lr-anneal) stretch to it from where "
              f"they are, and evaluations keep their interval", file=sys.stderr)
    from gymlab import runs

    runs.current_run_dir = run_dir  # a crash from here on is reported in it
    print(f"gymlab: resuming {run_dir} at {done[unit]} of {total} {unit} (agent {agent.name!r} on "
          f"{spec['env_id']}, seed {spec['seed']})")
    return execute(spec, env, agent, budget, run_dir, progress=not args.no_progress, logger_state=tree["logger"])


def _rebuild(meta: dict, tree: dict, args):
    """The run a resume state describes: ``(spec, agent, env, budget, done)``, the budget grown
    to ``--steps``/``--episodes`` when given."""
    from gymlab import agents, envs
    from gymlab.agents.base import Budget

    spec = dict(meta["run"])
    agent_cls = agents.get(spec["agent"])
    envs.resolve(spec["env"])  # imports a module:id env's module, which registers it
    done = {"steps": tree["logger"]["steps"], "episodes": tree["logger"]["episodes"]}
    (unit, total), = spec["budget"].items()
    if args.steps is not None or args.episodes is not None:
        new_unit, new_total = ("steps", args.steps) if args.steps is not None else ("episodes", args.episodes)
        if new_unit != unit:
            raise UsageError(f"the run's budget is in {unit}: give --{unit} to train it longer, not --{new_unit}")
        if new_total < done[unit]:
            raise UsageError(f"--{unit} {new_total} is less than the {done[unit]} {unit} the run has done")
        total = new_total
    summary = args.resume / "summary.json"
    if done[unit] >= total and summary.is_file() and not _json(summary).get("interrupted", True):
        raise UsageError(f"{args.resume} has finished its budget of {total} {unit}; give a larger --{unit} to train "
                         f"on")
    spec["budget"] = {unit: total}
    env = make_env(spec["env_id"], spec["env_kwargs"], spec["max_episode_steps"], frame_stack=spec["frame_stack"])
    config = agent_cls.Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec["config"].items()})
    agent = agent_cls(env.observation_space, env.action_space, config=config, seed=spec["seed"])
    agent.load_resume_state(tree["agent"])
    agent.resume_in(env)
    return spec, agent, env, Budget(**spec["budget"]), done


def execute(spec: dict, env, agent, budget, run_dir: Path, progress: bool = True, render: bool = False,
            logger_state: dict | None = None) -> int:
    """Train (from the start, or from a resume state's ``logger_state``), evaluate and report one run."""
    from gymlab import resume as resume_state
    from gymlab import runs
    from gymlab.agents.logger import RunLogger
    from gymlab.agents.rollout import evaluate

    env_id, env_kwargs, seed, agent_name = spec["env_id"], spec["env_kwargs"], spec["seed"], spec["agent"]
    ckpt = run_dir / "checkpoint.npz"
    agent.env_spec = {"env": spec["env"], "env_kwargs": env_kwargs}
    logger = RunLogger(run_dir, budget, progress=progress, desc=f"{agent_name} on {spec['env_name']}",
                       resume=logger_state)
    resumable = budget is not None and agent.resumable()
    resume_due = False  # a periodic evaluation asks for a resume state at the next safe point

    def make(render_mode=None):  # an evaluation env
        kwargs = {**env_kwargs, **spec.get("eval_env_kwargs", {})}
        return make_env(env_id, kwargs, spec["max_episode_steps"], render_mode, spec["frame_stack"])

    def write_resume() -> bool:
        """Write the resume state; a failure (a full disk, an env whose state cannot be saved) is
        said in one line and training goes on: the last good resume state stays as it was."""
        try:
            resume_state.write(run_dir / resume_state.FILE, {"run": spec, "step": logger.steps},
                               {"agent": agent.resume_state(), "logger": logger.state()})
            return True
        except (OSError, resume_state.ResumeError, TypeError) as err:
            print(f"train.py: warning: resume state not written at step {logger.steps}: "
                  f"{getattr(err, 'strerror', None) or err}", file=sys.stderr)
            return False

    if spec["eval_every"] > 0:
        periodic_env = make()

        def evaluate_and_checkpoint():
            nonlocal resume_due
            returns, _ = evaluate(agent, periodic_env, min(5, spec["eval_episodes"] or 5), seed=seed + 2_000_000)
            logger.log_eval(float(returns.mean()))
            agent.save(ckpt)  # atomic: an interrupted run keeps its last good checkpoint
            resume_due = resumable

        # its time is not counted as training time
        logger.every(spec["eval_every"], evaluate_and_checkpoint, spec.get("eval_unit", "steps"))
    interrupted = False
    with resume_state.DeferredInterrupt() if resumable else contextlib.nullcontext() as ctrl_c:
        def at_safe_point():
            nonlocal resume_due
            if resume_due or ctrl_c.requested:
                write_resume()
                resume_due = False
            if ctrl_c.requested:
                raise KeyboardInterrupt

        logger.on_safe_point = at_safe_point if resumable else None
        try:
            if budget is not None:
                agent.learn(env, budget, logger)
                if resumable:
                    write_resume()  # at the end too: --resume RUN_DIR --steps MORE trains on
        except KeyboardInterrupt:
            interrupted = True
        finally:
            logger.on_safe_point = None
            logger.close()
        interrupted = interrupted or ctrl_c is not None and ctrl_c.requested  # (also after the last safe point)
    if interrupted:
        print("\ninterrupted: saving what was learned so far", file=sys.stderr)
    wall_time, train_time = logger.elapsed, logger.train_elapsed
    agent.save(ckpt)

    eval_returns, eval_lengths = [], []
    if spec["eval_episodes"] and not interrupted:
        eval_env = make("human" if render else None)
        try:
            eval_returns, eval_lengths = evaluate(agent, eval_env, spec["eval_episodes"], seed=seed + 1_000_000)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            eval_env.close()

    figures, report_lines = agent.report(env, run_dir)
    from gymlab.agents.plots import learning_curve

    learning_curve(run_dir / "learning_curve.png", logger.end_steps, logger.returns, logger.lengths,
                   f"{agent_name} on {env_id} (seed {seed})", evals=logger.evals, final_eval=eval_returns)
    env.close()

    summary = {
        "env": spec["env"],
        "env_kwargs": env_kwargs,
        "eval_env_kwargs": spec.get("eval_env_kwargs", {}),
        "agent": agent_name,
        "seed": seed,
        "config": dataclasses.asdict(agent.config),
        "budget": spec["budget"],
        "loaded_from": spec["loaded_from"],
        "env_steps": logger.steps,
        "episodes": logger.episodes,
        "train_return_mean_last_100": _mean(logger.returns[-100:]),
        "periodic_eval": [{"step": st, "return_mean": round(r, 6)} for st, r in logger.evals],
        "wall_time_s": round(wall_time, 4),
        "periodic_eval_time_s": round(wall_time - train_time, 4),
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
    runs.write_json(run_dir / "summary.json", summary)

    if budget is not None:
        print(f"trained {logger.steps} env steps ({logger.episodes} episodes) in {wall_time:.2f} s "
              f"({summary['env_steps_per_s']} steps/s of training, periodic evaluations aside)")
    if len(eval_returns):
        print(f"evaluation over {len(eval_returns)} episodes (deterministic actions): return "
              f"{summary['eval']['return_mean']:.2f} +- {summary['eval']['return_std']:.2f}")
    print(f"run directory: {run_dir}")
    if interrupted and resumable and (run_dir / resume_state.FILE).is_file():
        print(f"to go on from where it stopped: python train.py --resume {run_dir}")
    for line in report_lines:
        print(line)
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def _json(path: Path) -> dict:
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


_DEFAULTS = {"seed": 0, "eval_episodes": 10, "frame_stack": 1, "force": False, "render": False}  # else None


def _budget_warning(config, budget) -> str | None:
    """A budget too small to learn anything, said before the run spends it."""
    starts = getattr(config, "learning_starts", None)
    if budget is not None and budget.steps is not None and starts is not None and budget.steps <= starts:
        return (f"--steps {budget.steps} ends before --learning-starts {starts}: the agent will only explore "
                f"and never learn (raise --steps or lower --learning-starts)")
    return None


def _mean(xs):
    return None if len(xs) == 0 else round(float(sum(xs) / len(xs)), 6)


def _std(xs):
    m = sum(xs) / len(xs)
    return (sum((x - m) ** 2 for x in xs) / len(xs)) ** 0.5


if __name__ == "__main__":
    sys.exit(main())
