"""Every agent's hyper-parameters, checked where they are defined: each default is valid,
each bad value is refused by the Config itself (a ``ValueError`` naming the flag), a
checkpoint refuses flags that would change its network, and a big Q-table's figure keeps
a readable size.

The accepted ranges are written out here a second time, on purpose: the Configs declare
them with ``param``, and these tables pin them independently, so a rule that loosens (or
tightens) by accident fails a test."""

from __future__ import annotations

import dataclasses
import json
import math
import struct
import typing

import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st

from gymlab import agents
from gymlab.agents import CheckpointError, checkpoint

NAMES = agents.names()


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def config_fields(name: str):
    """(field name, type) of an agent's Config."""
    cls = agents.get(name).Config
    hints = typing.get_type_hints(cls)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(cls)]


def refused(name: str, field: str, value) -> str:
    """The message of the ValueError that ``Config(field=value)`` must raise."""
    with pytest.raises(ValueError) as err:
        agents.get(name).Config(**{field: value})
    message = str(err.value)
    assert flag(field) in message, f"the refusal must name {flag(field)}: {message}"
    assert "\n" not in message, f"a refusal takes one line: {message!r}"
    return message


# ------------------------------------------------------------------ the accepted ranges
def _closed(lo, hi):
    return lambda x: lo <= x <= hi


def _open_closed(lo, hi):
    return lambda x: lo < x <= hi


ABOVE_0, AT_LEAST_0, UNIT = (lambda x: x > 0), (lambda x: x >= 0), _closed(0, 1)

FLOAT_RANGES = {  # field -> accepted (finite) values; NaN and infinities are refused everywhere
    "learning_rate": _open_closed(0, 1),
    "gamma": UNIT, "curriculum_start": UNIT, "epsilon_start": UNIT, "epsilon_end": UNIT, "exploration_fraction": UNIT,
    "exploration_initial_eps": UNIT, "exploration_final_eps": UNIT, "per_beta": UNIT, "gae_lambda": UNIT,
    "tau": _open_closed(0, 1), "alpha": _open_closed(0, 1),
    "sigma": ABOVE_0, "clip_range": ABOVE_0,
    "per_alpha": UNIT, "entropy_coef": AT_LEAST_0, "value_coef": AT_LEAST_0, "ent_coef": AT_LEAST_0,
    "vf_coef": AT_LEAST_0, "max_grad_norm": AT_LEAST_0,
    "forget_bias": _closed(-20, 20), "log_std_init": _closed(-20, 20),
    "seq_overlap": lambda x: 0 <= x < 1, "priority_eta": UNIT,
}
FLOAT_RANGES_BY_AGENT = {
    ("sb3-dqn", "max_grad_norm"): ABOVE_0,  # SB3 always clips: 0 would zero every gradient
    ("sb3-dqn", "exploration_fraction"): _open_closed(0, 1),  # SB3 divides by it
    ("sb3-recurrent-ppo", "max_grad_norm"): ABOVE_0,  # SB3 always clips: 0 would zero every gradient
}

# field -> values that must be refused (ints and sizes), and edge values that must be accepted.
INT_BAD = {
    "buffer_size": [0, -1, 10**20], "batch_size": [0, -1], "batch_episodes": [0, -5], "num_envs": [0, 10**6],
    "workers": [0, 3], "threads": [0, -1, 10**6], "train_freq": [0], "gradient_steps": [0, -1], "target_update_interval": [0],
    "episodes_per_trial": [0, 10**9], "n_step": [0, -1], "n_steps": [0, -1, 10**20], "n_epochs": [0],
    "learning_starts": [-1], "history": [0, -1, 65], "lstm_hidden_size": [0, -1, 65537],
    "n_lstm_layers": [0, -1, 65], "seq_len": [0, -1, 10001], "burn_in": [-1, 10001],
    "workers": [0, -1, 3], "sync_every": [0, -1, 10**10],
}
INT_GOOD = {"learning_starts": [0], "threads": [1], "batch_episodes": [1], "num_envs": [1], "n_step": [1],
            "history": [1, 64], "workers": [1, 2], "sync_every": [1]}
INT_BAD_BY_AGENT = {(name, field): [1] for name in ("sb3-ppo", "sb3-recurrent-ppo")
                    for field in ("n_steps", "batch_size")}  # advantages need two samples
