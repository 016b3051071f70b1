"""benchmarks/sine_vs_lecture.py and benchmarks/cosine_seeds.py on held-out seeds (issue 24): the harness
with the training faked (its figures checked against values worked out by hand), never a real run."""

import json
import subprocess

real_run = subprocess.run

import pytest
from benchmark_module import load_benchmark



def _sequence():
    from benchmarks.rendering import sequence

    return sequence

THRESHOLD = 1e-5


def _curve(reach_at):
    """A curve over 3 LBFGS steps of 1 s each, under the threshold from step ``reach_at`` (None: never)."""
    return [{"step": k, "train_s": float(k), "loss_evaluations": 2 * k,
             "test_mse": 5e-6 if reach_at is not None and k >= reach_at else 1e-3, "lecture_test_mse": 1e-3}
            for k in range(1, 4)]


@pytest.fixture
def faked(monkeypatch):
    """The sine benchmark with its training faked: each call recorded in order as (run, seed)."""
    bench = load_benchmark("sine_vs_lecture")
    calls = []
    # ours (the last row) reaches the threshold at steps 1, 2, 3 and never on the 4th seed; the lecture's only on
    # the first seed, at step 3
    ours_at = {1000: 1, 1001: 2, 1002: 3, 1003: None}

    def lecture(data, cfg, seed):
        calls.append(("lecture", seed))
        return {"curve": _curve(3 if seed == 1000 else None), "forecast_mse": 1.0, "lecture_forecast_mse": 1.0}

    def command(extra, cfg, seed):
        calls.append((" ".join(extra), seed))
        return {"curve": _curve(ours_at.get(seed, 1)), "forecast_mse": 2.0, "lecture_forecast_mse": 2.0,
                "command_wall_s": 4.0}

    monkeypatch.setattr(bench, "run_lecture", lecture)
    monkeypatch.setattr(bench, "run_command", command)
    monkeypatch.setattr(bench, "evaluation_costs", lambda data, cfg, seed: ([], {}))
    return bench, calls


def test_the_default_seeds_are_ten_report_seeds():
    bench = load_benchmark("sine_vs_lecture")
    assert bench.parser().parse_args([]).seeds == list(range(1000, 1010))


def test_tuning_seeds_are_refused_in_one_line(faked, tmp_path, capsys):
    bench, calls = faked
    with pytest.raises(SystemExit) as e:
        bench.main(["--quick", "--seeds", "1-3", "--json", str(tmp_path / "s.json")])
    assert e.value.code == 2 and calls == []
    err = capsys.readouterr().err
    assert "tuned on" in err and "1, 2" in err and len(err.strip().splitlines()) == 1


def test_allowed_tuning_seeds_are_marked(faked, tmp_path):
    bench, _ = faked
    bench.main(["--quick", "--seeds", "2-3", "--allow-tuning-seeds", "--json", str(tmp_path / "s.json")])
    d = json.loads((tmp_path / "s.json").read_text())
    assert d["on_tuning_seeds"] is True and d["tuning_seed_overlap"] == [2]


def test_runs_alternate_their_order_seed_by_seed(faked, tmp_path):
    bench, calls = faked
    bench.main(["--quick", "--seeds", "1000-1001", "--json", str(tmp_path / "s.json")])
    first, second = [c[0] for c in calls if c[1] == 1000], [c[0] for c in calls if c[1] == 1001]
    assert first[0] == "lecture" and len(first) == 5 and second == first[::-1]
    assert [c[1] for c in calls] == [1000] * 5 + [1001] * 5


def test_per_seed_values_no_interval_under_ten_and_censored_medians(faked, tmp_path):
    bench, _ = faked
    bench.main(["--quick", "--seeds", "1000-1003", "--json", str(tmp_path / "s.json")])
    d = json.loads((tmp_path / "s.json").read_text())
    assert d["quick"] is True and "busy" in d["speed"] and "load_before" in d["speed"]
    lecture, ours = d["rows"][0], d["rows"][-1]
    assert ours["seeds"] == [1000, 1001, 1002, 1003]
    assert ours["test_mse"]["values"] == [5e-6, 5e-6, 5e-6, 1e-3] and ours["test_mse"]["iqm_ci"] is None
    # to the threshold: ours at 1, 2, 3 s and one run censored -> median over all four of (1, 2, 3, inf) = 2.5
    assert ours["to_threshold"]["median_wall_s"] == 2.5 and ours["to_threshold"]["censored"] == 1
    # the lecture's: one of four reached -> the median is beyond the budget
    assert lecture["to_threshold"]["median_wall_s"] is None and lecture["to_threshold"]["reached"] == 1
    assert all(r["runs"][0]["seed"] == 1000 for r in d["rows"])


