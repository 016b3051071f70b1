"""What a run will train with, resolved without making its env or its agent: the one rule that
``gymlab.experiment.run``, ``train.py``'s sweep checks and the benchmarks' read-back share.

    from gymlab import resolved
    resolved.identity(RunConfig(env="CartPole-v1", agent="dqn", overrides={"n_step": 3}))
    # {"agent": "dqn", "env": "CartPole-v1", "env_kwargs": {}, "config": {...every field of DQN's Config...}}

``identity`` is what the run's ``summary.json`` will record under those keys, so
``gymlab.provenance.config_hash`` of the two is equal: a sweep read back is re-run when the
hyper-parameter files (``gymlab/hyperparams/<agent>.yml``) or a default has changed since.
"""

from __future__ import annotations

import dataclasses

from gymlab.cli import UsageError


def env(name: str, env_kwargs: dict) -> tuple[str, dict]:
    """``(env_id, env_kwargs)`` of ``--env NAME --env-kwargs ...``: an alias's own arguments under those given."""
    from gymlab import envs

    try:
        env_id, alias_kwargs = envs.resolve(name)
    except envs.UnknownEnvError as err:
        raise UsageError(str(err)) from err
    return env_id, {**alias_kwargs, **env_kwargs}


def config(agent_cls, env_id: str, env_kwargs: dict, overrides: dict):
    """``(Config, budget)``: the hyper-parameters table's entry for the task (by task, not
    spelling), the ``overrides`` over it; the entry's budget. Bad values raise TypeError/ValueError."""
    from gymlab.agents import hyperparams

    defaults, budget = hyperparams.defaults(agent_cls.name, env_id, env_kwargs, policy=overrides.get("policy"))
    return agent_cls.Config(**{**defaults, **overrides}), budget


def recorded_env(name: str, env_id: str) -> str:
    """The env a run records: a ``module:id`` as given (it names the module to import), else the id."""
    return name if ":" in name else env_id


def identity(run) -> dict:
    """The ``agent``, ``env``, ``env_kwargs`` and ``config`` a ``RunConfig`` (not ``--load``) trains
    with, as its summary.json will say; bad input raises ``UsageError``."""
    from gymlab import agents

    try:
        agent_cls = agents.get(run.agent)
    except agents.UnknownAgentError as err:
        raise UsageError(str(err)) from err
    env_id, env_kwargs = env(run.env, run.env_kwargs)
    try:
        cfg, _ = config(agent_cls, env_id, env_kwargs, dict(run.overrides))
    except (TypeError, ValueError) as err:
        raise UsageError(f"bad hyper-parameters for agent {agent_cls.name!r}: {err}") from err
    return {"agent": run.agent, "env": recorded_env(run.env, env_id), "env_kwargs": env_kwargs,
            "config": dataclasses.asdict(cfg)}
