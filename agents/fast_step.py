"""A small network's gradient step, and an MLP's forward pass, without torch's per-call Python around
its kernels.

For a net of a few thousand weights (DQN on CartPole) a gradient step's kernels take
microseconds, while ``torch.nn.utils.clip_grad_norm_`` and ``torch.optim.Adam.step`` spend
longer in Python around them: grouping the tensors by device and dtype, checks, hooks and the
profiler's wrappers, at every call. ``zero_grad``, ``clip_grad_norm_`` and ``adam_step`` here call the same
kernels with the same arguments in the same order, for the one case DQN makes (float32 weights
on the CPU, one parameter group, fused Adam without AMSGrad, weight decay or maximize), so the
weights and Adam's moments come out bit for bit as torch's own would make them
(``tests/test_fast_step.py``); any other case is handed to torch's own. ``mlp_forward`` runs an MLP's
layers by the functions their modules' ``forward`` calls, for the same reason.
"""

from __future__ import annotations

import torch


def _plain(tensors: list[torch.Tensor]) -> bool:
    """Float32 tensors on the CPU: one group for torch's grouping by device and dtype, in order."""
    return all(t.dtype == torch.float32 and t.device.type == "cpu" for t in tensors)


def clip_grad_norm_(parameters, max_norm: float) -> None:
    """``torch.nn.utils.clip_grad_norm_(parameters, max_norm, foreach=True)``: the gradients scaled
    in place by min(1, max_norm / (total 2-norm + 1e-6))."""
    params = list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads or not _plain(grads):
        torch.nn.utils.clip_grad_norm_(params, max_norm, foreach=True)
        return
    with torch.no_grad():
        total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
        torch._foreach_mul_(grads, torch.clamp(float(max_norm) / (total + 1e-6), max=1.0))


def zero_grad(optimizer) -> None:
    """``optimizer.zero_grad(set_to_none=True)``: every gradient dropped."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            p.grad = None


def _fused_plain(optimizer) -> bool:
    if not isinstance(optimizer, torch.optim.Adam) or len(optimizer.param_groups) != 1:
        return False
    g = optimizer.param_groups[0]
    return bool(g.get("fused")) and not (g["amsgrad"] or g["maximize"] or g["capturable"] or g["differentiable"]
                                         or g.get("decoupled_weight_decay") or g["weight_decay"]) \
        and not isinstance(g["lr"], torch.Tensor) and getattr(optimizer, "grad_scale", None) is None \
        and getattr(optimizer, "found_inf", None) is None


def adam_step(optimizer) -> None:
    """``optimizer.step()`` for a fused ``torch.optim.Adam``: each step counter moved on by one, then
    torch's fused Adam kernel. Its first step (Adam's moments made then) and any case this does not
    cover go to ``optimizer.step()`` itself."""
    if not _fused_plain(optimizer):
        optimizer.step()
        return
    group = optimizer.param_groups[0]
    params = [p for p in group["params"] if p.grad is not None]
    states = [optimizer.state.get(p) for p in params]
    if not params or any(not s for s in states) or not _plain(params):
        optimizer.step()
        return
    steps = [s["step"] for s in states]
    beta1, beta2 = group["betas"]
    with torch.no_grad():
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(params, [p.grad for p in params], [s["exp_avg"] for s in states],
                           [s["exp_avg_sq"] for s in states], [], steps, amsgrad=False, lr=group["lr"],
                           beta1=float(beta1), beta2=float(beta2), weight_decay=group["weight_decay"],
                           eps=group["eps"], maximize=False, grad_scale=None, found_inf=None)


# --------------------------------------------------------------------------- an MLP's forward pass
_ACTIVATIONS = {torch.nn.ReLU: torch.relu, torch.nn.Tanh: torch.tanh}


def mlp_plan(net) -> list | None:
    """For a ``Network`` (``agents/networks.py``) that is an MLP, with a linear or dueling head: its layers
    as ``(function, module)`` in order (the head last, a ``DuelingHead`` as its two streams), so that
    ``mlp_forward`` can call ``F.linear`` and the activations itself, the very functions each module's
    ``forward`` calls, without ``nn.Module.__call__``'s hook machinery at every layer (forward hooks
    on these layers are then not called). None for any other network (a CNN, a recurrent core)."""
    from gymlab.agents.networks import DuelingHead

    def layers(seq):
        out = []
        for m in seq if isinstance(seq, torch.nn.Sequential) else [seq]:
            if isinstance(m, torch.nn.Linear):
                out.append((torch.nn.functional.linear, m))
            elif type(m) in _ACTIVATIONS:
                out.append((_ACTIVATIONS[type(m)], None))
            elif not isinstance(m, torch.nn.Identity):
                return None
        return out

    if net.core is not None or net.frame_diff or net.policy != "mlp":
        return None
    body = layers(net.body)
    head = (layers(net.head.value), layers(net.head.advantage)) if isinstance(net.head, DuelingHead) \
        else layers(net.head)
    if body is None or head is None or (isinstance(head, tuple) and None in head):
        return None
    return [body, head]


def _run(layers, x):
    for fn, m in layers:
        x = fn(x, m.weight, m.bias) if m is not None else fn(x)
    return x


def mlp_forward(plan, x: torch.Tensor) -> torch.Tensor:
    """``net.head(net.body(x))`` by ``mlp_plan``'s layers: the same operations in the same order."""
    body, head = plan
    h = _run(body, x)
    if isinstance(head, tuple):  # DuelingHead.forward: V(h) + A(h, a) - mean_b A(h, b)
        advantage = _run(head[1], h)
        return _run(head[0], h) + advantage - advantage.mean(dim=-1, keepdim=True)
    return _run(head, h)
