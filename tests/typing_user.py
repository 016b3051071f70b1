"""Code as a user of gymlab writes it, type-checked by mypy in tests/test_typing.py (never run as a
test: its name does not start with test_). Each line uses the public API: the envs' classes,
an agent's predict, learn, save and load, ``gymlab.experiment.run`` and ``gymlab.stats``."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

from gymlab import agents, stats
from gymlab.agents.base import Agent, Budget
from gymlab.agents.dqn import DQN
from gymlab.agents.hill_climbing import HillClimbing
from gymlab.agents.q_learning import QLearning
from gymlab.agents.reinforce import Reinforce
from gymlab.envs.char_predict import CharPredictEnv
from gymlab.envs.cartpole_po import CartPoleFlickerEnv, CartPoleNoVelEnv
from gymlab.envs.pong import PongEnv
from gymlab.envs.recall import RecallEnv
from gymlab.envs.rooms import RoomsEnv
from gymlab.envs.sine_predict import SinePredictEnv
from gymlab.experiment import RunConfig, RunResult, run


def play(env: gym.Env, agent: Agent, steps: int) -> float:
    obs, info = env.reset(seed=0)
    state = None
    total = 0.0
    for _ in range(steps):
        action, state = agent.predict(obs, state, episode_start=np.array([False]), deterministic=True)
        obs, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        if terminated or truncated:
            obs, info = env.reset()
            state = None
    return total


def train_and_reload(directory: Path) -> Agent:
    env = RoomsEnv()
    agent: Agent = QLearning(env.observation_space, env.action_space, seed=1)
    agent = agent.learn(env, Budget(steps=100))
    agent.save(directory / "checkpoint.npz")
    loaded: Agent = QLearning.load(directory / "checkpoint.npz")
    return loaded


def deep(directory: Path) -> list[Agent]:
    cartpole = gym.make("CartPole-v1")
    made: list[Agent] = [DQN(cartpole.observation_space, cartpole.action_space, DQN.Config(hidden=(32,)), seed=0),
                         Reinforce(cartpole.observation_space, cartpole.action_space),
                         HillClimbing(cartpole.observation_space, cartpole.action_space),
                         agents.get("dqn")(cartpole.observation_space, cartpole.action_space)]
    for agent in made:
        agent.save(directory / f"{agent.name}.npz")
    return made + [DQN.load(directory / "dqn.npz", seed=3)]


def envs() -> list[gym.Env]:
    return [PongEnv(obs_type="pixels", difficulty=0.8), RecallEnv(delay=3), RoomsEnv(render_mode="rgb_array"),
            CharPredictEnv(), CartPoleNoVelEnv(), CartPoleFlickerEnv(), SinePredictEnv()]


def experiment(directory: Path) -> float:
    result: RunResult = run(RunConfig(env="rooms", agent="q", steps=200, seed=1, run_dir=directory))
    code: int = result.code
    return float(result.summary["eval"]["return_mean"]) + code


def statistics(scores: list[float], other: np.ndarray) -> str:
    middle: float = stats.iqm(scores)
    low, high = stats.bootstrap_ci(scores, reps=500)
    p: float = stats.probability_of_improvement(scores, other)
    enough: bool = stats.enough_runs(len(scores))
    summary = stats.summarize({"ours": scores, "theirs": other})
    return f"{middle:.1f} [{low:.1f}, {high:.1f}] p={p:.2f} {enough} " + stats.format_iqm(summary["ours"])
