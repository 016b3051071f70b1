"""Issue 24: each benchmark row built from a sweep is stamped with that sweep's own command, as the
sweep begins (not when the file is written, nor when a finished sweep is read back), and a second
run over the same work dir reads every row back with the stamp it was measured with. The sweeps
are fakes (``stamps_helpers``): nothing is trained."""

from __future__ import annotations

import json

import pytest
from benchmark_module import load_benchmark
from stamps_helpers import fake_common, ticking_clock

# (benchmark, its arguments for one small row set)
CASES = [
    ("memory", ["--only", "recall-50"]),
    ("rl_vs_supervised", ["--only", "recall"]),
    ("deep_agents", ["--only", "CliffWalking-v1"]),
    ("untuned_envs", ["--envs", "CliffWalking-v1", "--agents", "q"]),
]


@pytest.fixture
def common(monkeypatch):
    _common = fake_common(monkeypatch)
    ticking_clock(monkeypatch)
    yield _common, _common.calls


@pytest.mark.parametrize("name, args", CASES, ids=[c[0] for c in CASES])
def test_each_sweep_row_is_stamped_with_its_sweep_as_it_begins_and_keeps_it_when_read_back(
        name, args, common, tmp_path, monkeypatch):
    _common, calls = common
    bench = load_benchmark(name)
    if name == "rl_vs_supervised":  # (the no-learning rows need no sweep; their envs are not the point here)
        monkeypatch.setattr(bench, "no_learning_baselines", lambda seed, episodes=100: [
            ("recall", "chance (name any symbol)", 0.25)])
    argv = args + ["--seeds", "2", "--work-dir", str(tmp_path / "work"), "--json", str(tmp_path / "out.json")]
    bench.main(argv)
    rows = json.loads((tmp_path / "out.json").read_text())["rows"]
    swept = [r for r in rows if r.get("statuses")]
    assert len(swept) == len(calls) > 0
    for row, call in zip(swept, calls):
        assert row["command"] == _common.sweep_command(call["flags"], [1000, 1001])  # the row's own command
        assert row["when"] < call["measured"]  # stamped as its measurement began
        assert row["machine"]["cpu"] and row["machine"]["cores"] and row["commit"]
    for row in rows:  # the rows that need no sweep are stamped too
        assert row["command"] and row["when"] and row["machine"]["cores"]
    bench.main(argv)  # again, over the same work dir: every sweep read back
    assert len(calls) == len(swept)
    again = json.loads((tmp_path / "out.json").read_text())["rows"]
    stamp = ("commit", "command", "when", "machine", "load")
    assert [{k: r[k] for k in stamp} for r in again if r.get("statuses")] == \
        [{k: r[k] for k in stamp} for r in swept]
