"""Train, evaluate and report any gymlab agent on any env, from one command line.

    python train.py --env rooms --agent q                      # the lecture's Q-table
    python train.py --env CliffWalking-v1 --agent q --seed 1   # any registered Gymnasium id
    python train.py --env my_package:MyEnv-v0 --agent dqn      # an env that a module registers
    python train.py --env pong --agent dqn --env-kwargs difficulty=0.8 points_to_win=5
    python train.py --env rooms --agent q --gamma 0.9          # override a hyper-parameter
    python train.py --env rooms --agent q --record-video       # MP4 and GIF of the evaluation, no display needed
    python train.py --load runs/X/checkpoint.npz               # evaluate (env and agent from the checkpoint)
    python train.py --load runs/X/checkpoint.npz --steps 500   # a new run starting from these weights
    python train.py --resume runs/X                            # go on where run X stopped (Ctrl-C, crash)
    python train.py --resume runs/X --steps 200000             # or train a finished run longer
    python train.py --agent q --help                           # also lists the agent's flags

Installed, the same command is ``gymlab train ...`` (or ``gymlab-train ...``), named so in its hints.

Every run writes a run directory (default ``runs/<env>__<agent>__<seed>__<time>/``;
an existing one is refused unless ``--force``): ``checkpoint.npz``,
``episodes.csv``, ``metrics.csv``, ``learning_curve.png``, any agent figures
(the tabular agent's ``q_table.png``), ``summary.json``, with ``--record-video``
``videos/eval-episode-<i>.mp4`` and ``.gif`` (``gymlab/video.py``) and, for every agent
(the SB3 references too), ``resume.npz``: written at each periodic
evaluation, every ``--save-every-minutes`` (10), on Ctrl-C or SIGTERM and at the end, it
is what ``--resume`` goes on from.

``--load CKPT`` and ``--resume RUN_DIR`` differ: ``--load`` takes a checkpoint's
weights into a *new* run (a fresh optimizer, replay buffer, exploration schedule and
counters); ``--resume`` continues the *same* run, and a run stopped and resumed ends
with the same weights and ``summary.json`` (timings aside) as one never stopped.

Exit codes: 0 done; 2 a usage error (an unknown env or agent, an agent that cannot act
in the env, a bad flag, value or path, a checkpoint or resume state that is missing or
corrupt: one line, nothing written; a ``module:id`` env of yours that raises in
``reset()`` or ``step()`` or returns observations outside its own space, named); 70 an
internal error (a bug; the traceback is saved as ``crash.txt`` in the run directory); 130 interrupted (Ctrl-C: the run stops at
the next step boundary, writes its checkpoint and resume state, and summarises the
partial run; a second Ctrl-C stops at once, keeping the last periodic ones); 143
terminated (SIGTERM: ``kill``, ``timeout``, ``docker stop``, a scheduler's pre-emption;
as Ctrl-C in every way); 74 an I/O error of the machine (a full disk, a read-only run
directory, stdout on a full disk or ``/dev/full``: one line, and every file written stays whole).
"""

from __future__ import annotations

import signal as _signal

_sigints = []  # Ctrl-Cs seen while importing


def _on_sigint(signum, frame):  # as Python's own handler, but remembered
    _sigints.append(signum)
    raise KeyboardInterrupt


if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _on_sigint)
try:  # Ctrl-C while Python is still importing: exit 130 quietly, as at any later moment
    import argparse
    import dataclasses
    import shlex
    import sys

    from gymlab.cli import EXIT_USAGE, UsageError, command, guarded, typed
    from gymlab.flags import seed_list, add_config_flags, parse_env_kwargs, parse_grid
except KeyboardInterrupt:
    raise SystemExit(130) from None
except ImportError:
    if _sigints:  # a Ctrl-C inside a C extension's start-up, which re-raises it as an ImportError (numpy)
        raise SystemExit(130) from None
    raise
finally:
    if _signal.getsignal(_signal.SIGINT) is _on_sigint:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)



