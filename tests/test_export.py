"""``gymlab export RUN_DIR --onnx FILE`` (gymlab/export.py, agents/onnx_policy.py): the graph
onnxruntime runs gives the torch agent's own greedy actions (``agent.predict(...,
deterministic=True)``) on 1,000 observations from the env, its memories carried from step to
step as the agent carries its ``state``, for each kind of network: MLP (CartPole, Pendulum's Box
actions, hill's linear policy), CNN (pong-pixels: DQN's stacked frames, REINFORCE's frame
differences: tests/test_export_cnn.py) and recurrent (Recall: LSTM and GRU; the
supervised agent's LSTM on a sine, Box outputs). Untrained weights: agreement is what is
tested. Bad input: one line, exit 2."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import onnxruntime
import pytest
import torch

import gymlab  # noqa: F401  (registers gymlab's envs)
from gymlab import agents, cli

STEPS = 1000


def export_run(agent, tmp_path, capsys) -> onnxruntime.InferenceSession:
    """``agent`` saved as a run directory's checkpoint, exported by the command, loaded by onnxruntime."""
    run, out = tmp_path / "run", tmp_path / "policy.onnx"
    agent.save(run / "checkpoint.npz")
    assert cli.main(["export", str(run), "--onnx", str(out)]) == 0, capsys.readouterr().err
    assert "onnxruntime gave the torch policy's actions" in capsys.readouterr().out
    return onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])


def zeros(session) -> dict:
    return {i.name: np.zeros([1 if not isinstance(d, int) else d for d in i.shape], np.float32)
            for i in session.get_inputs() if i.name != "obs"}


def agreement(agent, env, session, steps=STEPS, seed=0, forget=False):
    """Play ``steps`` steps (the agent's greedy action, or a random one 30% of the time, for varied
    observations): at each, the agent's action and the graph's, the graph's memories fed back (all
    zeros at each reset; with ``forget``, at every step). Returns both lists of
    actions, and the graph's outputs."""
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    state, memory, start = None, zeros(session), True
    ours, theirs, outputs = [], [], []
    for _ in range(steps):
        action, state = agent.predict(obs, state, episode_start=np.array([start]), deterministic=True)
        got = session.run(None, {"obs": np.asarray(obs)[None], **memory})
        memory = zeros(session) if forget else {i.name: v for i, v in zip(session.get_inputs()[1:], got[2:])}
        ours.append(np.asarray(action))
        theirs.append(got[0][0])
        outputs.append(got[1][0])
        move = action if rng.random() > 0.3 else env.action_space.sample()
        obs, _, terminated, truncated, _ = env.step(move)
        start = terminated or truncated
        if start:
            obs, _ = env.reset()
            state, memory = None, zeros(session)
    return np.array(ours), np.array(theirs), np.array(outputs)


def check(agent, env, tmp_path, capsys, memory=(), steps=STEPS):
    session = export_run(agent, tmp_path, capsys)
    assert [i.name for i in session.get_inputs()] == ["obs", *memory]
    ours, theirs, outputs = agreement(agent, env, session, steps)
    if ours.dtype.kind == "f":  # Box actions: the clipped mean, float32 in both
        np.testing.assert_allclose(theirs, ours, atol=1e-5)
        assert np.ptp(ours) > 0
    else:
        assert (theirs == ours).all(), f"{(theirs != ours).sum()} of {steps} actions differ"
        assert len(set(ours.tolist())) > 1, "one action everywhere: the agreement would say nothing"
    return session, ours, outputs


def build(name, env, scale=None, **config):
    """An untrained agent; ``scale``: its policy's weights drawn from N(0, scale^2) instead (hill's
    start at zero), so that its greedy actions vary from one observation to the next."""
    cls = agents.get(name)
    agent = cls(env.observation_space, env.action_space, config=cls.Config(**config), seed=0)
    if scale is not None:
        torch.manual_seed(0)
        with torch.no_grad():
            for p in agent.policy_network().net.parameters():
                p.normal_(0.0, scale)
    return agent


@pytest.mark.parametrize("name, config", [("dqn", {"scale": 1.0}), ("reinforce", {"hidden": (32, 32)}),
                                          ("hill", {"scale": 0.3})])
def test_mlp_policies_agree_on_cartpole(name, config, tmp_path, capsys):
    env = gym.make("CartPole-v1")
    check(build(name, env, **config), env, tmp_path, capsys)