SIZES_BAD = [(0,), (-1,), (64, 0), (10**9,)]


CONTEXT = {("reinforce", "forget_bias"): {"policy": "lstm"},  # what a field needs beside it to be used
           ("reinforce", "round_batches"): {"point_returns": True},
           ("reinforce", "curriculum_start"): {"point_returns": True, "round_batches": True, "num_envs": 2},
           **{("dqn", field): {"policy": "lstm"} for field in ("seq_len", "burn_in", "seq_overlap", "priority_eta",
                                                              "value_rescaling")},
           ("sb3-recurrent-ppo", "shared_lstm"): {"enable_critic_lstm": False}}


def float_accepts(name: str, field: str, x: float) -> bool:
    return math.isfinite(x) and FLOAT_RANGES_BY_AGENT.get((name, field), FLOAT_RANGES[field])(x)


def fields_of_type(kinds) -> list:
    return [pytest.param(name, field, id=f"{name}-{field}") for name in NAMES
            for field, kind in config_fields(name) if kind in kinds or typing.get_origin(kind) in kinds]


FLOAT_FIELDS = fields_of_type((float,))
INT_FIELDS = fields_of_type((int,))
SIZE_FIELDS = fields_of_type((tuple,))
STR_FIELDS = fields_of_type((str,))
BOOL_FIELDS = fields_of_type((bool,))


# ------------------------------------------------------------------ defaults
@pytest.mark.parametrize("name", NAMES)
def test_the_default_config_is_valid_and_survives_a_checkpoint(name):
    cls = agents.get(name).Config
    config = cls()
    stored = json.loads(json.dumps(dataclasses.asdict(config)))  # as a checkpoint's header holds it
    assert cls(**stored) == config  # lists come back as tuples


def test_every_numeric_field_has_its_range_written_here():
    for name in NAMES:
        for field, kind in config_fields(name):
            if kind is float:
                assert field in FLOAT_RANGES, f"{name}.{field}: add its accepted range to FLOAT_RANGES"
            elif kind is int:
                assert field in INT_BAD or (name, field) in INT_BAD_BY_AGENT, f"{name}.{field}: add it to INT_BAD"


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize("name,field", FLOAT_FIELDS)
def test_floats_refuse_nan_infinities_and_other_types(name, field):
    for bad in (math.nan, math.inf, -math.inf, True, "0.5", None, (0.5,)):
        refused(name, field, bad)


@settings(max_examples=40, deadline=None)
@given(x=st.one_of(st.floats(), st.floats(-2, 2), st.sampled_from([0.0, -0.0, 1.0, 1e-300, 20.0, -20.0])))
@pytest.mark.parametrize("name,field", FLOAT_FIELDS)
def test_floats_are_accepted_exactly_in_their_range(name, field, x):
    cls = agents.get(name).Config
    if float_accepts(name, field, x):
        assert getattr(cls(**{field: x, **CONTEXT.get((name, field), {})}), field) == x
    else:
        message = refused(name, field, x)
        assert repr(x) in message  # and it says what it got


@pytest.mark.parametrize("name,field", INT_FIELDS)
def test_ints_refuse_out_of_range_values_and_other_types(name, field):
    for bad in INT_BAD.get(field, []) + INT_BAD_BY_AGENT.get((name, field), []) + [True, 2.5, 4.0, "3", None]:
        refused(name, field, bad)
    for good in INT_GOOD.get(field, []):
        agents.get(name).Config(**{field: good})


def test_the_range_is_in_the_message():
    assert refused("dqn", "gamma", 1.5) == "--gamma must be in [0, 1], got 1.5"
    assert refused("dqn", "tau", 0.0) == "--tau must be in (0, 1], got 0.0"
    assert refused("hill", "sigma", -1.0) == "--sigma must be > 0, got -1.0"
    assert refused("reinforce", "batch_episodes", 0) == "--batch-episodes must be >= 1, got 0"
    assert "must be a whole number" in refused("dqn", "batch_size", True)


