"""The sweep report's solved fraction checked by value at the edge (issue 22): a score exactly at the
env's reward threshold solves it (Gymnasium's reward_threshold, and gymlab.stats.solved_fraction)."""

from __future__ import annotations

import json

from gymlab import stats, sweep
from gymlab.experiment import RunConfig


def test_a_score_exactly_at_the_threshold_counts_as_solved(tmp_path):
    """CartPole's threshold is 475: scores 475, 475, 474.9 and 500 solve it 3 times in 4."""
    scores = [475.0, 475.0, 474.9, 500.0]
    trials = [{"setting": "defaults", "seed": i, "status": "finished", "eval_return": r, "error": None,
               "run_dir": f"trials/defaults__seed{i}", "periodic_eval": []} for i, r in enumerate(scores)]
    cfg = sweep.SweepConfig(RunConfig(env="CartPole-v1", agent="dqn", steps=1000), seeds=[0, 1, 2, 3], grid={},
                            run_dir=tmp_path)
    sweep.write_report(tmp_path, cfg, trials)
    out = json.loads((tmp_path / "sweep.json").read_text())
    assert out["reward_threshold"] == 475
    assert out["statistics"]["defaults"]["solved_fraction"] == 0.75
    assert "| 75% |" in (tmp_path / "report.md").read_text()
    assert stats.solved_fraction(scores, 475) == 0.75
