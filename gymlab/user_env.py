"""An env gymlab did not write (a ``module:id``, another package's) is the user's: when it raises in
``reset()`` or ``step()``, or returns an observation outside its own ``observation_space``, the run
ends in one line that names the env, exit 2 (``UserEnvError``), not as a gymlab bug (exit 70).
``guard(env, env_id)`` wraps such an env (``gymlab.env_setup.make_env`` does, for every one); the
envs of Gymnasium and of gymlab itself are left as they are."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from gymlab.cli import UsageError

OURS = ("gymnasium", "envs", "gymlab", "sequence_tasks")  # packages whose envs are not the user's


class UserEnvError(UsageError):
    """The user's env raised, or broke its own space: one line, exit 2."""


def origin(env_id: str) -> str | None:
    """The module that defines ``env_id``'s env, or None when it is Gymnasium's or gymlab's."""
    entry = gym.spec(env_id).entry_point
    module = entry.split(":")[0] if isinstance(entry, str) else getattr(entry, "__module__", "") or ""
    return None if module.split(".")[0] in OURS else module


def guard(env, env_id: str):
    module = origin(env_id)
    return env if module is None else Guard(env, env_id=env_id, module=module)


def _fits(space, obs) -> bool:
    """Whether ``obs`` is in ``space``, as far as an agent depends on it: a Box's shape (not its dtype,
    which Gymnasium's own checker only warns about), a discrete space's values."""
    if isinstance(space, gym.spaces.Box):
        return np.shape(obs) == space.shape
    try:
        return bool(space.contains(obs))
    except Exception:  # (a space that cannot even test the value)
        return False


class Guard(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The user's env, whose failures are named as its own (its vector copies are guarded too: the
    wrapper is recorded in the env's spec, which they are made from)."""

    def __init__(self, env, env_id: str, module: str):
        gym.utils.RecordConstructorArgs.__init__(self, env_id=env_id, module=module)
        gym.Wrapper.__init__(self, env)
        self._env_id, self._module = env_id, module
        self._obs_space = env.observation_space  # as the agent was built for it

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            out = fn(*args, **kwargs)
        except Exception as err:
            raise UserEnvError(f"the env {self._env_id} (from {self._module}) failed in {what}: "
                               f"{type(err).__name__}: {err}") from err
        if not _fits(self._obs_space, out[0]):
            raise UserEnvError(f"the env {self._env_id} (from {self._module}) broke its own observation_space: "
                               f"{what} returned {str(out[0])[:60]!s}, not in {self._obs_space}")
        return out

    def reset(self, **kwargs):
        return self._call("reset()", self.env.reset, **kwargs)

    def step(self, action):
        return self._call("step()", self.env.step, action)
