"""REINFORCE with a baseline, as in the lecture (Williams 1992).

    python train.py --env CartPole-v1 --agent reinforce
    python train.py --env pong-pixels --agent reinforce            # Karpathy's MLP on frame differences
    python train.py --env gymlab/Recall-v0 --agent reinforce --policy lstm

Run a batch of episodes with the stochastic policy pi_theta, then for every step

    theta <- theta + eta (G_t - b) grad log pi_theta(a_t | s_t)

(``--estimator``, below, says how the steps' terms are weighted and added up) where G_t is the discounted reward to go from step t (with ``--no-reward-to-go``,
the whole episode's return, the lecture's r_total; with ``--point-returns``, the
reward to go up to the end of step t's round, a round ending at each nonzero reward,
as Karpathy's Pong agent reset its sum at each point) and b the baseline
(``--baseline``): none (b = 0), a running mean of the earlier batches' G_t
(``mean``: each batch's G_t averaged over every step of the batch, so a long
episode counts once a step, not once; those batch means then averaged plainly over
the first 10 batches, then exponentially, the newest batch weighing 0.1; the first
batch, with none before it, uses its own mean), or a learned value V(s_t) (``value``). With ``--normalize-advantages`` (on by default)
G_t - b is then divided by its root mean square over the batch: a per-batch
step size, which leaves the batch's direction and what b subtracted as they were
(not the expected update's: the scale is random, see below; it
does not centre G_t - b to mean 0: that would subtract the batch's mean return,
a baseline of its own, whatever ``--baseline`` says; and unlike the standard
deviation, the root mean square of a batch whose G_t - b are all equal is not
near 0, so the step cannot blow up). An entropy bonus keeps the
policy from collapsing early.

Two estimators (``--estimator``). The default, ``common``, is what most code
writes: the loss is the mean over the batch's steps of -(G_t - b) log pi(a_t | s_t),
G_t - b normalised as above. It is biased, and its expected update can point
against grad J: it drops Sutton & Barto's gamma^t, and its divisor (the batch's
number of steps) and scale (the root mean square) are random whenever episode
lengths or returns depend on the actions. Exactly (every batch enumerated, in
``tests/test_reinforce_estimator.py``): on a two-step MDP seen through one
observation (step 0: a = 0 pays 1; step 1: a = 1 pays 1.5; gamma 0.5) its
expected update has cosine -1.0 with grad J, with or without a baseline; with
gamma 1, action 0 ending the episode with 1 and action 1 leading through 10
forced steps to 2, 4 episodes a batch, a uniform policy and no baseline, -1.0
too (the mean baseline keeps the sign there). On these two the gradient has one
dimension, so a cosine can only be +1 or -1: -1 says its sign is wrong. gamma^t
matters whenever steps share weights, not only when an observation repeats: the
two-step MDP with a distinct observation at each step and a shared hidden layer
of 4 (seed 0's initial weights) gives 0.58 with 1 episode a batch, no baseline and
no normalisation, and 0.68 at the defaults (4 episodes a batch, the mean baseline,
the first batch's being its own mean, normalised). It stays the default because the tuned entries and every figure in
the README were measured with it, and because without gamma^t a long episode's
late steps still move the policy (at gamma 0.99, gamma^t is 0.007 by step 500).

``textbook`` is the unbiased one: per episode -sum_t gamma^t (G_t - b_t)
log pi(a_t | s_t), summed over the batch's episodes and divided by their number
(the batch's, which ``--num-envs`` may round up from ``--batch-episodes``); its
exact expected update equals grad J on all three MDPs above. No normalisation
(turned off by ``--estimator textbook`` itself); under ``--baseline mean`` b = 0 on
the first batch (its own mean would correlate with the sample); under ``value``
b_t = V(s_t), detached; with ``--no-reward-to-go`` every step is weighted by G_0
and no gamma^t (the lecture's r_total form, unbiased too); with gamma 0, gamma^t
is 0 past step 0, so J = E[r_0] and only each episode's first step is learned from
(one warning on stderr: give ``--gamma 1`` to learn from every step). An entropy bonus,
gradient clipping and ``--point-returns`` each bias it, so it refuses them. Either
estimate is handed to Adam, whose step divides each weight's gradient by a running
root mean square of its own: "unbiased" is said of the gradient Adam receives, not
of the step it takes. Recurrent policies (``--policy lstm|gru``) carry
their hidden state through an episode and start it afresh at each reset.
A time-limit truncation ends the return there, with any baseline: a Monte-Carlo
return is never bootstrapped (not even from a learned V).
With ``--num-envs`` > 1 an update learns only from episodes its weights played
from the start, and takes from each env the first episodes it began (never the
first to finish, which would favour short ones): see
``TorchAgent.episode_batches``.

Discrete actions: a softmax over the network's outputs (over the allowed ones,
where the env gives ``info["action_mask"]``, in acting and in the update alike).
Box actions: a Gaussian whose mean is the network's output and whose log standard
deviation is learned alongside (one per action dimension, state-independent, as in
Williams' paper and SB3). The env gets the sample clipped to the space's bounds, but
the update scores the sample itself: the clipping belongs to the env, and log pi of
the clipped value under the unclipped Gaussian is not the action's log-probability
(with the mean outside the bounds it even points the gradient the wrong way).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gymnasium import spaces

from gymlab.agents.base import LEARNING_RATE, THREADS, WIDTHS, SpaceError, param, require, validate
from gymlab.agents.checkpoint import short_space
from gymlab.agents.networks import POLICIES, Network, check_observation_space
from gymlab.agents.batched_pass import batch_outputs, masked_logits
from gymlab.agents.torch_agent import Episode, TorchAgent

BASELINES = ("none", "mean", "value")
ESTIMATORS = ("common", "textbook")


@dataclass
class ReinforceConfig:
    """Default step size and batch: 3e-3 and 4 episodes, chosen on Acrobot's seeds 100-102 over four
    variants (CartPole's 1e-2 and 8 episodes; a value baseline; 2 episodes; these); the tuned
    entries in ``agents/hyperparams.py`` (CartPole, Pong, Recall, prediction) set their own."""

    policy: str = param("mlp", "network: mlp, cnn (pixels), lstm or gru", choices=POLICIES, arch=True)
    hidden: tuple[int, ...] = param((64,), "hidden layer sizes, e.g. 64,64", WIDTHS, arch=True)
    activation: str = param("tanh", "the hidden layers' activation (mlp; Karpathy's pixel Pong: relu)",
                            choices=("tanh", "relu"), arch=True)
    optimizer: str = param("adam", "adam, or rmsprop (decay 0.99, eps 1e-5: Karpathy's pixel Pong)",
                           choices=("adam", "rmsprop"))
    learning_rate: float = param(3e-3, "the optimizer's step size, eta", LEARNING_RATE)
    gamma: float = param(0.99, "discount factor", "[0, 1]")
    batch_episodes: int = param(4, "episodes per update (points, with --round-batches); with --num-envs N, each env's "
                                   "first ceil(B/N), so ceil(B/N) x N", ">= 1")
    estimator: str = param("common", "common: mean over the batch's steps of (G_t - b) grad log pi, biased (no gamma^t, "
                                     "random divisor and scale); textbook: sum over steps of gamma^t (G_t - b) grad "
                                     "log pi over the number of episodes, unbiased (no normalisation; with "
                                     "--no-reward-to-go, (G_0 - b) grad log pi at every step, no gamma^t; with "
                                     "--gamma 0, the first step only)",
                           choices=ESTIMATORS)
    baseline: str = param("mean", "b: none, mean (the earlier batches' G_t, each batch's averaged over its steps: "
                          "plainly over the first 10 batches, then an exponential average, weight 0.1) or value "
                          "(learned V(s))",
                          choices=BASELINES)
    reward_to_go: bool = param(True, "weight each step by the return from it on")
    point_returns: bool = param(False, "a nonzero reward closes a round (a point in Pong): a step's return stops "
                                       "at the end of its round (Karpathy 2016)")
    # Each point is a whole Monte-Carlo sample of its own return, but its start (the paddles where
    # the last point left them) is not a fresh reset, and the points a batch takes (each court's
    # first k begun under the current weights) lean towards those after long ones when k = 1
    # (the review measured it; it fades by k = 2): take --batch-episodes >= 2 x --num-envs.
    round_batches: bool = param(False, "with --point-returns: a round (a point) is a unit of the batch, so an update "
                                       "comes every --batch-episodes points, not games (feed-forward policies)")
    curriculum_start: float = param(1.0, "with --round-batches on Pong's courts: the training opponent's "
                                          "difficulty starts here and rises by 0.1 each time the agent wins half "
                                          "of 100 points, up to the env's own; evaluation always meets the env's "
                                          "(1: no curriculum)", "[0, 1]")
    normalize_advantages: bool = param(True, "divide G - b by its root mean square over the batch (a step size; "
                                             "it does not centre it, so b stays the only thing subtracted); "
                                             "--estimator common only: textbook turns it off")
    entropy_coef: float = param(0.0, "weight of the entropy bonus", ">= 0")
    value_coef: float = param(0.5, "weight of the value loss (baseline=value)", ">= 0")
    frame_diff: bool = param(False, "see the current frame minus the previous one (zeros at an episode's first)")
    num_envs: int = param(1, "episodes played side by side in a vector env (one batched forward pass per step)",
                          "[1, 1024]")
    # Beyond +-20, sigma(b) is 0 or 1 in float32 anyway.
    forget_bias: float = param(0.0, "initial bias b of the LSTM's forget gates, which keep sigma(b) of the memory "
                                    "a step (0: torch's init)", "[-20, 20]")
    # sigma = e^log_std_init: from 2e-9 to 5e8.
    log_std_init: float = param(-1.0, "Box actions: the Gaussian's initial log sigma (-1: sigma 0.37; samples are "
                                      "clipped to the bounds, so a wide start pulls the mean outside them)",
                                "[-20, 20]")
    workers: int = param(1, "processes: 1 plays and learns in turn; 2 plays in this one while a second adds up "
                            "the gradient of the episodes already finished (the same gradient, up to rounding; "
                            "--estimator common, --baseline none or mean, Discrete actions)", "[1, 2]")
    max_grad_norm: float = param(0.0, "clip the gradient to this norm (0: no clipping)", ">= 0")
    threads: int = param(1, "torch CPU threads", THREADS)

    def __post_init__(self):
        validate(self)
        if self.estimator == "textbook":  # a scale that depends on the batch would bias it: off, as recorded
            self.normalize_advantages = False
            for value, what in ((self.entropy_coef, "--entropy-coef"), (self.max_grad_norm, "--max-grad-norm")):
                require(value == 0, f"--estimator textbook is the unbiased gradient of the return, and {what} "
                                    f"{value:g} (given, or the env's tuned entry) biases it: give {what} 0, or "
                                    f"use --estimator common")
            require(not self.point_returns, "--estimator textbook weighs each step by gamma^t G_t, the return of "
                                            "the whole episode from t: --point-returns cuts it at each point, "
                                            "another objective; use --estimator common")
        require(self.forget_bias == 0 or self.policy == "lstm",
                f"--forget-bias sets an LSTM's forget gates, so it needs --policy lstm, not {self.policy}")
        require(self.reward_to_go or not self.point_returns,
                "--point-returns weights each step by the return to the end of its round: it is a kind of reward "
                "to go, so it cannot be combined with --no-reward-to-go")
        require(self.point_returns or not self.round_batches,
                "--round-batches learns from each point as it ends, which is sound only when a step's return stops "
                "at its point: give --point-returns too")
        require(self.workers == 1 or (self.estimator == "common" and self.baseline in ("none", "mean")
                                      and self.policy not in ("lstm", "gru")),
                f"--workers 2 adds up the common estimator's terms episode by episode, with a baseline known "
                f"without a network: it needs --estimator common, --baseline none or mean and a feed-forward "
                f"policy (given --estimator {self.estimator}, --baseline {self.baseline}, --policy {self.policy})")
        require(self.curriculum_start == 1.0 or (self.round_batches and self.num_envs > 1),
                f"--curriculum-start {self.curriculum_start:g} raises the opponent of Pong's courts as the agent "
                f"wins points: give --round-batches and --num-envs > 1 too")
        require(not self.round_batches or self.policy not in ("lstm", "gru"),
                f"--round-batches cuts games into points, and a recurrent policy's memory runs across them: "
                f"use --policy mlp or cnn, not {self.policy}")


def root_mean_square(advantage: torch.Tensor) -> torch.Tensor:
    """What --normalize-advantages divides G_t - b by: their root mean square over the batch (+1e-8)."""
    return advantage.pow(2).mean().sqrt() + 1e-8


# --8<-- [start:discounted-cumsum]
def discounted_cumsum(x: np.ndarray, gamma: float, restart=None) -> np.ndarray:
    """y_t = x_t + gamma x_t+1 + gamma^2 x_t+2 + ..., the sum stopping at each t where
    ``restart[t]`` (y_t = x_t there)."""
    out, running = np.zeros(len(x), dtype=np.float64), 0.0
    for t in range(len(x) - 1, -1, -1):
        running = x[t] + (0.0 if restart is not None and restart[t] else gamma * running)
        out[t] = running
    return out
# --8<-- [end:discounted-cumsum]


class Reinforce(TorchAgent):
    name = "reinforce"
    Config = ReinforceConfig

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        box = isinstance(action_space, spaces.Box) and len(action_space.shape) == 1 and np.all(
            np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))
        if not (isinstance(action_space, spaces.Discrete) or box):
            raise SpaceError(f"{cls.name}: its policy is a softmax over Discrete actions or a Gaussian over a "
                             f"bounded 1-D Box, not {short_space(action_space)}")
        check_observation_space(observation_space, "mlp")

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        c = self.config
        self.continuous = isinstance(action_space, spaces.Box)
        if self.continuous and c.workers > 1:
            raise SpaceError("--workers 2 scores a softmax over Discrete actions; a Box action space needs "
                             "--workers 1")
        self.n_actions = action_space.shape[0] if self.continuous else int(action_space.n)
        act = nn.ReLU if c.activation == "relu" else nn.Tanh
        self.pi = Network(observation_space, self.n_actions, c.policy, tuple(c.hidden), c.frame_diff, act,
                          forget_bias=c.forget_bias or None)
        if self.continuous:  # log sigma, learned with the rest; saved with the policy's weights
            self.pi.register_parameter("log_std", nn.Parameter(torch.full((self.n_actions,), c.log_std_init)))
            self.low, self.high = action_space.low, action_space.high
        params = list(self.pi.parameters())
        self.value = None
        if c.baseline == "value":
            self.value = Network(observation_space, 1, c.policy, tuple(c.hidden), c.frame_diff, act,
                                 forget_bias=c.forget_bias or None)
            params += list(self.value.parameters())
        if c.optimizer == "rmsprop":  # Karpathy's: cache = 0.99 cache + 0.01 g^2, step g / (sqrt(cache) + 1e-5)
            self.optimizer = torch.optim.RMSprop(params, lr=c.learning_rate, alpha=0.99, eps=1e-5)
        else:
            self.optimizer = torch.optim.Adam(params, lr=c.learning_rate)
        self.mean_return = 0.0  # the running-mean baseline
        self.updates = 0
        self.warned_first_step_only = False

    def modules(self):
        mods = {"pi": self.pi}
        if self.value is not None:
            mods["value"] = self.value
        return mods

    def policy_network(self):
        from gymlab.agents.onnx_policy import PolicyNet

        return PolicyNet(self.pi, low=self.low, high=self.high) if self.continuous else PolicyNet(self.pi)

    # ---------------------------------------------------------------- acting
    def _gaussian(self, mean: np.ndarray) -> np.ndarray:
        """a ~ N(mean, sigma), unclipped: the action the update scores."""
        return (mean + np.exp(self.pi.log_std.detach().numpy()) * self.rng.standard_normal(mean.shape)).astype(
            np.float32)

    def dist(self, out):
        if self.continuous:
            return torch.distributions.Normal(out, self.pi.log_std.exp())
        return torch.distributions.Categorical(logits=out)

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = False, action_mask=None):
        logits, state = self.step_outputs(self.pi, obs, state, episode_start, action_mask)
        if self.continuous:
            action = logits if deterministic else self._gaussian(logits)
            return np.clip(action, self.low, self.high).astype(np.float32), state
        if deterministic:
            return int(np.argmax(logits)), state
        p = np.exp(logits - logits.max())
        return int(self.rng.choice(self.n_actions, p=p / p.sum())), state

    # ---------------------------------------------------------------- learning
    def _sample(self, logits: torch.Tensor) -> np.ndarray:
        """One action per row of a batch of outputs (a Gaussian's unclipped: the env clips it)."""
        if self.continuous:
            return self._gaussian(logits.double().numpy())
        p = torch.softmax(logits.double(), dim=1).numpy()
        u = self.rng.random(len(p))[:, None]  # inverse-CDF sampling, one draw per sub-env
        return np.minimum((p.cumsum(axis=1) < u).sum(axis=1), self.n_actions - 1)

    def learn(self, env, budget, logger):
        if self.config.workers > 1:
            from gymlab.agents.reinforce_workers import learn_split

            return learn_split(self, env, budget, logger)
        for batch in self.episode_batches(env, budget, logger, self.pi, self._sample, version=lambda: self.updates,
                                          rounds=self.config.round_batches):
            self.update(batch, logger)
        return self

    def resume_state(self) -> dict:
        return {**super().resume_state(), "updates": self.updates, "mean_return": self.mean_return}

    def load_resume_state(self, state: dict) -> None:
        super().load_resume_state(state)
        self.updates, self.mean_return = state["updates"], state["mean_return"]

    # --8<-- [start:returns]
    def _returns(self, ep: Episode) -> np.ndarray:
        c = self.config
        rewards = np.asarray(ep.rewards, dtype=np.float64)  # a time limit ends the sum: never bootstrapped
        if c.point_returns:  # G_t = r_t at a point's last step, else r_t + gamma G_t+1
            return discounted_cumsum(rewards, c.gamma, restart=rewards != 0)
        if c.reward_to_go:
            return discounted_cumsum(rewards, c.gamma)
        return np.full(len(rewards), discounted_cumsum(rewards, c.gamma)[0])  # the lecture's r_total
    # --8<-- [end:returns]

    def update(self, batch: list[Episode], logger=None) -> float:
        c = self.config
        episodes = [(np.asarray(ep.obs), ep.prev_obs) for ep in batch]
        logits = batch_outputs(self.pi, episodes)  # one pass over all the batch's steps (feed-forward)
        if not self.continuous:  # the softmax the actions were drawn from: over the allowed ones
            logits = masked_logits(logits, [ep.masks for ep in batch], self.n_actions)
        dist = self.dist(logits)
        logp = dist.log_prob(torch.as_tensor(np.concatenate([np.asarray(ep.actions) for ep in batch])))
        entropy = dist.entropy()
        if self.continuous:  # independent dimensions: log-probabilities and entropies add up
            logp, entropy = logp.sum(-1), entropy.sum(-1)
        returns = [self._returns(ep) for ep in batch]
        # textbook: gamma^t with the reward to go; with the whole return G_0 at every step, none
        discounts = [c.gamma ** np.arange(len(ep.rewards)) if c.reward_to_go else np.ones(len(ep.rewards))
                     for ep in batch]
        g = torch.as_tensor(np.concatenate(returns), dtype=torch.float32)
        textbook = c.estimator == "textbook"
        if textbook and c.gamma == 0 and not self.warned_first_step_only and max(len(ep.rewards) for ep in batch) > 1:
            self.warned_first_step_only = True  # gamma^t = 0 past step 0: J = E[G_0] = E[r_0]
            print(f"reinforce: warning: --estimator textbook with --gamma 0 learns only from each episode's first "
                  f"step (its gamma^t is 0 after it: J = E[r_0]); to learn from every step's reward use --gamma 1, "
                  f"or --estimator common", file=sys.stderr)
        b = self.baseline(g)
        if c.baseline == "value":
            v = batch_outputs(self.value, episodes).squeeze(-1)
            b = v.detach()  # V(s_t)
        # --8<-- [start:reinforce-loss]
        advantage = g - b
        # theta <- theta + eta (G_t - b) grad log pi(a_t | s_t): descend on its negative
        if textbook:  # sum over the steps of gamma^t (G_t - b) grad log pi, over the batch's episodes
            weight = torch.as_tensor(np.concatenate(discounts), dtype=torch.float32) * advantage
            loss = -(logp * weight).sum() / len(batch)
        else:  # the mean over the batch's steps
            if c.normalize_advantages:  # scaled by their root mean square, not centred: b alone is subtracted
                advantage = advantage / root_mean_square(advantage)  # (a std near 0 would blow up)
            loss = -(logp * advantage).mean()
        # --8<-- [end:reinforce-loss]
        loss = loss - c.entropy_coef * entropy.mean()
        if c.baseline == "value":
            loss = loss + c.value_coef * nn.functional.mse_loss(v, g)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return self.step(g, b, loss.item(), entropy.mean().item(), logger)

    def baseline(self, g: torch.Tensor) -> float:
        """b for a batch whose returns are ``g`` (``--baseline none`` or ``mean``; a value baseline's
        V(s_t) is ``update``'s own). The running mean starts at the first batch's own mean."""
        c = self.config
        if self.updates == 0:  # no earlier batch yet: the running mean starts at this batch's mean
            self.mean_return = float(g.mean())
        if c.baseline == "mean":  # (textbook: 0 on the first batch, whose own mean would correlate with it)
            return 0.0 if c.estimator == "textbook" and self.updates == 0 else self.mean_return
        return 0.0

    def step(self, g: torch.Tensor, b, loss: float, entropy: float, logger=None) -> float:
        """The optimizer's step on the gradients in the weights' ``.grad`` (clipped first with
        --max-grad-norm), and the batch counted: the running mean of G_t, the logs."""
        c = self.config
        if c.max_grad_norm > 0:
            nn.utils.clip_grad_norm_([p for group in self.optimizer.param_groups for p in group["params"]],
                                     c.max_grad_norm)
        self.optimizer.step()
        # The running-mean baseline follows the batch's G_t, averaged over its steps.
        self.updates += 1
        self.mean_return += (float(g.mean()) - self.mean_return) / min(self.updates, 10)
        if logger is not None:
            logger.log("losses/policy_loss", loss)
            logger.log("losses/entropy", entropy)
            logger.log("charts/baseline", float(b.mean()) if torch.is_tensor(b) else b)  # the b subtracted
        return loss
