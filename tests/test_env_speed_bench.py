"""benchmarks/env_speed.py follows the speed protocol (benchmarks/_speed.py), on fabricated rates:
at least 5 interleaved rounds, per case the median and the median and min-max of its per-round
ratios to CartPole in the same round, every row stamped, a busy start marked."""

import json
from itertools import count

import pytest
from benchmark_module import load_benchmark

from benchmarks import _speed


@pytest.fixture
def bench(monkeypatch):
    module = load_benchmark("env_speed")
    calls = count()
    # a single Pong's rate in round r: r + 1; a single CartPole's: 100 times the single envs' call count
    rounds = {}

    def single(env_id, kwargs, steps):
        key = (env_id, kwargs.get("obs_type"), 1)
        rounds[key], call = rounds.get(key, -1) + 1, next(calls)
        return 100.0 * (call + 1) if env_id == "CartPole-v1" else float(rounds[key] + 1)

    monkeypatch.setattr(module, "single_rate", single)
    monkeypatch.setattr(module, "vector_rate", lambda env_id, kwargs, n, steps: 1000.0 if env_id == "CartPole-v1"
                        else 2000.0)
    return module


def test_rows_carry_per_round_ratios_and_the_busy_flag(five_fabricated_rounds, bench, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(_speed, "load", lambda: [0.9, 0.5, 0.5])
    path = tmp_path / "env.json"
    bench.main(["--json", str(path)])
    report = json.loads(path.read_text())
    assert report["busy"] is True and report["rounds"] == 5 and report["load_after"] == [0.9, 0.5, 0.5]
    rows = {r["case"]: r for r in report["rows"]}
    n16 = rows["Pong features, N=16"]
    assert n16["env_steps_per_s_per_round"] == [2000.0] * 5 and n16["vs_ref"]["per_round"] == [2.0] * 5
    assert n16["vs_ref"]["ref"] == "CartPole-v1 vector env N=16"
    single = rows["Pong features, single"]
    assert single["env_steps_per_s_per_round"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    ref = single["ref_env_steps_per_s_per_round"]
    # its place among the 3 single envs alternates: 1st, 3rd, 1st, 3rd, 1st (in order: 100, 400, 700, ...)
    assert ref == [100.0, 600.0, 700.0, 1200.0, 1300.0]
    ratios = [a / b for a, b in zip(single["env_steps_per_s_per_round"], ref)]
    assert single["vs_ref"]["median"] == pytest.approx(sorted(ratios)[2])
    assert (single["vs_ref"]["min"], single["vs_ref"]["max"]) == pytest.approx((min(ratios), max(ratios)))
    assert single["passed"] is (single["vs_ref"]["median"] >= single["threshold"])
    for r in rows.values():
        assert r["commit"] and r["when"] and r["machine"]["cpu"] and r["busy"] is True and r["quick"] is False
    assert "busy" in capsys.readouterr().err


def test_fewer_than_five_rounds_are_refused_without_quick(bench, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--rounds", "3", "--json", "/dev/null"])
    assert exit_.value.code == 2 and "--quick" in capsys.readouterr().err
