"""``train.py --hyperparams FILE`` (issue 28): a user's file in rl-zoo's layout, read over ours entry by entry
(command line > user file > ours > Config defaults); every field checked by the agent's Config, a bad
file refused in one line (exit 2) naming the file, the entry and the field; summary.json says where
each value came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_cli import run

OURS = "gymlab/hyperparams/q.yml:gymlab/Rooms-v0"


def summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def user_file(tmp_path: Path, text: str, name: str = "mine.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_user_file_changes_only_the_fields_it_gives(tmp_path):
    mine = user_file(tmp_path, "rooms:\n  gamma: 0.9\n  n_timesteps: 400\n")
    plain = run("--env", "rooms", "--agent", "q", "--steps", "400", "--eval-episodes", "1", "--run-dir", tmp_path / "a")
    given = run("--env", "rooms", "--agent", "q", "--hyperparams", mine, "--eval-episodes", "1",
                "--run-dir", tmp_path / "b")
    assert plain.returncode == given.returncode == 0, given.stderr
    before, after = summary(tmp_path / "a"), summary(tmp_path / "b")
    assert after["config"] == {**before["config"], "gamma": 0.9} and before["config"]["gamma"] == 0.8
    assert after["budget"] == {"steps": 400} and after["env_steps"] == 400  # the file's n_timesteps


def test_precedence_command_line_then_the_users_default_then_ours(tmp_path):
    """A user's ``default`` is their entry for any env they name no entry for, laid over ours."""
    mine = user_file(tmp_path, "default:\n  gamma: 0.5\n  epsilon_end: 0.2\nCartPole-v1:\n  gamma: 0.1\n")
    proc = run("--env", "rooms", "--agent", "q", "--hyperparams", mine, "--epsilon-end", "0.3", "--steps", "200",
               "--eval-episodes", "1", "--run-dir", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    got = summary(tmp_path / "r")
    config, record = got["config"], got["hyperparams"]
    assert (config["gamma"], config["epsilon_end"], config["learning_rate"]) == (0.5, 0.3, 1.0)
    assert config["use_action_mask"] is True  # QConfig's default: no entry sets it
    where = f"{mine.resolve()}:default"
    assert record == {
        "file": "gymlab/hyperparams/q.yml", "entry": "gymlab/Rooms-v0", "user_file": str(mine.resolve()),
        "user_entry": "default",
        "fields": {"learning_rate": OURS, "gamma": where, "epsilon_start": OURS, "epsilon_end": "command line",
                   "exploration_fraction": "default", "use_action_mask": "default", "steps": "command line"}}


def test_the_record_without_a_users_file():
    from gymlab import resolved
    from gymlab.agents.q_learning import QLearning

    _, budget, record = resolved.settings(QLearning, "CliffWalking-v1", {}, {"gamma": 0.95})
    ours = "gymlab/hyperparams/q.yml:CliffWalking-v1"
    assert budget == {"steps": 20_000}
    assert record == {"file": "gymlab/hyperparams/q.yml", "entry": "CliffWalking-v1", "user_file": None,
                      "user_entry": None,
                      "fields": {"learning_rate": ours, "gamma": "command line", "epsilon_start": ours,
                                 "epsilon_end": ours, "exploration_fraction": "default", "use_action_mask": "default",
                                 "steps": ours}}


@pytest.mark.parametrize("text,words", [
    ("rooms:\n  lerning_rate: 0.5\n", ["entry 'rooms'", "unknown field 'lerning_rate'", "did you mean learning_rate"]),
    ("rooms:\n  gamma: high\n", ["entry 'rooms'", "gamma must be a number, got 'high'"]),
    ("rooms:\n  gamma: 1.5\n", ["entry 'rooms'", "gamma must be in [0, 1], got 1.5"]),
    ("rooms:\n  use_action_mask: 3\n", ["entry 'rooms'", "use_action_mask must be True or False, got 3"]),
    ("CartPole-v1:\n  gamma: 0.9\nrooms:\n  epsilon_end: -1\n", ["entry 'rooms'", "epsilon_end must be in [0, 1]"]),
    ("rooms:\n  gamma: [0.9\n", ["not valid YAML at line 3", "expected ',' or ']'"]),
    ("rooms:\n  gamma: 0.9\n  gamma: 0.8\n", ["not valid YAML at line 3", "the key 'gamma' is given twice"]),
    ("rooms: 0.9\n", ["entry 'rooms'", "expected an env id, alias or 'default' mapped to its fields"]),
    ("- rooms\n", ["expected a mapping from env ids"]),
    ("", ["an empty file"]),
    ("rooms:\n  n_timesteps: -5\n", ["entry 'rooms'", "n_timesteps must be a whole number >= 1, got -5"]),
    ("rooms:\n  n_timesteps: .inf\n", ["entry 'rooms'", "n_timesteps must be a whole number >= 1, got inf"]),
    ("rooms:\n  n_episodes: .nan\n", ["entry 'rooms'", "n_episodes must be a whole number >= 1, got nan"]),
    ("rooms:\n  n_timesteps: 10\n  n_episodes: 3\n", ["entry 'rooms'", "n_timesteps or n_episodes, not both"]),
    ("pong:\n  env_kwargs: {difficulty: 0.8}\n", ["entry 'pong'", "env_kwargs difficulty", "--env-kwargs"]),
    ("rooms:\n  tuned_on: {seeds: [-1], how: x}\n", ["entry 'rooms'", "tuned_on seeds"]),
    ("rooms: {}\ngymlab/Rooms-v0: {}\n", ["entry 'gymlab/Rooms-v0'", "the same task as entry 'rooms'"]),
])
def test_a_bad_file_is_one_line_naming_file_entry_and_field(text, words, tmp_path):
    mine = user_file(tmp_path, text)
    proc = run("--env", "rooms", "--agent", "q", "--hyperparams", mine, "--run-dir", tmp_path / "r")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"--hyperparams {mine.resolve()}" in proc.stderr, proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr
    assert not (tmp_path / "r").exists(), "a refused start leaves no run directory"


def test_a_missing_file(tmp_path):
    proc = run("--env", "rooms", "--agent", "q", "--hyperparams", tmp_path / "none.yml", "--run-dir", tmp_path / "r")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert f"--hyperparams {(tmp_path / 'none.yml').resolve()}: no such file" in proc.stderr, proc.stderr


def test_fields_that_clash_with_ours_name_the_file_and_entry(tmp_path):
    """Each field passes alone; together with our Recall entry (an LSTM) a feed-forward policy is refused
    by the Config's own rule, said with the file and the entry (DQN's Config, without importing torch)."""
    from types import SimpleNamespace

    from gymlab import resolved
    from gymlab.agents.dqn_config import DQNConfig
    from gymlab.cli import UsageError

    mine = user_file(tmp_path, "recall:\n  policy: mlp\n  seq_len: 8\n")
    with pytest.raises(UsageError) as err:
        resolved.settings(SimpleNamespace(name="dqn", Config=DQNConfig), "recall", {}, {}, str(mine))
    assert str(err.value).startswith(f"--hyperparams {mine}, entry 'recall' (over gymlab's entry and the command "
                                     f"line): --seq-len sets the recurrent DQN's sequence replay")
    with pytest.raises(ValueError):  # without a file of theirs: the Config's own error, as before
        resolved.settings(SimpleNamespace(name="dqn", Config=DQNConfig), "recall", {}, {"policy": "mlp", "seq_len": 8})


def test_our_recurrent_settings_are_dropped_when_the_users_entry_picks_another_network(tmp_path):
    """As ``--policy mlp`` does (POLICY_ONLY): a user's ``policy: mlp`` for Recall gets no sequence replay."""
    from gymlab.agents import hyperparams

    mine = hyperparams.read(user_file(tmp_path, "recall:\n  policy: mlp\n"))
    got = hyperparams.resolve("dqn", "recall", None, None, mine)
    assert got["settings"] == {**hyperparams.defaults("dqn", "recall", policy="mlp")[0], "policy": "mlp"}
    assert "seq_len" not in got["settings"] and got["sources"]["policy"] == f"{mine.label}:recall"


def test_refused_with_load_and_resume(tmp_path):
    mine = user_file(tmp_path, "rooms:\n  gamma: 0.9\n")
    proc = run("--env", "rooms", "--agent", "q", "--hyperparams", mine, "--load", tmp_path / "x.npz")
    assert proc.returncode == 2 and "--hyperparams" in proc.stderr and "--load" in proc.stderr, proc.stderr
    proc = run("--resume", tmp_path, "--hyperparams", mine)
    assert proc.returncode == 2 and "--hyperparams cannot be given with it" in proc.stderr, proc.stderr


def test_a_sweep_checks_the_file_before_ray_and_hands_it_to_every_trial(tmp_path, monkeypatch):
    from gymlab import sweep

    monkeypatch.setattr(sweep, "require_ray", lambda: None)  # the checks come before Ray starts

    bad = user_file(tmp_path, "rooms:\n  gamma: 2\n", "bad.yml")
    proc = run("--env", "rooms", "--agent", "q", "--seeds", "2", "--hyperparams", bad, "--run-dir", tmp_path / "s")
    assert proc.returncode == 2 and f"--hyperparams {bad.resolve()}: entry 'rooms': gamma must be" in proc.stderr
    seen = []
    monkeypatch.setattr(sweep, "run_sweep", lambda cfg: seen.append(cfg) or 0)  # the sweep as Ray would get it
    good = user_file(tmp_path, "rooms:\n  gamma: 0.9\n")
    proc = run("--env", "rooms", "--agent", "q", "--grid", "epsilon_end=0.1,0.2", "--hyperparams", good,
               "--run-dir", tmp_path / "s")
    assert proc.returncode == 0, proc.stderr
    assert seen[0].base.hyperparams == str(good.resolve())  # an absolute path: a Ray worker runs elsewhere
    assert sweep._jsonable_run(seen[0].base)["hyperparams"] == str(good.resolve())  # kept in sweep.json


def test_a_file_with_no_entry_for_the_env_is_refused_as_the_zoo_does(tmp_path):
    """rl-zoo: 'Hyperparameters not found for ...' when neither the env nor default has an entry; not a silent no-op."""
    mine = user_file(tmp_path, "CartPol-v1:\n  gamma: 0.9\n")
    proc = run("--env", "rooms", "--agent", "q", "--hyperparams", mine, "--run-dir", tmp_path / "r")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert (f"--hyperparams {mine.resolve()}: no entry for gymlab/Rooms-v0 and no 'default' (its entries: "
            f"CartPol-v1)") in proc.stderr, proc.stderr


@pytest.mark.parametrize("make,words", [
    (lambda p: p.mkdir(), ["cannot be read (Is a directory)"]),
    (lambda p: p.write_bytes(b"\xff\xfe\x00rooms"), ["cannot be read", "utf-8"]),
    (lambda p: p.write_text("rooms:\n  gamma: !!python/object:os.system ls\n"), ["not valid YAML at line 2"]),
])
def test_hostile_files_are_one_line(make, words, tmp_path):
    path = tmp_path / "odd.yml"
    make(path)
    proc = run("--env", "rooms", "--agent", "q", "--hyperparams", path, "--run-dir", tmp_path / "r")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"--hyperparams {path}" in proc.stderr and all(w in proc.stderr for w in words), proc.stderr


def test_a_users_default_is_not_used_for_an_env_it_has_an_entry_for(tmp_path):
    """As rl-zoo: the env's own entry, alone; the file's ``default`` (its gamma, its exploration_fraction) is
    only for envs without one, and is not laid under the entry either."""
    from gymlab import resolved
    from gymlab.agents.q_learning import QLearning

    mine = user_file(tmp_path, "default:\n  gamma: 0.5\n  exploration_fraction: 0.2\n  n_timesteps: 900\n"
                               "rooms:\n  gamma: 0.9\n")
    cfg, budget, record = resolved.settings(QLearning, "gymlab/Rooms-v0", {}, {}, str(mine))
    assert (cfg.gamma, cfg.exploration_fraction, cfg.epsilon_end) == (0.9, 0.5, 1.0)  # entry, Config, ours
    assert budget == {"steps": 3000}  # ours: the user's entry gives none, their default's is not for rooms
    assert record["user_entry"] == "rooms" and record["fields"]["gamma"] == f"{mine}:rooms"
    assert record["fields"]["exploration_fraction"] == "default" and record["fields"]["steps"] == OURS


def test_floats_without_a_dot_are_numbers_as_in_yaml_1_2(tmp_path):
    """``5e-1`` and ``1e0`` (PyYAML's YAML 1.1 reads them as text), ``.25``, ``!!float 4e3``: all numbers."""
    from gymlab import resolved
    from gymlab.agents.q_learning import QLearning

    mine = user_file(tmp_path, "rooms:\n  learning_rate: 5e-1\n  gamma: 1e0\n  epsilon_end: .25\n"
                               "  n_timesteps: !!float 4e3\n")
    cfg, budget, _ = resolved.settings(QLearning, "gymlab/Rooms-v0", {}, {}, str(mine))
    assert (cfg.learning_rate, cfg.gamma, cfg.epsilon_end, budget) == (0.5, 1.0, 0.25, {"steps": 4000})
