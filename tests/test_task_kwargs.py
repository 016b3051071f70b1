"""``agents/hyperparams.TASK_KWARGS`` names, for each env, the constructor arguments that are its default
task: they must be the env's own defaults, or an entry tuned on one task would be looked up for another
(the diff review: nothing checked they still agree)."""

from __future__ import annotations

import importlib
import inspect

import gymnasium as gym
import pytest

import gymlab  # noqa: F401  (registers gymlab's envs)
from gymlab.agents.hyperparams import TASK_KWARGS


@pytest.mark.parametrize("env_id", sorted(TASK_KWARGS))
def test_the_task_arguments_are_the_envs_own_defaults(env_id):
    module, name = gym.spec(env_id).entry_point.split(":")
    params = inspect.signature(getattr(importlib.import_module(module), name)).parameters
    for arg, value in TASK_KWARGS[env_id].items():
        assert arg in params and params[arg].default == value, (env_id, arg, params.get(arg))
