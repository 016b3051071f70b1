"""The hand-written cells compute what torch's fused modules compute, given the same weights:
outputs, final states and every gradient, in float64 to 1e-8."""

import pytest
import torch

from gymlab.sequence_tasks.backbone import KINDS, RecurrentCore, detach_state


def _pair(kind, layers, seed=0):
    torch.manual_seed(seed)
    fused = RecurrentCore(kind, 4, 5, layers, impl="fused").double()
    cells = RecurrentCore(kind, 4, 5, layers, impl="cells").double()
    cells.load_state_dict(fused.state_dict())  # the same names, the same weights
    return fused, cells


def _flat(state):
    return torch.cat([s.flatten() for s in (state if isinstance(state, tuple) else (state,))])


# --8<-- [start:cells_equal_torch]
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_cells_equal_torch_forward_and_gradients(kind, layers):
    fused, cells = _pair(kind, layers)
    torch.manual_seed(1)
    x = torch.randn(7, 3, 4, dtype=torch.float64)
    start = fused.initial_state(3, dtype=torch.float64)
    start = tuple(torch.randn_like(s) for s in start) if isinstance(start, tuple) else torch.randn_like(start)
    results = []
    for core in (fused, cells):
        xi = x.clone().requires_grad_(True)
        si = tuple(s.clone().requires_grad_(True) for s in start) if isinstance(start, tuple) \
            else start.clone().requires_grad_(True)
        out, state = core(xi, si)
        # A loss that touches every output and the final state, with unequal weights.
        loss = (out * torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).view_as(out)).sum() \
            + (_flat(state) ** 2).sum()
        loss.backward()
        grads = [xi.grad] + [s.grad for s in (si if isinstance(si, tuple) else (si,))]
        grads += [p.grad for _, p in sorted(core.named_parameters())]
        results.append((out.detach(), _flat(state).detach(), grads))
    (o1, s1, g1), (o2, s2, g2) = results
    torch.testing.assert_close(o1, o2, rtol=0, atol=1e-8)
    torch.testing.assert_close(s1, s2, rtol=0, atol=1e-8)
    assert len(g1) == len(g2) == 1 + (2 if kind == "lstm" else 1) + 4 * layers
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-8)
# --8<-- [end:cells_equal_torch]


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_weight_is_caught(kind):
    # The comparison above can fail: nudge one weight of the hand-written copy.
    fused, cells = _pair(kind, 1)
    with torch.no_grad():
        cells.rnn.weight_hh_l0[0, 0] += 1e-3
    x = torch.randn(5, 2, 4, dtype=torch.float64)
    assert (fused(x)[0] - cells(x)[0]).abs().max() > 1e-8


# --8<-- [start:tbptt_test]
@pytest.mark.parametrize("impl", ["fused", "cells"])
def test_state_reset_and_truncated_bptt(impl):
    core = RecurrentCore("lstm", 4, 5, impl=impl).double()
    x = torch.randn(6, 2, 4, dtype=torch.float64, requires_grad=True)
    _, state = core(x[:3])
    cut = detach_state(state)
    assert not cut[0].requires_grad and torch.equal(cut[0], state[0])
    out, _ = core(x[3:], cut)
    out.sum().backward()
    assert x.grad[:3].abs().sum() == 0 and x.grad[3:].abs().sum() > 0  # no gradient through the cut
# --8<-- [end:tbptt_test]
    reset = core.reset_state(state, torch.tensor([True, False]))
    assert reset[0][:, 0].abs().sum() == 0 and torch.equal(reset[0][:, 1], state[0][:, 1])
