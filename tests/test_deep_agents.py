"""The neural-network agents: their update rules, their memory, their checkpoints, and
that each one learns a tiny task that a broken agent cannot."""

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from gymlab import agents
from gymlab.agents.base import Budget
from gymlab.agents.dqn import DQN, DQNConfig
from gymlab.agents.logger import RunLogger
from gymlab.agents.replay import Batch, ReplayBuffer
from gymlab.agents.rollout import evaluate
from tiny_envs import CORRIDOR_ID, OPTIMAL

ROOT = Path(__file__).resolve().parents[1]

TINY = {  # agent -> (config overrides, steps) for the corridor
    "dqn": (dict(learning_starts=200, train_freq=2, target_update_interval=100, exploration_fraction=0.5,
                 buffer_size=5000, batch_size=32), 3000),
    "reinforce": (dict(batch_episodes=4, learning_rate=0.05), 6000),
    "hill": (dict(sigma=1.0), 4000),
}


def make_agent(name, env, seed=0, **overrides):
    cls = agents.get(name)
    return cls(env.observation_space, env.action_space, cls.Config(**{**TINY[name][0], **overrides}), seed=seed)


def switch_learning_off(agent) -> None:
    """A learning rate of 0 is refused by the Config (rightly); a control sets it on the optimiser
    (and stops DQN's annealing, which would set it again)."""
    if hasattr(agent.config, "lr_anneal"):
        agent.config.lr_anneal = False
    for group in agent.optimizer.param_groups:
        group["lr"] = 0.0


def train(name, seed=0, learning_off=False, **overrides):
    env = gym.make(CORRIDOR_ID)
    agent = make_agent(name, env, seed, **overrides)
    if learning_off and name == "hill":
        agent.config.sigma = 0.0  # no mutation: the champion stays at zero
    elif learning_off:
        switch_learning_off(agent)
    agent.learn(env, Budget(steps=TINY[name][1]), RunLogger(progress=False))
    return agent, env


@pytest.mark.parametrize("name", sorted(TINY))
def test_learns_the_corridor(name):
    for seed in range(3):  # the seeds the control below fails on (most of them): learning, not luck, wins
        agent, env = train(name, seed=seed)
        returns, _ = evaluate(agent, env, 3, seed=100)
        assert returns.min() == pytest.approx(OPTIMAL), seed  # the shortest way out, every time


@pytest.mark.parametrize("name", sorted(TINY))
def test_a_broken_agent_does_not(name):
    # The same budget with learning switched off must fail the threshold above.
    # (hill: no mutation; the others: Adam's step size 0 on the optimiser. The Configs refuse both.)
    # An untrained network can be optimal by chance (one seed in three or four here): most seeds fail.
    failed = 0
    for seed in range(3):
        agent, env = train(name, seed=seed, learning_off=True)
        returns, _ = evaluate(agent, env, 3, seed=100)
        failed += returns.min() < OPTIMAL - 0.05
    assert failed >= 2


@pytest.mark.parametrize("name", sorted(TINY))
def test_seeded_runs_repeat_exactly(name):
    a, _ = train(name, seed=3)
    b, _ = train(name, seed=3)
    for (k, x), (_, y) in zip(a.state_arrays().items(), b.state_arrays().items()):
        np.testing.assert_array_equal(x, y, err_msg=k)


@pytest.mark.parametrize("name", sorted(TINY))
def test_save_load_gives_identical_greedy_actions(name, tmp_path):
    agent, env = train(name)
    agent.save(tmp_path / "a.npz")
    loaded = type(agent).load(tmp_path / "a.npz", env.observation_space, env.action_space)
    rng = np.random.default_rng(0)
    for _ in range(20):
        obs = rng.random(8).astype(np.float32)
        assert loaded.predict(obs, deterministic=True)[0] == agent.predict(obs, deterministic=True)[0]


def _tiny_dqn(env=None, **config):
    env = env or gym.make(CORRIDOR_ID)
    return DQN(env.observation_space, env.action_space, DQNConfig(hidden=(4,), **config), seed=0), env


