"""DQN's cheaper parts compute what the plain ones did, bit for bit (issue 27: "faster without changing
what is computed"): each fast function against the straightforward reference on random data, and a
whole tiny run with every fast part against the same run with the references patched in."""

import numpy as np
import pytest
import torch
from gymnasium import spaces

from gymlab.agents import action_masks, fast_step
from gymlab.agents.networks import Network, mlp


def _net(seed=0):
    torch.manual_seed(seed)
    return mlp([4, 16, 16, 2], torch.nn.ReLU)


def _grads(net, seed, scale):
    g = torch.Generator().manual_seed(seed)
    for p in net.parameters():
        p.grad = torch.randn(p.shape, generator=g) * scale


@pytest.mark.parametrize("scale", [1e-3, 1.0, 50.0])  # below, near and above the clipping norm
def test_clip_grad_norm_is_torchs(scale):
    a, b = _net(), _net()
    _grads(a, 1, scale)
    _grads(b, 1, scale)
    torch.nn.utils.clip_grad_norm_(a.parameters(), 10.0, foreach=True)
    fast_step.clip_grad_norm_(b.parameters(), 10.0)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa.grad, pb.grad)


def test_adam_step_is_torchs_fused_adam():
    a, b = _net(), _net()
    opt_a = torch.optim.Adam(a.parameters(), lr=1e-3, fused=True)
    opt_b = torch.optim.Adam(b.parameters(), lr=1e-3, fused=True)
    for k in range(12):
        for opt in (opt_a, opt_b):  # a decaying learning rate, as --lr-anneal sets it
            opt.param_groups[0]["lr"] = 1e-3 * (1 - k / 12)
        _grads(a, k, 3.0)
        _grads(b, k, 3.0)
        opt_a.step()
        fast_step.adam_step(opt_b)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    sa, sb = opt_a.state_dict()["state"], opt_b.state_dict()["state"]
    for i in sa:
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(sa[i][key], sb[i][key]), (i, key)


def test_zero_grad_drops_every_gradient():
    net = _net()
    opt = torch.optim.Adam(net.parameters(), fused=True)
    _grads(net, 0, 1.0)
    fast_step.zero_grad(opt)
    assert all(p.grad is None for p in net.parameters())


def test_adam_step_hands_other_optimizers_to_torch():
    a, b = _net(), _net()
    opt_a, opt_b = (torch.optim.Adam(n.parameters(), lr=1e-2, amsgrad=True) for n in (a, b))
    for k in range(3):
        _grads(a, k, 1.0)
        _grads(b, k, 1.0)
        opt_a.step()
        fast_step.adam_step(opt_b)
    assert all(torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters()))


def reference_masked(q, masks):  # the rule as it was written before the no-mask shortcut
    return q.masked_fill(~torch.as_tensor(action_masks.allowed(masks, q.shape[-1])), -torch.inf)


@pytest.mark.parametrize("masks", [None, [None], [None, None, None],
                                   [[1, 0, 1], None, [0, 0, 0]], np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]])])
def test_masked_is_the_rule(masks):
    from gymlab.agents.dqn import masked

    q = torch.randn(1 if isinstance(masks, list) and len(masks) == 1 else 3, 3)
    assert torch.equal(masked(q, masks), reference_masked(q, masks))


def test_prepare_scales_frames_as_before():
    space = spaces.Box(0, 255, (36, 36, 3), np.uint8)
    net = Network(space, 2, "cnn", (32,))
    x = np.random.default_rng(0).integers(0, 256, (5, 36, 36, 3), dtype=np.uint8)
    assert torch.equal(net.prepare(x), torch.as_tensor(x).float() / 255.0)


@pytest.mark.parametrize("space, config", [
    (spaces.Box(-1, 1, (4,), np.float32), {}),  # the defaults: dueling streams
    (spaces.Box(-1, 1, (4,), np.float32), {"dueling": False, "hidden": (8, 8, 8)}),
    (spaces.Box(-1, 1, (3, 2), np.float32), {"dueling": False, "hidden": (8,)}),  # flattened
    (spaces.Discrete(5), {"hidden": (8,)}),  # one-hot
])
def test_an_mlps_forward_by_functions_is_its_modules(space, config):
    from gymlab.agents.dqn import DQNConfig, QNetwork

    torch.manual_seed(0)
    q = QNetwork(space, 3, DQNConfig(**config))
    assert q.plan is not None
    obs = np.stack([space.sample() for _ in range(7)])
    fast = q(obs)
    plain = q.net.head(q.net.body(q.net.prepare(obs)))
    assert torch.equal(fast, plain)
    grads = []
    for out in (fast, plain):  # the same gradients too
        q.zero_grad(set_to_none=True)
        (out ** 2).sum().backward()
        grads.append([p.grad.clone() for p in q.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_a_cnn_goes_through_its_modules():
    from gymlab.agents.dqn import DQNConfig, QNetwork

    assert QNetwork(spaces.Box(0, 255, (36, 36, 3), np.uint8), 3, DQNConfig(policy="cnn")).plan is None


def _tiny_run(env_id, overrides, steps):
    import gymnasium as gym

    from gymlab.agents.base import Budget
    from gymlab.agents.dqn import DQN, DQNConfig
    from gymlab.agents.logger import RunLogger

    env = gym.make(env_id)
    agent = DQN(env.observation_space, env.action_space, DQNConfig(**overrides), seed=3)
    agent.learn(env, Budget(steps=steps), RunLogger(None, progress=False))
    return agent


@pytest.mark.parametrize("overrides", [
    {"learning_starts": 50, "hidden": (16,), "batch_size": 8},  # the defaults: double Q, dueling, clipping
    {"learning_starts": 50, "hidden": (16,), "batch_size": 8, "double_q": False, "dueling": False,
     "max_grad_norm": 0.0, "lr_anneal": False},
])
def test_a_run_with_the_fast_parts_is_the_run_with_torchs_own(monkeypatch, overrides):
    """Every fast part at once: the same weights, bit for bit, as with torch's own step, clipping, masking
    and acting under no_grad."""
    from gymlab.agents import dqn

    fast = _tiny_run("CartPole-v1", overrides, 400)
    monkeypatch.setattr(fast_step, "adam_step", lambda opt: opt.step())
    monkeypatch.setattr(fast_step, "zero_grad", lambda opt: opt.zero_grad(set_to_none=True))
    monkeypatch.setattr(fast_step, "clip_grad_norm_",
                        lambda params, m: torch.nn.utils.clip_grad_norm_(params, m, foreach=True))
    monkeypatch.setattr(dqn, "masked", reference_masked)
    monkeypatch.setattr(fast_step, "mlp_plan", lambda net: None)  # every forward pass through the modules
    monkeypatch.setattr(torch, "inference_mode", torch.no_grad)
    plain = _tiny_run("CartPole-v1", overrides, 400)
    assert fast.updates == plain.updates > 0
    for (name, a), b in zip(fast.q.state_dict().items(), plain.q.state_dict().values()):
        assert torch.equal(a, b), name
