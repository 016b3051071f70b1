"""The update's forward pass over a whole batch of episodes (REINFORCE's, and its learner's).

A feed-forward policy scores each step from that step's input alone (with ``--frame-diff``, its
frame minus the one before it, which ``Network.sequence`` forms within an episode), so the batch's
outputs are the episodes' outputs concatenated: each episode's inputs are formed as
``Network.sequence`` forms them, then one forward pass (and so one backward) runs over all the
batch's steps at once, instead of one per episode (with ``--round-batches``, one per point: a
hundred small passes a batch). The same sums but for the order of float additions
(``tests/test_batched_pass.py``). A recurrent policy's memory runs along each episode, so it keeps
one pass per episode.
"""

from __future__ import annotations

import numpy as np
import torch

from gymlab.agents import action_masks


def step_inputs(net, obs, prev_obs=None) -> torch.Tensor:
    """One episode's inputs to ``net.body``, as ``Network.sequence`` forms them."""
    x = net.prepare(obs)
    if net.frame_diff:
        first = x[:1] if prev_obs is None else net.prepare(np.asarray(prev_obs)[None])  # (Karpathy: zeros)
        x = x - torch.cat([first, x[:-1]])
    return x


# --8<-- [start:batched-outputs]
def batch_outputs(net, episodes) -> torch.Tensor:
    """``torch.cat([net.sequence(obs, prev) for obs, prev in episodes])``: ``episodes`` holds
    (obs, prev_obs) pairs; a feed-forward net makes one pass over all their steps."""
    if net.core is not None:  # recurrent: the memory runs along each episode, one pass each
        return torch.cat([net.sequence(obs, prev) for obs, prev in episodes])
    x = torch.cat([step_inputs(net, obs, prev) for obs, prev in episodes])
    return net.head(net.body(x))
# --8<-- [end:batched-outputs]


def masked_logits(logits: torch.Tensor, masks_per_episode, n_actions: int) -> torch.Tensor:
    """The logits with each step's disallowed actions at -1e9 (the softmax the actions were drawn
    from); ``masks_per_episode``: each episode's list of masks, in the order of ``logits``' rows."""
    allowed = np.concatenate([np.broadcast_to(action_masks.allowed(list(m), n_actions), (len(m), n_actions))
                              for m in masks_per_episode])
    return logits.masked_fill(~torch.as_tensor(allowed), -1e9)
