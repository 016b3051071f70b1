"""RL-Zoo's whole RecurrentPPO recipe for CartPoleNoVel-v1 (rl-baselines3-zoo, hyperparams/ppo_lstm.yml)
reaches the SB3 model through gymlab's config: envs side by side, VecNormalize, linear schedules,
the policy's activation and initialisation; and what normalisation changes is right (the policy
acts on observations normalised as in training, a checkpoint keeps the statistics, the logged
returns are the env's own rewards)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from torch import nn

import gymlab  # noqa: F401  (registers gymlab/CartPoleNoVel-v1)
from gymlab import agents
from gymlab.agents.base import Budget
from gymlab.agents.hyperparams import defaults
from gymlab.agents.logger import RunLogger
from gymlab.agents.rollout import evaluate

NAME = "sb3-recurrent-ppo"
# The yml's entry, field by field (its normalize: True is VecNormalize's norm_obs and norm_reward).
ZOO = dict(num_envs=8, norm_obs=True, norm_reward=True, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
           n_epochs=20, ent_coef=0.0, learning_rate=1e-3, lr_anneal=True, clip_range=0.2, clip_anneal=True,
           ortho_init=False, activation="relu", lstm_hidden_size=64, enable_critic_lstm=True, net_arch=(64,))


def built(steps=8, **config):
    """An agent after ``learn`` with ``steps`` (8: one step of the 8 envs, no update): its model is the one learn trains."""
    env = gym.make("gymlab/CartPoleNoVel-v1")
    cls = agents.get(NAME)
    agent = cls(env.observation_space, env.action_space, cls.Config(**config), seed=0)
    logger = RunLogger(progress=False)
    agent.learn(env, Budget(steps=steps), logger)
    return agent, env, logger


def test_the_table_entry_is_the_zoo_recipe():
    settings, budget = defaults(NAME, "cartpole-novel")
    assert settings == ZOO and budget == {"steps": 100_000}  # the yml's n_timesteps: 1e5


def test_every_setting_of_the_recipe_arrives_in_the_model():
    from stable_baselines3.common.vec_env import VecNormalize

    agent, _, _ = built(**ZOO)
    model = agent.model
    assert (model.n_steps, model.n_epochs, model.batch_size) == (32, 20, 256)
    assert (model.gamma, model.gae_lambda, model.ent_coef) == (0.98, 0.8, 0.0)
    venv = model.get_env()
    assert isinstance(venv, VecNormalize) and venv.num_envs == 8 and model.n_envs == 8
    assert venv.norm_obs and venv.norm_reward and venv.gamma == 0.98  # the zoo passes the algorithm's gamma
    policy = model.policy
    assert policy.activation_fn is nn.ReLU and policy.ortho_init is False
    layers = list(policy.mlp_extractor.modules())
    assert any(isinstance(m, nn.ReLU) for m in layers) and not any(isinstance(m, nn.Tanh) for m in layers)
    assert policy.lstm_actor.hidden_size == 64 and policy.lstm_critic is not None
    assert [m.out_features for m in policy.mlp_extractor.policy_net if isinstance(m, nn.Linear)] == [64]
    assert [m.out_features for m in policy.mlp_extractor.value_net if isinstance(m, nn.Linear)] == [64]
    # lin_0.001 and lin_0.2: the value times the progress remaining (1 at the start, 0 at the end)
    assert model.lr_schedule(1.0) == pytest.approx(1e-3) and model.lr_schedule(0.0) == 0.0
    assert model.lr_schedule(0.25) == pytest.approx(2.5e-4)
    assert model.clip_range(1.0) == pytest.approx(0.2) and model.clip_range(0.0) == 0.0


def test_without_the_switches_sb3s_own_defaults_hold():
    agent, _, _ = built()
    model = agent.model
    assert model.n_envs == 1 and model.get_vec_normalize_env() is None
    assert model.policy.activation_fn is nn.Tanh and model.policy.ortho_init is True
    assert model.lr_schedule(0.0) == pytest.approx(3e-4) and model.clip_range(0.0) == pytest.approx(0.2)


@pytest.mark.parametrize("ortho", [True, False])
def test_ortho_init_decides_the_action_layers_initial_scale(ortho):
    """SB3's orthogonal init gives the action layer a gain of 0.01; torch's default (|w| up to 1/sqrt(64)) is larger."""
    agent, _, _ = built(ortho_init=ortho, net_arch=(64,), lstm_hidden_size=16)
    largest = agent.model.policy.action_net.weight.abs().max().item()
    assert (largest < 0.02) if ortho else (largest > 0.05)


def test_the_policy_acts_on_observations_normalised_as_in_training(tmp_path):
    small = dict(ZOO, lstm_hidden_size=16, n_epochs=1)
    agent, env, logger = built(steps=512, **small)
    venv = agent.model.get_env()
    stats = agent.obs_rms
    assert stats is venv.obs_rms and stats.count > 500  # the training env's statistics, updated as it ran
    obs = np.array([0.3, -0.1], np.float32)
    by_hand = np.clip((obs - stats.mean) / np.sqrt(stats.var + 1e-8), -10, 10)
    assert np.allclose(agent.normalise(obs), by_hand) and np.allclose(venv.normalize_obs(obs), by_hand)
    seen = []
    act = agent.model.predict
    agent.model.predict = lambda o, *a, **k: (seen.append(np.array(o)), act(o, *a, **k))[1]
    agent.predict(obs, deterministic=True)
    assert np.allclose(seen[0], by_hand)
    # The logged returns are CartPole's own (1 a step), not VecNormalize's scaled rewards.
    assert logger.returns and all(r == n for r, n in zip(logger.returns, logger.lengths))
    # A checkpoint keeps the statistics: the loaded agent acts the same.
    path = tmp_path / "c.npz"
    agent.save(path)
    loaded = agents.get(NAME).load(path)
    assert np.array_equal(loaded.obs_rms.mean, stats.mean) and np.array_equal(loaded.obs_rms.var, stats.var)
    assert np.array_equal(evaluate(agent, env, 2, seed=5)[0], evaluate(loaded, env, 2, seed=5)[0])


def test_rules_count_the_steps_of_all_envs():
    cls = agents.get(NAME).Config
    cls(num_envs=8, n_steps=32, batch_size=256)  # a rollout is 8 x 32 steps
    with pytest.raises(ValueError, match="--batch-size.*--n-steps.*--num-envs"):
        cls(num_envs=8, n_steps=32, batch_size=257)
    with pytest.raises(ValueError, match="1 step"):
        cls(num_envs=3, n_steps=11, batch_size=32)  # 33 steps: a last minibatch of one


def test_plain_ppo_takes_the_same_switches():
    from stable_baselines3.common.vec_env import VecNormalize

    env = gym.make("CartPole-v1")
    cls = agents.get("sb3-ppo")
    config = cls.Config(num_envs=2, n_steps=16, batch_size=32, n_epochs=1, norm_obs=True, activation="relu",
                        ortho_init=False, lr_anneal=True, clip_anneal=True, net_arch=(8,))
    agent = cls(env.observation_space, env.action_space, config, seed=0)
    logger = RunLogger(progress=False)
    agent.learn(env, Budget(steps=64), logger)
    model = agent.model
    assert model.n_envs == 2 and isinstance(model.get_env(), VecNormalize) and not model.get_env().norm_reward
    assert model.policy.activation_fn is nn.ReLU and model.policy.ortho_init is False
    assert model.lr_schedule(0.0) == 0.0 and model.clip_range(0.5) == pytest.approx(0.1)
    assert logger.steps == 64 and agent.obs_rms.count > 60


def test_a_checkpoint_keeps_the_return_statistics_that_scale_the_rewards(tmp_path):
    """--norm-reward scales rewards by the running spread of the discounted return (VecNormalize's
    ret_rms). The checkpoint kept only the observation statistics: a run loaded from it to train
    on started the reward scale again from nothing."""
    small = dict(ZOO, lstm_hidden_size=16, n_epochs=1)
    agent, env, _ = built(steps=512, **small)
    venv = agent.model.get_env()
    assert agent.ret_rms is venv.ret_rms and agent.ret_rms.count > 500  # the training env's, updated in place
    path = tmp_path / "c.npz"
    agent.save(path)
    loaded = agents.get(NAME).load(path)
    assert np.array_equal(loaded.ret_rms.var, agent.ret_rms.var) and loaded.ret_rms.count == agent.ret_rms.count
    loaded.learn(env, Budget(steps=8), RunLogger(progress=False))  # training goes on with them
    assert loaded.model.get_env().ret_rms is loaded.ret_rms and loaded.ret_rms.count > agent.ret_rms.count