def test_an_interval_from_ten_seeds(faked, tmp_path):
    bench, _ = faked
    bench.main(["--quick", "--seeds", "1000-1009", "--json", str(tmp_path / "s.json")])
    ours = json.loads((tmp_path / "s.json").read_text())["rows"][-1]
    assert ours["test_mse"]["n"] == 10 and ours["test_mse"]["iqm_ci"] is not None


# -- the rendered block ------------------------------------------------------------------------------

def _stored(tmp_path, faked, seeds, quick):
    bench, _ = faked
    path = tmp_path / "s.json"
    bench.main(["--quick", "--seeds", seeds, "--json", str(path)])
    d = json.loads(path.read_text())
    if not quick:  # as a full run stores it
        d["quick"] = False
        for r in d["rows"]:
            r["quick"] = False
    return d


def test_the_sine_block_is_pending_until_a_full_run_is_stored(faked, tmp_path):
    assert "run `python benchmarks/sine_vs_lecture.py`" in _sequence().sine({})
    assert "run `python benchmarks/sine_vs_lecture.py`" in _sequence().sine(_stored(tmp_path, faked, "1000-1003", True))


def test_the_sine_block_gives_every_seed_below_ten_and_counts_censored_runs(faked, tmp_path):
    text = _sequence().sine(_stored(tmp_path, faked, "1000-1003", False))
    assert "n = 4" in text and "1000-1003" in text
    assert "2.5 s" in text and "3 of 4 reached" in text and "1 of 4 reached" in text
    assert "busy" in text or "idle" in text


def test_the_sine_block_gives_an_interval_from_ten(faked, tmp_path):
    text = _sequence().sine(_stored(tmp_path, faked, "1000-1009", False))
    assert "n = 10" not in text and "5e-06 [" in text


# -- cosine ------------------------------------------------------------------------------------------

@pytest.fixture
def cosine(monkeypatch, tmp_path):
    bench = load_benchmark("cosine_seeds")
    seen = []

    def child(args, **kw):
        if "--run-dir" not in args:  # (the stamp's own: git, uname)
            return real_run(args, **kw)
        seed = int(args[args.index("--seed") + 1])
        seen.append(seed)
        run_dir = args[args.index("--run-dir") + 1]
        s = {"val_mse": seed / 1e4, "best_mse": 1e-4, "worst_mse": 1.0, "wall_time_s": 3.0, "waves_seen": 64}
        (tmp_path.joinpath(run_dir) / "summary.json").write_text(json.dumps(s))
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(bench.subprocess, "run", child)
    return bench, seen


def test_cosine_defaults_to_ten_report_seeds_and_refuses_tuning_seeds(cosine, tmp_path, capsys):
    bench, seen = cosine
    assert bench.parser().parse_args([]).seeds == list(range(1000, 1010))
    with pytest.raises(SystemExit) as e:
        bench.main(["--quick", "--seeds", "0-1", "--json", str(tmp_path / "c.json")])
    assert e.value.code == 2 and seen == [] and "tuned on" in capsys.readouterr().err


def test_cosine_reports_every_seed_and_the_range_below_ten(cosine, tmp_path):
    bench, seen = cosine
    bench.main(["--quick", "--seeds", "1000-1002", "--json", str(tmp_path / "c.json")])
    d = json.loads((tmp_path / "c.json").read_text())
    assert seen == [1000, 1001, 1002]
    row = d["rows"][0]
    assert row["val_mse"]["values"] == [0.1, 0.1001, 0.1002] and row["val_mse"]["iqm_ci"] is None
    assert row["val_mse"]["range"] == [0.1, 0.1002] and d["quick"] is True
    assert "pending" not in _sequence().cosine({}) and "cosine_seeds.py" in _sequence().cosine(d)
    d["quick"] = row["quick"] = False
    assert "n = 3" in _sequence().cosine(d) and "0.1001" in _sequence().cosine(d)


# -- benchmarks/heldout.py for the sequence recipes ---------------------------------------------------

def test_label_task_uses_the_recipes_record():
    from benchmarks import heldout

    assert heldout.label_task("sine", [3, 1000]) == {"on_tuning_seeds": False}  # sine: tuned on 0-2
    assert heldout.label_task("cosine", [3, 1000], allow=True) == {"on_tuning_seeds": True,
                                                                   "tuning_seed_overlap": [3]}  # not recorded


def test_findings_read_a_rows_task_and_seeds():
    from benchmarks import heldout

    rows = [{"task": "sine", "seeds": [1, 1000], "figures": [1e-5, 1e-5], "command": "python benchmarks/x.py"},
            {"task": "cosine", "seeds": [1000, 1001], "figures": [0.1, 0.1], "command": "python benchmarks/x.py"}]
    assert heldout.findings({"rows": rows}) == (["row 0: seeds [1] of sine"], [])
