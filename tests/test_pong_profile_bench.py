"""benchmarks/pong_pixels_profile.py: the time split into parts, each counted once (issue 27)."""

from __future__ import annotations

import cProfile
import json
import pstats
import time

from benchmark_module import load_benchmark

profile_bench = load_benchmark("pong_pixels_profile")


def _busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def inner():
    _busy(0.05)


def outer():  # calls inner: the outermost part takes the nested time, counted once
    _busy(0.05)
    inner()


def rest():
    _busy(0.05)


def everything():
    outer()
    inner()
    rest()


def test_the_parts_add_up_to_the_total_without_counting_nested_time_twice(monkeypatch):
    me = "tests/test_pong_profile_bench.py"
    monkeypatch.setattr(profile_bench, "PARTS", {"a": [(me, "outer")], "b": [(me, "inner")]})
    profiler = cProfile.Profile()
    profiler.runcall(everything)
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    seconds = profile_bench.split(stats, total)
    # a: outer with the inner it calls, 0.1; b: inner called on its own, 0.05; other: rest's 0.05
    assert abs(seconds["a"] - 0.10) < 0.03 and abs(seconds["b"] - 0.05) < 0.02
    assert abs(sum(seconds.values()) - total) < 1e-9 and seconds["other"] >= 0.03


def test_quick_run_writes_stamped_fractions(tmp_path):
    path = tmp_path / "p.json"
    assert profile_bench.main(["--quick", "--json", str(path)]) == 0
    row = json.loads(path.read_text())
    assert row["quick"] is True and row["steps"] == 2000 and "commit" in row
    assert set(row["fractions"]) == {"acting", "env_step", "update", "evaluation", "other"}
    assert abs(sum(row["fractions"].values()) - 1.0) < 1e-6 and row["fractions"]["acting"] > 0
