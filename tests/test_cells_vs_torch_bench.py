"""benchmarks/cells_vs_torch.py follows the speed protocol (benchmarks/_speed.py), on fabricated
timings: at least 5 interleaved rounds, each row's ratio the median and min-max of the per-round
ratios of the cells' time to the fused modules', every row stamped, a busy start marked."""

import json

import pytest
from benchmark_module import load_benchmark

from benchmarks import _common, _speed


@pytest.fixture
def bench(monkeypatch):
    module = load_benchmark("cells_vs_torch")
    calls = []

    def fake(core, x, repeats):  # the fused modules: 1 ms a pass; the cells: 2, 3, 4, ... ms, by round
        calls.append(core.impl)
        if core.impl == "fused":
            return 1e-3
        return (1 + calls.count("cells")) * 1e-3

    monkeypatch.setattr(module, "pass_time", fake)
    module.calls = calls
    return module


def test_rows_carry_per_round_ratios_stamps_and_the_busy_flag(five_fabricated_rounds, bench, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(_speed, "load", lambda: [0.9, 0.5, 0.5])
    monkeypatch.setattr(_common, "load", lambda: [0.9, 0.5, 0.5])  # the stamps' own reading
    monkeypatch.setattr("gymlab.provenance.load", lambda: [0.9, 0.5, 0.5])
    path = tmp_path / "cells.json"
    assert bench.main(["--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert report["busy"] is True and report["rounds"] == 5 and report["quick"] is False
    assert report["load_before"] == report["load_after"] == [0.9, 0.5, 0.5]
    rows = report["rows"]
    assert [(r["kind"], r["hidden"]) for r in rows] == [(k, s) for k in ("rnn", "lstm", "gru") for s in (32, 128, 512)]
    # each row: one warm-up pass of each, then 5 rounds, fused first in rounds 1, 3, 5
    assert bench.calls[:12] == ["fused", "cells"] + ["fused", "cells", "cells", "fused"] * 2 + ["fused", "cells"]
    first = rows[0]
    assert first["fused_ms_per_round"] == pytest.approx([1.0] * 5)
    assert first["cells_ms_per_round"] == pytest.approx([3.0, 4.0, 5.0, 6.0, 7.0])  # (call 2 was the warm-up)
    assert first["cells_ms_median"] == pytest.approx(5.0) and first["fused_ms_median"] == pytest.approx(1.0)
    vs = first["vs_ref"]
    assert set(vs) == {"ref", "per_round", "median", "min", "max"} and vs["ref"] == "torch fused"
    assert vs["per_round"] == pytest.approx([3.0, 4.0, 5.0, 6.0, 7.0])
    assert (vs["median"], vs["min"], vs["max"]) == pytest.approx((5.0, 3.0, 7.0))
    for r in rows:
        assert r["commit"] and r["command"] and r["when"] and r["machine"]["cpu"] and r["load"] == [0.9, 0.5, 0.5]
        assert r["busy"] is True and r["quick"] is False and r["rounds"] == 5 and r["load_after"] == [0.9, 0.5, 0.5]
        assert "ratio" not in r  # no ratio of medians
    out, err = capsys.readouterr()
    assert "busy" in err and "3.00-7.00" in out


def test_fewer_than_five_rounds_are_refused_without_quick(bench, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--rounds", "3", "--json", "/dev/null"])
    assert exit_.value.code == 2 and "--quick" in capsys.readouterr().err
    assert bench.calls == []  # refused before anything is timed


def test_quick_is_marked_and_not_a_figure(bench, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(_speed, "load", lambda: [0.1, 0.1, 0.1])
    path = tmp_path / "quick.json"
    assert bench.main(["--quick", "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert report["quick"] is True and report["busy"] is False and report["rounds"] < 5
    assert all(r["quick"] is True and len(r["vs_ref"]["per_round"]) == report["rounds"] for r in report["rows"])
    assert "NOT a speed figure" in capsys.readouterr().err


def test_quick_runs_for_real_in_process(monkeypatch, tmp_path):
    """The real timings, at --quick's tiny sizes: it runs end to end (the figures are not looked at)."""
    module = load_benchmark("cells_vs_torch")
    path = tmp_path / "real.json"
    assert module.main(["--quick", "--json", str(path)]) == 0
    rows = json.loads(path.read_text())["rows"]
    assert rows and all(r["vs_ref"]["median"] > 0 and r["commit"] for r in rows)
