"""A sweep directory that cannot be read back is set aside, never overwritten: not even when two
are set aside within the same second (the name had only the second in it, and the second
rename failed or replaced the first)."""

from __future__ import annotations

import json

from benchmarks import _common


def test_two_sweeps_set_aside_in_one_second_are_both_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(_common.time, "strftime", lambda fmt, *a: "20260102-030405")  # one second, frozen
    runs = []

    def fake_sweep(flags, seeds, where):
        where.mkdir(parents=True, exist_ok=True)
        (where / "sweep.json").write_text(json.dumps({"trials": [], "n": len(runs)}))
        runs.append(where)
        return {"trials": []}, []

    monkeypatch.setattr(_common, "sweep", fake_sweep)
    monkeypatch.setattr(_common, "measured_configs", lambda report, summaries: [])
    where = tmp_path / "row"
    where.mkdir()
    (where / "mine.txt").write_text("first")
    flags = ["--env", "CliffWalking-v1", "--agent", "q"]
    _common.measured_sweep(flags, [1000], where)
    _common.measured_sweep(flags, [1001], where)  # other seeds: not read back, set aside again
    _common.measured_sweep(flags, [1002], where)
    aside = sorted(p.name for p in tmp_path.iterdir() if p.name != "row")
    assert len(aside) == 3, aside
    kept = [(tmp_path / name) for name in aside]
    assert any((p / "mine.txt").is_file() for p in kept)
    assert sorted(json.loads((p / "sweep.json").read_text())["n"] for p in kept if (p / "sweep.json").is_file()) == [0, 1]
