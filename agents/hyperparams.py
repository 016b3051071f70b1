"""Per-env default hyper-parameters and budgets: the rule that reads them. The entries themselves are in
``gymlab/hyperparams/<agent>.yml`` (rl-baselines3-zoo's layout: one entry per env id or alias, a
``default``, each entry's ``n_timesteps`` budget, ``env_kwargs`` and ``tuned_on`` record, with the
comments on how it was tuned), read once into ``TABLE`` by ``agents/hyperparams_files.py``; a user's
own file (``train.py --hyperparams FILE``) is read by the same reader and laid over them (``resolve``).

``defaults(agent, env_id, env_kwargs)`` gives the settings a run starts from.
They are looked up by the task, never by how it was spelled: ``pong``,
``gymlab/Pong-v0`` and ``gymlab/Pong-v0`` with ``obs_type='features'`` are one
task (key ``gymlab/Pong-v0``), ``pong-pixels`` and ``obs_type='pixels'`` another
(key ``gymlab/Pong-v0 obs_type=pixels``). Only the env arguments in
``TASK_KWARGS`` make another task; the rest (Pong's ``difficulty``) keep the
env's entry. Anything here can be overridden on the command line
(``--gamma 0.9``, ``--steps 500``). A task missing from an agent's table runs
with the agent's own Config defaults and the budget of the agent's ``default`` entry (``"*"``).
"""

from __future__ import annotations

from pathlib import Path

import gymlab
from gymlab.agents import hyperparams_files

# The env arguments that change what an agent sees (another observation space) or must do
# (a longer memory), with the env's own defaults for them: settings tuned on one do not carry
# over (an LSTM tuned to carry a symbol over 10 blanks is untested over 50: recall-50).
TASK_KWARGS: dict[str, dict] = {
    "gymlab/Pong-v0": {"obs_type": "features"},
    "gymlab/Recall-v0": {"delay": 10, "n_symbols": 4},
}

# What each entry was tuned on is in the entry itself (``tuned_on``; ``defaults`` leaves it out): the
# seeds (and texts) whose results chose it, and where that is written. Reported figures use other
# seeds (``benchmarks/_common.report_seeds``: 1000 and up); ``tuning_seeds`` is what a report must
# avoid. ``seeds=None`` (``null`` in the file): nobody wrote them down; ``()``: nothing was tuned here.

# Config defaults that a probe chose, and the fields it chose: an entry that leaves any of them to
# the default inherits the probe's seeds. (Other Configs' defaults were chosen by no probe on record;
# the hill climber's are "the ones it always had", README.)
DEFAULTS_TUNED_ON: dict[str, dict] = {
    "dqn": dict(seeds=tuple(range(10)), envs=("CartPole-v1", "Acrobot-v1"),
                fields=("hidden", "dueling", "learning_rate", "lr_anneal", "batch_size", "buffer_size",
                        "learning_starts", "train_freq", "gradient_steps", "target_update_interval", "n_step",
                        "exploration_fraction", "epsilon_end", "huber"),
                how="12 variants on CartPole seeds 0-3 (f11f5ea); made the defaults after its flags solved "
                    "Acrobot seeds 0-9 (e917c6d, 1f74ffe)"),
    "reinforce": dict(seeds=(100, 101, 102), envs=("Acrobot-v1",), fields=("learning_rate", "batch_episodes"),
                      how="four variants on Acrobot seeds 100-102 (f31194d)"),
}

HERE = Path(gymlab.__file__).resolve().parent / "hyperparams"  # gymlab/hyperparams/, installed or not


def _task_of(key: str, env_kwargs: dict) -> str:
    """The task an entry keyed ``key`` (an env id or alias) with ``env_kwargs`` is for: its task key.
    Only the arguments that make another task (``TASK_KWARGS``) may be given."""
    from gymlab.envs import ALIASES

    env_id, alias_kwargs = ALIASES.get(key, (key.split(":", 1)[-1], {}))  # module:id -> id, as a run records it
    for name, value in env_kwargs.items():
        if name not in TASK_KWARGS.get(env_id, {}):
            makes = ", ".join(TASK_KWARGS.get(env_id, {})) or "none"
            raise hyperparams_files.FileError(
                f"env_kwargs {name}: an entry's env_kwargs say which task it is for, and {name} makes no other "
                f"task of {env_id} (those that do: {makes}); give it with --env-kwargs")
        if name in alias_kwargs and alias_kwargs[name] != value:
            raise hyperparams_files.FileError(f"env_kwargs {name}={value!r}: the alias {key} is {name}="
                                              f"{alias_kwargs[name]!r}")
    return task_key(env_id, {**alias_kwargs, **env_kwargs})


