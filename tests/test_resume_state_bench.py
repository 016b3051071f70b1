"""benchmarks/resume_state.py: it measures the replay buffer the DQN actually uses (the pixel
entry's frames stored once), each phase really writes and reads the state back (the buffer read is
the buffer written), and it follows the speed protocol (benchmarks/_speed.py) on fabricated
timings: at least 5 interleaved rounds, the read's ratio to the np.load reference the median and
min-max of per-round ratios, every row stamped, a busy start marked."""

import json

import pytest
from benchmark_module import load_benchmark

from benchmarks import _common, _speed


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("resume_state")


def test_the_pixel_case_is_the_buffer_the_pixel_dqn_uses(bench):
    from gymlab.agents import hyperparams
    from gymlab.agents.frame_replay import FrameReplayBuffer

    ours, _ = hyperparams.defaults("dqn", "pong-pixels")
    assert ours["history"] == 4 and ours["num_envs"] == 4 and ours["buffer_size"] == 100_000
    _, agent = bench.build("pong-pixels", 64)
    buffer = agent.make_buffer(agent.observation_space, masks=False)
    assert isinstance(buffer, FrameReplayBuffer) and (buffer.history, buffer.num_envs) == (4, 4)
    assert bench.config("pong-pixels") == ours  # the pixel entry, as train.py takes it
    assert bench.config("cartpole") == hyperparams.defaults("dqn", "CartPole-v1")[0]


@pytest.mark.parametrize("case", ["cartpole", "pong-pixels"])
def test_each_phase_reads_back_the_buffer_written(bench, case, tmp_path):
    path = str(tmp_path / "resume.npz")
    job = {"case": case, "path": path, "buffer_size": 300}
    wrote = bench.phase({**job, "phase": "write"})
    read, naive = bench.phase({**job, "phase": "read"}), bench.phase({**job, "phase": "naive"})
    assert wrote["buffer_items"] > 0 and wrote["resume_bytes"] > wrote["replay_bytes"] > 0
    assert wrote["digest"] == read["digest"] == naive["digest"]
    _, fresh = bench.build(case, 300)
    assert bench.digest(fresh.make_buffer(fresh.observation_space, masks=False)) != wrote["digest"]  # it tells
    assert read["buffer"] == wrote["buffer"] == ("FrameReplayBuffer" if case == "pong-pixels" else "ReplayBuffer")
    for r in (wrote, read, naive):
        assert r["seconds"] > 0 and {"base_mb", "peak_mb", "peak_beyond_buffer_mb"} <= set(r)


def fake_runner(seconds):
    """Fabricated phases: ``seconds[phase]`` round by round, in the order they are run."""
    calls = []

    def run(job):
        calls.append((job["case"], job["phase"]))
        n = sum(c == calls[-1] for c in calls) - 1
        return {"seconds": seconds[job["phase"]][n], "buffer_size": 100, "resume_bytes": 1000, "replay_bytes": 900,
                "buffer_items": 10, "buffer": "ReplayBuffer", "base_mb": 100.0, "peak_mb": 101.0, "peak_beyond_buffer_mb": 1.0,
                "digest": "d"}
    return run, calls


def test_rows_carry_per_round_ratios_stamps_and_the_busy_flag(five_fabricated_rounds, bench, monkeypatch, tmp_path, capsys):
    seconds = {"write": [1.0] * 5, "read": [1.0, 2.0, 3.0, 4.0, 5.0], "naive": [2.0, 2.0, 2.0, 2.0, 10.0]}
    run, calls = fake_runner(seconds)
    monkeypatch.setattr(_speed, "load", lambda: [0.9, 0.5, 0.5])
    monkeypatch.setattr(_common, "load", lambda: [0.9, 0.5, 0.5])
    monkeypatch.setattr("gymlab.provenance.load", lambda: [0.9, 0.5, 0.5])
    path = tmp_path / "resume.json"
    assert bench.main(["--only", "cartpole", "--json", str(path)], runner=run) == 0
    assert [p for _, p in calls[:6]] == ["write", "read", "naive", "naive", "read", "write"]
    report = json.loads(path.read_text())
    assert report["busy"] is True and report["rounds"] == 5 and report["quick"] is False
    assert report["checks_failed"] == []
    rows = {r["key"]: r for r in report["rows"]}
    assert set(rows) == {"cartpole/write", "cartpole/read", "cartpole/naive"}
    read = rows["cartpole/read"]
    assert read["seconds_per_round"] == [1.0, 2.0, 3.0, 4.0, 5.0] and read["seconds_median"] == 3.0
    vs = read["vs_ref"]
    assert set(vs) == {"ref", "per_round", "median", "min", "max"} and vs["ref"] == "read (np.load + copy)"
    assert vs["per_round"] == pytest.approx([0.5, 1.0, 1.5, 2.0, 0.5])
    assert (vs["median"], vs["min"], vs["max"]) == pytest.approx((1.0, 0.5, 2.0))
    assert rows["cartpole/naive"]["vs_ref"] is None and rows["cartpole/write"]["vs_ref"] is None
    for r in rows.values():
        assert r["commit"] and r["command"] and r["when"] and r["machine"]["cpu"] and r["load"] == [0.9, 0.5, 0.5]
        assert r["busy"] is True and r["quick"] is False and r["rounds"] == 5 and r["load_after"] == [0.9, 0.5, 0.5]
        assert r["resume_bytes"] == 1000 and r["peak_beyond_buffer_mb_median"] == 1.0
    assert "busy" in capsys.readouterr().err


def test_a_buffer_read_back_different_fails_the_check(five_fabricated_rounds, bench, monkeypatch, tmp_path):
    run, _ = fake_runner({p: [1.0] * 5 for p in ("write", "read", "naive")})

    def wrong(job):
        out = run(job)
        return {**out, "digest": "other"} if job["phase"] == "naive" else out

    monkeypatch.setattr(_speed, "load", lambda: [0.1, 0.1, 0.1])
    path = tmp_path / "resume.json"
    assert bench.main(["--only", "cartpole", "--json", str(path)], runner=wrong) == 1
    assert "naive" in json.loads(path.read_text())["checks_failed"][0]


def test_fewer_than_five_rounds_are_refused_without_quick(bench, capsys):
    run, calls = fake_runner({})
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--rounds", "3", "--json", "/dev/null"], runner=run)
    assert exit_.value.code == 2 and "--quick" in capsys.readouterr().err and calls == []


def test_quick_runs_in_process_and_is_marked(bench, monkeypatch, tmp_path, capsys):
    """--quick end to end, every phase run here (not in a process of its own): small buffers, one
    round, marked quick and not a figure."""
    monkeypatch.setattr(bench, "QUICK_BUFFER", 500)
    path = tmp_path / "quick.json"
    assert bench.main(["--quick", "--json", str(path)], runner=bench.phase) == 0
    report = json.loads(path.read_text())
    assert report["quick"] is True and report["rounds"] == 1 and report["checks_failed"] == []
    assert [r["key"] for r in report["rows"]] == [f"{c}/{p}" for c in ("cartpole", "pong-pixels")
                                                  for p in ("write", "read", "naive")]
    assert all(r["quick"] is True and r["buffer_size"] == 500 and r["commit"] for r in report["rows"])
    assert "NOT a speed figure" in capsys.readouterr().err
