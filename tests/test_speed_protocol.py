"""The speed protocol (issue 24, "speed measured alone"): interleaved rounds, the medians and the
min-max of per-round ratios, the busy flag and the refusal of too few rounds, checked on fabricated
timings (no speed is measured here)."""

import json

import pytest
from benchmark_module import load_benchmark

from benchmarks import _speed


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("dqn_speed")


def test_rounds_alternate_the_order_and_keep_each_contestants_results():
    calls = []
    out = _speed.interleave(["a", "b", "c"], 4, lambda name, r: calls.append((r, name)) or f"{name}{r}")
    assert [name for _, name in calls] == list("abc" "cba" "abc" "cba")
    assert out == {"a": ["a0", "a1", "a2", "a3"], "b": ["b0", "b1", "b2", "b3"], "c": ["c0", "c1", "c2", "c3"]}


def test_the_ratio_is_the_median_of_per_round_ratios_not_a_ratio_of_medians():
    mine, ref = [100, 300, 200, 90, 400], [50, 100, 400, 30, 100]  # per round: 2, 3, 0.5, 3, 4
    fields = _speed.speed_fields(mine, ref, "ref")
    assert fields["env_steps_per_s_per_round"] == mine
    assert fields["env_steps_per_s_median"] == 200
    vs = fields["vs_ref"]
    assert vs["ref"] == "ref" and vs["per_round"] == pytest.approx([2, 3, 0.5, 3, 4])
    assert (vs["median"], vs["min"], vs["max"]) == pytest.approx((3, 0.5, 4))
    assert 200 / 100 != vs["median"]  # the ratio of the medians would say 2
    assert _speed.speed_fields(ref, ref, None)["vs_ref"] is None  # the reference row itself


@pytest.mark.parametrize("rounds, quick, refused", [(4, False, True), (1, False, True), (6, False, False),
                                                     (5, False, True), (7, False, True), (8, False, False),
                                                     (1, True, False), (0, True, True)])
def test_fewer_than_five_rounds_or_an_odd_number_are_refused_without_quick(rounds, quick, refused, capsys):
    if refused:
        with pytest.raises(SystemExit) as exit_:
            _speed.check_rounds(rounds, quick)
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "rounds" in err[0]
    else:
        assert _speed.check_rounds(rounds, quick) == rounds


def test_a_busy_start_is_marked_and_a_rise_is_said(monkeypatch, capsys):
    loads = iter([[0.9, 0.7, 0.5], [1.6, 0.9, 0.6]])
    monkeypatch.setattr(_speed, "load", lambda: next(loads))
    _cpu(monkeypatch, [(1000.0, 5.0, 0.0), (1060.0, 65.0, 60.0)])
    state = _speed.start()
    assert {k: v for k, v in state.items() if k != "_clocks"} == {"busy": True, "load_before": [0.9, 0.7, 0.5]}
    assert "busy" in capsys.readouterr().err
    state = _speed.finish(state)
    assert state["load_after"] == [1.6, 0.9, 0.6] and state["busy"] is True
    assert "rose" in capsys.readouterr().err


def test_an_idle_start_is_not_busy(monkeypatch, capsys):
    loads = iter([[0.2, 0.3, 0.4], [0.1, 0.3, 0.4]])
    monkeypatch.setattr(_speed, "load", lambda: next(loads))
    _cpu(monkeypatch, [(1000.0, 5.0, 0.0), (1060.0, 65.0, 60.0)])
    state = _speed.finish(_speed.start())
    assert state == {"busy": False, "load_before": [0.2, 0.3, 0.4], "load_after": [0.1, 0.3, 0.4],
                     "others_cpu_cores": 0.0}
    assert capsys.readouterr().err == ""


def test_wait_idle_waits_until_the_load_falls_or_the_time_is_up(monkeypatch):
    now = [0.0]
    loads = iter([[2.0] * 3, [1.0] * 3, [0.4] * 3, [0.1] * 3])
    monkeypatch.setattr(_speed, "load", lambda: next(loads))
    slept = []
    sleep = lambda s: slept.append(s) or now.__setitem__(0, now[0] + s)  # noqa: E731
    assert _speed.wait_idle(600, sleep=sleep, clock=lambda: now[0]) is True
    assert len(slept) == 2  # 2.0, 1.0, then 0.4 < 0.5
    monkeypatch.setattr(_speed, "load", lambda: [3.0] * 3)
    now[0], slept[:] = 0.0, []
    assert _speed.wait_idle(25, sleep=sleep, clock=lambda: now[0]) is False
    assert sum(slept) <= 25 + _speed.POLL_S


