"""benchmarks/chars_vs_minchar.py reports on held-out seeds and texts by default (issue 24): report
seed 1000, a text ours was not tuned on (``sequence_tasks/tuned_on.py``), and the fixed-window LM's
rows beside min-char-rnn and ours on the same splits; a tuned text is refused unless allowed, then
marked. Training is faked (tests/test_bench_row_stamps.py's ``fake_chars_bench``)."""

import json

from benchmark_module import load_benchmark
from stamps_helpers import ticking_clock
from test_bench_row_stamps import fake_chars_bench

from benchmarks import heldout


def run(tmp_path, monkeypatch, *flags):
    bench = load_benchmark("chars_vs_minchar")
    ticking_clock(monkeypatch)
    fake_chars_bench(bench, monkeypatch, {})
    code = bench.main(["--seconds", "1", "--json", str(tmp_path / "out.json"), "--work-dir", str(tmp_path), *flags])
    return bench, code, (json.loads((tmp_path / "out.json").read_text()) if code == 0 else None)


def test_defaults_are_report_seeds_and_a_held_out_text(tmp_path, monkeypatch):
    bench, code, payload = run(tmp_path, monkeypatch)
    rows = payload["rows"]
    assert {r["seed"] for r in rows} == {1000} and {r["text"] for r in rows} == {"python-docs"}
    held = (tmp_path / "python-docs.txt").read_text()
    assert len(held) == bench.HELD_OUT_CHARS and held != bench.load_text(None)
    assert payload["texts"]["python-docs"]["chars"] == len(held)
    for r in rows[1:]:  # the chars runs read the held-out file, with the report seed
        assert f"--text {tmp_path / 'python-docs.txt'}" in r["command"] and "--seed 1000 " in r["command"]
    on_tuning, _ = heldout.findings(payload)
    assert on_tuning == []


def test_a_tuned_text_is_refused_unless_allowed_and_then_marked(tmp_path, monkeypatch, capsys):
    _, code, _ = run(tmp_path, monkeypatch, "--texts", "sonnets", "--windows", "")
    assert code == 2 and "sonnets" in capsys.readouterr().err
    _, code, payload = run(tmp_path, monkeypatch, "--texts", "sonnets", "--windows", "", "--allow-tuning-texts")
    assert code == 0 and all(r["on_tuning_text"] for r in payload["rows"])
    on_tuning, _ = heldout.findings(payload)
    assert on_tuning  # the convention's own check sees it too (ours' row: no --text, the bundled sonnets)


def test_tuning_seeds_are_refused_unless_allowed(tmp_path, monkeypatch, capsys):
    _, code, _ = run(tmp_path, monkeypatch, "--seeds", "0-1", "--windows", "")
    assert code == 2 and "seeds" in capsys.readouterr().err
