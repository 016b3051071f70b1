"""Issue 24, "stamped when measured": a sweep's ``sweep.json`` carries the stamp taken at its start
(commit, the command as typed, time, machine, load) and each trial its own ``when`` and the sha256
of its resolved config; that hash is what ``gymlab.resolved.identity`` gives without training, so
a sweep read back can be checked against the config it would resolve to now. No Ray cluster."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from gymlab import provenance, resolved, sweep
from gymlab.experiment import RunConfig

import train

FLAGS = ["--env", "CliffWalking-v1", "--agent", "q", "--steps", "300", "--max-episode-steps", "100",
         "--eval-every", "0", "--eval-episodes", "1", "--no-progress"]


def _identity(argv):
    args, agent_cls, _ = train.parse(argv)
    return resolved.identity(train.config(args, agent_cls))


@pytest.mark.parametrize("extra", [[], ["--gamma", "0.5", "--exploration-fraction", "0.25"]])
def test_a_runs_summary_hashes_as_its_config_resolved_without_training(tmp_path, extra):
    """The one rule: what ``resolved.identity`` says (no env, no agent made) is what the run wrote."""
    argv = FLAGS + extra
    assert train.main(argv + ["--run-dir", str(tmp_path / "r")]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    ident = _identity(argv)
    assert {k: summary[k] for k in provenance.IDENTITY_KEYS} == json.loads(json.dumps(ident))
    assert provenance.config_hash(summary) == provenance.config_hash(ident)
    if extra:
        assert summary["config"]["gamma"] == 0.5 and summary["config"]["exploration_fraction"] == 0.25


def test_the_hash_changes_with_any_value_and_not_with_key_order():
    ident = _identity(FLAGS)
    same = {k: ident[k] for k in reversed(provenance.IDENTITY_KEYS)}
    assert provenance.config_hash(same) == provenance.config_hash(ident)
    other = {**ident, "config": {**ident["config"], "gamma": ident["config"]["gamma"] / 2}}
    assert provenance.config_hash(other) != provenance.config_hash(ident)
    # by hand: sha256 of the canonical JSON
    import hashlib

    text = json.dumps({k: ident[k] for k in sorted(ident)}, sort_keys=True, separators=(",", ":"))
    assert provenance.config_hash(ident) == hashlib.sha256(text.encode()).hexdigest()


def test_the_sweep_is_stamped_with_the_command_as_typed(tmp_path, monkeypatch):
    pytest.importorskip("ray.tune", reason="the sweep extra (ray[tune]) is not installed")
    seen = []
    monkeypatch.setattr(sweep, "run_sweep", lambda cfg, restore=False: seen.append(cfg) or 0)
    argv = FLAGS + ["--seeds", "1000-1001", "--run-dir", str(tmp_path / "s"), "--grid", "gamma=0.9,0.5"]
    assert train.main(argv) == 0
    assert seen[0].command == "python train.py " + shlex.join(argv)


def test_sweep_json_carries_the_stamp_taken_at_the_start_and_keeps_it_through_a_restore(tmp_path):
    base = RunConfig(env="CliffWalking-v1", agent="q", steps=300)
    stamp = provenance.provenance("python train.py --seeds 2")
    cfg = sweep.SweepConfig(base, [0, 1], {}, tmp_path, stamp=stamp)
    sweep._write_json(tmp_path / sweep.SPEC_FILE, sweep.spec_of(cfg))
    restored = sweep.load_spec(tmp_path)
    assert restored.stamp == stamp  # a restored sweep reports the stamp of its start
    trials = [{"setting": "defaults", "seed": s, "status": "finished", "eval_return": -13.0, "error": None,
               "run_dir": f"trials/defaults__seed{s}", "periodic_eval": [], "when": stamp["when"],
               "config_sha256": "0" * 64} for s in (0, 1)]
    sweep.write_report(tmp_path, restored, trials)
    out = json.loads((tmp_path / "sweep.json").read_text())
    assert {k: out[k] for k in stamp} == stamp  # at the top, as every results file has it: a copy is stamped
    assert out["machine"]["cpu"] and out["machine"]["cores"] and out["command"] == "python train.py --seeds 2"


def test_each_trial_gets_its_own_when_and_its_config_hash(tmp_path):
    """``_collect``: the time the trial reported when its measurement began, the hash of its summary."""
    base = RunConfig(env="CliffWalking-v1", agent="q", steps=300, max_episode_steps=100, eval_every=0,
                     eval_episodes=1, progress=False)
    cfg = sweep.SweepConfig(base, [0, 1], {}, tmp_path)
    results = []
    for seed, when in ((0, "2026-01-02 03:04:05"), (1, "2026-01-02 03:09:00")):
        where = sweep.trial_dir(tmp_path, "defaults", seed)
        assert train.main(FLAGS + ["--seed", str(seed), "--run-dir", str(where)]) == 0
        results.append(SimpleNamespace(config={"setting": "defaults", "seed": seed}, error=None,
                                       metrics={"when": when, "final": True}))
    trials = sweep._collect(results, tmp_path, cfg)
    assert [t["when"] for t in trials] == ["2026-01-02 03:04:05", "2026-01-02 03:09:00"]
    expected = provenance.config_hash(_identity(FLAGS))
    assert [t["config_sha256"] for t in trials] == [expected, expected]


def test_a_trial_reports_when_its_measurement_began(tmp_path, monkeypatch):
    pytest.importorskip("ray.tune", reason="the sweep extra (ray[tune]) is not installed")
    from ray import tune

    seen = []
    monkeypatch.setattr(tune, "report", lambda metrics, **kw: seen.append(metrics))
    base = RunConfig(env="CliffWalking-v1", agent="q", steps=300, max_episode_steps=100, eval_every=0,
                     eval_episodes=1, progress=False)
    before = provenance.now()
    sweep._trial({**sweep.trial_config(sweep.SweepConfig(base, [0], {}, tmp_path)), "setting": "defaults", "seed": 0})
    after = provenance.now()
    assert seen[-1]["final"] and before <= seen[-1]["when"] <= after


def test_stamps_need_no_torch():
    import subprocess

    code = "import sys, gymlab.provenance as p; p.provenance('x'); assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1]).returncode == 0
