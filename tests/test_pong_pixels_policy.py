"""Karpathy's pixel-Pong policy (issue 27): a 200-unit ReLU MLP on the 80x80 difference frame, and
RMSProp's step, checked against hand (numpy) computations."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from gymlab import envs  # noqa: F401  (registers gymlab/*)
from gymlab.agents.reinforce import Reinforce, ReinforceConfig


def _agent(**kw):
    env = gym.make("gymlab/Pong-v0", obs_type="pixels")
    config = ReinforceConfig(policy="mlp", hidden=(200,), frame_diff=True, activation="relu", **kw)
    return env, Reinforce(env.observation_space, env.action_space, config, seed=0)


def test_the_mlp_reads_the_flattened_difference_frame_through_one_relu_layer_of_200():
    env, agent = _agent()
    obs0, _ = env.reset(seed=1)
    obs1 = env.step(2)[0]
    assert obs0.shape == (80, 80, 1) and set(np.unique(obs1)) <= {0, 255}  # already Karpathy's binary frame
    weights = {k: v.detach().numpy().astype(np.float64) for k, v in agent.pi.state_dict().items()}
    w1, b1 = weights["body.0.weight"], weights["body.0.bias"]
    w2, b2 = weights["head.weight"], weights["head.bias"]
    assert w1.shape == (200, 6400) and w2.shape == (3, 200)
    x = (obs1.astype(np.float64) - obs0) / 255.0  # the difference frame, in {-1, 0, 1}
    expected = w2 @ np.maximum(w1 @ x.reshape(-1) + b1, 0.0) + b2
    # acting: two steps, the first difference zero; learning: the same over the sequence
    out0, state = agent.pi(obs0[None])
    out1, _ = agent.pi(obs1[None], state)
    seq = agent.pi.sequence(np.stack([obs0, obs1]))
    np.testing.assert_allclose(out1[0].detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(seq[1].detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    zero = w2 @ np.maximum(b1, 0.0) + b2
    np.testing.assert_allclose(out0[0].detach().numpy(), zero, rtol=1e-4, atol=1e-5)


def test_rmsprop_takes_karpathys_step():
    """cache = 0.99 cache + 0.01 g^2; w -= lr g / (sqrt(cache) + 1e-5), from a zero cache."""
    _, agent = _agent(optimizer="rmsprop", learning_rate=1e-3)
    assert isinstance(agent.optimizer, torch.optim.RMSprop)
    w = agent.pi.head.bias
    before = w.detach().clone().double()
    cache = torch.zeros_like(before)
    for g in (torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.3, 0.0, -1.0])):
        agent.optimizer.zero_grad()
        (w * g).sum().backward()
        agent.optimizer.step()
        cache = 0.99 * cache + 0.01 * g.double() ** 2
        before = before - 1e-3 * g.double() / (cache.sqrt() + 1e-5)
    np.testing.assert_allclose(w.detach().double().numpy(), before.numpy(), rtol=1e-5, atol=1e-7)


def test_relu_is_an_architecture_flag_the_default_stays_tanh():
    assert ReinforceConfig().activation == "tanh" and ReinforceConfig().optimizer == "adam"
    from dataclasses import fields

    meta = {f.name: f.metadata for f in fields(ReinforceConfig)}
    assert meta["activation"]["arch"] and not meta["optimizer"]["arch"]


def test_the_sparse_first_layer_gives_the_dense_layers_outputs_and_gradients():
    """Difference frames are mostly zeros, so the first layer multiplies the nonzero inputs only:
    a few rows (acting), many rows (an episode in the update) and dense rows all give what
    nn.Linear gives, outputs and weight gradients alike."""
    from gymlab.agents.networks import SparseInputLinear

    torch.manual_seed(0)
    sparse = SparseInputLinear(6400, 20)
    dense = torch.nn.Linear(6400, 20)
    dense.load_state_dict(sparse.state_dict())
    rng = np.random.default_rng(0)
    for rows, density in ((4, 0.005), (200, 0.005), (200, 0.5), (4, 0.5)):
        x = torch.as_tensor(rng.choice([-1.0, 1.0], (rows, 6400)) * (rng.random((rows, 6400)) < density),
                            dtype=torch.float32)
        for layer in (sparse, dense):
            layer.zero_grad()
            layer(x).pow(2).sum().backward()
        np.testing.assert_allclose(sparse(x).detach().numpy(), dense(x).detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(sparse.weight.grad.numpy(), dense.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(sparse.bias.grad.numpy(), dense.bias.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_the_sparse_first_layer_stores_its_weight_input_by_input_with_the_same_outputs():
    """The weight's layout (W.t() contiguous, for the acting gather) changes no value: the same
    state_dict as nn.Linear's, exactly the outputs of the column-picking sum on W itself, and it
    survives a state_dict round trip and an optimizer step."""
    from gymlab.agents.networks import SparseInputLinear

    torch.manual_seed(0)
    sparse = SparseInputLinear(6400, 20)
    assert sparse.weight.shape == (20, 6400) and sparse.weight.t().is_contiguous()
    w = sparse.weight.detach().contiguous()
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.choice([-1.0, 1.0], (16, 6400)) * (rng.random((16, 6400)) < 0.004), dtype=torch.float32)
    cols = torch.nonzero((x != 0).any(0)).squeeze(1)
    with torch.no_grad():  # the old sum: columns of W picked from its (out, in) storage
        assert torch.equal(sparse(x), torch.addmm(sparse.bias, x.index_select(1, cols), w.index_select(1, cols).t()))
    copy = SparseInputLinear(6400, 20)
    copy.load_state_dict(sparse.state_dict())
    assert torch.equal(copy.weight, sparse.weight) and copy.weight.t().is_contiguous()
    opt = torch.optim.RMSprop(copy.parameters(), lr=1e-3)
    copy(x).sum().backward()
    opt.step()
    assert copy.weight.t().is_contiguous() and not torch.equal(copy.weight, sparse.weight)


def test_the_columns_the_few_rows_path_picks_are_the_nonzero_ones():
    """A column's |x| summed is 0 exactly when every entry is 0 (-0.0, tiny and NaN entries too)."""
    from gymlab.agents.networks import SparseInputLinear

    layer = SparseInputLinear(64, 3)
    x = torch.zeros(4, 64)
    x[0, 3], x[1, 7], x[2, 9], x[3, 11], x[0, 20] = 1e-45, -0.0, float("nan"), -2.0, 1 / 255
    with torch.no_grad():
        out = layer(x)
        expected = torch.addmm(layer.bias, x[:, [3, 9, 11, 20]], layer.weight[:, [3, 9, 11, 20]].t())
    assert torch.equal(torch.nonzero(x.abs().sum(0)).squeeze(1), torch.tensor([3, 9, 11, 20]))
    assert torch.equal(out[[0, 1, 3]], expected[[0, 1, 3]]) and torch.isnan(out[2]).all()


