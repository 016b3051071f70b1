"""Issue 24: the benchmarks that measure in this process (or a child) stamp each row as that
row's measurement begins, not once for the file nor after the numbers are in. Their measurements
are fakes that read the clock (``stamps_helpers.ticking_clock``: one tick a stamp or reading), so
the order shows; nothing is timed or trained."""

from __future__ import annotations

import json
import subprocess

from benchmark_module import load_benchmark
from stamps_helpers import ticking_clock

from gymlab import provenance

real_run = subprocess.run


def fake_chars_bench(bench, monkeypatch, ticks: dict):
    """The chars benchmark with its training faked: each model's run records the clock under its
    row's name (``provenance.now``, one tick a reading) and returns fixed figures."""
    figures = {"train_time_s": 1.0, "chars_per_s": 10.0, "iterations": 3, "best_iteration": 2, "chars_trained": 30,
               "best_chars_trained": 20, **{f"{k}_bits_per_char": 2.0 for k in bench.PARTS}}

    def minchar(vocab, parts, seconds, **kw):
        ticks["min-char-rnn"] = provenance.now()
        return dict(figures)

    def ours(seconds, text, seed=0, model=()):
        ticks["ours" if not model else f"window-{model[model.index('--window') + 1]}"] = provenance.now()
        whole = bench.load_text(text)
        parts = bench.split_parts(whole)
        bounds = [0]
        for k in bench.PARTS:
            bounds.append(bounds[-1] + len(parts[k]))
        return {**figures, "splits": {k: bounds[i:i + 2] for i, k in enumerate(bench.PARTS)}}

    monkeypatch.setattr(bench, "run_minchar", minchar)
    monkeypatch.setattr(bench, "run_ours", ours)


def test_chars_vs_minchar_stamps_each_model_before_training_it(tmp_path, monkeypatch):
    bench = load_benchmark("chars_vs_minchar")
    ticking_clock(monkeypatch)
    ticks = {}
    fake_chars_bench(bench, monkeypatch, ticks)
    bench.main(["--seconds", "1", "--json", str(tmp_path / "out.json"), "--work-dir", str(tmp_path)])
    rows = json.loads((tmp_path / "out.json").read_text())["rows"]
    assert [r["model"] for r in rows] == ["min-char-rnn", "ours", "window-2", "window-4", "window-8", "window-16"]
    for row, after in zip(rows, rows[1:]):
        assert row["when"] < ticks[row["model"]] < after["when"]
    assert rows[1]["command"].startswith("python -m sequence_tasks chars --seconds 1 ")
    assert "--model window --window 16" in rows[-1]["command"]


def test_sine_vs_lecture_stamps_a_command_row_before_running_it(tmp_path, monkeypatch):
    bench = load_benchmark("sine_vs_lecture")
    ticking_clock(monkeypatch)
    ticks = []

    def child(args, **kw):
        if "--run-dir" not in args:  # (the stamp's own: git, uname)
            return real_run(args, **kw)
        ticks.append(provenance.now())
        run_dir = args[args.index("--run-dir") + 1]
        s = {"train_s": [0.5], "loss_evaluations": [3], "test_mse_curve": [1e-3], "lecture_test_mse_curve": [1e-3],
             "test_mse": 1e-3, "forecast_mse": 1e-2, "lecture_forecast_mse": 1e-2, "wall_time_s": 1.0}
        (tmp_path.joinpath(run_dir) / "summary.json").write_text(json.dumps(s))
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(bench.subprocess, "run", child)
    row = bench.run_command(["--float64"], {"sizes": []}, 1000)
    assert row["when"] < ticks[0]
    assert row["command"].startswith("python -m sequence_tasks sine") and row["command"].endswith("--float64")