def test_double_q_target_by_hand():
    agent, env = _tiny_dqn(double_q=True, gamma=0.9, huber=False)
    switch_learning_off(agent)
    torch.manual_seed(1)
    for p in agent.q_target.parameters():  # a target network unlike the online one
        p.data.normal_()
    obs = np.eye(8, dtype=np.float32)[[0, 1]]
    next_obs = np.eye(8, dtype=np.float32)[[1, 2]]
    batch = Batch(np.arange(2), obs, np.array([1, 0]), np.array([0.5, -1.0], np.float32), next_obs,
                  np.array([0.9, 0.0], np.float32), None, np.ones(2, np.float32))
    with torch.no_grad():
        q_online_next, q_target_next = agent.q(next_obs).numpy(), agent.q_target(next_obs).numpy()
        q_now = agent.q(obs).numpy()
    best = q_online_next.argmax(axis=1)  # the online net selects...
    y = np.array([0.5 + 0.9 * q_target_next[0, best[0]],  # ...the target net evaluates
                  -1.0])  # the second transition ended: discount 0, no bootstrap
    expected_loss = np.mean((y - q_now[[0, 1], [1, 0]]) ** 2)
    loss = agent.update(batch, ReplayBuffer(2, (8,), np.float32, 2, False, np.random.default_rng(0))).item()
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    # Without double Q the target network both selects and evaluates.
    agent.config.double_q = False
    y_plain = np.array([0.5 + 0.9 * q_target_next[0].max(), -1.0])
    loss = agent.update(batch, ReplayBuffer(2, (8,), np.float32, 2, False, np.random.default_rng(0))).item()
    assert loss == pytest.approx(np.mean((y_plain - q_now[[0, 1], [1, 0]]) ** 2), rel=1e-5)


def test_terminated_and_truncated_transitions_in_the_buffer():
    # Through the real loop: a 3-step time limit truncates some episodes, the exit terminates others.
    env = gym.make(CORRIDOR_ID, length=3, max_episode_steps=3)
    agent, _ = _tiny_dqn(env, learning_starts=10**6, gamma=0.9, n_step=1)
    seen = {}
    original = agent.make_buffer

    def spy(*args, **kwargs):
        seen["buffer"] = original(*args, **kwargs)
        return seen["buffer"]

    agent.make_buffer = spy
    agent.learn(env, Budget(steps=300), RunLogger(progress=False))
    buf = seen["buffer"]
    n = len(buf)
    at_exit = buf.next_obs[:n, -1] == 1.0
    assert at_exit.any() and (~at_exit).any()
    assert (buf.discounts[:n][at_exit] == 0.0).all()  # terminated: bootstrap from zero
    assert np.allclose(buf.discounts[:n][~at_exit], 0.9)  # truncated or running: bootstrap from s'


def test_recurrent_memory_resets_at_episode_start():
    from gymlab.agents.reinforce import Reinforce, ReinforceConfig

    env = gym.make(CORRIDOR_ID)
    agent = Reinforce(env.observation_space, env.action_space, ReinforceConfig(policy="lstm", hidden=(16,)), seed=0)
    obs = np.eye(8, dtype=np.float32)
    _, fresh = agent.pi(obs[[0]], None)
    state = None
    for i in range(5):  # build up some memory
        _, state = agent.pi(obs[[i]], state)
    out_reset, _ = agent.pi(obs[[0]], state, starts=np.array([True]))
    out_fresh, _ = agent.pi(obs[[0]], None)
    out_carried, _ = agent.pi(obs[[0]], state)
    torch.testing.assert_close(out_reset, out_fresh)
    assert not torch.allclose(out_carried, out_fresh)
    # and acting over an episode step by step matches the batched pass used for learning
    outs, state = [], None
    for i in range(6):
        out, state = agent.pi(obs[[i]], state)
        outs.append(out[0])
    torch.testing.assert_close(torch.stack(outs), agent.pi.sequence(obs[:6]), rtol=1e-5, atol=1e-6)


