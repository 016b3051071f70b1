"""The recurrent DQN's update as it was before issue 27 made it faster (agents/recurrent_dqn.py at
962d1d8), kept as a plain reference: burn-in from each sequence's first slot (padding included)
with the whole network, the target network's burn-in and unroll in two passes, every slot of the
sequence unrolled with gradient. tests/test_recurrent_fast.py checks the fast update against it."""

import numpy as np
import torch
from torch import nn

from gymlab.agents.dqn import masked
from gymlab.agents.recurrent_dqn import n_step_targets, rescale, unrescale


def old_burn_in(agent, net, batch):
    l = agent.config.burn_in
    states = np.array(batch.stored_state)
    if l == 0:
        return net.from_rows(states)
    begin = np.where(batch.starts[:, :l], np.arange(l), 0).max(axis=1)
    with torch.no_grad():
        for k in np.unique(begin):
            rows = begin == k
            state = net.from_rows(states[rows]) if k == 0 else net.initial_state(int(rows.sum()))
            _, state = net(torch.as_tensor(batch.obs)[torch.as_tensor(rows), k:l], state)
            states[rows] = net.rows(state)
    return net.from_rows(states)


def old_unroll(agent, net, batch) -> torch.Tensor:
    l = agent.config.burn_in
    q, _ = net(batch.obs[:, l:], net.reset(old_burn_in(agent, net, batch), batch.starts[:, l]))
    return q


@torch.no_grad()
def old_targets(agent, batch, q_online):
    c = agent.config
    l = c.burn_in
    q_target = old_unroll(agent, agent.q_target, batch)
    masks = None if batch.masks is None else batch.masks[:, l:]
    if c.double_q:
        values = q_target.gather(2, masked(q_online.detach(), masks).argmax(2, keepdim=True)).squeeze(2)
    else:
        values = masked(q_target, masks).max(2).values
    if c.value_rescaling:
        values = unrescale(values)
    target = n_step_targets(batch.rewards[:, l:], batch.terminated[:, l:], batch.valid[:, l:], values,
                            c.n_step, c.gamma, c.seq_len)
    return rescale(target) if c.value_rescaling else target


def old_loss(agent, batch):
    c = agent.config
    l, m = c.burn_in, c.seq_len
    q = old_unroll(agent, agent.q, batch)
    q_taken = q[:, :m].gather(2, torch.as_tensor(batch.actions[:, l:l + m, None])).squeeze(2)
    target = old_targets(agent, batch, q)
    valid = torch.as_tensor(batch.valid[:, l:l + m]).float()
    loss_fn = nn.functional.smooth_l1_loss if c.huber else nn.functional.mse_loss
    weights = torch.as_tensor(batch.weights).view(-1, 1)
    loss = (weights * valid * loss_fn(q_taken, target, reduction="none")).sum() / valid.sum().clamp(min=1.0)
    return loss, (target - q_taken).detach(), valid