# ------------------------------------------------------------------ sizes, choices, switches
@pytest.mark.parametrize("name,field", SIZE_FIELDS)
def test_sizes_must_each_be_a_positive_whole_number(name, field):
    for bad in SIZES_BAD + [(1.5,), (True,), "64", 64, ("a",)]:
        refused(name, field, bad)
    cls = agents.get(name).Config
    assert getattr(cls(**{field: [8, 4]}), field) == (8, 4)  # a list is stored as the tuple it means
    (size,) = getattr(cls(**{field: (np.int64(8),)}), field)
    assert size == 8 and type(size) is int  # plain ints: a checkpoint's JSON header can hold them


@pytest.mark.parametrize("name,field", SIZE_FIELDS)
def test_no_hidden_layers_only_where_that_is_a_linear_policy(name, field):
    cls = agents.get(name).Config
    if name == "hill":
        assert cls(hidden=()).hidden == ()
        with pytest.raises(ValueError, match="--policy lstm needs a hidden layer"):  # its memory has no width
            cls(policy="lstm", hidden=())
    else:
        assert "at least one size" in refused(name, field, ())


ALLOWED = {  # agent -> field -> the choices it accepts
    "dqn": {"policy": {"mlp", "cnn", "lstm", "gru"}},
    "reinforce": {"policy": {"mlp", "cnn", "lstm", "gru"}, "baseline": {"none", "mean", "value"},
                  "estimator": {"common", "textbook"}, "activation": {"tanh", "relu"}, "optimizer": {"adam", "rmsprop"}},
    "hill": {"policy": {"mlp", "cnn", "lstm", "gru"}},
    "supervised": {"policy": {"mlp", "lstm", "gru"}},
    "sb3-ppo": {"activation": {"tanh", "relu"}},
    "sb3-recurrent-ppo": {"activation": {"tanh", "relu"}},
}


@pytest.mark.parametrize("name,field", STR_FIELDS)
def test_choices(name, field):
    cls = agents.get(name).Config
    allowed = ALLOWED[name][field]
    for value in allowed:
        cls(**{field: value, **({"hidden": (8,)} if field == "policy" else {})})
    for value in ({"mlp", "cnn", "lstm", "gru", "none", "mean", "value"} - allowed) | {"xyz", "", "MLP", 3, None}:
        message = refused(name, field, value)
        if isinstance(value, str) and value:
            assert repr(value) in message and all(c in message for c in allowed)


@pytest.mark.parametrize("name,field", BOOL_FIELDS)
def test_switches_take_only_true_or_false(name, field):
    cls = agents.get(name).Config
    for value in (True, False, np.bool_(True)):
        assert getattr(cls(**{field: value, **CONTEXT.get((name, field), {})}), field) is bool(value)
    for value in (1, 0, "yes", "False", None):
        refused(name, field, value)


# ------------------------------------------------------------------ rules between fields
def test_a_minibatch_fits_in_the_replay_buffer():
    for name in ("dqn", "sb3-dqn"):
        cls = agents.get(name).Config
        cls(batch_size=100, buffer_size=100)
        with pytest.raises(ValueError, match="--batch-size.*--buffer-size"):
            cls(batch_size=101, buffer_size=100)
    with pytest.raises(ValueError, match="--n-steps.*--buffer-size"):
        agents.get("sb3-dqn").Config(n_steps=5, buffer_size=4, batch_size=4)
    agents.get("sb3-ppo").Config(batch_size=64, n_steps=64)
    with pytest.raises(ValueError, match="--batch-size.*--n-steps"):  # a minibatch is cut from one rollout
        agents.get("sb3-ppo").Config(batch_size=65, n_steps=64)


def test_forget_bias_is_for_an_lstm():
    cls = agents.get("reinforce").Config
    assert cls(policy="lstm", forget_bias=3.0).forget_bias == 3.0
    with pytest.raises(ValueError, match="--forget-bias.*--policy lstm"):
        cls(policy="gru", forget_bias=3.0)


def test_every_tuned_setting_is_valid():
    from gymlab.agents import hyperparams

    for name, table in hyperparams.TABLE.items():
        for env, settings_ in table.items():
            not_config = (*hyperparams.BUDGET_KEYS, *hyperparams.hyperparams_files.STOP_KEYS, "tuned_on")  # the budget
            # (with its stop rule) and what it was tuned on
            agents.get(name).Config(**{k: v for k, v in settings_.items() if k not in not_config})


