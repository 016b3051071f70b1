"""Issue 10: hill climbing saves only its champion, tuned defaults do not depend on how an
env is spelled, SB3's PPO and A2C act in Box action spaces, and a checkpoint rebuilds
the spaces it was trained on."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch.nn.utils import parameters_to_vector

from gymlab import agents
from gymlab.agents import hyperparams
from gymlab.agents.base import Budget
from gymlab.agents.hill_climbing import HillClimbing, HillConfig
from gymlab.agents.logger import RunLogger
from gymlab.agents.rollout import evaluate
from tiny_envs import CORRIDOR_ID


# ------------------------------------------------------------------ hill climbing: only the champion leaves a trial
def hill(alpha=1.0, seed=0):
    env = gym.make(CORRIDOR_ID)
    return HillClimbing(env.observation_space, env.action_space, HillConfig(sigma=1.0, alpha=alpha), seed=seed), env


def weights(agent) -> torch.Tensor:
    return parameters_to_vector(agent.net.parameters()).detach().clone()


def test_every_checkpoint_written_during_a_run_holds_the_champion(tmp_path):
    agent, env = hill()
    logger = RunLogger(progress=False)
    path, eval_env, checks = tmp_path / "checkpoint.npz", gym.make(CORRIDOR_ID), []

    def evaluate_and_checkpoint():  # what train.py hangs on logger.every
        evaluate(agent, eval_env, 1, seed=0)
        agent.save(path)
        saved = weights(HillClimbing.load(path, env.observation_space, env.action_space))
        checks.append(torch.equal(saved, agent.champion))

    logger.every(7, evaluate_and_checkpoint)
    agent.learn(env, Budget(steps=3000), logger)
    assert len(checks) > 100 and not torch.equal(agent.champion, torch.zeros_like(agent.champion))
    assert all(checks), f"{checks.count(False)} of {len(checks)} checkpoints held a mutant"


@pytest.mark.parametrize("stop_at", [160, 200, 250, 290])  # the first trial's mutant plays steps 151-300
def test_the_checkpoint_saved_on_ctrl_c_holds_the_champion(stop_at, tmp_path):
    agent, env = hill()
    logger = RunLogger(progress=False)

    def ctrl_c():
        if logger.steps == stop_at:
            raise KeyboardInterrupt

    logger.every(1, ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        agent.learn(env, Budget(steps=3000), logger)
    agent.save(tmp_path / "checkpoint.npz")  # what train.py does on Ctrl-C
    loaded = HillClimbing.load(tmp_path / "checkpoint.npz", env.observation_space, env.action_space)
    assert torch.equal(weights(loaded), agent.champion)


def test_the_champion_score_is_the_champions_when_alpha_is_below_one():
    # The corridor ignores seeds, so the re-evaluation plays exactly the episodes the trial played.
    agent, env = hill(alpha=0.5)
    logger, moved = RunLogger(progress=False), 0
    for _ in range(40):
        before = agent.champion.clone()
        agent.learn(env, Budget(steps=logger.steps + 1), logger)  # exactly one trial
        moved += not torch.equal(before, agent.champion)
        returns, _ = evaluate(agent, env, 3, seed=0)
        assert agent.champion_score == pytest.approx(returns.mean())
    assert moved > 0  # some trials blended a better mutant in: the case under test happened


# ------------------------------------------------------------------ tuned defaults: by env id and the kwargs that matter
def test_pong_defaults_are_the_same_however_it_is_spelled():
    features = hyperparams.defaults("dqn", "pong")
    assert features[0]["hidden"] == (128, 128)  # the tuned entry
    assert hyperparams.defaults("dqn", "gymlab/Pong-v0") == features
    assert hyperparams.defaults("dqn", "gymlab/Pong-v0", {"obs_type": "features"}) == features
    assert hyperparams.defaults("dqn", "gymlab/Pong-v0", {"difficulty": 0.8}) == features  # same observations
    pixels = hyperparams.defaults("reinforce", "pong-pixels")
    assert pixels[0]["policy"] == "cnn"
    assert hyperparams.defaults("reinforce", "gymlab/Pong-v0", {"obs_type": "pixels"}) == pixels
    # DQN has no tuned pixel entry: it gets its "*" entry, never the features MLP.
    assert hyperparams.defaults("dqn", "pong-pixels") == hyperparams.defaults("dqn", "gymlab/Pong-v0",
                                                                              {"obs_type": "pixels"})
    assert hyperparams.defaults("dqn", "pong-pixels") == ({}, {"steps": 100_000})


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
    (["--env", "pong-pixels"], [64, 64]),  # DQN's own default: no tuned pixel entry
    (["--env", "gymlab/Pong-v0", "--env-kwargs", "obs_type='pixels'"], [64, 64]),
])
def test_train_py_looks_defaults_up_by_task(spelling, hidden, tmp_path, capsys):
    from gymlab import train

    code = train.main([*spelling, "--agent", "dqn", "--steps", "2", "--eval-episodes", "0", "--eval-every", "0",
                       "--no-progress", "--run-dir", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "summary.json").read_text())["config"]["hidden"] == hidden


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
