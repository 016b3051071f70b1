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

From pixels (``python train.py --env pong-pixels --agent dqn``: a CNN on the last 4 frames):

- ``--history K``: the Q-network sees the last K frames side by side (Mnih et al. 2015's
  "agent history length"; channels of an image), padded at an episode's start with its first
  frame as ``FrameStackObservation`` pads; the replay database then stores each frame once
  and rebuilds the stacks when it samples (``agents.frame_replay``), 1/(2K) of the memory
  of storing obs and next_obs whole;
- ``--num-envs N``: N envs stepped side by side (a vector env), the actions of all chosen in
  one forward pass, epsilon-greedy for each env on its own, and every env's transitions
  replayed. The step counts (``learning_starts``, ``train_freq``, ``target_update_interval``,
  the exploration schedule, the budget) add up the steps of all envs: with N = 4 and
  ``train_freq`` 4, one round of gradient steps per 4 transitions, about one per step of the
  vector env (a sub-env adds no transition at a step in which it only resets). A budget of
  steps is rounded up to a whole step of the vector env: at most N - 1 more.

With a memory (``python train.py --env recall --agent dqn --policy lstm``): ``--policy lstm|gru``
builds the recurrent DQN of ``agents/recurrent_dqn.py`` (R2D2's sequence replay, stored state and
burn-in), under the same name and flags.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gymnasium import spaces

from gymlab.agents import action_masks, fast_step
from gymlab.agents.base import SpaceError
from gymlab.agents.checkpoint import short_space
from gymlab.agents.dqn_loop import learning_loop
from gymlab.agents.dqn_config import RECURRENT, DQNConfig
from gymlab.agents.frame_replay import (FramePrioritizedReplayBuffer, FrameReplayBuffer, push_frames, stack_frames,
                                        stacked_space)
from gymlab.agents.networks import Network
from gymlab.agents.replay import NStep, PrioritizedReplayBuffer, ReplayBuffer
from gymlab.agents.rollout import Steps, VectorSteps, make_vector_env
from gymlab.agents.torch_agent import TorchAgent


class QNetwork(nn.Module):
    """Q-values for every action: a ``Network``, whose head is a ``DuelingHead`` with --dueling."""

    def __init__(self, observation_space, n_actions: int, config: DQNConfig):
        super().__init__()
        self.net = Network(observation_space, n_actions, config.policy, tuple(config.hidden), activation=nn.ReLU,
                           dueling=config.dueling)
        self.plan = fast_step.mlp_plan(self.net)  # an MLP: its layers called as functions (None: as modules)

    def forward(self, obs) -> torch.Tensor:
        if self.plan is not None:
            return fast_step.mlp_forward(self.plan, self.net.prepare(obs))
        return self.net.head(self.net.body(self.net.prepare(obs)))


def adam(params, lr: float) -> torch.optim.Adam:
    """Adam, fused into one kernel where this torch can (several times faster for small nets)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr)


# --8<-- [start:masked]
def masked(q: torch.Tensor, masks) -> torch.Tensor:
    """Q-values with disallowed actions pushed to -inf, so max and argmax skip them. A mask that
    allows nothing restricts nothing (as for every agent here): the agent still acts in that state,
    and max over an all -inf row would make the target -inf, and 0 * -inf = NaN after a terminal."""
    if masks is None or (isinstance(masks, list) and all(m is None for m in masks)):
        return q  # nothing masked (spared building a mask of all ones)
    return q.masked_fill(~torch.as_tensor(action_masks.allowed(masks, q.shape[-1])), -torch.inf)
# --8<-- [end:masked]


def replay_memory(buffer) -> str:
    """A replay buffer's memory, in one line."""
    line = f"replay memory {buffer.nbytes / 1e6:,.1f} MB for {buffer.capacity:,} "
    if not hasattr(buffer, "whole_nbytes"):
        return line + "transitions (obs and next_obs stored whole)"
    return line + (f"frames, each stored once in {buffer.num_envs} ring(s), {buffer.history} stacked on sampling "
                   f"(obs and next_obs stored whole: {buffer.whole_nbytes / 1e6:,.1f} MB)")


