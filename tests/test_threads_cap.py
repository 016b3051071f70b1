"""``--threads`` is capped at the CPUs this process may run on (issue 22: ``--threads 1024`` on a
2-core machine drove the load average to 147)."""

import os
import sys

import pytest

import train


def _cpus() -> int:  # the reference, written out again
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def test_max_threads_is_the_cpus_this_process_may_use(monkeypatch):
    from gymlab.cli import max_threads

    assert max_threads() == _cpus()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)  # 3 of 8 CPUs allowed
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert max_threads() == 3
    monkeypatch.delattr(os, "sched_getaffinity")  # (no affinity on this platform: all the CPUs)
    assert max_threads() == 8


@pytest.mark.parametrize("agent", ["dqn", "reinforce", "hill"])
def test_train_refuses_more_threads_than_cpus_in_one_line(agent, tmp_path, capsys):
    code = train.main(["--env", "CartPole-v1", "--agent", agent, "--steps", "10", "--threads", str(_cpus() + 1),
                       "--run-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "--threads" in err and f"[1, {_cpus()}]" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_every_cpu_is_accepted():
    from gymlab.agents.dqn import DQNConfig

    assert DQNConfig(threads=_cpus()).threads == _cpus()
    with pytest.raises(ValueError, match="--threads"):
        DQNConfig(threads=_cpus() + 1)


def test_a_checkpoint_from_a_bigger_machine_still_loads(tmp_path):
    """Its threads are the machine's business, not the weights': loaded here, capped here."""
    import gymnasium as gym

    from gymlab.agents import checkpoint
    from gymlab.agents.dqn import DQN

    env = gym.make("CartPole-v1")
    agent = DQN(env.observation_space, env.action_space, seed=0)
    path = tmp_path / "c.npz"
    agent.save(path)
    meta, arrays = checkpoint.load(path)
    meta["config"]["threads"] = _cpus() + 7
    checkpoint.save(path, meta, arrays)
    assert DQN.load(path).config.threads == _cpus()


def test_sequence_tasks_refuse_too(capsys):
    from gymlab.sequence_tasks.cli import main

    assert main(["cosine", "--threads", str(_cpus() + 1)]) == 2
    assert "--threads" in capsys.readouterr().err