def test_the_sparse_first_layers_gradient_at_the_real_scale_relative_to_its_size():
    """The gradients the first layer really gets are ~1e-5 (the loss a mean over a batch's ~6000
    steps, on Pong's difference frames), so an absolute tolerance of 1e-4 would pass a broken
    backward: here real difference frames, a mean loss, and every entry checked against the dense
    layer's to 1e-4 of the gradient's own largest entry."""
    from gymlab.agents.networks import SparseInputLinear
    from gymlab.envs.pong_vector import PongVectorEnv

    venv = PongVectorEnv(num_envs=4, obs_type="pixels")
    frames = [venv.reset(seed=5)[0].reshape(4, -1).astype(np.float32)]
    rng = np.random.default_rng(5)
    for _ in range(60):
        frames.append(venv.step(rng.integers(0, 3, 4))[0].reshape(4, -1).astype(np.float32))
    diffs = np.concatenate([b - a for a, b in zip(frames, frames[1:])]) / 255.0  # 240 rows, as the net scales them
    torch.manual_seed(0)
    sparse = SparseInputLinear(diffs.shape[1], 200)
    dense = torch.nn.Linear(diffs.shape[1], 200)
    dense.load_state_dict(sparse.state_dict())
    for rows in (4, 32, 240):  # acting (the few-rows path), and an update (torch.sparse.mm)
        x = torch.as_tensor(diffs[:rows])
        assert 0 < int((x != 0).sum()) * 10 < x.numel()  # difference frames: sparse
        weights = torch.as_tensor(0.1 * rng.standard_normal((rows, 200)), dtype=torch.float32)  # ~ 2nd layer
        for layer in (sparse, dense):
            layer.zero_grad()
            (torch.relu(layer(x)) * weights).sum().div(6000).backward()  # a mean over ~6000 steps
        want = dense.weight.grad.numpy()
        assert 0 < np.abs(want).max() < 1e-3  # the real scale: an absolute 1e-4 would pass a broken backward
        np.testing.assert_allclose(sparse.weight.grad.numpy(), want, rtol=0, atol=1e-4 * np.abs(want).max())
        np.testing.assert_allclose(sparse.bias.grad.numpy(), dense.bias.grad.numpy(), rtol=0,
                                   atol=1e-4 * np.abs(dense.bias.grad.numpy()).max())