def read(path, label: str | None = None, config_cls=None) -> hyperparams_files.File:
    """A hyper-parameters file (ours, or a user's ``--hyperparams FILE``), its entries by task key;
    ``FileError`` (one line: file, entry, field) if anything in it is wrong; with ``config_cls`` every
    field is checked by the agent's Config."""
    return hyperparams_files.read(Path(path), label or str(path), _task_of, config_cls,
                                  record_required=label is not None and label.startswith("gymlab/"))


# The published recipes that entries of ours are, and every way a run of the entry still differs from
# the recipe run as its authors run it (each benchmark row of these references states it, with any
# setting the row changes: benchmarks/_common.differs_from_recipe). (agent, task key) -> (source,
# {what: how it differs}); "steps": how the budget ends, said of the entry's own budget.
PUBLISHED: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("sb3-recurrent-ppo", "gymlab/CartPoleNoVel-v1"): ("rl-baselines3-zoo hyperparams/ppo_lstm.yml, CartPoleNoVel-v1", {
        "env": "the env: the zoo's MaskVelocityWrapper sets the two velocities to 0 and keeps 4 numbers, gymlab's "
        "CartPoleNoVel-v1 drops them (2 numbers)",
        "steps": "the budget's end: the zoo runs whole rollouts of 8 x 32 steps until n_timesteps 1e5 is passed (391 "
        "rollouts, 100,096 steps; its 391st update at a progress remaining of -0.00096, so a learning rate of "
        "-9.6e-7 and a clip range of -1.9e-4); the budget here stops at 100,000 steps inside the 391st rollout, "
        "which is not learned from (390 updates)"}),
    ("sb3-dqn", "CartPole-v1"): ("rl-baselines3-zoo hyperparams/dqn.yml, CartPole-v1", {
        "steps": "the budget's end: the zoo collects whole rounds of train_freq 256 steps until n_timesteps 5e4 is passed "
        "(196 rounds, 50,176 env steps; 128 gradient steps after each round past learning_starts: 193 rounds, "
        "24,704 gradient steps); the budget here stops at 50,000 steps inside the 196th round, which is not learned "
        "from (192 rounds, 24,576 gradient steps)"}),
}

BUDGET_KEYS = ("steps", "episodes")


def task_key(env_id: str, env_kwargs: dict | None = None) -> str:
    """The table key of a task: the env id, then each ``TASK_KWARGS`` argument that differs
    from the env's default, e.g. ``gymlab/Pong-v0 obs_type=pixels``."""
    given = env_kwargs or {}
    return " ".join([env_id] + [f"{k}={given[k]}" for k, default in TASK_KWARGS.get(env_id, {}).items()
                                if k in given and given[k] != default])


def parse_key(key: str) -> tuple[str, dict]:
    """``task_key`` read back: ``(env_id, env_kwargs)``."""
    env_id, *pairs = key.split(" ")
    return env_id, dict(pair.split("=", 1) for pair in pairs)


# Ours, one file an agent: gymlab/hyperparams/<agent>.yml. TABLE is their entries by task key, "*" for
# ``default``, as ``defaults`` reads them (agent -> task key -> entry); FILES, each file with its keys.
FILES: dict[str, hyperparams_files.File] = {
    p.stem: read(p, f"gymlab/hyperparams/{p.name}") for p in sorted(HERE.glob("*.yml"))}
TABLE: dict[str, dict[str, dict]] = {agent: f.table for agent, f in FILES.items()}


# Settings that only mean something for some network types: dropped from the defaults when the
# command line (or a user's file) picks another (``--env recall --agent reinforce --policy mlp`` gets no forget bias,
# ``--agent dqn --policy mlp`` no sequence replay).
def _policy_only() -> dict[str, tuple[str, ...]]:
    from gymlab.agents.dqn_config import RECURRENT, RECURRENT_ONLY  # (no torch)

    return {"forget_bias": ("lstm",), **{k: RECURRENT for k in RECURRENT_ONLY}}


POLICY_ONLY = _policy_only()