def build_parser(agent_cls=None, for_help: bool = True) -> argparse.ArgumentParser:
    from gymlab import agents, envs
    from gymlab.cli import Parser, number, path_arg
    from gymlab.search import SAMPLES as SEARCH_SAMPLES
    from gymlab.stopping import score as stopping_score

    p = Parser(
        prog=command("train.py"), description=__doc__.split("\n\n")[0], add_help=for_help,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="env aliases: " + ", ".join(sorted(envs.ALIASES)) + "\nagents: " + ", ".join(agents.names())
        + "\nexit codes: 0 done, 2 a usage error (or your own env failed), 70 an internal error (a bug), 74 an I/O "
          "error (a full disk, a read-only run directory), 130 Ctrl-C, 143 SIGTERM (both save the run to --resume), "
          "141 the reader of stdout went away",
    )
    p.add_argument("--env", help="an alias (rooms, ...), any registered Gymnasium id, or module:id (imports the "
                   "module, which registers the id); may be left out with --load, which knows its env")
    p.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY=VALUE",
                   help="arguments for gym.make, values read as Python literals or true/false/none/null (any "
                        "case), else as strings ('false' quoted is one), "
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
                   help="the root of every random stream of the run (default 0): the agent's, torch's, each training "
                        "env's and the evaluations', each its own child of numpy's SeedSequence(SEED), so "
                        "that no two streams, of this run or of a run with another seed, share a start")
    p.add_argument("--run-dir", type=path_arg, help="where to write the run (default runs/<env>__<agent>__<seed>__<time>)")
    p.add_argument("--force", action="store_true", help="replace an earlier run in --run-dir (refused otherwise)")
    p.add_argument("--load", type=path_arg, metavar="CKPT",
                   help="start from this checkpoint (its weights, its env and arguments unless --env names another; "
                        "a module:id env it records is imported only when --env names it): evaluate it, "
                        "or train a new run from it with --steps/--episodes (a new run: fresh optimizer, "
                        "replay buffer, exploration and counters; to continue a run, --resume)")
    p.add_argument("--hyperparams", type=path_arg, metavar="FILE",
                   help="a hyper-parameters file of yours, in rl-baselines3-zoo's layout (as gymlab/hyperparams/"
                        "<agent>.yml: an entry per env id or alias, and default; each entry's fields, n_timesteps, "
                        "env_kwargs), read over ours field by field: the command line, then FILE, then ours, then "
                        "the agent's defaults; every field checked as its flag is")
    p.add_argument("--resume", type=path_arg, metavar="RUN_DIR",
                   help="go on with the run in RUN_DIR exactly where it stopped (Ctrl-C, a crash, or its end: "
                        "with a larger --steps/--episodes), from its resume.npz: its weights, optimizer, replay "
                        "buffer, random streams, envs and counters; it ends as if never stopped. Its settings "
                        "are the run's own: only --steps or --episodes (to train longer) and --no-progress may "
                        "be given with it (and --save-every-minutes); any other flag is refused, whatever its value")
    sweep = p.add_argument_group("sweeps (Ray Tune; pip install -e \".[sweep]\")")
    sweep.add_argument("--seeds", type=seed_list, metavar="N|S,S,...|A-B",
                       help="a sweep over seeds: N runs seeds 0..N-1, a list runs those, A-B runs A..B; each (setting, seed) is a "
                            "Ray Tune trial writing its own run directory under RUN_DIR/trials/, and RUN_DIR gets "
                            "sweep.json, report.md (IQM with 95%% CI over seeds) and curves.png")
    sweep.add_argument("--grid", nargs="+", metavar="FIELD=V1,V2", default=None,
                       help="cross hyper-parameter values (any of the agent's flags, as FIELD=values, e.g. "
                            "learning_rate=1e-3,3e-4 n_step=1,3; for sizes, values apart by /: hidden=64,64/256)")
    sweep.add_argument("--ray-address", metavar="ADDR", help="run the sweep on this Ray cluster (default: "
                       "$RAY_ADDRESS, else a local Ray started for the sweep)")
    sweep.add_argument("--cpus-per-trial", type=number(int, lo=1, hi=1024), default=1,
                       help="CPUs each trial holds (default 1; at least its --threads, which its torch runs on, as the "
                            "single run does)")
    sweep.add_argument("--scheduler", choices=("asha",), help="stop unpromising trials early (Tune's ASHA, on "
                       "the periodic evaluations)")
    sweep.add_argument("--search", choices=("optuna",), help="settings proposed by Optuna (Ray Tune's OptunaSearch, "
                       "TPE) in --space, --samples of them, each trained on the tuning seed --seed; then the best "
                       "re-measured on --remeasure-seeds (pip install -e \".[search]\")")
    sweep.add_argument("--samples", type=number(int, lo=1, hi=100_000), default=None, help="with --search: how "
                       f"many settings to try (default {SEARCH_SAMPLES})")
    sweep.add_argument("--space", nargs="+", metavar="FIELD=KIND:...", default=None,
                       help="with --search: a distribution per field: loguniform:LO:HI, uniform:LO:HI, int:LO:HI "
                            "(ends included), choice:A,B,C (e.g. learning_rate=loguniform:1e-4:1e-2 n_step=int:1:5)")
    sweep.add_argument("--remeasure-seeds", type=seed_list, metavar="S,S,...|A-B", default=None,
                       help="with --search: the report seeds (>= 1000) the best setting is re-measured on, as a "
                            "separate sweep in RUN_DIR/remeasure/ (default 1000-1009)")
    p.add_argument("--eval-episodes", type=number(int, lo=0, hi=1_000_000), default=10,
                   help="greedy evaluation episodes after training (default 10)")
    p.add_argument("--eval-every", type=number(int, lo=0), metavar="STEPS",
                   help="evaluate (5 greedy episodes) and checkpoint every STEPS env steps "
                        "(default: a tenth of a step budget; 0: never)")
    p.add_argument("--stop-at", type=stopping_score, metavar="SCORE",
                   help="stop training at the first periodic evaluation whose mean return reaches SCORE (the budget "
                        "is then the most it may take; summary.json's 'stopped' says why it ended); default: the "
                        "env's entry in gymlab/hyperparams/<agent>.yml, if it has one; off: none")
    p.add_argument("--max-episode-steps", type=number(int, lo=1),
                   help="time limit per episode (default: the env's own, else 1000)")
    p.add_argument("--frame-stack", type=number(int, lo=1, hi=1024), default=1, metavar="K",
                   help="show the agent the last K observations at once (flattened); default 1")
    p.add_argument("--render", action="store_true", help="show the evaluation episodes in a pygame window")
    p.add_argument("--record-video", action="store_true",
                   help="write the final evaluation's first K episodes (--video-episodes) as "
                        "RUN_DIR/videos/eval-episode-<i>.mp4 (every frame, at the env's render fps) and .gif "
                        "(kept small: frames over 400 px wide or high scaled down by a whole factor; an episode of "
                        "over 200 frames keeps every 2nd, 4th, ... frame, each shown that much longer); drawn as "
                        "rgb_array frames, no display needed; needs imageio-ffmpeg and pillow: "
                        "pip install -e \".[video]\"")
    p.add_argument("--video-episodes", type=number(int, lo=1), default=1, metavar="K",
                   help="with --record-video: how many evaluation episodes to record (default 1; at most "
                        "--eval-episodes)")
    p.add_argument("--save-every-minutes", type=number(float, lo=0), default=10.0, metavar="M",
                   help="write the resume state every M minutes of wall-clock time too, besides each periodic "
                        "evaluation, Ctrl-C, SIGTERM and the end (default 10; 0: not on a clock), so that a huge "
                        "--steps is resumable within minutes")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--track", choices=("mlflow",), help="log the run (every trial of a sweep) to MLflow too: params, "
                   "metrics by TensorBoard's names, artifacts; at $MLFLOW_TRACKING_URI, else sqlite:///./mlflow.db "
                   "with artifacts in ./mlruns (pip install -e \".[track]\")")
    if agent_cls is not None:
        add_config_flags(p, agent_cls)
    return p


