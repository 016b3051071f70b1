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
from gymlab.agents.networks import SparseInputLinear


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
    first = net.body[0] if isinstance(net.body, torch.nn.Sequential) else None
    if isinstance(first, SparseInputLinear):  # difference frames: only their nonzero pixels, never dense
        x = sparse_differences(net, episodes)
        if x is not None:
            return net.head(net.body[1:](torch.sparse.mm(x, first.weight.t()) + first.bias))
    x = torch.cat([step_inputs(net, obs, prev) for obs, prev in episodes])
    return net.head(net.body(x))
# --8<-- [end:batched-outputs]


def sparse_differences(net, episodes):
    """The batch's difference frames (``step_inputs``'s, concatenated) as a sparse (steps, pixels)
    tensor, formed from the uint8 frames without the dense float one (10,000 steps of Pong: 256 MB
    written and read three times, most of the update's time): a difference is nonzero exactly where
    a pixel changed, and there its value is a/255 - b/255 in float32, the dense path's very
    operations. None when the frames are not sparse (a tenth of the entries or more)."""
    rows, cols, now, before, start = [], [], [], [], 0
    for obs, prev in episodes:
        frames = np.asarray(obs).reshape(len(obs), -1)
        previous = np.concatenate([frames[:1] if prev is None else np.asarray(prev).reshape(1, -1), frames[:-1]])
        r, k = np.nonzero(frames != previous)  # (row-major: a coalesced tensor's order)
        rows.append(r + start)
        cols.append(k)
        now.append(frames[r, k])
        before.append(previous[r, k])
        start += len(frames)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    pixels = frames.shape[1]
    if len(rows) * 10 >= start * pixels:
        return None
    a, b = (torch.as_tensor(np.concatenate(v)).float() / 255.0 for v in (now, before))
    values = a - b
    index = torch.as_tensor(np.stack([rows, cols]).astype(np.int64))
    return torch.sparse_coo_tensor(index, values, (start, pixels), is_coalesced=True,
                                   check_invariants=False)


def masked_logits(logits: torch.Tensor, masks_per_episode, n_actions: int) -> torch.Tensor:
    """The logits with each step's disallowed actions at -1e9 (the softmax the actions were drawn
    from); ``masks_per_episode``: each episode's list of masks, in the order of ``logits``' rows."""
    allowed = np.concatenate([np.broadcast_to(action_masks.allowed(list(m), n_actions), (len(m), n_actions))
                              for m in masks_per_episode])
    return logits.masked_fill(~torch.as_tensor(allowed), -1e9)
