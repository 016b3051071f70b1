"""One run, as a function: a ``RunConfig`` in, a run directory (and its summary) out.

``train.py`` is the command line around it; a sweep's trials and the benchmarks call
the same ``run`` (and ``resume``), so a trial is a run, file for file:

    from gymlab.experiment import RunConfig, run
    result = run(RunConfig(env="CartPole-v1", agent="dqn", steps=50_000, seed=3, run_dir="runs/x"))
    result.summary["eval"]["return_mean"], result.run_dir, result.code

``run`` checks everything before it writes anything (bad input raises ``UsageError``,
one line); then it writes ``run.json`` (the run's identity: ``gymlab/runs.py``), trains
(``agent.learn``), with a periodic greedy evaluation, checkpoint and resume state,
evaluates, and writes ``summary.json`` and the figures (and, with ``record_video``, videos
of the first evaluation episodes: ``gymlab/video.py``). ``resume(run_dir)`` (``gymlab/resuming.py``) goes on with a
stopped run from its ``resume.npz``, if that is this run's. Its envs are made, and
checked, in ``gymlab/env_setup.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gymlab import tracking
from gymlab.cli import EXIT_OK, UsageError, command, display_problem, typed
from gymlab.env_setup import check_env_kwargs, check_video, evaluation_kwargs, make_env
from gymlab.resuming import resume  # noqa: F401  (experiment.resume: the run's other way in)


@dataclass
class RunConfig:
    """What a run is: ``train.py``'s flags, parsed (``overrides``: the agent's hyper-parameters given)."""

    env: str | None
    agent: str
    env_kwargs: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    hyperparams: str | None = None  # a user's hyper-parameters file (an absolute path), over ours
    seed: int = 0
    steps: int | None = None
    episodes: int | None = None
    run_dir: Path | None = None
    force: bool = False
    load: Path | None = None
    eval_episodes: int = 10
    eval_every: int | None = None
    stop_at: float | str | None = None  # stop at a periodic evaluation's mean >= this ("off": no rule; gymlab/stopping.py)
    eval_env_kwargs: dict = field(default_factory=dict)
    max_episode_steps: int | None = None
    frame_stack: int = 1
    render: bool = False
    record_video: bool = False  # the first video_episodes final evaluation episodes as videos/eval-episode-<i>.mp4, .gif
    video_episodes: int = 1
    progress: bool = True
    save_every_minutes: float = 10.0  # the resume state, on a wall-clock period too (0: at evaluations only)
    track: str | None = None  # "mlflow": logged to MLflow too (gymlab/tracking.py)
    # Called after each periodic evaluation with (env steps, mean greedy return): a sweep reports it to Tune.
    on_eval: object = field(default=None, repr=False, compare=False)


@dataclass
class RunResult:
    run_dir: Path
    code: int  # the exit code: 0 done, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)
    summary: dict


def run(cfg: RunConfig) -> RunResult:
    """One run, as ``python train.py`` makes it: everything checked before anything is written
    (a ``UsageError`` otherwise), then trained, evaluated and reported in ``cfg.run_dir``."""
    from gymlab import agents

    if cfg.env is None:  # (train.py --load fills it from the checkpoint)
        raise UsageError("no env given (RunConfig.env is None)")
    try:
        agent_cls = agents.get(cfg.agent)
    except agents.UnknownAgentError as err:
        raise UsageError(str(err)) from err
    from gymlab import resolved, runs, stopping
    from gymlab.agents import SpaceError
    from gymlab.agents.base import Budget

    # 1. Everything is checked before anything is written.
    env_id, env_kwargs = resolved.env(cfg.env, cfg.env_kwargs)
    check_env_kwargs(env_id, env_kwargs)
    problem = display_problem() if cfg.render else None
    if problem:
        raise UsageError(f"--render needs a display, and there is none here ({problem})")
    eval_kwargs = {**evaluation_kwargs(env_id, env_kwargs), **cfg.eval_env_kwargs}
    check_env_kwargs(env_id, eval_kwargs)
    env = make_env(env_id, env_kwargs, cfg.max_episode_steps, frame_stack=cfg.frame_stack)
    if eval_kwargs:  # refused now, before anything is written, rather than after training
        make_env(env_id, {**env_kwargs, **eval_kwargs}, cfg.max_episode_steps, frame_stack=cfg.frame_stack).close()
    check_video(cfg)
    track = tracking.target(cfg.track)  # resolved here: a sweep's trials and --resume log to the same store
    tracking.prepare(track)  # reached now, before --force clears anything
    if cfg.record_video:  # one frame drawn now, rather than a failure after training
        from gymlab import video

        video.check_frames(make_env(env_id, {**env_kwargs, **eval_kwargs}, cfg.max_episode_steps, "rgb_array",
                                    cfg.frame_stack))
    try:
        agent_cls.check_spaces(env.observation_space, env.action_space)
    except SpaceError as err:
        raise UsageError(f"agent {agent_cls.name!r} cannot act in {env_id}: {err}") from err

    overrides = dict(cfg.overrides)
    try:  # a config can rule a pairing out too (e.g. a recurrent policy for an agent without one)
        if cfg.load is not None:
            agent = agent_cls.load(cfg.load, env.observation_space, env.action_space, seed=cfg.seed, **overrides)
            budget, record, entry_rule = None, resolved.loaded_record(agent.config, overrides), {}
        else:
            config, default_budget, record = resolved.settings(agent_cls, env_id, env_kwargs, overrides,
                                                               cfg.hyperparams)
            agent = agent_cls(env.observation_space, env.action_space, config=config, seed=cfg.seed)
            entry_rule = {k: default_budget.pop(k) for k in stopping.KEYS if k in default_budget}
            budget = Budget(**default_budget)
            agent.check_env(env)  # (e.g. --workers 2 hands the env to a second process)
    except SpaceError as err:
        raise UsageError(f"agent {agent_cls.name!r} cannot act in {env_id}: {err}") from err
    except (TypeError, ValueError) as err:
        raise UsageError(f"bad hyper-parameters for agent {agent_cls.name!r}: {err}") from err
    except MemoryError as err:
        from gymlab.agents.base import flag

        raise UsageError(f"not enough memory for agent {agent_cls.name!r} with these hyper-parameters "
                         f"({', '.join(flag(k) for k in overrides) or 'the defaults'}): {err}") from err
    if cfg.steps is not None or cfg.episodes is not None:
        budget = Budget(steps=cfg.steps, episodes=cfg.episodes)
        record["fields"] = {**{k: v for k, v in record["fields"].items() if k not in ("steps", "episodes")},
                            budget.unit: "command line"}
    from gymlab.agents.schedules import budget_warning

    warning = budget_warning(agent.config, budget)
    if warning:
        print(f"train.py: warning: {warning}", file=sys.stderr)
    stop_at, eval_every, eval_unit, sources = stopping.settings(cfg.stop_at, cfg.eval_every, entry_rule, budget)
    record["fields"] = {**{k: v for k, v in record["fields"].items() if k not in stopping.KEYS or k in sources},
                        **{k: "command line" for k, v in sources.items() if v == "command line"}}

    # 2. The run directory: refused if it holds an earlier run (unless --force).
    env_name = cfg.env if "/" not in cfg.env else env_id
    try:
        run_dir = runs.prepare_run_dir(cfg.run_dir, (env_name, agent_cls.name, cfg.seed), force=cfg.force)
    except runs.RunDirError as err:
        raise UsageError(str(err)) from err
    spec = {  # everything --resume needs to rebuild this run, and its identity (run.json)
        "run_id": runs.new_run_id(), "env": resolved.recorded_env(cfg.env, env_id), "env_id": env_id, "env_name": env_name,
        "env_kwargs": env_kwargs, "eval_env_kwargs": eval_kwargs, "agent": cfg.agent, "config": dataclasses.asdict(agent.config),
        "seed": cfg.seed, "budget": None if budget is None else {budget.unit: budget.total},
        "eval_every": eval_every, "eval_unit": eval_unit, "eval_episodes": cfg.eval_episodes, "stop_at": stop_at,
        "max_episode_steps": cfg.max_episode_steps, "record_video": cfg.record_video,
        "video_episodes": cfg.video_episodes, "frame_stack": cfg.frame_stack,
        "loaded_from": None if cfg.load is None else str(cfg.load), "hyperparams": record, "track": track,
    }
    with runs.held(run_dir), runs.undone_on_failure(run_dir):  # (a run that fails at its start leaves nothing)
        runs.write_identity(run_dir, spec)
        print(f"gymlab: agent {agent_cls.name!r} on {env_id}, seed {cfg.seed}, "
              + (f"{budget.total} {budget.unit}" if budget else "evaluating " + str(cfg.load)))
        return execute(spec, env, agent, budget, run_dir, progress=cfg.progress, render=cfg.render,
                       on_eval=cfg.on_eval, save_every_minutes=cfg.save_every_minutes)


def execute(spec: dict, env, agent, budget, run_dir: Path, **options) -> RunResult:
    """``_execute`` in its MLflow run (``--track``), which ends FAILED or KILLED should the run raise."""
    with tracking.tracked(spec, run_dir) as tracker:  # (tracker: None unless --track)
        return _execute(spec, env, agent, budget, run_dir, tracker, **options)


def _execute(spec: dict, env, agent, budget, run_dir: Path, tracker, progress: bool = True, render: bool = False,
             logger_state: dict | None = None, on_eval=None, save_every_minutes: float = 10.0) -> RunResult:
    """Train (from the start, or from a resume state's ``logger_state``), evaluate and report one run;
    Ctrl-C or SIGTERM stops it at the next safe point, saved (``gymlab/signals.py``)."""
    from gymlab import resume as resume_state
    from gymlab import runs, signals, stopping
    from gymlab.agents import seeding
    from gymlab.agents.logger import RunLogger
    from gymlab.agents.rollout import evaluate

    env_id, env_kwargs, seed, agent_name = spec["env_id"], spec["env_kwargs"], spec["seed"], spec["agent"]
    ckpt = run_dir / "checkpoint.npz"
    agent.env_spec = {"env": spec["env"], "env_kwargs": env_kwargs, **runs.env_shape(spec)}
    logger = RunLogger(run_dir, budget, progress=progress, desc=f"{agent_name} on {spec['env_name']}",
                       resume=logger_state, tracker=tracker)
    resumable = budget is not None and agent.resumable()
    resume_due = False  # a periodic evaluation asks for a resume state at the next safe point
    rule = stopping.StopRule(spec.get("stop_at"), budget, logger.evals)  # (a resumed run's evaluations looked at again)

    def make(render_mode=None):  # an evaluation env
        kwargs = {**env_kwargs, **spec.get("eval_env_kwargs", {})}
        return make_env(env_id, kwargs, spec["max_episode_steps"], render_mode, spec["frame_stack"])

    write_resume = resume_state.Writer(run_dir / resume_state.FILE, spec, agent, logger)
    if spec["eval_every"] > 0:
        periodic_env = make()

        def evaluate_and_checkpoint():
            nonlocal resume_due
            episodes = min(5, spec["eval_episodes"] or 5)
            returns, _ = evaluate(agent, periodic_env, episodes, seed=seeding.periodic_eval_seeds(seed, episodes))
            logger.log_eval(float(returns.mean()))
            rule.seen(logger.steps, float(returns.mean()))  # reached: the budget is spent from here
            agent.save(ckpt)  # atomic: an interrupted run keeps its last good checkpoint
            resume_due = resumable
            if on_eval is not None:
                on_eval(logger.steps, float(returns.mean()))

        # its time is not counted as training time
        logger.every(spec["eval_every"], evaluate_and_checkpoint, spec.get("eval_unit", "steps"))
    interrupted, code, saved_at = False, EXIT_OK, time.monotonic()
    with signals.DeferredStop() if resumable else contextlib.nullcontext() as stop:
        def at_safe_point():
            nonlocal resume_due, saved_at
            asked = stop.requested  # looked at once: a signal landing between two looks stopped unsaved
            if resume_due or asked or 0 < save_every_minutes * 60 <= time.monotonic() - saved_at:
                write_resume()  # (on a wall-clock period too: a huge budget is resumable within minutes)
                resume_due, saved_at = False, time.monotonic()
            if asked:
                stop.raise_now()

        logger.on_safe_point = at_safe_point if resumable else None
        try:
            if budget is not None:
                agent.learn(env, budget, logger)
                if resumable:
                    write_resume()  # at the end too: --resume RUN_DIR --steps MORE trains on
        except KeyboardInterrupt as err:
            interrupted, code = True, signals.exit_code(err)
        finally:
            logger.on_safe_point = None
            logger.close()
        if stop is not None and stop.requested and not interrupted:  # (after the last safe point)
            interrupted, code = True, signals.exit_code(signum=stop.signum)
    if interrupted:
        signals.say_stopped("interrupted: saving what was learned so far")
    wall_time, train_time = logger.elapsed, logger.train_elapsed
    agent.save(ckpt)

    eval_returns: Any = []  # (then evaluate's numpy arrays)
    eval_lengths: Any = []
    videos: list[dict] = []
    record = spec.get("record_video", False)
    if spec["eval_episodes"] and not interrupted:
        eval_env = make("human" if render else "rgb_array" if record else None)
        if record:
            from gymlab.video import VideoRecorder

            eval_env = VideoRecorder(eval_env, run_dir / "videos", spec["video_episodes"])
        try:
            eval_returns, eval_lengths = evaluate(agent, eval_env, spec["eval_episodes"],
                                                   seed=seeding.eval_seeds(seed, spec["eval_episodes"]))
        except KeyboardInterrupt as err:
            interrupted, code = True, signals.exit_code(err)
        finally:
            eval_env.close()
            if record:  # the files, relative to the run directory
                videos = [{**v, "mp4": f"videos/{v['mp4']}", "gif": f"videos/{v['gif']}"} for v in eval_env.written]

    figures, report_lines = agent.report(env, run_dir)
    from gymlab.agents.plots import learning_curve

    learning_curve(run_dir / "learning_curve.png", logger.end_steps, logger.returns, logger.lengths,
                   f"{agent_name} on {env_id} (seed {seed})", evals=logger.evals, final_eval=eval_returns)
    env.close()

    summary = {
        "env": spec["env"], "env_kwargs": env_kwargs,
        **runs.env_shape(spec),
        "eval_env_kwargs": spec.get("eval_env_kwargs", {}),
        "agent": agent_name, "seed": seed,
        "config": dataclasses.asdict(agent.config),
        "hyperparams": spec.get("hyperparams"),  # where each value came from (absent from older resume states)
        "budget": spec["budget"], "loaded_from": spec["loaded_from"],
        "env_steps": logger.steps, "episodes": logger.episodes,
        "train_return_mean_last_100": _mean(logger.returns[-100:]),
        "periodic_eval": [{"step": st, "return_mean": round(r, 6)} for st, r in logger.evals],
        "periodic_eval_wall_s": [None if w is None else round(w, 4) for w in logger.eval_wall_s],  # a timing
        "wall_time_s": round(wall_time, 4),
        "periodic_eval_time_s": round(wall_time - train_time, 4),
        "env_steps_per_s": round(logger.steps / train_time, 1) if train_time > 0 else None,
        "eval": {
            "episodes": len(eval_returns),
            "return_mean": _mean(eval_returns),
            "return_std": None if len(eval_returns) == 0 else round(float(_std(eval_returns)), 6),
            "length_mean": _mean(eval_lengths),
        },
        "interrupted": interrupted, "stopped": rule.summary(interrupted),
        "checkpoint": ckpt.name,
        **({"videos": videos} if record else {}),
        **figures,
    }
    runs.write_json(run_dir / "summary.json", summary)
    tracking.finish(tracker, run_dir, summary)

    if budget is not None:
        print(f"trained {logger.steps} env steps ({logger.episodes} episodes) in {wall_time:.2f} s "
              f"({summary['env_steps_per_s']} steps/s of training, periodic evaluations aside){rule.said()}")
    if len(eval_returns):
        print(f"evaluation over {len(eval_returns)} episodes (deterministic actions): return "
              f"{summary['eval']['return_mean']:.2f} +- {summary['eval']['return_std']:.2f}")
    print(f"run directory: {run_dir}")
    if videos:
        print(f"videos of {len(videos)} evaluation episode{'s' * (len(videos) > 1)}: {run_dir / 'videos'}")
    if interrupted and resumable and (run_dir / resume_state.FILE).is_file():
        print(f"to go on from where it stopped: {typed(command('train.py'))} --resume {run_dir}")
    for line in report_lines:
        print(line)
    return RunResult(run_dir, code, summary)


def _mean(xs):
    return None if len(xs) == 0 else round(float(sum(xs) / len(xs)), 6)


def _std(xs):
    m = sum(xs) / len(xs)
    return (sum((x - m) ** 2 for x in xs) / len(xs)) ** 0.5