def run_sweep(args, agent_cls, argv: list[str] | None = None) -> int:
    """``--seeds``/``--grid``: every setting checked here (one line if refused), then the sweep on Ray Tune."""
    from gymlab import experiment, resolved, runs, sweep

    sweep.require_ray()
    if args.load is not None or args.render:
        raise UsageError("a sweep trains new runs: --load and --render do not go with --seeds/--grid")
    base = config(args, agent_cls)
    if not base.eval_episodes:
        raise UsageError("a sweep scores each trial by its final greedy evaluation: --eval-episodes must be at "
                         "least 1")
    experiment.check_video(base)  # before Ray starts, not in every trial
    grid = parse_grid(args.grid, agent_cls)
    space, remeasure, checked, seeds, samples = search_args(args, agent_cls)
    env_id, env_kwargs = resolved.env(args.env, base.env_kwargs)
    label = "--space: setting" if space else "--grid setting"
    for name, values in (checked or sweep.settings(grid)).items():  # each setting's config, refused here, not in a trial
        try:
            resolved_cfg, _ = resolved.config(agent_cls, env_id, env_kwargs, {**base.overrides, **values},
                                              base.hyperparams)
            threads = getattr(resolved_cfg, "threads", 1)
        except (TypeError, ValueError) as err:
            raise UsageError(f"{label} {name}: {err}") from err
        if threads > args.cpus_per_trial:  # a trial runs as the single run, on its --threads
            raise UsageError(f"{'' if name == 'defaults' else f'{label} {name}: '}--threads {threads} runs "
                             f"more torch threads than a trial holds CPUs (--cpus-per-trial {args.cpus_per_trial}): "
                             f"give --cpus-per-trial {threads}")
    if args.scheduler == "asha" and base.steps is None:
        raise UsageError("--scheduler asha compares trials at equal env steps: give --steps")
    try:
        run_dir = runs.prepare_run_dir(args.run_dir, (args.env, agent_cls.name, "sweep"), force=args.force)
    except runs.RunDirError as err:
        raise UsageError(str(err)) from err
    typed_line = None if argv is None else f"{typed(command('train.py'))} {shlex.join(argv)}"  # for its stamp
    cfg = sweep.SweepConfig(base, seeds, grid, run_dir, args.ray_address, args.cpus_per_trial, args.scheduler,
                            typed_line, search=args.search, space=space, samples=samples,
                            remeasure_seeds=remeasure)
    print(f"gymlab: sweep of {agent_cls.name!r} on {args.env}: " + (
        f"{len(sweep.settings(grid))} settings x {len(seeds)} seeds" if not space else
        f"Optuna search, {samples} samples on seed {seeds[0]}, then the best on seeds {remeasure[0]}-"
        f"{remeasure[-1]}") + " on Ray Tune")
    return sweep.run_sweep(cfg)


