"""A fake ``benchmarks._common.sweep`` for the stamp tests: it writes what ``train.py --seeds`` writes
(sweep.json; each trial's summary.json with the config a real run of the flags resolves to), trains
nothing, and notes when it "measured" on a clock that ticks at every stamp."""

from __future__ import annotations

import json
from pathlib import Path

from gymlab import provenance, resolved

ROOT = Path(__file__).resolve().parents[1]


def ticking_clock(monkeypatch) -> None:
    """``provenance.now()`` one second later at every call, so that an order of events shows."""
    ticks = iter(range(10_000))
    monkeypatch.setattr(provenance, "now", lambda t=None: f"2026-01-01 {next(ticks):08d}")


def fake_sweep(calls: list):
    import train

    def sweep(flags, seeds, run_dir):
        measured = provenance.now()  # the measurement, after its stamp was taken
        calls.append({"flags": list(flags), "measured": measured})
        args, agent_cls, _ = train.parse(list(flags))
        ident = json.loads(json.dumps(resolved.identity(train.config(args, agent_cls))))
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        trials, summaries = [], []
        for seed in seeds:
            where = run_dir / "trials" / f"defaults__seed{seed}"
            where.mkdir(parents=True)
            summary = {**ident, "seed": seed, "eval": {"return_mean": 0.5}, "env_steps": 300, "wall_time_s": 0.1,
                       "budget": {"steps": 300}, "eval_env_kwargs": {}}
            (where / "summary.json").write_text(json.dumps(summary))
            trials.append({"setting": "defaults", "seed": seed, "status": "finished", "eval_return": 0.5,
                           "error": None, "run_dir": str(where.relative_to(run_dir)), "when": measured, "periodic_eval": [],
                           "config_sha256": provenance.config_hash(summary)})
            summaries.append(summary)
        report = {"trials": trials, "reward_threshold": None,
                  "statistics": {"defaults": {"iqm": 0.5, "iqm_ci": None, "n": len(seeds), "range": [0.5, 0.5],
                                             "mean": 0.5, "median": 0.5}}}
        (run_dir / "sweep.json").write_text(json.dumps(report))
        return report, summaries

    return sweep


def fake_common(monkeypatch):
    """benchmarks/_common with a fake ``sweep`` that counts its calls (``_common.calls``); a real
    sweep fails the test."""
    import pytest

    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import _common

    calls = []
    monkeypatch.setattr(_common, "sweep", fake_sweep(calls))
    monkeypatch.setattr("gymlab.sweep.run_sweep", lambda *a, **k: pytest.fail("a real sweep ran"))
    monkeypatch.setattr(_common, "calls", calls, raising=False)
    return _common
