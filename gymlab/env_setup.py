"""Building a run's envs: ``gym.make`` with the run's time limit and frame stack, the env's own
evaluation arguments, and the checks made before anything is written (arguments the env does not
take, a missing optional dependency, a display for ``--render``, what ``--record-video`` needs).
``gymlab.experiment`` builds every env of a run through ``make_env``."""

from __future__ import annotations

from gymlab.cli import UsageError

DEFAULT_EPISODE_CAP = 1000  # for envs registered without a time limit (e.g. CliffWalking-v1)

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
    """One line for an env whose optional dependency is missing, naming the package itself where we
    know it (Gymnasium's extras, which its message suggests, install beside gymlab too: both use
    pygame-ce)."""
    text = str(err).split("\n")[0]
    for needle, package in (("Box2D", "swig box2d"), ("MuJoCo", "mujoco"), ("ale_py", "ale-py")):
        if needle.lower() in text.lower():
            return f"{env_id} needs {needle}, which is not installed: pip install {package}"
    return f"{env_id} needs a package that is not installed: {text}"


def check_video(cfg) -> None:
    """Refuse, before anything is trained, a ``record_video`` run (a ``RunConfig``) that could not record."""
    if not cfg.record_video:
        return
    if cfg.render:
        raise UsageError("--render and --record-video do not go together: record, then watch the MP4")
    if not 1 <= cfg.video_episodes <= cfg.eval_episodes:
        raise UsageError(f"--video-episodes {cfg.video_episodes} must be from 1 to --eval-episodes "
                         f"({cfg.eval_episodes}): the videos are of evaluation episodes")
    from gymlab import video

    video.require()


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
    from gymlab.user_env import guard

    env = guard(env, env_id)  # the user's own env: its failures are its own (exit 2), not gymlab's
    if frame_stack > 1:  # the memoryless control: the last K observations side by side
        from gymnasium.wrappers import FlattenObservation, FrameStackObservation

        env = FlattenObservation(FrameStackObservation(env, frame_stack))
    return env