def search_args(args, agent_cls):
    """``--search``'s flags: ``(space, remeasure seeds, settings to check, search seeds, samples)``;
    the search's seed a tuning seed (< 1000), the re-measure's report seeds (>= 1000). Its own flags
    (--space, --samples, --remeasure-seeds) without --search: refused, not ignored."""
    seeds = args.seeds if args.seeds is not None else [args.seed]
    if args.search is None:
        given = [f for f, v in (("--space", args.space), ("--samples", args.samples),
                                ("--remeasure-seeds", args.remeasure_seeds)) if v is not None]
        if given:
            raise UsageError(f"{', '.join(given)} go{'es' * (len(given) == 1)} with --search optuna")
        return {}, [], None, seeds, 0
    from gymlab import search
    from gymlab.flags import REPORT_SEED_START

    search.require_optuna()
    if args.grid is not None or args.seeds is not None:
        raise UsageError("--search optuna trains each sample on one tuning seed (--seed) and proposes its own "
                         "settings: --grid and --seeds do not go with it")
    if args.seed >= REPORT_SEED_START:
        raise UsageError(f"--seed {args.seed}: a search tunes on a tuning seed below {REPORT_SEED_START} (seeds "
                         f"{REPORT_SEED_START} and up are report seeds, for the re-measure)")
    remeasure = args.remeasure_seeds or search.REMEASURE_SEEDS
    if min(remeasure) < REPORT_SEED_START:
        raise UsageError(f"--remeasure-seeds: the re-measure is on report seeds, {REPORT_SEED_START} and up (got "
                         f"{min(remeasure)}); e.g. --remeasure-seeds 1000-1009")
    space = search.parse_space(args.space, agent_cls)
    return space, remeasure, search.corners(space), seeds, args.samples or search.SAMPLES


def parse(argv: list[str]):
    """Parse in two passes: the agent (named, or read from --load's checkpoint) decides
    which hyper-parameter flags exist. Returns ``(args, agent_cls, loaded_meta)``."""
    from gymlab import agents
    from gymlab import runs
    from gymlab.agents import checkpoint

    known, _ = build_parser(for_help=False).parse_known_args(argv)
    wants_help = "-h" in argv or "--help" in argv
    agent_name, meta = known.agent, None
    if known.hyperparams is not None and known.load is not None:
        raise UsageError("--hyperparams gives the settings a new run starts from; --load takes the checkpoint's own "
                         "(give a change as its flag)")
    if known.load is not None and not wants_help:
        meta = checkpoint.read_meta(known.load, {"--env": known.env, "--agent": known.agent})  # imports nothing
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
    if meta is not None and args.env in (None, meta.get("env")):  # its env, as it was, where not given again
        if args.env_kwargs is None:
            args.env_kwargs = [f"{k}={v!r}" for k, v in meta.get("env_kwargs", {}).items()]
        from gymlab.agents.base import flag

        given = given_flags(argv)
        for name in runs.ENV_SHAPE:
            if flag(name) not in given and name in meta:
                setattr(args, name, meta[name])
    if args.env is None:
        if meta is None or not meta.get("env"):
            raise UsageError("--env is required" + (" (this checkpoint does not say which env it learned)"
                                                    if meta is not None else ""))
        args.env = meta["env"]
    return args, agent_cls, meta


