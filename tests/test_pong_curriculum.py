"""The curriculum over the opponent's difficulty (issue 27): the training courts start easier and
the opponent rises as the agent wins points; the evaluations always meet the env's own opponent."""

from __future__ import annotations

import numpy as np
import pytest

from gymlab import envs  # noqa: F401
from gymlab.agents.point_batches import Curriculum
from gymlab.envs import pong_engine as E
from gymlab.envs.pong_vector import PongVectorEnv


def _opponent(venv):
    s = venv.unwrapped._s
    return s[:, E.OPP_SPEED], s[:, E.OPP_REACH], s[:, E.OPP_AIM]


def _expect(venv, difficulty):  # the engine's own formula, by hand: speed, reach, aim
    speed, reach, aim = 0.008 + 0.017 * difficulty, 0.35 + 0.5 * difficulty, 0.3 + 0.5 * difficulty
    for got, want in zip(_opponent(venv), (speed, reach, aim)):
        np.testing.assert_allclose(got, want)


def test_the_opponent_starts_easier_and_rises_as_the_agent_wins_half_the_points():
    venv = PongVectorEnv(num_envs=3)  # the env's own difficulty: 0.5
    venv.reset(seed=0)
    curriculum = Curriculum(venv, 0.2)
    _expect(venv, 0.2)
    for _ in range(100):  # 49 won of 100: not yet
        curriculum.point(len(curriculum.recent) < 49)
    curriculum.apply()
    _expect(venv, 0.2)
    for k in range(100):  # 50 won of 100: one step up
        curriculum.point(k % 2 == 0)
    _expect(venv, 0.2)  # the courts meet the new level only at apply() (at the update)
    curriculum.apply()
    _expect(venv, 0.3)
    for _ in range(1000):  # all won: up to the env's own, never past it
        curriculum.point(True)
    assert curriculum.level == 0.5
    curriculum.apply()
    _expect(venv, 0.5)


def test_a_court_plays_the_easier_opponent():
    """At difficulty 0 the opponent moves at most 0.008 a step; at the default, 0.0165."""
    moves = {}
    for difficulty in (0.0, 0.5):
        venv = PongVectorEnv(num_envs=4)
        venv.reset(seed=1)
        venv.set_difficulty(difficulty)
        ys = []
        for _ in range(300):
            venv.step(np.zeros(4, np.int64))
            ys.append(venv._s[:, E.OY].copy())
        moves[difficulty] = np.abs(np.diff(ys, axis=0)).max()
    assert moves[0.0] <= 0.008 + 1e-12 < moves[0.5]


def test_training_meets_the_easier_opponent_and_evaluation_the_env_s(tmp_path, monkeypatch):
    import train
    from gymlab.agents import point_batches, rollout

    seen = {"train": set(), "eval": set()}
    point = point_batches.Curriculum.point

    def spy_point(self, won, logger=None):
        seen["train"].add(round(float(self.engine._s[0, E.OPP_SPEED]), 6))
        return point(self, True, logger)  # every point counted as won: the opponent rises as fast as it can

    evaluate = rollout.evaluate

    def spy_evaluate(agent, env, episodes, seed):
        seen["eval"].add(round(float(env.unwrapped._s[0, E.OPP_SPEED]), 6))
        return evaluate(agent, env, episodes, seed)

    monkeypatch.setattr(point_batches.Curriculum, "point", spy_point)
    monkeypatch.setattr(point_batches.Curriculum, "WINDOW", 4)
    monkeypatch.setattr(rollout, "evaluate", spy_evaluate)  # (gymlab.experiment imports it when it runs)
    code = train.main(["--env", "pong-pixels", "--agent", "reinforce", "--policy", "mlp", "--hidden", "8",
                       "--point-returns", "--round-batches", "--num-envs", "2", "--batch-episodes", "2",
                       "--curriculum-start", "0", "--steps", "1500", "--eval-every", "500", "--eval-episodes", "1",
                       "--env-kwargs", "points_to_win=2", "--max-episode-steps", "300", "--no-progress",
                       "--run-dir", str(tmp_path / "run")])
    assert code == 0
    default = round(0.008 + 0.017 * 0.5, 6)
    assert round(0.008, 6) in seen["train"] and len(seen["train"]) >= 2  # began at 0 and rose
    assert max(seen["train"]) <= default  # to the env's own at most
    assert seen["eval"] == {default}  # every evaluation met the env's own opponent


def test_the_curriculum_needs_round_batches_on_courts():
    from gymlab.agents.reinforce import ReinforceConfig

    with pytest.raises(ValueError, match="--curriculum-start"):
        ReinforceConfig(curriculum_start=0.0)
    ReinforceConfig(curriculum_start=0.0, point_returns=True, round_batches=True, num_envs=4)
