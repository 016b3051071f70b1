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


def config(agent_cls, env_id: str, env_kwargs: dict, overrides: dict, hyperparams_file: str | None = None):
    """``(Config, budget)``: the hyper-parameters entry for the task (by task, not spelling), the
    ``overrides`` over it; the entry's budget. Bad values raise TypeError/ValueError (a bad
    ``--hyperparams`` file: ``UsageError``)."""
    cfg, budget, _ = settings(agent_cls, env_id, env_kwargs, overrides, hyperparams_file)
    return cfg, budget


def settings(agent_cls, env_id: str, env_kwargs: dict, overrides: dict, hyperparams_file: str | None = None):
    """``(Config, budget, record)``: as ``config``, with ``record``, where each value came from, as
    summary.json says it (``"hyperparams"``): ``file`` and ``entry`` (ours), ``user_file`` and
    ``user_entry`` (``--hyperparams FILE``), ``fields``: each Config field and the budget's unit ->
    ``FILE:ENTRY``, ``"command line"`` or ``"default"`` (the Config's). Precedence: the command line,
    the user's file, ours, the Config's defaults."""
    import dataclasses

    from gymlab.agents import hyperparams

    user = None
    if hyperparams_file is not None:
        try:
            user = hyperparams.read(hyperparams_file, str(hyperparams_file), agent_cls.Config)
        except hyperparams.hyperparams_files.FileError as err:
            raise UsageError(f"--hyperparams {err}") from err
    found = hyperparams.resolve(agent_cls.name, env_id, env_kwargs, overrides.get("policy"), user)
    if user is not None and found["user_entry"] is None:  # as rl-zoo refuses it: not a file that changes nothing
        raise UsageError(f"--hyperparams {user.label}: no entry for {hyperparams.task_key(env_id, env_kwargs)} and no "
                         f"'default' (its entries: {', '.join(user.names.values())})")
    try:
        cfg = agent_cls.Config(**{**found["settings"], **overrides})
    except (TypeError, ValueError) as err:
        theirs = found["user_entry"]
        if theirs is None or not any(where.startswith(theirs[0] + ":") for where in found["sources"].values()):
            raise
        raise UsageError(f"--hyperparams {theirs[0]}, entry {theirs[1]!r} (over gymlab's entry and the command "
                         f"line): {err}") from err
    fields = {f.name: "command line" if f.name in overrides else found["sources"].get(f.name, "default")
              for f in dataclasses.fields(cfg)}
    ours, theirs = found["entry"], found["user_entry"]
    record = {"file": ours and ours[0], "entry": ours and ours[1], "user_file": theirs and theirs[0],
              "user_entry": theirs and theirs[1],
              "fields": {**fields, **{k: found["sources"][k] for k in found["budget"]}}}
    return cfg, found["budget"], record


def loaded_record(config, overrides: dict) -> dict:
    """``settings``' record for a run from a checkpoint (``--load``): its values are the checkpoint's."""
    import dataclasses

    return {"file": None, "entry": None, "user_file": None, "user_entry": None,
            "fields": {f.name: "command line" if f.name in overrides else "checkpoint"
                       for f in dataclasses.fields(config)}}


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
        cfg, _ = config(agent_cls, env_id, env_kwargs, dict(run.overrides), run.hyperparams)
    except (TypeError, ValueError) as err:
        raise UsageError(f"bad hyper-parameters for agent {agent_cls.name!r}: {err}") from err
    return {"agent": run.agent, "env": recorded_env(run.env, env_id), "env_kwargs": env_kwargs,
            "config": dataclasses.asdict(cfg)}
