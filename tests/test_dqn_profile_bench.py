"""benchmarks/dqn_profile.py runs on a tiny CartPole budget (its profiled run in this process): every part
of the learning loop is found in the profile, the parts add up to the loop's time, and the row is stamped
and marked quick; --quick never writes the stored profile."""

import json

import pytest
from benchmark_module import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("dqn_profile")


def test_a_quick_profile_splits_the_loop_into_its_parts(bench, monkeypatch, tmp_path, capsys):
    env, steps, starts, _, _ = bench.TASKS["cartpole"]
    monkeypatch.setitem(bench.TASKS, "cartpole", (env, steps, starts, 300, 150))
    path = tmp_path / "p.json"
    assert bench.main(["--quick", "--only", "cartpole", "--json", str(path)], runner=bench.profile) == 0
    row, = json.loads(path.read_text())["rows"]
    assert row["quick"] and row["commit"] and row["when"] and "--no-double-q" in row["command"]
    parts = row["parts"]
    assert set(parts) == {*bench.PARTS, "update rest (target, loss)", "other (loop, n-step, logging)"}
    for name in ("acting", "env step", "replay store", "replay sample", "update forward", "update backward",
                 "update optimizer"):
        assert parts[name]["s"] > 0, name  # found where the loop calls it
    assert sum(p["s"] for p in parts.values()) == pytest.approx(row["loop_s"], rel=0.02)
    assert row["env_steps"] == 300 and "acting" in capsys.readouterr().out


def test_quick_needs_a_json_path(bench, capsys):
    with pytest.raises(SystemExit) as stop:
        bench.main(["--quick"])
    assert stop.value.code == 2 and "--json" in capsys.readouterr().err