def config(args, agent_cls):
    """The parsed flags as a ``gymlab.experiment.RunConfig``."""
    from gymlab.experiment import RunConfig

    if args.video_episodes != build_parser(for_help=False).get_default("video_episodes") and not args.record_video:
        raise UsageError("--video-episodes says how many episodes --record-video records: give --record-video too")

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(agent_cls.Config)
                 if getattr(args, f.name) is not None}
    agent = args.agent if args.agent and ":" in args.agent else agent_cls.name  # module:Class as given
    return RunConfig(env=args.env, agent=agent, env_kwargs=parse_env_kwargs(args.env_kwargs),
                     overrides=overrides, seed=args.seed, steps=args.steps, episodes=args.episodes,
                     hyperparams=None if args.hyperparams is None else str(args.hyperparams.resolve()),
                     run_dir=args.run_dir, force=args.force, load=args.load, eval_episodes=args.eval_episodes,
                     eval_every=args.eval_every, stop_at=args.stop_at, eval_env_kwargs=parse_env_kwargs(args.eval_env_kwargs),
                     max_episode_steps=args.max_episode_steps, frame_stack=args.frame_stack, render=args.render,
                     record_video=args.record_video, video_episodes=args.video_episodes,
                     progress=not args.no_progress, save_every_minutes=args.save_every_minutes, track=args.track)


def main(argv: list[str] | None = None) -> int:
    """The command line (``python train.py``, ``gymlab train``, ``gymlab-train``): exit codes as in
    ``gymlab/cli.py``; no input ends in a traceback."""
    return guarded(command("train.py"), lambda: _main(list(sys.argv[1:] if argv is None else argv)))


def _main(argv: list[str]) -> int:
    from gymlab.agents import CheckpointError

    from gymlab import experiment

    try:
        known, _ = build_parser(for_help=False).parse_known_args(argv)
        if known.resume is not None and not ("-h" in argv or "--help" in argv):
            given = [g for g in given_flags(argv) if g not in RESUME_FLAGS]
            if given:  # whatever their values: the run's own stand
                raise UsageError(f"--resume goes on with the run's own settings; {', '.join(given)} cannot be given "
                                 f"with it (only --steps or --episodes, to train longer, --no-progress and "
                                 f"--save-every-minutes)")
            args = build_parser().parse_args(argv)
            from gymlab import sweep

            if sweep.is_sweep(args.resume):
                return sweep.run_sweep(sweep.load_spec(args.resume), restore=True)
            return experiment.resume(args.resume, args.steps, args.episodes, progress=not args.no_progress,
                                     save_every_minutes=args.save_every_minutes).code
        args, agent_cls, _ = parse(argv)
        if args.seeds is not None or args.grid is not None or args.search is not None:
            return run_sweep(args, agent_cls, argv)
        search_args(args, agent_cls)  # (--space, --samples or --remeasure-seeds without --search: refused)
        return experiment.run(config(args, agent_cls)).code
    except CheckpointError as err:
        print(f"{command('train.py')}: checkpoint error: {err}", file=sys.stderr)
        return EXIT_USAGE


RESUME_FLAGS = ("--resume", "--steps", "--episodes", "--no-progress", "--save-every-minutes")  # what --resume takes


def given_flags(argv: list[str]) -> list[str]:
    """The flags ``argv`` gives, whatever their values (a default's value too), and any it gives
    that ``train.py`` does not know without an agent (``--gamma``): read by a parser without defaults."""
    parser = build_parser(for_help=False)
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    known, unknown = parser.parse_known_args(argv)
    by_dest = {a.dest: a.option_strings[-1] for a in parser._actions if a.option_strings}
    return [by_dest[name] for name in vars(known)] + [u.split("=")[0] for u in unknown if u.startswith("--")]


def make_env(*args, **kwargs):  # (kept here for callers of train.make_env)
    from gymlab.experiment import make_env as make

    return make(*args, **kwargs)


if __name__ == "__main__":
    sys.exit(main())