def fake_runner(rates):
    """A runner returning fabricated speeds, in the order the contestants are run."""
    calls = []

    def run(job):
        calls.append(job["contestant"])
        rate = rates[job["contestant"]][sum(c == job["contestant"] for c in calls) - 1]
        return {"env_steps": job["steps"], "env_steps_per_s": rate, "train_time_s": job["steps"] / rate,
                "gradient_steps": 100, "q_weights": 7}
    return run, calls


def test_dqn_speed_rows_carry_the_per_round_figures_and_the_busy_flag(five_fabricated_rounds, bench, monkeypatch, tmp_path, capsys):
    names = [w["contestant"] for w in bench.contestants("cartpole", 100, 10)]
    assert names == ["dqn", "dqn (as sb3)", "sb3-dqn (same)", "sb3-dqn (same, optimize_memory_usage)"]
    rates = {"dqn": [100, 300, 200, 90, 400], "dqn (as sb3)": [10, 20, 30, 40, 50],
             "sb3-dqn (same)": [50, 100, 400, 30, 100], "sb3-dqn (same, optimize_memory_usage)": [50] * 5}
    run, calls = fake_runner(rates)
    monkeypatch.setattr(_speed, "load", lambda: [0.8, 0.5, 0.5])
    path = tmp_path / "speed.json"
    assert bench.main(["--only", "cartpole", "--json", str(path)], runner=run) == 0
    assert calls[:8] == names + names[::-1]
    report = json.loads(path.read_text())
    assert report["busy"] is True and report["load_before"] == [0.8, 0.5, 0.5] and report["quick"] is False
    rows = {r["contestant"]: r for r in report["rows"]}
    assert set(rows) == set(names)
    dqn = rows["dqn"]
    assert dqn["env_steps_per_s_per_round"] == rates["dqn"] and dqn["env_steps_per_s_median"] == 200
    assert dqn["vs_ref"]["ref"] == "sb3-dqn (same)"
    assert (dqn["vs_ref"]["median"], dqn["vs_ref"]["min"], dqn["vs_ref"]["max"]) == pytest.approx((3, 0.5, 4))
    assert rows["sb3-dqn (same)"]["vs_ref"] is None
    for r in rows.values():
        assert r["commit"] and r["when"] and r["machine"]["cpu"] and r["busy"] is True and r["rounds"] == 5
        assert "--threads 1" in r["command"]
    assert "busy" in capsys.readouterr().err