def test_frame_differences_step_and_sequence_agree():
    from gymlab.agents.networks import Network

    space = gym.spaces.Box(0, 255, (12, 12, 1), np.uint8)
    net = Network(space, 3, "mlp", (8,), frame_diff=True)
    frames = np.random.default_rng(0).integers(0, 256, (5, 12, 12, 1)).astype(np.uint8)
    outs, state = [], None
    for f in frames:
        out, state = net(f[None], state)
        outs.append(out[0])
    torch.testing.assert_close(torch.stack(outs), net.sequence(frames), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["sb3-dqn", "sb3-ppo", "sb3-a2c"])
def test_sb3_references_through_train_py(name, tmp_path):
    """(In this process: ``train.main`` is the command line; tests/test_hostile_inputs.py runs the
    real program in subprocesses.)"""
    import train

    assert train.main(["--env", "CartPole-v1", "--agent", name, "--steps", "600", "--eval-episodes", "2",
                       "--no-progress", "--run-dir", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["agent"] == name and summary["env_steps"] == 600 and summary["eval"]["episodes"] == 2
    assert train.main(["--env", "CartPole-v1", "--load", str(tmp_path / "checkpoint.npz"), "--eval-episodes", "2",
                       "--no-progress", "--run-dir", str(tmp_path / "eval")]) == 0
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["eval"] == summary["eval"]


@pytest.mark.parametrize("agent,env,words", [
    ("dqn", "Pendulum-v1", ["Discrete action space", "Box(shape=(1,)"]),
    ("hill", "Pendulum-v1", ["Discrete action space"]),
    ("supervised", "CartPole-v1", ["next observation"]),
    ("dqn", "pong-pixels --policy lstm", ["--history 4", "--policy lstm"]),
    ("reinforce", "CartPole-v1 --policy cnn", ["image observations"]),
])
def test_agents_refuse_what_they_cannot_handle(agent, env, words, tmp_path, capsys):
    import train

    env, *extra = env.split()
    assert train.main(["--env", env, "--agent", agent, *extra, "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err
    assert not (tmp_path / "r").exists()


def test_reinforce_with_episodes_side_by_side():
    agent, env = train("reinforce", num_envs=4)
    returns, _ = evaluate(agent, env, 3, seed=100)
    assert returns.min() == pytest.approx(OPTIMAL)


def test_dqn_with_envs_side_by_side():
    """--num-envs 4: the same budget of env steps, four envs at a time (train_freq counts all of
    them, so the same number of gradient steps); the corridor is still learned."""
    agent, env = train("dqn", num_envs=4)
    returns, _ = evaluate(agent, env, 3, seed=100)
    assert returns.min() == pytest.approx(OPTIMAL)


def test_vector_transitions_skip_the_autoreset_step():
    from gymlab.agents.rollout import make_vector_env, vector_transitions

    venv = make_vector_env(gym.make(CORRIDOR_ID, length=3), 2)
    logger = RunLogger(progress=False)
    seen = list(vector_transitions(venv, lambda obs, starts: np.ones(len(obs), dtype=np.int64), Budget(steps=8),
                                   logger, seed=0))
    # Always right in a 3-cell corridor: every episode is 2 steps, and no transition starts at the exit.
    assert all(t.obs[-1] == 0.0 for _, t in seen)
    assert logger.lengths == [2] * logger.episodes and logger.episodes >= 3


@pytest.mark.parametrize("extension", [{"prioritized": True}, {"dueling": False}, {"n_step": 1},
                                       {"double_q": False}, {"tau": 0.05, "target_update_interval": 1},
                                       {"huber": False, "lr_anneal": False}])
def test_each_dqn_extension_still_learns_the_corridor(extension):
    agent, env = train("dqn", **extension)
    returns, _ = evaluate(agent, env, 3, seed=100)
    assert returns.min() == pytest.approx(OPTIMAL)