def test_zero_episodes_per_update_is_refused_on_the_command_line(tmp_path, capsys):
    from gymlab import train

    code = train.main(["--env", "CartPole-v1", "--agent", "reinforce", "--batch-episodes", "0", "--no-progress",
                       "--run-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--batch-episodes must be >= 1, got 0" in err
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ checkpoints and architecture flags
OBS, ACT = spaces.Box(-1, 1, (4,)), spaces.Discrete(2)


@pytest.fixture
def dqn_checkpoint(tmp_path):
    cls = agents.get("dqn")
    path = tmp_path / "checkpoint.npz"
    cls(OBS, ACT, cls.Config(hidden=(16,), dueling=False)).save(path)
    return cls, path


def test_loading_with_another_architecture_is_refused_in_one_line(dqn_checkpoint):
    cls, path = dqn_checkpoint
    for overrides, words in (({"hidden": (8,)}, ["--hidden 16", "--hidden 8"]),
                             ({"dueling": True}, ["--no-dueling", "--dueling"]),
                             ({"policy": "cnn"}, ["--policy mlp", "--policy cnn"])):
        with pytest.raises(CheckpointError) as err:
            cls.load(path, OBS, ACT, **overrides)
        assert err.value.corrupt is False and "\n" not in str(err.value)
        assert str(path) in str(err.value) and all(w in str(err.value) for w in words), str(err.value)


def test_loading_with_settings_that_keep_the_network_works(dqn_checkpoint):
    cls, path = dqn_checkpoint
    agent = cls.load(path, OBS, ACT, hidden=(16,), gamma=0.5, learning_rate=1e-4)
    assert agent.config.hidden == (16,) and agent.config.gamma == 0.5
    obs = np.zeros(4, dtype=np.float32)
    assert agent.predict(obs, deterministic=True) == cls.load(path, OBS, ACT).predict(obs, deterministic=True)


def test_weights_that_do_not_fit_are_caught_after_building_too(dqn_checkpoint, tmp_path):
    """A checkpoint whose header does not record the architecture (an older one): the weights
    themselves do not fit, and torch's many-line complaint becomes one line."""
    cls, path = dqn_checkpoint
    meta, arrays = checkpoint.load(path)
    del meta["config"]["hidden"]
    checkpoint.save(path, meta, arrays)  # loads as hidden (64, 64), the default, without overrides
    with pytest.raises(CheckpointError) as err:
        cls.load(path, OBS, ACT, hidden=(8,))
    assert err.value.corrupt is False and "--hidden 8" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(CheckpointError) as err:  # no flags of the user's to blame: the file is at fault
        cls.load(path, OBS, ACT)
    assert err.value.corrupt is True and "Missing key" in str(err.value) and "\n" not in str(err.value)


def test_a_checkpoint_with_a_setting_now_refused_says_so(dqn_checkpoint):
    cls, path = dqn_checkpoint
    meta, arrays = checkpoint.load(path)
    meta["config"]["gamma"] = 1.5
    checkpoint.save(path, meta, arrays)
    with pytest.raises(CheckpointError, match="--gamma must be in"):
        cls.load(path, OBS, ACT)
    assert cls.load(path, OBS, ACT, gamma=0.9).config.gamma == 0.9  # a good value given for it mends it


# ------------------------------------------------------------------ the Q-table figure
def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as f:
        return struct.unpack(">II", f.read(24)[16:24])  # the IHDR chunk: width, height


@pytest.mark.parametrize("shape,bound", [((500, 6), 1000), ((5000, 40), 1000), ((2, 300), 1000)])
def test_a_big_table_fits_a_readable_figure(tmp_path, shape, bound):
    from gymlab.agents.plots import heatmap

    heatmap(tmp_path / "q.png", np.arange(np.prod(shape)).reshape(shape), "Q", "action", "state")
    width, height = png_size(tmp_path / "q.png")
    assert width <= bound and height <= bound and min(width, height) >= 200


def test_a_small_table_keeps_its_cells(tmp_path):
    from gymlab.agents.plots import heatmap

    heatmap(tmp_path / "q.png", np.eye(6) * 100, "Q", "action", "state")  # the Rooms table's shape
    assert png_size(tmp_path / "q.png") == (560, 300)  # 0.6 in a column, as before
