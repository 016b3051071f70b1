"""Issue 27's review of pixel REINFORCE's waiting courts: the curriculum changes the opponent only
between batches, and a time-limit cut never enters a batch."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from gymlab import envs  # noqa: F401
from gymlab.agents import point_batches as pb
from gymlab.agents.base import Budget
from gymlab.agents.logger import RunLogger
from gymlab.agents.reinforce import Reinforce, ReinforceConfig
from gymlab.envs.pong_vector import PongVectorEnv


def _agent(max_steps, curriculum_start=1.0):
    env = gym.make("gymlab/Pong-v0", obs_type="pixels", max_episode_steps=max_steps)
    cfg = ReinforceConfig(policy="mlp", hidden=(8,), frame_diff=True, point_returns=True, round_batches=True,
                          batch_episodes=16, num_envs=4, curriculum_start=curriculum_start)
    return env, Reinforce(env.observation_space, env.action_space, cfg, seed=1)


def _play(env, agent, steps, on_batch=lambda batch: None):
    logger = RunLogger(progress=False)
    for batch in agent.episode_batches(env, Budget(steps=steps), logger, agent.pi, agent._sample,
                                       version=lambda: agent.updates, rounds=True):
        on_batch(batch)
        agent.update(batch)
    return logger


def test_the_curriculum_changes_the_opponent_only_between_batches(monkeypatch):
    monkeypatch.setattr(pb.Curriculum, "WINDOW", 5)
    monkeypatch.setattr(pb.Curriculum, "WIN_RATE", 0.0)  # a rise every 5 points: often mid-batch if it can be
    changes = []
    set_difficulty = PongVectorEnv.set_difficulty

    def spy(self, difficulty):
        rollout = getattr(agent, "rollout", None)
        if rollout is not None:  # (the first call: the curriculum's start, before any play)
            taken = sum(len(t) for t in rollout.taken)
            under_way = sum(1 for e in rollout.running.values() if e.obs)
            changes.append((difficulty, taken, under_way))
        set_difficulty(self, difficulty)

    monkeypatch.setattr(PongVectorEnv, "set_difficulty", spy)
    env, agent = _agent(10_000, curriculum_start=0.0)
    _play(env, agent, 2500)
    assert len(changes) >= 2, changes  # the opponent rose
    assert all(taken == 0 and under_way == 0 for _, taken, under_way in changes), changes


def test_a_time_limit_cut_is_logged_and_spent_but_never_enters_a_batch():
    env, agent = _agent(60)  # a game cut every 60 steps: most cuts fall inside a point
    units = []
    logger = _play(env, agent, 2000, lambda batch: units.extend(batch))
    assert units and all(e.rewards[-1] != 0 for e in units), [len(e.rewards) for e in units if e.rewards[-1] == 0]
    assert logger.episodes >= 2000 // 60 - 4  # the cut games are counted as episodes all the same


def test_no_point_under_way_crosses_an_update(monkeypatch):
    """Each court's steps, with the weights' version that chose each action (read from the rollout as
    it acts, not from keep_outputs): every step of a point is chosen by its first step's version."""
    run = pb.WaitingSteps.run
    steps = []  # (court, version, reward, done) in play order

    def spy_run(self, act, budget, logger):
        for batch in run(self, act, budget, logger):
            version = agent.rollout.chosen_by  # the version that chose this step's actions
            steps.extend((i, version, t.reward, t.terminated or t.truncated) for i, t in batch)
            yield batch

    monkeypatch.setattr(pb.WaitingSteps, "run", spy_run)
    env, agent = _agent(10_000)
    _play(env, agent, 3000)
    first = {}  # court -> the version of its point's first step
    points = 0
    for i, version, reward, done in steps:
        first.setdefault(i, version)
        assert version == first[i], f"court {i}: a point begun by version {first[i]} played on by {version}"
        if reward != 0 or done:
            del first[i]
            points += 1
    assert points >= 32 and len({v for _, v, _, _ in steps}) >= 3  # several updates, many points
