"""Deep Q-learning with experience replay, as in the lecture, and its extensions as flags.

    python train.py --env CartPole-v1 --agent dqn --steps 50000
    python train.py --env pong --agent dqn
    python train.py --env CartPole-v1 --agent dqn --prioritized --no-double-q --n-step 3 --dueling

The network Q_w is trained to minimise [r + gamma max_b Q_w-(s', b) - Q_w(s, a)]^2
(Huber by default) on minibatches from a replay database. Each extension is a
switch, so its effect can be measured alone:

- ``--double-q`` (on by default): the online network w selects argmax_b Q_w(s', b),
  the older target network w- evaluates it (van Hasselt et al. 2016);
- ``--prioritized``: sample by surprise |TD error|, with importance weights whose
  exponent beta anneals to 1 (Schaul et al. 2016);
- ``--dueling``: Q = V(s) + A(s, a) - mean_a A(s, a) (Wang et al. 2016), the value and the
  advantage each from its own stream (its own hidden layer) after a shared trunk;
- ``--n-step N``: bootstrap after N rewards instead of one;
- ``--tau``: 1 copies the target network every ``target_update_interval`` steps, less
  than 1 moves it that fraction of the way (Polyak) at each of those steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gymlab.agents.base import LEARNING_RATE, THREADS, WIDTHS, param, require, validate
from gymlab.agents.networks import Network
from gymlab.agents.replay import NStep, PrioritizedReplayBuffer, ReplayBuffer
from gymlab.agents.rollout import Steps
from gymlab.agents.schedules import linear
from gymlab.agents.torch_agent import TorchAgent


@dataclass
class DQNConfig:
    policy: str = param("mlp", "network: mlp (vectors) or cnn (pixel frames)", choices=("mlp", "cnn"),
                        why="DQN here is feed-forward", arch=True)
    hidden: tuple[int, ...] = param((64, 64), "hidden layer sizes, e.g. 256,256", WIDTHS, arch=True)
    learning_rate: float = param(1e-3, "Adam's step size", LEARNING_RATE)
    buffer_size: int = param(100_000, "transitions the replay database holds", "[1, 1e9]")
    batch_size: int = param(64, "transitions per gradient step", ">= 1")
    gamma: float = param(0.99, "discount factor", "[0, 1]")
    learning_starts: int = param(1000, "env steps of pure exploration before learning", ">= 0")
    train_freq: int = param(4, "env steps between rounds of gradient steps", ">= 1")
    gradient_steps: int = param(1, "gradient steps per round", ">= 1")
    target_update_interval: int = param(500, "env steps between target-network updates", ">= 1")
    tau: float = param(1.0, "target update: 1 copies, <1 moves that fraction (Polyak)", "(0, 1]")
    epsilon_start: float = param(1.0, "exploration rate at the start", "[0, 1]")
    epsilon_end: float = param(0.05, "exploration rate after the decay", "[0, 1]")
    exploration_fraction: float = param(0.2, "fraction of the budget epsilon decays over", "[0, 1]")
    double_q: bool = param(True, "double Q-learning: online net selects, target evaluates")
    prioritized: bool = param(False, "prioritised replay by |TD error|")
    per_alpha: float = param(0.6, "prioritised replay: how much priority counts (0 = uniform, 1 = "
                             "proportional; above 1, (|TD| + eps)^alpha leaves float range)", "[0, 1]")
    per_beta: float = param(0.4, "prioritised replay: initial IS exponent, annealed to 1", "[0, 1]")
    dueling: bool = param(False, "dueling streams: Q = V + A - mean(A), V and A each with its own hidden layer",
                          arch=True)
    n_step: int = param(1, "n-step returns", ">= 1")
    huber: bool = param(True, "Huber loss (else squared error)")
    max_grad_norm: float = param(10.0, "clip the gradient to this norm (0: no clipping)", ">= 0")
    lr_anneal: bool = param(False, "decay the learning rate linearly to 0 over the budget")
    threads: int = param(1, "torch CPU threads", THREADS)

    def __post_init__(self):
        validate(self)
        require(self.batch_size <= self.buffer_size, f"--batch-size ({self.batch_size}) must be <= --buffer-size "
                f"({self.buffer_size}): a minibatch is drawn from the replay database")


class QNetwork(nn.Module):
    """Q-values for every action: a ``Network``, whose head is a ``DuelingHead`` with --dueling."""

    def __init__(self, observation_space, n_actions: int, config: DQNConfig):
        super().__init__()
        self.dueling, self.n_actions = config.dueling, n_actions
        self.net = Network(observation_space, n_actions, config.policy, tuple(config.hidden), activation=nn.ReLU,
                           dueling=config.dueling)

    def forward(self, obs) -> torch.Tensor:
        return self.net.head(self.net.body(self.net.prepare(obs)))


def adam(params, lr: float) -> torch.optim.Adam:
    """Adam, fused into one kernel where this torch can (several times faster for small nets)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr)