def test_box_actions_agree_clipped_on_pendulum(tmp_path, capsys):
    env = gym.make("Pendulum-v1")
    agent = build("reinforce", env, hidden=(16,), scale=1.0)
    with torch.no_grad():  # outputs beyond the bounds too, so the clipping is exercised
        agent.pi.head.bias.fill_(1.8)
    _, ours, _ = check(agent, env, tmp_path, capsys)
    assert (np.abs(ours) == 2.0).any() and (np.abs(ours) < 2.0).any()


@pytest.mark.parametrize("name, config, memory", [
    ("dqn", {"policy": "lstm", "hidden": (16,), "scale": 1.0}, ["h", "c"]),
    ("reinforce", {"policy": "gru", "hidden": (16,), "scale": 1.0}, ["h"])])
def test_recurrent_policies_carry_state_on_recall(name, config, memory, tmp_path, capsys):
    env = gym.make("gymlab/Recall-v0", delay=3)
    agent = build(name, env, **config)
    session, _, outputs = check(agent, env, tmp_path, capsys, memory)
    forgetful = agreement(agent, env, session, forget=True)[2]  # the memories fed back are what agrees
    assert not np.allclose(forgetful, outputs, atol=1e-3)


# ------------------------------------------------------------------ bad input: one line, exit 2
def refused(argv, capsys) -> str:
    assert cli.main(["export", *map(str, argv)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert "no run directory or checkpoint" in refused([tmp_path / "nowhere", "--onnx", tmp_path / "p.onnx"], capsys)
    assert "holds no checkpoint.npz" in refused([tmp_path, "--onnx", tmp_path / "p.onnx"], capsys)
    env = gym.make("gymlab/Rooms-v0")
    build("q", env).save(tmp_path / "q" / "checkpoint.npz")
    assert "has no network" in refused([tmp_path / "q", "--onnx", tmp_path / "q.onnx"], capsys)
    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint")
    assert "checkpoint error" in refused([tmp_path / "junk.npz", "--onnx", tmp_path / "p.onnx"], capsys)

    cartpole = gym.make("CartPole-v1")
    build("dqn", cartpole).save(tmp_path / "dqn" / "checkpoint.npz")
    build("sb3-dqn", cartpole).save(tmp_path / "sb3" / "checkpoint.npz")
    assert "not exported yet" in refused([tmp_path / "sb3", "--onnx", tmp_path / "sb3.onnx"], capsys)
    (tmp_path / "afile").write_text("")
    assert "cannot write there" in refused([tmp_path / "dqn", "--onnx", tmp_path / "afile" / "p.onnx"], capsys)
    assert "is a directory" in refused([tmp_path / "dqn", "--onnx", tmp_path], capsys)
    assert "required" in refused([tmp_path / "dqn"], capsys)
    assert not list(tmp_path.glob("**/*.onnx"))


def test_supervised_predictions_agree_on_sine(tmp_path, capsys):
    """The supervised agent's LSTM predicting a sine: Box outputs, a memory carried along."""
    env = gym.make("gymlab/SinePredict-v0")
    agent = build("supervised", env, hidden=(16,), scale=0.5)
    check(agent, env, tmp_path, capsys, memory=["h", "c"])


def test_nothing_a_user_has_is_overwritten(tmp_path, capsys):
    """The review: `gymlab export RUN --onnx RUN/checkpoint.npz` replaced the trained weights with the
    graph, exit 0; any file there was overwritten without a word (train.py asks for --force)."""
    build("dqn", gym.make("CartPole-v1")).save(tmp_path / "dqn" / "checkpoint.npz")
    weights = (tmp_path / "dqn" / "checkpoint.npz").read_bytes()
    for force in ([], ["--force"]):
        err = refused([tmp_path / "dqn", "--onnx", tmp_path / "dqn" / "checkpoint.npz", *force], capsys)
        assert "checkpoint" in err
    assert (tmp_path / "dqn" / "checkpoint.npz").read_bytes() == weights
    mine = tmp_path / "mine.onnx"
    mine.write_text("a user's own file")
    assert "--force" in refused([tmp_path / "dqn", "--onnx", mine], capsys)
    assert mine.read_text() == "a user's own file"
    assert cli.main(["export", str(tmp_path / "dqn"), "--onnx", str(mine), "--force"]) == 0
    assert mine.read_bytes() != b"a user's own file"