class DQN(TorchAgent):
    name = "dqn"
    Config = DQNConfig

    discrete_because = "it learns a Q-value for each of finitely many actions"

    def __new__(cls, observation_space=None, action_space=None, config=None, seed: int = 0):
        """``--policy lstm|gru`` makes the recurrent DQN (``agents/recurrent_dqn.py``, a subclass), under the
        same name; Python then calls its ``__init__``."""
        if cls is DQN and config is not None and config.policy in RECURRENT:
            from gymlab.agents.recurrent_dqn import RecurrentDQN  # (imported here: it imports this module)

            cls = RecurrentDQN
        return super().__new__(cls)

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        c = self.config
        if c.history > 1 and not (isinstance(observation_space, spaces.Box) and observation_space.shape):
            raise SpaceError(f"{self.name}: --history {c.history} lays frames side by side, so it needs Box "
                             f"observations with at least one axis, not {short_space(observation_space)}")
        self.n_actions = int(action_space.n)
        seen = stacked_space(observation_space, c.history)  # what the Q-network reads: the frames stacked
        self.q, self.q_target = self.network(seen), self.network(seen)
        self.q_target.load_state_dict(self.q.state_dict())
        self.optimizer = adam(self.q.parameters(), c.learning_rate)
        self.epsilon = c.epsilon_start
        self.begin(None)  # the loop's state, kept between calls of learn
        self.updates, self._resumed_loop = 0, None
        self.actor, self.resumed_split = None, None  # --workers 2: the actor process (agents/actor_learner.py)

    def network(self, observation_space) -> nn.Module:
        return QNetwork(observation_space, self.n_actions, self.config)

    def modules(self):
        return {"q": self.q, "q_target": self.q_target}

    def policy_network(self):
        from gymlab.agents.onnx_policy import PolicyNet

        return PolicyNet(self.q.net, history=self.config.history)  # (the recurrent DQN's q has a .net too)

    # ---------------------------------------------------------------- acting
    # --8<-- [start:epsilon-greedy]
    def epsilon_greedy(self, masks: list, explore: bool, greedy_actions) -> np.ndarray:
        """For each row in turn (an env): a random allowed action with probability epsilon (when
        ``explore``), else the greedy one, ``greedy_actions(rows)`` for all such rows at once.
        ``masks``: each row's allowed actions (None: all)."""
        actions, greedy = np.zeros(len(masks), dtype=np.int64), []
        for i, mask in enumerate(masks):
            if explore and self.rng.random() < self.epsilon:
                actions[i] = self.rng.choice(np.flatnonzero(action_masks.allowed(mask, self.n_actions)))
            else:
                greedy.append(i)
        if greedy:
            actions[greedy] = greedy_actions(greedy)
        return actions
    # --8<-- [end:epsilon-greedy]

    def act(self, obs: np.ndarray, masks: list, explore: bool = True) -> np.ndarray:
        """Epsilon-greedy for each row of ``obs`` (an env's observation, its frames stacked), the greedy
        rows in one forward pass."""
        def greedy_actions(rows):
            seen = obs if len(rows) == len(obs) else obs[rows]  # (every row greedy: no copy)
            with torch.inference_mode():
                return masked(self.q(seen), [masks[i] for i in rows]).argmax(dim=1).numpy()

        return self.epsilon_greedy(masks, explore, greedy_actions)

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = False, action_mask=None):
        """With --history > 1, ``state`` holds the frames seen last (None, or ``episode_start``: the
        episode begins with ``obs``)."""
        obs = np.asarray(obs)[None]
        if self.config.history > 1:
            start = state is None or bool(self.batch_starts(episode_start)[0])
            state = push_frames(state, obs, np.array([start]), self.config.history)
            obs = stack_frames(state)
        return int(self.act(obs, [action_mask], explore=not deterministic)[0]), state

    # ---------------------------------------------------------------- learning
    def learn(self, env, budget, logger):
        if self.config.workers > 1:
            from gymlab.agents.actor_learner import learn_split

            return learn_split(self, env, budget, logger)
        return learning_loop(self, env, budget, logger)

    def check_env(self, env) -> None:
        from gymlab.agents.actor_learner import check_env

        check_env(env, self.config.workers)

    def act_to_learn(self, obs, masks) -> np.ndarray:
        """Epsilon-greedy actions for a batch of observations (one row per env) while learning."""
        c = self.config
        if c.history > 1:  # each env's last frames, side by side
            self.stacks = push_frames(self.stacks, obs, self.starts, c.history)
            obs = stack_frames(self.stacks)
        return self.act(obs, masks)

    def begin(self, env) -> None:
        """A fresh loop in ``env`` (None: none yet): the env(s) being stepped (``num_envs`` copies of
        ``env`` in a vector env, with --num-envs > 1), which of them begin an episode with the
        observation they show now, what each remembers of its episode (``begin_memories``), and the
        replay buffer (made at the first step)."""
        c = self.config
        self.env, self.steps = env, None
        if env is not None:
            seed = self.env_seed(c.num_envs)  # (an int for one env, a list for a vector env)
            self.steps = VectorSteps(make_vector_env(env, c.num_envs), seed) if c.num_envs > 1 else Steps(env, seed)
        self.starts, self.buffer = np.ones(c.num_envs, dtype=bool), None
        self.begin_memories()

    def begin_memories(self) -> None:
        """For each env: an n-step window, and the frames it showed last (--history)."""
        self.n_steps = [NStep(self.config.n_step, self.config.gamma) for _ in range(self.config.num_envs)]
        self.stacks = None

    def remember(self, i: int, t) -> None:
        """Env ``i``'s step ``t`` into its n-step window, and the transitions that leave the window into replay."""
        c = self.config
        next_mask = t.next_info.get("action_mask")
        if self.buffer is None:  # the first step tells whether this env hands out action masks
            masks = next_mask is not None or t.info.get("action_mask") is not None
            self.buffer = self.make_buffer(self.observation_space, masks=masks)
        start, self.starts[i] = self.starts[i], t.terminated or t.truncated
        obs, next_obs = t.obs, t.next_obs
        if c.history > 1:  # each frame stored once: the window and the buffer hold the frames' addresses
            obs, next_obs = self.buffer.add_frames(i, t.obs, t.next_obs, start)
        for item in self.n_steps[i].push(obs, t.action, t.reward, next_obs, t.terminated, t.truncated, next_mask):
            self.buffer.add(*item)

    # ---------------------------------------------------------------- resume state
    def resume_state(self) -> dict:
        """Beside the weights, Adam's moments and the random streams: the env(s) being stepped, the
        replay buffer (priorities included), which envs begin an episode, what each remembers of its
        episode (``memories_state``), epsilon and the update count."""
        loop = None
        if self.steps is not None:
            loop = {"steps": self.steps.state(), "starts": self.starts, **self.memories_state(),
                    "buffer": None if self.buffer is None else self.buffer.state()}
            if self.actor is not None:  # --workers 2: the env(s) are the actor's
                from gymlab.agents.actor_learner import split_state

                loop = split_state(self, loop)
        return {**super().resume_state(), "epsilon": self.epsilon, "updates": self.updates, "loop": loop}

    def memories_state(self) -> dict:
        return {"n_step": [list(n.window) for n in self.n_steps], "stacks": self.stacks}

    def load_memories(self, loop: dict) -> None:
        if "starts" not in loop:  # written before --num-envs and --history: one env, and its n-step window alone
            loop = {**loop, "n_step": [loop["n_step"]], "stacks": None}
        for n_step, window in zip(self.n_steps, loop["n_step"]):
            n_step.window.extend(window)
        self.stacks = None if loop["stacks"] is None else np.array(loop["stacks"])

    def load_resume_state(self, state: dict) -> None:
        super().load_resume_state(state)
        self.epsilon, self.updates, self._resumed_loop = state["epsilon"], state["updates"], state["loop"]

    def resume_in(self, env) -> None:
        """Bind the restored loop to ``env`` (made as the saved run's was): ``learn`` goes on from there."""
        loop, self._resumed_loop = self._resumed_loop, None
        if loop is None:
            return
        self.begin(env)
        self.steps.load_state(loop["steps"])
        if "starts" in loop:
            self.starts[:] = loop["starts"]
        self.load_memories(loop)
        self.resumed_split = loop if "actor" in loop else None
        if loop["buffer"] is not None:
            masks = loop["buffer"].get("next_masks", loop["buffer"].get("masks"))  # (transitions, sequences)
            self.buffer = self.make_buffer(env.observation_space, masks=masks is not None)
            self.buffer.load_state(loop["buffer"])

    def make_buffer(self, obs_space, masks: bool):
        """The replay buffer, its memory said in one line: with --history > 1 it stores each frame once."""
        c = self.config
        shape, dtype = obs_space.shape, obs_space.dtype
        if c.history > 1:
            args = (c.buffer_size, shape, dtype, c.history, self.n_actions, masks, self.rng, c.num_envs, c.n_step)
            buffer = FramePrioritizedReplayBuffer(*args, alpha=c.per_alpha) if c.prioritized \
                else FrameReplayBuffer(*args)
        elif c.prioritized:
            buffer = PrioritizedReplayBuffer(c.buffer_size, shape, dtype, self.n_actions, masks, self.rng,
                                             alpha=c.per_alpha)
        else:
            buffer = ReplayBuffer(c.buffer_size, shape, dtype, self.n_actions, masks, self.rng)
        print(f"{self.name}: {replay_memory(buffer)}")
        return buffer

    def report(self, env, run_dir=None):
        if self.buffer is None:
            return {}, []
        figures = {"replay_bytes": self.buffer.nbytes, "replay_transitions": len(self.buffer)}
        if hasattr(self.buffer, "whole_nbytes"):
            figures["replay_bytes_if_stored_whole"] = self.buffer.whole_nbytes
        return figures, []  # (the memory was said when the buffer was made)

    # --8<-- [start:dqn-update]
    def update(self, batch, buffer) -> torch.Tensor:
        """One gradient step on a minibatch; returns the loss (a tensor: .item() only when logged)."""
        c = self.config
        actions = torch.as_tensor(batch.actions).view(-1, 1)
        q_now = self.q(batch.obs)
        with torch.no_grad():  # (s' apart from s: no backward pass through it, 1.3x faster for the CNN)
            q_next_target = self.q_target(batch.next_obs)
            if c.double_q:  # the online net selects the action, the target net evaluates it
                best = masked(self.q(batch.next_obs), batch.next_masks).argmax(dim=1, keepdim=True)
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
        self.gradient_step(loss)
        if c.prioritized:  # new priorities: the surprise |r + gamma max_b Q(s', b) - Q(s, a)|
            buffer.update_priorities(batch.index, (target - q_taken).detach().numpy())
        self.last_q_mean = q_taken.detach()
        return loss.detach()
    # --8<-- [end:dqn-update]

    def gradient_step(self, loss: torch.Tensor) -> None:
        """Adam's step on ``loss``, the gradient clipped to --max-grad-norm (0: not clipped)."""
        fast_step.zero_grad(self.optimizer)  # (torch's own kernels, without its Python around them: fast_step)
        loss.backward()
        if self.config.max_grad_norm > 0:
            fast_step.clip_grad_norm_(self.optimizer.param_groups[0]["params"], self.config.max_grad_norm)
        fast_step.adam_step(self.optimizer)

    # --8<-- [start:target-update]
    def update_target(self) -> None:
        tau = self.config.tau
        with torch.no_grad():
            for p, tp in zip(self.q.parameters(), self.q_target.parameters()):
                tp.mul_(1.0 - tau).add_(p, alpha=tau) if tau < 1.0 else tp.copy_(p)
    # --8<-- [end:target-update]
