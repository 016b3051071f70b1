"""benchmarks/recurrent_speed.py runs end to end on tiny budgets (its runs in this process): both
rows come out, stamped, marked quick, with the gradient steps the budget asks for."""

import json

from benchmark_module import load_benchmark


def test_quick_run_writes_both_rows(monkeypatch, tmp_path, capsys):
    bench = load_benchmark("recurrent_speed")
    monkeypatch.setattr(bench, "QUICK_STEPS", 160)
    monkeypatch.setattr(bench, "QUICK_STARTS", 120)
    path = tmp_path / "r.json"
    assert bench.main(["--quick", "--json", str(path)], runner=bench.measure) == 0
    report = json.loads(path.read_text())
    rows = {r["key"]: r for r in report["rows"]}
    assert set(rows) == set(bench.ROWS) and report["quick"] is True
    for r in rows.values():
        assert r["commit"] and r["machine"]["cpu"] and r["rounds"] == 1 and "--threads 1" in r["command"]
        assert r["gradient_steps"] == [10]  # (160 - 120) steps, one gradient step every 4
        assert "--learning-starts 120" in r["command"] and r["env_steps_per_s_median"] > 0
    assert "--seq-len 80 --burn-in 40" in rows["entry, R2D2 sequences"]["command"]
    assert "NOT a speed figure" in capsys.readouterr().out