def masked(q: torch.Tensor, masks) -> torch.Tensor:
    """Q-values with disallowed actions pushed to -inf, so max and argmax skip them. A mask that
    allows nothing restricts nothing (as for every agent here): the agent still acts in that state,
    and max over an all -inf row would make the target -inf, and 0 * -inf = NaN after a terminal."""
    if masks is None:
        return q
    allowed = torch.as_tensor(np.asarray(masks), dtype=torch.bool)
    allowed = allowed | ~allowed.any(dim=-1, keepdim=True)
    return q.masked_fill(~allowed, -torch.inf)


class DQN(TorchAgent):
    name = "dqn"
    Config = DQNConfig

    discrete_because = "it learns a Q-value for each of finitely many actions"

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        c = self.config
        self.n_actions = int(action_space.n)
        self.q = QNetwork(observation_space, self.n_actions, c)
        self.q_target = QNetwork(observation_space, self.n_actions, c)
        self.q_target.load_state_dict(self.q.state_dict())
        self.optimizer = adam(self.q.parameters(), c.learning_rate)
        self.epsilon = c.epsilon_start
        self.steps = self.buffer = self.n_step = None  # the loop's state, kept between calls of learn
        self.updates, self._resumed_loop = 0, None

    def modules(self):
        return {"q": self.q, "q_target": self.q_target}

    # ---------------------------------------------------------------- acting
    def _greedy(self, obs, mask) -> int:
        with torch.no_grad():
            q = masked(self.q(np.asarray(obs)[None]), None if mask is None else np.asarray(mask)[None])
        return int(q.argmax(dim=1)[0])

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = False, action_mask=None):
        if not deterministic and self.rng.random() < self.epsilon:
            allowed = np.flatnonzero(action_mask) if action_mask is not None and np.any(action_mask) \
                else np.arange(self.n_actions)
            return int(self.rng.choice(allowed)), state
        return self._greedy(obs, action_mask), state

    # ---------------------------------------------------------------- learning
    def learn(self, env, budget, logger):
        c = self.config
        if self.steps is None or self.steps.env is not env:  # else: going on where a resume state left off
            self.steps, self.buffer, self.n_step = Steps(env, self.seed), None, NStep(c.n_step, c.gamma)
        total = budget.total
        progress = (lambda: logger.steps) if budget.steps is not None else (lambda: logger.episodes)
        start, steps_before = time.perf_counter(), logger.steps

        def policy(obs, info):
            self.epsilon = linear(c.epsilon_start, c.epsilon_end, c.exploration_fraction * total, progress())
            return self.predict(obs, action_mask=info.get("action_mask"))[0]

        for t in self.steps.run(policy, budget, logger):
            next_mask = t.next_info.get("action_mask")
            if self.buffer is None:  # the first step tells whether this env hands out action masks
                self.buffer = self.make_buffer(env.observation_space, masks=next_mask is not None)
            for item in self.n_step.push(t.obs, t.action, t.reward, t.next_obs, t.terminated, t.truncated,
                                         next_mask):
                self.buffer.add(*item)
            step = logger.steps + 1  # this transition's number
            # len(buffer): n-step transitions reach the buffer n - 1 steps late, even with --learning-starts 0
            if step > c.learning_starts and step % c.train_freq == 0 and len(self.buffer):
                frac = min(1.0, progress() / total)
                if c.lr_anneal:
                    for group in self.optimizer.param_groups:
                        group["lr"] = c.learning_rate * (1.0 - frac)
                beta = c.per_beta + (1.0 - c.per_beta) * frac
                for _ in range(c.gradient_steps):
                    loss = self.update(self.buffer.sample(c.batch_size, beta), self.buffer)
                    self.updates += 1
                if self.updates % 100 < c.gradient_steps:
                    logger.log("losses/td_loss", loss.item())
                    logger.log("losses/q_values", self.last_q_mean.mean().item())
                    logger.log("charts/epsilon", self.epsilon)
                    logger.log("charts/SPS", (logger.steps - steps_before) / (time.perf_counter() - start))
            if step % c.target_update_interval == 0:
                self.update_target()
        return self

    # ---------------------------------------------------------------- resume state
    def resume_state(self) -> dict:
        """Beside the weights, Adam's moments and the random streams: the env being stepped, the
        replay buffer (priorities included), the n-step window, epsilon and the update count."""
        loop = None
        if self.steps is not None:
            loop = {"steps": self.steps.state(), "n_step": list(self.n_step.window),
                    "buffer": None if self.buffer is None else self.buffer.state()}
        return {**super().resume_state(), "epsilon": self.epsilon, "updates": self.updates, "loop": loop}

    def load_resume_state(self, state: dict) -> None:
        super().load_resume_state(state)
        self.epsilon, self.updates, self._resumed_loop = state["epsilon"], state["updates"], state["loop"]

    def resume_in(self, env) -> None:
        """Bind the restored loop to ``env`` (made as the saved run's was): ``learn`` goes on from there."""
        loop, self._resumed_loop = self._resumed_loop, None
        if loop is None:
            return
        c = self.config
        self.steps, self.n_step = Steps(env, self.seed), NStep(c.n_step, c.gamma)
        self.steps.load_state(loop["steps"])
        self.n_step.window.extend(loop["n_step"])
        self.buffer = None
        if loop["buffer"] is not None:
            self.buffer = self.make_buffer(env.observation_space, masks=loop["buffer"]["next_masks"] is not None)
            self.buffer.load_state(loop["buffer"])

    def make_buffer(self, obs_space, masks: bool):
        c = self.config
        if c.prioritized:
            return PrioritizedReplayBuffer(c.buffer_size, obs_space.shape, obs_space.dtype, self.n_actions, masks,
                                           self.rng, alpha=c.per_alpha)
        return ReplayBuffer(c.buffer_size, obs_space.shape, obs_space.dtype, self.n_actions, masks, self.rng)

    def update(self, batch, buffer) -> torch.Tensor:
        """One gradient step on a minibatch; returns the loss (a tensor: .item() only when logged)."""
        c = self.config
        actions = torch.as_tensor(batch.actions).view(-1, 1)
        n = len(actions)
        if c.double_q:  # one pass of the online net over s and s' together
            q_online = self.q(np.concatenate([batch.obs, batch.next_obs]))
            q_now, q_online_next = q_online[:n], q_online[n:].detach()
        else:
            q_now = self.q(batch.obs)
        with torch.no_grad():
            q_next_target = self.q_target(batch.next_obs)
            if c.double_q:  # the online net selects the action, the target net evaluates it
                best = masked(q_online_next, batch.next_masks).argmax(dim=1, keepdim=True)
                q_next = q_next_target.gather(1, best).squeeze(1)
            else:
                q_next = masked(q_next_target, batch.next_masks).max(dim=1).values
            # y = r + gamma^n max_b Q_w-(s', b), b over the actions allowed in s' (all, if the mask
            # allows none), and just r after a terminal state (discount 0)
            target = torch.as_tensor(batch.rewards) + torch.as_tensor(batch.discounts) * q_next
        q_taken = q_now.gather(1, actions).squeeze(1)
        loss_fn = nn.functional.smooth_l1_loss if c.huber else nn.functional.mse_loss
        if c.prioritized:  # weight each sample's loss by its importance-sampling weight
            loss = (torch.as_tensor(batch.weights) * loss_fn(q_taken, target, reduction="none")).mean()
        else:
            loss = loss_fn(q_taken, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.max_grad_norm > 0:
            nn.utils.clip_grad_norm_(self.q.parameters(), c.max_grad_norm, foreach=True)
        self.optimizer.step()
        if c.prioritized:  # new priorities: the surprise |r + gamma max_b Q(s', b) - Q(s, a)|
            buffer.update_priorities(batch.index, (target - q_taken).detach().numpy())
        self.last_q_mean = q_taken.detach()
        return loss.detach()

    def update_target(self) -> None:
        tau = self.config.tau
        with torch.no_grad():
            for p, tp in zip(self.q.parameters(), self.q_target.parameters()):
                tp.mul_(1.0 - tau).add_(p, alpha=tau) if tau < 1.0 else tp.copy_(p)
