"""The one rule every agent reads an env's ``info["action_mask"]`` by.

An action mask holds 1 (True) for each action allowed in the state it came with. Where an
env gives none (None), or gives one that allows nothing (all 0, or empty), every action is
allowed: the agent still has to act, and a max over no actions has no value (a target of
-inf, and 0 * -inf = NaN after a terminal step).
"""

from __future__ import annotations

import numpy as np


# --8<-- [start:allowed]
def allowed(mask, n: int) -> np.ndarray:
    """The actions ``mask`` allows among ``n``, as bools: shape (n,) for one mask (or None), and
    (..., n) for a batch of them (an array, each row read alone, or a list whose rows may be None)."""
    if mask is None:
        return np.ones(n, dtype=bool)
    if isinstance(mask, (list, tuple)) and any(m is None for m in mask):
        return np.stack([allowed(m, n) for m in mask])  # (non-empty: it holds a None)
    mask = np.asarray(mask, dtype=bool)
    if mask.size == 0:
        return np.ones(mask.shape[:-1] + (n,) if mask.ndim > 1 else n, dtype=bool)
    return mask | ~mask.any(axis=-1, keepdims=True)
# --8<-- [end:allowed]
