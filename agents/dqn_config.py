"""DQN's settings (``--agent dqn``, feed-forward and recurrent alike), apart from the agent so
that reading them imports no torch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gymlab.agents.base import LEARNING_RATE, THREADS, WIDTHS, flag, param, require, validate

RECURRENT = ("lstm", "gru")  # the --policy values that build the recurrent DQN (agents/recurrent_dqn.py)
RECURRENT_ONLY = ("seq_len", "burn_in", "seq_overlap", "priority_eta", "value_rescaling")  # its settings alone


@dataclass
class DQNConfig:
    """The defaults are the CartPole recipe (chosen over 12 variants on CartPole's seeds 0-3):
    double Q, dueling streams, 3-step returns, a Huber loss, a target copy every 250 steps, a
    gradient step every 2, epsilon to 0.01 over the first 10% and a learning rate that decays to
    0 over the budget. They became the defaults after they solved Acrobot's seeds 0-9 unchanged
    (benchmarks/untuned_envs.py), so those seeds are tuning seeds too (``DEFAULTS_TUNED_ON`` in
    agents/hyperparams.py)."""

    policy: str = param("mlp", "network: mlp (vectors), cnn (pixel frames), or lstm or gru: a recurrent Q-network "
                               "learning from replayed sequences, R2D2's way (agents/recurrent_dqn.py)",
                        choices=("mlp", "cnn", "lstm", "gru"), arch=True)
    hidden: tuple[int, ...] = param((64, 64), "hidden layer sizes, e.g. 256,256", WIDTHS, arch=True)
    learning_rate: float = param(1e-3, "Adam's step size", LEARNING_RATE)
    buffer_size: int = param(100_000, "transitions the replay database holds (with --history > 1: frames, about "
                             "one a transition; recurrent: sequences enough for that many env steps when episodes "
                             "are longer than a sequence, fewer steps when they are shorter)", "[1, 1e9]")
    batch_size: int = param(64, "transitions per gradient step (recurrent: sequences)", ">= 1")
    gamma: float = param(0.99, "discount factor", "[0, 1]")
    learning_starts: int = param(1000, "env steps before the first gradient step, only filling the replay "
                                 "(epsilon follows its schedule from step 0 all the same)", ">= 0")
    train_freq: int = param(2, "env steps between rounds of gradient steps", ">= 1")
    gradient_steps: int = param(1, "gradient steps per round", ">= 1")
    target_update_interval: int = param(250, "env steps between target-network updates", ">= 1")
    tau: float = param(1.0, "target update: 1 copies, <1 moves that fraction (Polyak)", "(0, 1]")
    epsilon_start: float = param(1.0, "exploration rate at the start", "[0, 1]")
    epsilon_end: float = param(0.01, "exploration rate after the decay", "[0, 1]")
    exploration_fraction: float = param(0.1, "fraction of the budget epsilon decays over", "[0, 1]")
    double_q: bool = param(True, "double Q-learning: online net selects, target evaluates")
    prioritized: bool = param(False, "prioritised replay by |TD error|")
    per_alpha: float = param(0.6, "prioritised replay: how much priority counts (0 = uniform, 1 = "
                             "proportional; above 1, (|TD| + eps)^alpha leaves float range)", "[0, 1]")
    per_beta: float = param(0.4, "prioritised replay: initial IS exponent, annealed to 1", "[0, 1]")
    dueling: bool = param(True, "dueling streams: Q = V + A - mean(A), V and A each with its own hidden layer",
                          arch=True)
    n_step: int = param(3, "n-step returns", ">= 1")
    huber: bool = param(True, "Huber loss (else squared error)")
    max_grad_norm: float = param(10.0, "clip the gradient to this norm (0: no clipping)", ">= 0")
    lr_anneal: bool = param(True, "decay the learning rate linearly to 0 over the budget")
    history: int = param(1, "frames the Q-network sees side by side (an image's channels): the newest and the "
                            "history-1 before it, padded at an episode's start with its first; above 1, replay "
                            "stores each frame once", "[1, 64]", arch=True)
    num_envs: int = param(1, "envs stepped side by side (a vector env), acted in with one batched forward pass; the "
                             "step counts (--train-freq, --learning-starts, ...) add up the steps of every env, and "
                             "a budget of steps is rounded up to a whole step of the vector env (at most N-1 more)",
                          "[1, 1024]")
    # --policy lstm|gru only (agents/recurrent_dqn.py); R2D2's defaults (Kapturowski et al. 2019).
    seq_len: int = param(80, "recurrent: steps of a replayed sequence the loss is on (R2D2: 80)", "[1, 10000]")
    burn_in: int = param(40, "recurrent: steps before those, run through without gradient to refresh the stored "
                             "recurrent state (R2D2: 40)", "[0, 10000]")
    seq_overlap: float = param(0.5, "recurrent: fraction of its trained steps a sequence shares with the episode's "
                                    "next one (R2D2: 1/2)", "[0, 1)")
    priority_eta: float = param(0.9, "recurrent --prioritized: a sequence's priority is eta max|TD| + (1 - eta) "
                                     "mean|TD| over its steps (R2D2: 0.9)", "[0, 1]")
    value_rescaling: bool = param(False, "recurrent: learn h(Q), h(x) = sign(x)(sqrt(|x|+1)-1) + 0.001x (R2D2), "
                                         "for returns far from 1; off: small tasks' returns are about 1")
    threads: int = param(1, "torch CPU threads", THREADS)
    workers: int = param(1, "processes for one run: 1 acts and learns in turn; 2 steps the env(s) in a second process "
                            "(the actor, with a copy of the weights) while this one learns, the actor's weights one "
                            "--sync-every behind (agents/actor_learner.py)", "[1, 2]")
    sync_every: int = param(500, "--workers 2: env steps the actor plays between hand-overs (its transitions go to "
                                 "replay, it takes the learner's new weights)", "[1, 1e9]")

    def __post_init__(self):
        validate(self)
        require(self.batch_size <= self.buffer_size, f"--batch-size ({self.batch_size}) must be <= --buffer-size "
                f"({self.buffer_size}): a minibatch is drawn from the replay database")
        if self.policy not in RECURRENT:  # the sequence replay's settings mean nothing without a memory
            changed = [f.name for f in dataclasses.fields(self) if f.name in RECURRENT_ONLY
                       and getattr(self, f.name) != f.default]
            require(not changed, f"{flag(changed[0]) if changed else ''} sets the recurrent DQN's sequence replay, "
                    f"so it needs --policy lstm (or gru), not {self.policy}")
        require(self.workers == 1 or self.policy not in RECURRENT, f"--workers {self.workers} splits the "
                f"feed-forward DQN; --policy {self.policy} (the recurrent DQN) learns in one process: give --workers 1")
        require(self.history == 1 or self.policy not in RECURRENT, f"--history {self.history} lays frames "
                f"side by side for a feed-forward network; --policy {self.policy} remembers them itself: give "
                f"--history 1")
