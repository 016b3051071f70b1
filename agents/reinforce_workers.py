"""REINFORCE on both cores (``--workers 2``): the run plays, a second process takes the gradient.

The run's process acts in the courts with the policy's weights, as with one worker; each episode
(each point, with ``--round-batches``) taken into the batch goes at once to a learner process
(``agents/workers.py``) that holds a copy of the same weights, fixed for the whole batch, and adds
up its terms while the courts play the rest of the batch. The common estimator's gradient is
linear in the steps' terms:

    grad = -1/(T rms) sum_t (G_t - b) grad log pi(a_t|s_t)  -  c/T sum_t grad H_t
         = -1/(T rms) [S_G - (b - b0) S_1]  -  c/T S_H,

where S_G = sum_t (G_t - b0) grad log pi, S_1 = sum_t grad log pi and S_H = sum_t grad H_t (the
entropy's, with --entropy-coef c) are the learner's sums, b0 the baseline known when the batch
began (the running mean; 0 on the first batch, whose own mean b is known only at its end: S_1 is
summed then only), T the batch's steps and rms the root mean square of its G_t - b. So at the end of
the batch the run asks for the sums, forms exactly the gradient a single process forms (up to the
order of float additions), takes the optimizer's step, and hands the new weights over before the
next batch is played: every step is played and scored by the same weights (on-policy).

The learner adds the episodes up in the order they were taken (``Episode.seq``), which the
resume state keeps: a resumed run sends the batch so far again, in that order, and goes on exactly.
It adds them up a group at a time, one forward and backward pass over a group's steps
(``agents/batched_pass.py``): a group closes at ``PASS_STEPS`` steps or at the batch's end, a
count that depends on the episodes only, so the grouping (and the rounding) is the same again.
"""

from __future__ import annotations

import numpy as np
import torch

from gymlab.agents.batched_pass import batch_outputs, masked_logits
from gymlab.agents.workers import STOP, Worker


# Episodes the learner adds up in one pass: it holds them until they have this many steps (or the
# batch ends), a count that depends on the episodes alone, not on timing, so a run and its resumed
# copy group (and round) the same way.
PASS_STEPS = 1024


def serve(conn, net, n_actions: int, with_entropy: bool) -> None:
    """The learner process: sums over the episodes it is sent (see the module docstring)."""
    torch.set_num_threads(1)
    params = list(net.parameters())
    sums = scalars = None
    b0, with_ones, entropy_total = 0.0, False, 0.0
    pending = []

    def add_up():  # the pending episodes' terms, in one pass over all their steps
        nonlocal entropy_total
        if not pending:
            return
        logits = batch_outputs(net, [(obs, prev_obs) for obs, prev_obs, *_ in pending])
        logits = masked_logits(logits, [masks for _, _, masks, _, _ in pending], n_actions)
        dist = torch.distributions.Categorical(logits=logits)
        logp = dist.log_prob(torch.as_tensor(np.concatenate([actions for *_, actions, _ in pending])))
        entropy = dist.entropy()
        g = torch.as_tensor(np.concatenate([g for *_, g in pending]))
        pending.clear()
        entropy_total += float(entropy.detach().sum())
        terms = [((g - b0) * logp).sum()]
        if with_ones:
            terms.append(logp.sum())
        if with_entropy:
            terms.append(entropy.sum())
        for k, term in enumerate(terms):
            grads = torch.autograd.grad(term, params, retain_graph=k < len(terms) - 1, allow_unused=True)
            for total, grad in zip(sums[k], grads):
                if grad is not None:
                    total += grad
            scalars[k] += float(term.detach())

    while True:
        message = conn.recv()
        kind = message[0]
        if kind == STOP[0]:
            return
        if kind == "weights":  # a new batch: these weights, this b0
            _, arrays, b0, with_ones = message
            net.load_state_dict({k: torch.as_tensor(v) for k, v in arrays.items()})
            terms = 1 + with_ones + with_entropy
            sums = [[torch.zeros_like(p) for p in params] for _ in range(terms)]
            scalars, entropy_total = [0.0] * terms, 0.0
            pending.clear()
        elif kind == "episode":
            pending.append(message[1:])  # (obs, prev_obs, masks, actions, g)
            if sum(len(p[0]) for p in pending) >= PASS_STEPS:
                add_up()
        elif kind == "sums":
            add_up()
            conn.send(([[t.numpy() for t in s] for s in sums], scalars, entropy_total))