def test_dqn_speed_refuses_fewer_than_five_rounds_without_quick(bench, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--rounds", "3", "--json", "/dev/null"], runner=None)
    assert exit_.value.code == 2 and "--quick" in capsys.readouterr().err


def test_the_memory_saving_sb3_contestant_is_what_sb3_accepts(bench):
    """SB3's ReplayBuffer refuses optimize_memory_usage with handle_timeout_termination (its default),
    and its NStepReplayBuffer refuses optimize_memory_usage at all: that contestant is 1-step."""
    for task in ("cartpole", "pixels"):
        who = {w["contestant"]: w for w in bench.contestants(task, 1000, 100)}
        same, saving = who["sb3-dqn (same)"]["overrides"], who["sb3-dqn (same, optimize_memory_usage)"]["overrides"]
        assert same["n_steps"] == 3 and same["threads"] == 1 and "optimize_memory_usage" not in same
        assert saving == {**same, "optimize_memory_usage": True, "n_steps": 1}


def test_sb3_dqn_optimize_memory_usage_is_a_switch_sb3_accepts():
    """--optimize-memory-usage gives SB3's memory-saving replay (next_obs read from the next slot:
    no next_observations array), with handle_timeout_termination off as SB3 requires; with n-step
    returns it is refused in one line (SB3's NStepReplayBuffer does not support it)."""
    import gymnasium as gym

    from gymlab.agents.sb3_agents import SB3DQN, SB3DQNConfig

    env = gym.make("CartPole-v1")
    plain = SB3DQN(env.observation_space, env.action_space, SB3DQNConfig(buffer_size=1000)).model.replay_buffer
    saving = SB3DQN(env.observation_space, env.action_space,
                    SB3DQNConfig(buffer_size=1000, optimize_memory_usage=True)).model.replay_buffer
    assert (plain.optimize_memory_usage, plain.handle_timeout_termination) == (False, True)
    assert (saving.optimize_memory_usage, saving.handle_timeout_termination) == (True, False)
    assert not hasattr(saving, "next_observations") and plain.next_observations.shape == (1000, 1, 4)
    with pytest.raises(ValueError, match="--n-steps"):
        SB3DQNConfig(optimize_memory_usage=True, n_steps=3)


def test_the_learning_sweep_gives_no_speed_ratio(monkeypatch, tmp_path, capsys):
    """dqn_vs_sb3.py runs two trials at a time: its raw env steps/s stay in ``runs``, but no speed
    ratio is printed or stored as a figure."""
    sweep = load_benchmark("dqn_vs_sb3")

    def measured(flags, seeds, where, *_):
        trials = [{"seed": s, "status": "finished", "error": None, "eval_return": 500.0, "run_dir": f"t{s}"}
                  for s in seeds]
        return ({"trials": trials, "statistics": {"defaults": {"iqm": 500.0, "iqm_ci": None, "n": len(seeds),
                                                               "range": [500.0, 500.0], "mean": 500.0}}},
                [{"env_steps_per_s": 100.0 + s, "wall_time_s": 1.0} for s in seeds], {"commit": "x", "when": "now"})

    monkeypatch.setattr(sweep, "measured_sweep", measured)
    monkeypatch.setattr(sweep, "q_weights", lambda run_dir: 10)
    path = tmp_path / "sweep.json"
    assert sweep.main(["--seeds", "2", "--no-zoo", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "vs sb3 (same)" not in out.splitlines()[0] and "steps/s" not in out.splitlines()[0]
    for row in json.loads(path.read_text())["rows"]:
        assert not any("speed" in key or "per_s" in key for key in row)
        assert [r["env_steps_per_s"] for r in row["runs"]] == [1100.0, 1101.0]


def test_rows_of_the_old_protocol_are_not_kept_beside_new_ones(five_fabricated_rounds, bench, monkeypatch, tmp_path):
    """--only keeps the other task's rows only when they were measured by this protocol."""
    path = tmp_path / "speed.json"
    path.write_text(json.dumps({"rows": [{"key": "pixels/dqn", "contestant": "dqn", "vs_sb3_same": 1.07}]}))
    names = [w["contestant"] for w in bench.contestants("cartpole", 100, 10)]
    run, _ = fake_runner({name: [100.0] * 5 for name in names})
    monkeypatch.setattr(_speed, "load", lambda: [0.1, 0.1, 0.1])
    assert bench.main(["--only", "cartpole", "--json", str(path)], runner=run) == 0
    assert [r["key"] for r in json.loads(path.read_text())["rows"]] == [f"cartpole/{n}" for n in names]


def _cpu(monkeypatch, readings):
    """Fake CPU clocks: ``(machine busy s, this process and its children's s, wall s)`` per reading."""
    it = iter(readings)
    monkeypatch.setattr(_speed, "cpu_clocks", lambda: next(it))


def test_other_work_during_the_measurement_marks_it_busy_though_it_started_idle(monkeypatch, capsys):
    """The load was read once, before: a job that started after it went unseen. Now the CPU time the
    machine spent beyond this benchmark's own (and its children's) over the measurement decides too."""
    monkeypatch.setattr(_speed, "load", lambda: [0.1, 0.1, 0.1])
    _cpu(monkeypatch, [(1000.0, 5.0, 0.0), (1120.0, 65.0, 60.0)])  # 2 cores busy for 60 s, 1 of them ours
    state = _speed.finish(_speed.start())
    assert state["busy"] is True and state["others_cpu_cores"] == pytest.approx(1.0)
    assert "else ran" in capsys.readouterr().err


def test_the_benchmarks_own_work_does_not_make_it_busy(monkeypatch, capsys):
    monkeypatch.setattr(_speed, "load", lambda: [0.1, 0.1, 0.1])
    _cpu(monkeypatch, [(1000.0, 5.0, 0.0), (1061.0, 65.0, 60.0)])  # one core ours, 1 s of the OS's beside
    state = _speed.finish(_speed.start())
    assert state["busy"] is False and state["others_cpu_cores"] == pytest.approx(1 / 60, abs=1e-3)
    assert capsys.readouterr().err == ""


def test_the_cpu_clocks_read_this_machine():
    machine, own, wall = _speed.read_cpu_clocks()
    x = sum(i * i for i in range(300_000))  # some work of our own
    machine2, own2, wall2 = _speed.read_cpu_clocks()
    assert x and machine2 >= machine and own2 > own and wall2 > wall


def test_the_default_runs_each_order_as_often():
    """5 rounds alternating A,B / B,A ran A first three times out of five."""
    assert _speed.DEFAULT_ROUNDS >= _speed.MIN_ROUNDS and _speed.DEFAULT_ROUNDS % 2 == 0
    firsts = _speed.interleave(["a", "b"], _speed.DEFAULT_ROUNDS, lambda name, r: r)
    assert sum(r % 2 == 0 for r in range(_speed.DEFAULT_ROUNDS)) * 2 == _speed.DEFAULT_ROUNDS
    assert firsts["a"] == firsts["b"] == list(range(_speed.DEFAULT_ROUNDS))
