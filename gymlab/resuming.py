"""``resume(run_dir)``: go on with a stopped run from its ``resume.npz`` (``gymlab/resume.py``), if
that is this run's, through the same ``execute`` as a new run (``gymlab/experiment.py``, which
offers it as ``experiment.resume``)."""

from __future__ import annotations

import sys
from pathlib import Path

from gymlab.cli import UsageError
from gymlab.env_setup import make_env


def resume(run_dir: Path, steps: int | None = None, episodes: int | None = None, progress: bool = True,
           on_eval=None, save_every_minutes: float = 10.0):
    """Go on with the run in ``run_dir`` from its resume state, to its budget (grown to ``steps`` or
    ``episodes`` when given)."""
    import gymnasium as gym

    from gymlab import agents, envs, runs, resume as resume_state

    if not run_dir.is_dir():
        raise UsageError(f"--resume {run_dir}: no such run directory")
    try:
        runs.lock(run_dir, "--resume")  # not while it is still training
        meta, tree = resume_state.read(run_dir / resume_state.FILE)
    except resume_state.ResumeError as err:
        if not (run_dir / resume_state.FILE).exists():
            raise UsageError(f"--resume {run_dir}: it holds no {resume_state.FILE} (a run writes one at each periodic "
                             f"evaluation, on Ctrl-C and when it ends, for agents that can be resumed)") from err
        raise UsageError(f"--resume {run_dir}: {err}") from err
    except runs.RunDirError as err:
        raise UsageError(str(err)) from err
    try:
        meta["run"] = runs.check_identity(run_dir, meta["run"])  # this run's own state, not another's
        spec, agent, env, budget, done = _rebuild(meta, tree, run_dir, steps, episodes)
    except UsageError:
        raise
    except (resume_state.ResumeError, runs.RunDirError) as err:
        raise UsageError(f"--resume {run_dir}: {err}") from err
    except (KeyError, ValueError, TypeError, AttributeError, gym.error.Error,
            agents.UnknownAgentError, envs.UnknownEnvError) as err:
        raise UsageError(f"--resume {run_dir}: its resume state does not fit this gymlab ({type(err).__name__}: "
                         f"{err})") from err
    for stale in run_dir.glob(f".{resume_state.FILE}.*.tmp"):  # a write a hard stop cut short
        stale.unlink(missing_ok=True)
    if not (run_dir / runs.IDENTITY_FILE).is_file():  # a run from before run.json, adopted
        runs.write_identity(run_dir, spec)
    (unit, total), = spec["budget"].items()
    if total != meta["run"]["budget"].get(unit, total):
        print(f"train.py: note: the budget grows from {meta['run']['budget'][unit]} to {total} {unit}; schedules "
              f"that span the budget (exploration, prioritised replay's beta, --lr-anneal) stretch to it from where "
              f"they are, and evaluations keep their interval", file=sys.stderr)
    runs.current_run_dir = run_dir  # a crash from here on is reported in it
    print(f"gymlab: resuming {run_dir} at {done[unit]} of {total} {unit} (agent {agent.name!r} on "
          f"{spec['env_id']}, seed {spec['seed']})")
    from gymlab.experiment import execute  # (experiment imports this module)

    with runs.held(run_dir):
        return execute(spec, env, agent, budget, run_dir, progress=progress, logger_state=tree["logger"],
                       on_eval=on_eval, save_every_minutes=save_every_minutes)


def _rebuild(meta: dict, tree: dict, run_dir: Path, steps: int | None, episodes: int | None):
    """The run a resume state describes: ``(spec, agent, env, budget, done)``, the budget grown
    to ``--steps``/``--episodes`` when given."""
    from gymlab import agents, envs, runs, stopping
    from gymlab.agents.base import Budget

    spec = dict(meta["run"])
    agent_cls = agents.get(spec["agent"])
    envs.resolve(spec["env"])  # imports a module:id env's module, which registers it
    done = {"steps": tree["logger"]["steps"], "episodes": tree["logger"]["episodes"]}
    (unit, total), = spec["budget"].items()
    if steps is not None or episodes is not None:
        new_unit, new_total = ("steps", steps) if steps is not None else ("episodes", episodes)
        if new_unit != unit:
            raise UsageError(f"the run's budget is in {unit}: give --{unit} to train it longer, not --{new_unit}")
        if new_total < done[unit]:
            raise UsageError(f"--{unit} {new_total} is less than the {done[unit]} {unit} the run has done")
        total = new_total
    summary = runs.read_json(run_dir / "summary.json") if (run_dir / "summary.json").is_file() else None
    if stopping.finished(spec, tree["logger"]["evals"], summary):  # (it reached its --stop-at score)
        raise UsageError(f"--resume {run_dir}: {stopping.finished(spec, tree['logger']['evals'], summary)}")
    if done[unit] >= total and summary is not None and not summary.get("interrupted", True):
        raise UsageError(f"{run_dir} has finished its budget of {total} {unit}; give a larger --{unit} to train "
                         f"on")
    spec["budget"] = {unit: total}
    if spec.get("record_video"):  # (absent from resume states written before --record-video)
        from gymlab import video

        video.require()
    env = make_env(spec["env_id"], spec["env_kwargs"], spec["max_episode_steps"], frame_stack=spec["frame_stack"])
    config = agent_cls.Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec["config"].items()})
    agent = agent_cls(env.observation_space, env.action_space, config=config, seed=spec["seed"])
    agent.load_resume_state(tree["agent"])
    agent.resume_in(env)
    return spec, agent, env, Budget(**spec["budget"]), done