def defaults(agent: str, env_id: str, env_kwargs: dict | None = None, policy: str | None = None
             ) -> tuple[dict, dict]:
    """``(config_overrides, budget)`` for ``agent`` on the env ``env_id`` made with ``env_kwargs``.
    An alias (``pong-pixels``) is read as the id and arguments it stands for. ``policy``: the
    network the command line asks for, if it does (see ``POLICY_ONLY``)."""
    found = resolve(agent, env_id, env_kwargs, policy)
    return found["settings"], found["budget"]


def resolve(agent: str, env_id: str, env_kwargs: dict | None = None, policy: str | None = None,
            user: hyperparams_files.File | None = None) -> dict:
    """What a run starts from, and where each value comes from: ``settings`` (Config fields), ``budget``,
    ``sources`` (field -> ``FILE:ENTRY``), ``entry`` and ``user_entry`` (``(FILE, ENTRY)`` or None). The
    entry of a user's file (``user``, found as ours is: by task, else its ``default``) is laid over ours
    field by field; settings for another network than the one picked (``policy``, else the user's
    entry's) are dropped from ours (``POLICY_ONLY``). The budget is the first of the user's entry's,
    ours, our ``default``'s, 50,000 steps."""
    task, table = _task(env_id, env_kwargs), TABLE.get(agent, {})
    label, names = f"gymlab/hyperparams/{agent}.yml", getattr(FILES.get(agent), "names", {})
    ours = _layer(label, table, names, task)
    theirs = None if user is None else _layer(user.label, user.table, user.names, task)
    pick = policy if policy is not None else (theirs[1].get("policy") if theirs else None)
    settings, budget, sources = {}, {}, {}
    for layer in (ours, theirs):
        if layer is None:
            continue
        where, entry, _ = layer
        for name, value in entry.items():
            if name in BUDGET_KEYS or name in hyperparams_files.STOP_KEYS or name == "tuned_on":
                continue
            if layer is ours and pick is not None and pick not in POLICY_ONLY.get(name, (pick,)):
                continue
            settings[name], sources[name] = value, where
    layers = [layer for layer in (theirs, ours, _layer(label, {"*": table.get("*", {})}, names, "*")) if layer]
    for where, entry, _ in layers:  # the budget: the user's entry's, ours, our default's
        budget = {k: entry[k] for k in BUDGET_KEYS if k in entry}
        if budget:  # with the entry's rule to stop early, if it has one (gymlab/stopping.py)
            budget.update({k: entry[k] for k in hyperparams_files.STOP_KEYS if k in entry})
            sources.update({k: where for k in budget})
            break
    else:
        budget, sources["steps"] = {"steps": 50_000}, "default"
    return {"settings": settings, "budget": budget, "sources": sources,
            "entry": ours and ours[2], "user_entry": theirs and theirs[2]}


def _layer(label: str, table: dict, names: dict, task: str) -> tuple[str, dict, tuple[str, str]] | None:
    """``(FILE:ENTRY, entry, (FILE, ENTRY))`` of the entry for ``task`` in ``table``, else of its ``default``;
    None if neither."""
    key = task if task in table else "*" if "*" in table else None
    if key is None:
        return None
    name = names.get(key, "default" if key == "*" else key)
    return f"{label}:{name}", table[key], (label, name)


def _task(env_id: str, env_kwargs: dict | None) -> str:
    """The task key of a run on ``env_id`` (an alias read as what it stands for) made with ``env_kwargs``."""
    from gymlab.envs import ALIASES

    if env_id in ALIASES:
        alias_id, alias_kwargs = ALIASES[env_id]
        env_id, env_kwargs = alias_id, {**alias_kwargs, **(env_kwargs or {})}
    return task_key(env_id, env_kwargs)


def _entry(agent: str, env_id: str, env_kwargs: dict | None) -> dict | None:
    """Our table's entry a run of ``agent`` on this env starts from."""
    table = TABLE.get(agent, {})
    return table.get(_task(env_id, env_kwargs), table.get("*"))


def tuning_seeds(agent: str, env_id: str, env_kwargs: dict | None = None) -> set[int] | None:
    """The seeds ``agent``'s settings on this env were tuned on: its entry's, and those of the Config
    defaults it inherits (``DEFAULTS_TUNED_ON``); None when any of them is not recorded."""
    entry = _entry(agent, env_id, env_kwargs)
    inherited = DEFAULTS_TUNED_ON.get(agent)
    records = [entry["tuned_on"]] if entry else []
    if inherited and not set(inherited["fields"]) <= set(entry or {}):
        records.append(inherited)
    if not records or any(r["seeds"] is None for r in records):
        return None
    return set().union(*(r["seeds"] for r in records))
