"""Every random stream of a run, from its one ``--seed``: the only place a run's seed is turned
into seeds.

The seed is the root of ``np.random.SeedSequence(seed)``, and each stream is one of its spawned
children (NumPy's way to make independent streams): the agent's numpy generator, torch's seed,
the reset seeds of the training envs (one per sub-env), of the final evaluation's episodes and of
the periodic evaluation's. So no two streams of a run, nor of two runs with different seeds, share
a start (the old ``seed + i`` gave runs with seeds s and s + 1 the same sub-envs and evaluation
episodes, and ``default_rng(seed)`` gave the agent the env's own stream). The same seed still
gives the same streams: a run is reproducible per seed.

    >>> env_seeds(0, 2) == env_seeds(0, 2), env_seeds(0, 2)[1] in env_seeds(1, 2)
    (True, False)
"""

from __future__ import annotations

import numpy as np

STREAMS = ("agent", "torch", "train_envs", "eval", "periodic_eval", "library", "actor")  # (new ones at the end:
# a stream is its index, so the others stay as they were)


def stream(seed: int, name: str) -> np.random.SeedSequence:
    """The ``SeedSequence`` of one stream of the run seeded ``seed``."""
    return np.random.SeedSequence(seed).spawn(len(STREAMS))[STREAMS.index(name)]


def _ints(seed: int, name: str, n: int, dtype=np.uint64) -> list[int]:
    return [int(v) for v in stream(seed, name).generate_state(n, dtype)]


def agent_rng(seed: int) -> np.random.Generator:
    """The agent's own numpy generator (exploration, sampled actions, minibatches)."""
    return np.random.default_rng(stream(seed, "agent"))


def actor_rng(seed: int) -> np.random.Generator:
    """The actor's own numpy generator (its epsilon-greedy draws) when another process learns
    (``--workers 2``): the learner's minibatches keep the agent's, so neither depends on timing."""
    return np.random.default_rng(stream(seed, "actor"))


def torch_seed(seed: int) -> int:
    """The seed for ``torch.manual_seed`` (initial weights, dropout)."""
    return _ints(seed, "torch", 1)[0]


def env_seeds(seed: int, n: int) -> list[int]:
    """The first reset's seed of each of the ``n`` training envs (sub-env i: the i-th)."""
    return _ints(seed, "train_envs", n)


def eval_seeds(seed: int, episodes: int) -> list[int]:
    """The reset seed of each episode of the final greedy evaluation."""
    return _ints(seed, "eval", episodes)


def periodic_eval_seeds(seed: int, episodes: int) -> list[int]:
    """The reset seeds of the periodic evaluation's episodes: the same episodes each time, so that
    the evaluations are comparable along the run."""
    return _ints(seed, "periodic_eval", episodes)


def library_seed(seed: int) -> int:
    """One 32-bit seed for a library that seeds its own streams from one int (SB3: numpy's legacy
    global, torch, its envs)."""
    return _ints(seed, "library", 1, np.uint32)[0]
