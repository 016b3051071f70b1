"""Issue 10: tuned defaults do not depend on how an env is spelled, SB3's PPO and A2C act in Box
action spaces, a checkpoint rebuilds the spaces it was trained on, and prediction envs are scored
on held-out text."""

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from gymlab import agents
from gymlab.agents import hyperparams
from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.rollout import evaluate


# ------------------------------------------------------------------ tuned defaults: by env id and the kwargs that matter
def test_pong_defaults_are_the_same_however_it_is_spelled():
    features = hyperparams.defaults("dqn", "pong")
    assert features[0]["hidden"] == (128, 128)  # the tuned entry
    assert hyperparams.defaults("dqn", "gymlab/Pong-v0") == features
    assert hyperparams.defaults("dqn", "gymlab/Pong-v0", {"obs_type": "features"}) == features
    assert hyperparams.defaults("dqn", "gymlab/Pong-v0", {"difficulty": 0.8}) == features  # same observations
    pixels = hyperparams.defaults("reinforce", "pong-pixels")
    assert (pixels[0]["policy"], pixels[0]["hidden"]) == ("mlp", (200,))  # Karpathy's MLP (issue 27)
    assert hyperparams.defaults("reinforce", "gymlab/Pong-v0", {"obs_type": "pixels"}) == pixels
    # DQN's pixel entry is its own (a CNN on 4 stacked frames), never the features MLP.
    dqn_pixels = hyperparams.defaults("dqn", "pong-pixels")
    assert dqn_pixels == hyperparams.defaults("dqn", "gymlab/Pong-v0", {"obs_type": "pixels"})
    assert (dqn_pixels[0]["policy"], dqn_pixels[0]["history"], dqn_pixels[0]["hidden"]) == ("cnn", 4, (256,))


def test_every_table_key_names_a_task_the_lookup_can_reach():
    for agent, table in hyperparams.TABLE.items():
        for key in table:
            if key != "*":
                env_id, kwargs = hyperparams.parse_key(key)
                assert hyperparams.task_key(env_id, kwargs) == key, (agent, key)


@pytest.mark.parametrize("spelling,hidden", [
    (["--env", "pong"], [128, 128]),
    (["--env", "gymlab/Pong-v0"], [128, 128]),
    (["--env", "gymlab/Pong-v0", "--env-kwargs", "obs_type='features'"], [128, 128]),
    (["--env", "pong-pixels"], [256]),  # the pixel entry's CNN
    (["--env", "gymlab/Pong-v0", "--env-kwargs", "obs_type='pixels'"], [256]),
])
def test_train_py_looks_defaults_up_by_task(spelling, hidden, tmp_path, capsys):
    from gymlab import train

    code = train.main([*spelling, "--agent", "dqn", "--steps", "2", "--eval-episodes", "0", "--eval-every", "0",
                       "--no-progress", "--run-dir", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "summary.json").read_text())["config"]["hidden"] == hidden


@pytest.mark.parametrize("policy,forget_bias", [("mlp", 0.0), ("gru", 0.0), ("lstm", 3.0)])
def test_a_default_for_another_network_is_left_out(policy, forget_bias, tmp_path, capsys):
    """Recall's tuned REINFORCE defaults set an LSTM's forget bias; ``--policy mlp`` (the
    benchmark's memoryless control) was refused because of a flag nobody gave."""
    from gymlab import train

    code = train.main(["--env", "recall", "--agent", "reinforce", "--policy", policy, "--steps", "20",
                       "--eval-episodes", "0", "--no-progress", "--run-dir", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "summary.json").read_text())["config"]["forget_bias"] == forget_bias


# ------------------------------------------------------------------ SB3 PPO and A2C in Box action spaces
@pytest.mark.parametrize("name", ["sb3-ppo", "sb3-a2c"])
@pytest.mark.parametrize("env_id", ["Pendulum-v1", "gymlab/SinePredict-v0"])
def test_sb3_acts_in_a_box_action_space(name, env_id):
    env = gym.make(env_id, max_episode_steps=50)
    cls = agents.get(name)
    config = cls.Config(n_steps=64, batch_size=32) if name == "sb3-ppo" else cls.Config()
    agent = cls(env.observation_space, env.action_space, config, seed=0)
    agent.learn(env, Budget(steps=300), RunLogger(progress=False))
    obs, _ = env.reset(seed=0)
    action, _ = agent.predict(obs, deterministic=True)
    assert env.action_space.contains(action), action
    returns, lengths = evaluate(agent, env, 1, seed=0)
    assert lengths[0] == 50


# ------------------------------------------------------------------ a checkpoint rebuilds its spaces
@pytest.mark.parametrize("obs_space,action_space,name", [
    (spaces.Box(-1, 1, (4,)), spaces.Discrete(2), "dqn"),
    (spaces.Box(0, 255, (80, 80, 1), np.uint8), spaces.Discrete(3), "dqn"),
    (spaces.Box(-1, 1, (1,), np.float32), spaces.Box(-1, 1, (1,), np.float32), "sb3-ppo"),
    (spaces.Box(np.array([-1.0, 0.0], np.float32), np.array([1.0, 2.0], np.float32)), spaces.Discrete(2), "dqn"),
])
def test_load_without_spaces_rebuilds_the_spaces_it_was_trained_on(obs_space, action_space, name, tmp_path):
    cls = agents.get(name)
    config = cls.Config(policy="cnn") if name == "dqn" and len(obs_space.shape) == 3 else None
    cls(obs_space, action_space, config).save(tmp_path / "checkpoint.npz")
    loaded = cls.load(tmp_path / "checkpoint.npz")
    assert loaded.observation_space == obs_space and loaded.action_space == action_space


# ------------------------------------------------------------------ prediction envs are scored on held-out text
def test_char_prediction_is_evaluated_on_the_test_split(tmp_path, capsys):
    """A text whose training part is all 'a' and whose test tenth is all 'b': an agent that learned
    'a follows a' scores full marks on the training text and nothing on the test text. The final
    evaluation must be the latter (it was the former), unless the run asks otherwise."""
    from gymlab import train

    text = tmp_path / "ab.txt"
    text.write_text("a" * 900 + "b" * 100)
    # gamma 0: a one-step task (at the default 0.99, 3000 steps left Q(a, a) and Q(a, b) one reward
    # apart in values near 100, and which was larger depended on the seed's stream)
    common = ["--env", "chars", "--agent", "q", "--steps", "3000", "--eval-episodes", "3", "--eval-every", "0",
              "--gamma", "0", "--no-progress"]
    kwargs = ["--env-kwargs", f"text={str(text)!r}", "length=20"]
    assert train.main(common + kwargs + ["--run-dir", str(tmp_path / "held_out")]) == 0, capsys.readouterr().err
    held_out = json.loads((tmp_path / "held_out" / "summary.json").read_text())
    assert held_out["eval_env_kwargs"] == {"split": "test"} and held_out["eval"]["return_mean"] == 0.0
    assert train.main(common + kwargs + ["--eval-env-kwargs", "split='train'",
                                         "--run-dir", str(tmp_path / "seen")]) == 0
    seen = json.loads((tmp_path / "seen" / "summary.json").read_text())
    assert seen["eval"]["return_mean"] == 20.0
    assert train.main(common + ["--env-kwargs", f"text={str(text)!r}", "length=20", "split='all'",
                                "--run-dir", str(tmp_path / "all")]) == 0  # the run's own split is kept
    assert json.loads((tmp_path / "all" / "summary.json").read_text())["eval_env_kwargs"] == {}
