"""Every random stream of a run is its own: seeds 0..9, each with 4 training sub-envs, a
periodic and a final evaluation, share no env reset seed and no first draw, and the agent's
numpy stream is not an env's (issue 22, "Seeds that are really different")."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from gymlab import agents
from gymlab.experiment import RunConfig, run

ID = "gymlab-test/SeedRecorder-v0"
RESETS = []  # (the env instance, its reset seed, the first draw of its np_random after that reset)


class SeedRecorder(gym.Env):
    """Two steps an episode; every seeded reset is written down, with the stream it starts."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            RESETS.append((id(self), seed, float(self.np_random.random())))
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(1, np.float32), 0.0, self.t >= 2, False, {}


if ID not in gym.registry:
    gym.register(ID, entry_point=SeedRecorder)

@pytest.fixture(autouse=True)
def no_figures(monkeypatch):  # the learning curve's drawing is most of a tiny run's time, and not under test
    from gymlab.agents import plots

    monkeypatch.setattr(plots, "learning_curve", lambda *args, **kwargs: None)


OVERRIDES = {"num_envs": 4, "hidden": (4,), "learning_starts": 0, "batch_size": 2, "buffer_size": 64}


def streams_of_a_run(seed: int, run_dir) -> dict:
    """{env instance: {reset seed: first draw}} over a whole run (4 sub-envs, the periodic
    evaluation's env, which repeats its episodes each time by design, and the final one's)."""
    RESETS.clear()
    result = run(RunConfig(env=ID, agent="dqn", overrides=OVERRIDES, seed=seed, steps=8, eval_every=4,
                           eval_episodes=10, run_dir=run_dir, progress=False))
    assert result.code == 0
    by_env = {}
    for env, reset_seed, draw in RESETS:
        by_env.setdefault(env, {})[reset_seed] = draw
    return by_env


def test_no_two_streams_of_ten_seeds_share_a_reset_seed_or_a_first_draw(tmp_path):
    seeds_of, draws_of = {}, {}  # stream name -> its reset seeds, its first draws
    for seed in range(10):
        by_env = streams_of_a_run(seed, tmp_path / f"seed{seed}")
        assert sorted(len(v) for v in by_env.values()) == [1, 1, 1, 1, 5, 10]  # 4 sub-envs, 5 + 10 evaluation episodes
        for k, resets in enumerate(by_env.values()):
            seeds_of[f"seed {seed} env {k}"] = list(resets)
            draws_of[f"seed {seed} env {k}"] = list(resets.values())
        agent = agents.get("dqn")(SeedRecorder.observation_space, SeedRecorder.action_space,
                                  config=agents.get("dqn").Config(**OVERRIDES), seed=seed)
        seeds_of[f"seed {seed} torch"] = [torch.initial_seed()]
        draws_of[f"seed {seed} agent"] = [float(agent.rng.random())]
    for what, streams in (("reset seed", seeds_of), ("first draw", draws_of)):
        shared = [(a, b) for (a, xs), (b, ys) in itertools.combinations(streams.items(), 2) if set(xs) & set(ys)]
        assert not shared, f"{len(shared)} pairs of streams share a {what}, e.g. {shared[:3]}"
        values = [x for xs in streams.values() for x in xs]
        assert len(values) == len(set(values)), f"a stream repeats a {what} within itself"


def test_the_agents_stream_is_not_the_envs():
    """The agent's first draws are not those of an env reset with the run's seed (the old
    ``default_rng(seed)`` on both sides: a CartPole's start state was the agent's first draws)."""
    from gymnasium.utils import seeding

    for name in ("q", "dqn", "reinforce"):
        env = gym.make("FrozenLake-v1" if name == "q" else "CartPole-v1")
        for seed in (0, 1, 7):
            agent = agents.get(name)(env.observation_space, env.action_space, seed=seed)
            env_stream = seeding.np_random(seed)[0]  # what env.reset(seed=seed) draws from
            assert agent.rng.random(4).tolist() != env_stream.random(4).tolist(), (name, seed)


def test_pong_courts_get_the_runs_own_seeds(tmp_path, monkeypatch):
    """The Pong vector env (its own vector entry point) is reset with one seed a court from the
    run's training-env stream, not with one int that it would spread as seed + i."""
    from gymlab.agents import seeding
    from gymlab.envs import pong_vector

    given, reset = [], pong_vector.PongVectorEnv.reset

    def recording_reset(self, *, seed=None, options=None):
        given.append(seed)
        return reset(self, seed=seed, options=options)

    monkeypatch.setattr(pong_vector.PongVectorEnv, "reset", recording_reset)
    result = run(RunConfig(env="pong", agent="dqn", overrides=OVERRIDES, seed=5, steps=8, eval_every=0,
                           eval_episodes=0, run_dir=tmp_path, progress=False))
    assert result.code == 0
    assert given[0] == seeding.env_seeds(5, 4) and not set(given[0]) & set(seeding.env_seeds(6, 4))
