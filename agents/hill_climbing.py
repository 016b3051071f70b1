"""Hill climbing, the lecture's evolution strategy, exactly as it writes it.

    python train.py --env CartPole-v1 --agent hill                 # a linear policy
    python train.py --env CartPole-v1 --agent hill --hidden 8

    champion theta = 0
    each trial:  mutant = champion + Gaussian noise (fixed sigma)
                 evaluate champion and mutant on the same episodes (same seeds)
                 if the mutant does better: champion <- (1 - alpha) champion + alpha mutant

The policy is deterministic (argmax of the network's outputs), so its score on a
given set of seeds is exact. Works with any of the networks (``--policy``); with
no hidden layers (the default) it is a linear policy.

The mutant plays in a network of its own: ``self.net``, the one the agent acts,
evaluates and saves with, holds the champion at every moment, even when a
periodic evaluation, a checkpoint or Ctrl-C comes in the middle of the
mutant's episodes. A better champion is built in a spare network and swapped in
by one reference assignment, so ``self.net`` is never half-way between two champions
(a Ctrl-C during the update leaves the old champion whole, or the new one).

A trial plays the champion's and the mutant's episodes and nothing else: a blend
(alpha < 1) becomes champion unplayed, as in the lecture. The budget is looked at
before each trial, never inside it: a run overshoots its budget by at most one trial,
i.e. by fewer than 2 x ``episodes_per_trial`` episodes (the champion's and the mutant's)
counted from the step at which the budget runs out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from gymlab.agents.base import THREADS, WIDTHS, param, require, validate
from gymlab.agents.networks import POLICIES, Network
from gymlab.agents.rollout import run_episode
from gymlab.agents.torch_agent import TorchAgent
from gymlab.resume import ResumeError


@dataclass
class HillConfig:
    policy: str = param("mlp", "network: mlp, cnn, lstm or gru", choices=POLICIES, arch=True)
    hidden: tuple[int, ...] = param((), "hidden layer sizes; none: a linear policy", WIDTHS, empty=True, arch=True)
    sigma: float = param(0.5, "standard deviation of the mutation noise", "> 0")
    alpha: float = param(1.0, "how far the champion moves toward a better mutant", "(0, 1]")
    # The budget is looked at before each trial: a run overshoots it by at most one trial,
    # 2 x episodes_per_trial episodes.
    episodes_per_trial: int = param(3, "episodes (same seeds) each candidate plays", "[1, 10000]")
    threads: int = param(1, "torch CPU threads", THREADS)

    def __post_init__(self):
        validate(self)
        require(self.hidden or self.policy not in ("lstm", "gru"),
                f"--policy {self.policy} needs a hidden layer for its memory (e.g. --hidden 32); "
                f"only mlp and cnn can do without")


class HillClimbing(TorchAgent):
    name = "hill"
    Config = HillConfig

    discrete_because = "it acts by the argmax of one output per action"

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        c = self.config
        self.n_actions = int(action_space.n)
        self.net = Network(observation_space, self.n_actions, c.policy, tuple(c.hidden))  # the champion
        self.mutant_net = Network(observation_space, self.n_actions, c.policy, tuple(c.hidden))
        self.spare_net = Network(observation_space, self.n_actions, c.policy, tuple(c.hidden))  # the next champion
        with torch.no_grad():
            self.champion = torch.zeros_like(parameters_to_vector(self.net.parameters()))  # the lecture: from 0
            vector_to_parameters(self.champion, self.net.parameters())
        self.trial = None  # the trial under way (see learn)

    def modules(self):
        return {"net": self.net}

    def policy_network(self):
        from gymlab.agents.onnx_policy import PolicyNet

        return PolicyNet(self.net)  # the champion (with no hidden layers, a linear policy)

    def load_state_arrays(self, arrays):
        super().load_state_arrays(arrays)
        self.champion = parameters_to_vector(self.net.parameters()).detach().clone()

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = True, action_mask=None):
        return self.act(self.net, obs, state, episode_start, action_mask)

    def act(self, net, obs, state=None, episode_start=None, action_mask=None):
        out, state = self.step_outputs(net, obs, state, episode_start, action_mask)
        return int(np.argmax(out)), state

    def score(self, net, env, seeds, logger) -> float:
        """Mean return of ``net``'s policy over episodes reset with ``seeds``."""
        total = 0.0
        for seed in seeds:
            memory = None

            def act(obs, info):
                nonlocal memory
                action, memory = self.act(net, obs, memory, action_mask=info.get("action_mask"))
                return action

            total += run_episode(env, act, int(seed), logger)
        return total / len(seeds)

    def _crown(self, champion):
        """Make ``champion`` (a parameter vector) the champion: written whole into the spare
        network, which then replaces ``self.net`` in one assignment."""
        vector_to_parameters(champion, self.spare_net.parameters())  # self.net untouched meanwhile
        old = self.net
        self.net = self.spare_net  # the swap: from here on the new champion, whole
        self.spare_net = old
        self.champion = champion

    def learn(self, env, budget, logger):
        """Trials until the budget is spent. The trial under way is ``self.trial``: its seeds, its
        mutant, and the returns each candidate has had so far, one episode at a time, so a run can
        stop between any two episodes (a safe point) and a resume go on with the next one."""
        c = self.config
        with torch.no_grad():
            # After an interrupted swap (a KeyboardInterrupt caught and learn called again) the
            # champion is whatever self.net holds, and the spare must be a network of its own.
            if self.spare_net is self.net or self.spare_net is self.mutant_net:
                self.spare_net = Network(self.observation_space, self.n_actions, c.policy, tuple(c.hidden))
            self.champion = parameters_to_vector(self.net.parameters()).detach().clone()
            while True:
                logger.safe_point()
                trial = self.trial
                if trial is None:
                    if budget.spent(logger.steps, logger.episodes):
                        return self
                    # --8<-- [start:hill-mutant]
                    seeds = self.rng.integers(0, 2**31 - 1, c.episodes_per_trial)
                    noise = torch.as_tensor(self.rng.standard_normal(len(self.champion)), dtype=self.champion.dtype)
                    trial = self.trial = {"seeds": seeds, "mutant": self.champion + c.sigma * noise,
                                          "champion": [], "mutant_returns": []}
                    # --8<-- [end:hill-mutant]
                    vector_to_parameters(trial["mutant"], self.mutant_net.parameters())
                k = len(trial["seeds"])
                # Each candidate plays the trial's episodes in turn: the champion, then the mutant.
                for returns, net in ((trial["champion"], self.net), (trial["mutant_returns"], self.mutant_net)):
                    if len(returns) < k:
                        returns.append(self.play(net, env, int(trial["seeds"][len(returns)]), logger))
                        break
                else:
                    self._judge(trial, logger)

    def _judge(self, trial, logger) -> None:
        """Both candidates have played: crown a better mutant (champion <- (1 - alpha) champion +
        alpha mutant)."""
        c = self.config
        # --8<-- [start:hill-judge]
        champion_score, mutant_score = np.mean(trial["champion"]), np.mean(trial["mutant_returns"])
        logger.log("charts/champion_return", float(champion_score))
        logger.log("charts/mutant_return", float(mutant_score))
        # The trial is marked judged before the crowning: a KeyboardInterrupt from here on can never
        # have learn judge it again, which would blend the same mutant in twice.
        self.trial = None
        if mutant_score > champion_score:
            self._crown((1.0 - c.alpha) * self.champion + c.alpha * trial["mutant"])
        # --8<-- [end:hill-judge]

    def play(self, net, env, seed: int, logger) -> float:
        """The return of ``net``'s policy over one episode reset with ``seed``."""
        return self.score(net, env, [seed], logger)

    # ---------------------------------------------------------------- resume state
    def resume_state(self) -> dict:
        """The champion's weights, the random stream and the trial under way (seeds, mutant, returns
        so far). Safe points come between episodes, and each episode is reset with its own seed,
        so no env state is needed."""
        return {"weights": self.state_arrays(), "rng": self.rng, "trial": self.trial}

    def load_resume_state(self, state: dict) -> None:
        if "champion_score" in state:  # written when a blend replayed its trial: the trials differ
            raise ResumeError("a hill-climbing resume state from an older gymlab (it holds a champion_score); "
                              "this one does not replay a blend, so start the run afresh")
        self.load_state_arrays(state["weights"])
        self.rng.bit_generator.state = state["rng"].bit_generator.state
        self.trial = state["trial"]
        if self.trial is not None:
            vector_to_parameters(self.trial["mutant"], self.mutant_net.parameters())