class SplitUpdates:
    """The run's side: starts the learner, sends it each episode taken, and updates from its sums."""

    def __init__(self, agent):
        self.agent = agent
        c = agent.config
        self.worker = Worker(serve, agent.pi, agent.n_actions, c.entropy_coef > 0)
        self.b0, self.with_ones = 0.0, False

    def begin(self, taken) -> None:
        """A batch begins (``taken``: the episodes it already has, a resumed run's): the weights and b0."""
        agent = self.agent
        first = agent.updates == 0
        self.b0 = 0.0 if first or agent.config.baseline == "none" else agent.mean_return
        self.with_ones = first and agent.config.baseline == "mean"
        arrays = {k: v.detach().numpy().copy() for k, v in agent.pi.state_dict().items()}
        self.worker.send(("weights", arrays, self.b0, self.with_ones))
        for episode in taken:
            self.episode(episode)

    def episode(self, ep) -> None:
        self.worker.send(("episode", np.asarray(ep.obs), ep.prev_obs, list(ep.masks), np.asarray(ep.actions),
                          self.agent._returns(ep).astype(np.float32)))

    def update(self, batch, logger=None) -> float:
        """The batch is complete: the gradient from the learner's sums, and the optimizer's step."""
        from gymlab.agents.reinforce import root_mean_square

        agent, c = self.agent, self.agent.config
        self.worker.send(("sums",))
        sums, scalars, entropy_total = self.worker.recv()
        g = torch.as_tensor(np.concatenate([agent._returns(ep) for ep in batch]), dtype=torch.float32)
        b = agent.baseline(g)
        steps = len(g)
        scale = float(root_mean_square(g - b)) if c.normalize_advantages else 1.0
        shift = (b - self.b0) if self.with_ones else 0.0
        entropy = sums[-1] if c.entropy_coef > 0 else None
        agent.optimizer.zero_grad(set_to_none=True)
        # --8<-- [start:split-gradient]
        for i, p in enumerate(agent.pi.parameters()):
            grad = -(sums[0][i] - shift * sums[1][i]) / (steps * scale) if self.with_ones \
                else -sums[0][i] / (steps * scale)
            if entropy is not None:
                grad = grad - c.entropy_coef * entropy[i] / steps
            p.grad = torch.as_tensor(grad, dtype=p.dtype)
        # --8<-- [end:split-gradient]
        loss = -(scalars[0] - shift * (scalars[1] if self.with_ones else 0.0)) / (steps * scale)
        mean_entropy = entropy_total / steps
        if c.entropy_coef > 0:
            loss -= c.entropy_coef * mean_entropy
        return agent.step(g, b, loss, mean_entropy, logger)

    def close(self) -> None:
        self.worker.close()


def learn_split(agent, env, budget, logger):
    """``Reinforce.learn`` with ``--workers 2``."""
    split = SplitUpdates(agent)
    try:
        batches = agent.episode_batches(env, budget, logger, agent.pi, agent._sample, version=lambda: agent.updates,
                                        rounds=agent.config.round_batches)
        rollout = agent.rollout
        split.begin(rollout.taken_in_order())  # (a resumed run: the batch so far, again, in order)
        rollout.on_taken = split.episode
        for batch in batches:
            split.update(batch, logger)
            split.begin([])
        return agent
    finally:
        agent.rollout.on_taken = None
        split.close()
