"""``--resume`` with ``--curriculum-start`` (issue 27's review): a run stopped while the training
courts' opponent is above its start, resumed, ends as the run left alone, so the resume restores the
curriculum's level and the courts' opponent with it."""

from __future__ import annotations

import pytest

from gymlab.agents import point_batches
from test_resume import COMMON, assert_same, run, stop_at

FLAGS = ["--env", "pong-pixels", "--agent", "reinforce", "--policy", "mlp", "--hidden", "8", "--point-returns",
         "--round-batches", "--num-envs", "4", "--batch-episodes", "8", "--steps", "2000", "--eval-every", "1000",
         "--env-kwargs", "points_to_win=2", "--max-episode-steps", "300", "--curriculum-start", "0"]


def test_stopped_with_the_opponent_risen_and_resumed_ends_as_left_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(point_batches.Curriculum, "WINDOW", 4)  # a rise every 4 points: 0.5 after 20
    monkeypatch.setattr(point_batches.Curriculum, "WIN_RATE", 0.0)
    levels = []
    apply = point_batches.Curriculum.apply

    def spy_apply(self, logger=None):
        apply(self, logger)
        levels.append(self.engine.difficulty)

    monkeypatch.setattr(point_batches.Curriculum, "apply", spy_apply)
    alone = tmp_path / "alone"
    assert run(FLAGS + COMMON + ["--run-dir", str(alone)]) == 0
    assert levels[0] < 0.5 and 0.5 in levels  # the courts' opponent rose to the env's own during the run
    stopped = tmp_path / "stopped"
    with pytest.MonkeyPatch.context() as stops:
        stop_at(stops, 1200)  # past the batch where the level reached 0.5
        assert run(FLAGS + COMMON + ["--run-dir", str(stopped)]) == 130
    assert run(["--resume", str(stopped), "--no-progress"]) == 0
    assert_same(alone, stopped)
