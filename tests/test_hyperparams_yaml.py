"""The tuned entries in rl-zoo's layout (gymlab/hyperparams/<agent>.yml), read back as the table they were
(issue 28): every entry as the Python dict held it before the move, field by field, record by record."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from gymlab import agents
from gymlab.agents import hyperparams

BEFORE = ast.literal_eval((Path(__file__).parent / "data" / "hyperparams_table_before_yaml.txt").read_text())
# Entries changed on purpose since the move, and how (the snapshot above stays as it was).
BEFORE["dqn"]["gymlab/Pong-v0 obs_type=pixels"].update(  # issue 27: a budget that stops when the work is done
    stop_at=10.0, eval_every=10_000,
    tuned_on={"seeds": (0, 100), "texts": (),
              "how": hyperparams.TABLE["dqn"]["gymlab/Pong-v0 obs_type=pixels"]["tuned_on"]["how"]})


def test_every_agent_and_entry_is_still_there():
    assert {a: sorted(t) for a, t in hyperparams.TABLE.items()} == {a: sorted(t) for a, t in BEFORE.items()}


@pytest.mark.parametrize("agent,key", [(a, k) for a, t in BEFORE.items() for k in t], ids=lambda v: v)
def test_each_entry_equals_the_old_dicts(agent, key):
    """Values, their types (a tuple stays a tuple, 5e4 an int budget), the budget and the tuned_on record."""
    now, before = hyperparams.TABLE[agent][key], BEFORE[agent][key]
    assert now == before
    assert {k: type(v) for k, v in now.items()} == {k: type(v) for k, v in before.items()}
    assert {k: type(v) for k, v in now["tuned_on"].items()} == {k: type(v) for k, v in before["tuned_on"].items()}
    env_id, kwargs = hyperparams.parse_key(key) if key != "*" else ("NoSuchEnv-v0", {})
    settings, _ = hyperparams.defaults(agent, env_id, kwargs)
    cls = agents.get(agent).Config
    old = {k: v for k, v in before.items() if k not in ("steps", "episodes", "tuned_on", "stop_at", "eval_every")}
    assert dataclasses.asdict(cls(**settings)) == dataclasses.asdict(cls(**old))  # the same resolved config


@pytest.mark.parametrize("agent", sorted(hyperparams.FILES))
def test_our_files_pass_the_check_a_users_file_gets(agent):
    """Every field of ours by the agent's Config, as a user's --hyperparams file is checked."""
    path = hyperparams.HERE / f"{agent}.yml"
    checked = hyperparams.read(path, f"gymlab/hyperparams/{agent}.yml", agents.get(agent).Config)
    assert checked.table == hyperparams.TABLE[agent]
    assert set(hyperparams.FILES) == set(agents.names())  # one file an agent
