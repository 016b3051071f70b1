"""Recurrent DQN, the R2D2 way (Kapturowski et al. 2019; after Hausknecht & Stone 2015's DRQN).

    python train.py --env recall --agent dqn --policy lstm
    python train.py --env recall --agent dqn --policy gru --seq-len 16 --burn-in 4 --n-step 2
    python train.py --env recall --agent dqn --policy lstm --num-envs 4 --prioritized --value-rescaling

``--agent dqn --policy lstm|gru`` builds this agent, a subclass of ``DQN`` (which ``DQN(...)`` makes
for those policies) that keeps DQN's loop, target updates, gradient step and resume state, with
the feed-forward DQN's flags read for sequences and a few of its own. A recurrent Q-network
Q_w(o_t, h_t-1) sees the observations one at a time and carries its memory h (an LSTM's (h, c))
from one to the next, so it can act on what an observation no longer shows.

Acting: the online network's memory runs through each episode, zeroed at the episode's
start; epsilon-greedy over the allowed actions; with ``--num-envs N`` one batched forward
pass a step for all N envs, each with its own memory.

Replay (``agents.sequence_replay``): each episode is cut into sequences of l + m + n steps,
a burn-in of l (``--burn-in``, R2D2 40), m trained steps (``--seq-len``, R2D2 80) and n more
for their n-step targets; adjacent sequences share a fraction ``--seq-overlap`` of their
trained steps (R2D2 1/2), and a sequence never reaches into another episode: it is padded
there, and padding gets no loss. Each sequence keeps the recurrent state the acting network
had at its first step ("stored state"). ``--buffer-size`` counts env steps: the buffer holds
``buffer_size / period`` sequences, each of which brings ``period`` new trained steps.
``--batch-size`` counts sequences.

The update, on a batch of sequences (``loss``; slot t counted in each sequence):

    burn-in:  h = the stored state run through slots 0 .. l-1, without gradient, for Q_w and Q_w-
              (it refreshes a state the acting network computed with older weights)
    unroll:   Q_w(s_t, .) and Q_w-(s_t, .) for t = l .. l+m+n-1, both from their burned-in h
              (padding is never run: a sequence whose episode begins on slot k <= l starts there
              from zero, and slots past every sequence's last step are left out; Q_w- burns in
              and unrolls in one pass; the n look-ahead slots of Q_w carry no gradient)
    target:   y_t = sum_{k<K} gamma^k r_t+k + gamma^K Q_w-(s_t+K, argmax_a Q_w(s_t+K, a))
              K = n, or fewer where the episode ends first: after a terminal step the Q term
              is 0; after a time-limit truncation it is bootstrapped from the final observation;
              the argmax runs over the actions allowed in s_t+K (``--no-double-q``: max_a Q_w-)
    loss:     sum over trained slots t holding a step of w_i Huber(y_t - Q_w(s_t, a_t)), divided
              by the number of those slots (w_i: the sequence's importance weight, 1 if uniform)
    priority: p_i = eta max_t |y_t - Q_w(s_t, a_t)| + (1 - eta) mean_t |...|   (--priority-eta, R2D2 0.9)

``--value-rescaling`` (R2D2's, off by default): Q learns h(Q) with h(x) = sign(x)(sqrt(|x| + 1) - 1)
+ 1e-3 x, and y_t = h(sum_{k<K} gamma^k r_t+k + gamma^K h^-1(Q_w-(...))). It lets one network fit
returns from 1 to 10^5 (R2D2 stopped clipping Atari's rewards); on small tasks with returns of
order 1 it only bends the values, so it is left off.

Target updates (a copy every ``--target-update-interval`` steps, or Polyak with ``--tau``), the
Huber loss, gradient clipping and Adam are ``agents/dqn.py``'s, as are the step counts of
``--learning-starts``, ``--train-freq`` and the exploration schedule.

Where the defaults differ from R2D2's (which ran 256 actors on Atari): the flags shared with
the feed-forward DQN keep its CartPole recipe (learning rate 1e-3, not 1e-4; gamma 0.99, not
0.997; 3-step, not 5-step returns; a target copy every 250 env steps, not 2500 updates;
per_alpha 0.6 and per_beta 0.4 annealed to 1, not 0.9 and 0.6; hidden 64,64, not an LSTM of
512); the flags of its own (seq_len 80, burn_in 40, overlap 1/2, eta 0.9) are R2D2's. They are
sized for long episodes: on Recall (delay 10: 12-step episodes) a sequence is then one episode
padded to 123 steps: 31 env steps/s here before issue 27 stopped running the padding (it learned
the task by step 3600 all the same); ``--seq-len 16 --burn-in 4 --hidden 32 --batch-size 32
--train-freq 4 --learning-rate 3e-3`` ran at about 300 steps/s and solve it too (1.00 over 100
greedy episodes, seeds 0 and 1).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from gymlab.agents.dqn import DQN, masked
from gymlab.agents.dqn_config import RECURRENT, DQNConfig
from gymlab.agents.networks import Network
from gymlab.agents.sequence_replay import PrioritizedSequenceReplayBuffer, SequenceReplayBuffer, SequenceWriter
from gymlab.sequence_tasks.backbone import detach_state

RESCALING_EPS = 1e-3  # R2D2's epsilon in h(x)


def rescale(x: torch.Tensor) -> torch.Tensor:
    """h(x) = sign(x)(sqrt(|x| + 1) - 1) + eps x (Pohlen et al. 2018, R2D2)."""
    return torch.sign(x) * (torch.sqrt(x.abs() + 1.0) - 1.0) + RESCALING_EPS * x


def unrescale(x: torch.Tensor) -> torch.Tensor:
    """h^-1(x) = sign(x) (((sqrt(1 + 4 eps (|x| + 1 + eps)) - 1) / (2 eps))^2 - 1), with (sqrt(1 + a) - 1)
    written a / (sqrt(1 + a) + 1): in float32 the difference of two numbers near 1 keeps 3 digits, not 7."""
    a = 4.0 * RESCALING_EPS * (x.abs() + 1.0 + RESCALING_EPS)
    return torch.sign(x) * ((2.0 * (x.abs() + 1.0 + RESCALING_EPS) / (torch.sqrt(1.0 + a) + 1.0)) ** 2 - 1.0)


def overlap_steps(config: DQNConfig) -> int:
    """Trained steps adjacent sequences share: the fraction --seq-overlap of --seq-len, at most seq_len - 1."""
    return min(config.seq_len - 1, round(config.seq_overlap * config.seq_len))  # (int() of 0.29 * 100 is 28)


# --8<-- [start:n_step_targets]
def n_step_targets(rewards, terminated, valid, values: torch.Tensor, n: int, gamma: float, m: int) -> torch.Tensor:
    """y_t = sum_{k<K} gamma^k r_t+k + gamma^K values_t+K for t = 0 .. m-1, over slots counted from the
    first trained one (``rewards``, ``terminated``, ``valid``, ``values``: (B, m + n)); K = n, or fewer
    when the episode ends first: a terminal step leaves out the values term (discount 0), and after
    a truncated one the first slot without a step (the final observation) is bootstrapped from."""
    rewards, terminated, valid = (torch.as_tensor(np.asarray(x)) for x in (rewards, terminated, valid))
    t = torch.arange(m).expand(len(rewards), m)
    ret, discount = torch.zeros(t.shape), torch.ones(t.shape)
    until = t.clone()  # t + K: the slot to bootstrap from
    going = torch.ones(t.shape, dtype=torch.bool)  # no end of the episode met yet
    for k in range(n):
        step = going & valid[:, k:k + m]  # slot t+k holds a step of t's episode
        ret = ret + torch.where(step, discount * rewards[:, k:k + m], 0.0)  # + gamma^k r_t+k
        discount = torch.where(step, discount * gamma * (~terminated[:, k:k + m]).float(), discount)
        until = torch.where(step, t + k + 1, until)
        going = step & ~terminated[:, k:k + m]
    return ret + discount * values.gather(1, until)
# --8<-- [end:n_step_targets]


class RecurrentQNetwork(nn.Module):
    """Q-values for every action from a ``Network`` with a recurrent core (its head a ``DuelingHead``
    with --dueling), run over a batch of sequences from the states given."""

    def __init__(self, observation_space, n_actions: int, config: DQNConfig):
        super().__init__()
        self.lstm = config.policy == "lstm"
        self.net = Network(observation_space, n_actions, config.policy, tuple(config.hidden), activation=nn.ReLU,
                           dueling=config.dueling)

    def forward(self, obs, state):
        """``obs`` (B, T, ...) -> Q-values (B, T, n_actions), and the state after the last step."""
        out, state = self.net.core(self.features(obs), state)
        return self.head(out), state

    def features(self, obs) -> torch.Tensor:
        """The body's features of ``obs`` (B, T, ...), time first: (T, B, width), as the core reads them."""
        b, t = obs.shape[:2]
        x = self.net.prepare(obs.reshape(b * t, *obs.shape[2:]))
        return self.net.body(x).view(b, t, -1).transpose(0, 1)

    def head(self, out: torch.Tensor) -> torch.Tensor:
        """The core's outputs (T, B, hidden) -> Q-values (B, T, n_actions)."""
        return self.net.head(out.transpose(0, 1))

    @property
    def core(self):
        return self.net.core

    # --8<-- [start:step]
    def step(self, obs, state):
        """One step for a batch (``obs`` (B, ...)): Q-values (B, n_actions) and the next state, with the
        core's cell called on its own weights (one step needs none of the sequence pass's set-up)."""
        x = self.net.body(self.net.prepare(obs))
        rnn = self.net.core.rnn
        weights = (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)
        if self.lstm:
            h, c = torch.lstm_cell(x, (state[0][0], state[1][0]), *weights)
            return self.net.head(h), (h[None], c[None])
        h = torch.gru_cell(x, state[0], *weights)
        return self.net.head(h), h[None]
    # --8<-- [end:step]

    def initial_state(self, batch: int):
        return self.net.core.initial_state(batch)

    def reset(self, state, starts):
        """``state`` zeroed where ``starts`` (B,): an episode begins there (None: every memory empty)."""
        if state is None:
            return self.initial_state(len(starts))
        return self.net.core.reset_state(state, torch.as_tensor(np.asarray(starts), dtype=torch.bool))

    def rows(self, state) -> np.ndarray:
        """A batch's recurrent state as one array a row (B, k, hidden): k = 2 for an LSTM's (h, c)."""
        parts = state if self.lstm else (state,)
        return torch.stack([p[0] for p in parts], dim=1).numpy()

    def from_rows(self, rows: np.ndarray):
        rows = torch.as_tensor(rows)
        return (rows[None, :, 0].contiguous(), rows[None, :, 1].contiguous()) if self.lstm \
            else rows[None, :, 0].contiguous()

    def select(self, state, rows: torch.Tensor):
        """The state of the batch entries ``rows`` (indices)."""
        return tuple(s[:, rows] for s in state) if self.lstm else state[:, rows]

    def place(self, state, rows: torch.Tensor, part):
        """``state`` with the entries ``rows`` replaced by ``part`` (a new state; ``state`` is left as it is)."""
        parts, news = (state, part) if self.lstm else ((state,), (part,))
        out = tuple(s.index_copy(1, rows, p) for s, p in zip(parts, news))
        return out if self.lstm else out[0]


class RecurrentDQN(DQN):
    """Made by ``DQN(...)`` when ``config.policy`` is lstm or gru; its checkpoints name agent ``dqn``.
    DQN's loop, target updates and resume state; its own network, acting, replay and loss."""

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        config = config if config is not None else DQNConfig(policy="lstm")
        if config.policy not in RECURRENT:
            raise ValueError(f"the recurrent DQN needs --policy lstm or gru, not {config.policy}")
        super().__init__(observation_space, action_space, config, seed)

    def network(self, observation_space) -> RecurrentQNetwork:
        return RecurrentQNetwork(observation_space, self.n_actions, self.config)

    # ---------------------------------------------------------------- acting
    def choose(self, q: torch.Tensor, masks: list, explore: bool) -> np.ndarray:
        """Epsilon-greedy for each row of ``q`` (an env's Q-values) in turn: a random allowed action with
        probability epsilon, else the greedy one. ``masks``: each row's allowed actions (None: all)."""
        greedy = masked(q, masks).argmax(dim=1).numpy()
        return self.epsilon_greedy(masks, explore, lambda rows: greedy[rows])

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = False, action_mask=None):
        """``state``: the network's memory (None, or ``episode_start``: the episode begins with ``obs``)."""
        if state is None or bool(self.batch_starts(episode_start)[0]):
            state = self.q.initial_state(1)
        with torch.no_grad():
            q, state = self.q(np.asarray(obs)[None, None], state)
        return int(self.choose(q[:, 0], [action_mask], explore=not deterministic)[0]), state

    # ---------------------------------------------------------------- learning (DQN's loop)
    # --8<-- [start:act]
    def act_to_learn(self, obs, masks) -> np.ndarray:
        """Epsilon-greedy actions for a batch of observations (one row per env), each env's memory
        carried on (and reset where an episode begins); the state it read them with is kept."""
        with torch.no_grad():  # each env's memory as it reads obs: zeroed where an episode begins
            state = self.memory if self.memory is not None and not self.starts.any() \
                else self.q.reset(self.memory, self.starts)
            q, self.memory = self.q.step(np.asarray(obs), state)
        self.acting_state = self.q.rows(state)  # kept with each step: a sequence stores its first's
        return self.choose(q, masks, explore=True)
    # --8<-- [end:act]

    def begin_memories(self) -> None:
        """For each env: a sequence writer, and the acting network's memory (None: empty)."""
        c = self.config
        self.writers = [SequenceWriter(c.burn_in, c.seq_len, overlap_steps(c), c.n_step) for _ in range(c.num_envs)]
        self.memory, self.acting_state = None, None

    def memories_state(self) -> dict:
        return {"memory": self.memory, "writers": [w.state() for w in self.writers]}

    def load_memories(self, loop: dict) -> None:
        self.memory = loop["memory"]
        for writer, saved in zip(self.writers, loop["writers"]):
            writer.load_state(saved)

    def remember(self, i: int, t) -> None:
        """Env ``i``'s step ``t``, with the memory the network read its observation with, into the env's
        sequence writer, and the sequences it completes into replay."""
        mask, next_mask = t.info.get("action_mask"), t.next_info.get("action_mask")
        if self.buffer is None:  # the first step tells whether this env hands out action masks
            self.buffer = self.make_buffer(self.observation_space, masks=mask is not None or next_mask is not None)
        self.starts[i] = t.terminated or t.truncated  # the env's next observation begins an episode
        for seq in self.writers[i].push(t.obs, t.action, t.reward, t.terminated, t.truncated, self.acting_state[i],
                                        mask, t.next_obs, next_mask):
            self.buffer.add(seq)

    def make_buffer(self, space, masks: bool):
        """The sequence replay, its memory said in one line."""
        c = self.config
        writer = self.writers[0]
        capacity = math.ceil(c.buffer_size / writer.period)  # each sequence brings `period` new trained steps
        state_shape = (2 if self.q.lstm else 1, c.hidden[-1])
        args = (capacity, writer.length, space.shape, space.dtype, self.n_actions, masks, state_shape, self.rng)
        buffer = PrioritizedSequenceReplayBuffer(*args, alpha=c.per_alpha) if c.prioritized \
            else SequenceReplayBuffer(*args)
        print(f"{self.name}: replay memory {buffer.nbytes / 1e6:,.1f} MB for {capacity:,} sequences of "
              f"{writer.length} steps ({c.burn_in} burn-in, {c.seq_len} trained, {c.n_step} look-ahead; a new one "
              f"every {writer.period} steps of an episode)")
        return buffer

    def report(self, env, run_dir=None):
        if self.buffer is None:
            return {}, []
        return {"replay_bytes": self.buffer.nbytes, "replay_sequences": len(self.buffer)}, []

    # ---------------------------------------------------------------- the update
    def layout(self, batch) -> tuple[np.ndarray, torch.Tensor, int]:
        """Per sequence, the slot its episode begins on (0 if before slot 0) and the state it starts
        there with (zero where the episode begins, else the stored state); and ``stop``: one past the
        last slot any sequence needs (its last step's next observation), later slots being padding in
        every sequence, not run."""
        l, length = self.config.burn_in, batch.valid.shape[1]
        head = np.asarray(batch.starts)[:, :l + 1]  # (an episode never begins after slot l)
        begins = head.any(axis=1)
        first = np.where(begins, head.argmax(axis=1), 0)
        last = length - 1 - np.asarray(batch.valid)[:, ::-1].argmax(axis=1)  # each sequence's last step
        return first, np.asarray(batch.stored_state) * ~begins[:, None, None], int(min(length, last.max() + 2))

    @staticmethod
    def _obs(batch) -> torch.Tensor:
        return batch.obs if torch.is_tensor(batch.obs) else torch.from_numpy(np.asarray(batch.obs))

    # --8<-- [start:burn_in]
    @torch.no_grad()
    def burn_in(self, net: RecurrentQNetwork, batch, first=None, stored=None):
        """R2D2's burn-in: each sequence's stored state run through its l burn-in slots, without gradient,
        to refresh a state the acting network computed with older weights. A sequence near its episode's
        start is padded before it: its memory starts at zero on the episode's first slot instead, and
        the padding is not run (one pass per first slot: with a period of at least l, two at most)."""
        l = self.config.burn_in
        if first is None:
            first, stored, _ = self.layout(batch)
        state = net.from_rows(stored)
        obs = self._obs(batch)
        for k in np.unique(first[first < l]):
            rows = torch.from_numpy(np.flatnonzero(first == k))
            _, burned = net.core(net.features(obs[rows, k:l]), net.select(state, rows))
            state = net.place(state, rows, burned)
        return state
    # --8<-- [end:burn_in]

    def unroll(self, net: RecurrentQNetwork, batch, stop=None, first=None, stored=None) -> torch.Tensor:
        """Q-values at slots l .. stop-1 of each sequence (B, stop - l, n_actions; ``stop`` default L), from
        its burned-in state, with gradient through the trained slots only (the look-ahead's are only read)."""
        l, m = self.config.burn_in, self.config.seq_len
        stop = batch.valid.shape[1] if stop is None else stop
        obs, cut = self._obs(batch), min(stop, l + m)
        out, state = net.core(net.features(obs[:, l:cut]), self.burn_in(net, batch, first, stored))
        q = net.head(out)
        if cut < stop:  # the look-ahead: on from the trained part's last state, without gradient
            with torch.no_grad():
                more, _ = net.core(net.features(obs[:, cut:stop]), detach_state(state))
                more = net.head(more)
            q = torch.cat([q, more], dim=1)
        return q

    @torch.no_grad()
    def replay(self, net: RecurrentQNetwork, batch, first, stored, stop: int) -> torch.Tensor:
        """The target network's Q-values at slots l .. stop-1: burn-in and unroll in one pass per first slot."""
        l = self.config.burn_in
        state, obs = net.from_rows(stored), self._obs(batch)
        q = torch.empty(len(first), stop - l, self.n_actions)
        for k in np.unique(first):
            rows = torch.from_numpy(np.flatnonzero(first == k))
            out, _ = net.core(net.features(obs[rows, k:stop]), net.select(state, rows))
            q[rows] = net.head(out[l - k:])
        return q

    @torch.no_grad()
    def targets(self, batch, q_online: torch.Tensor, q_target=None) -> torch.Tensor:
        """y_t at each trained slot (B, m'), from the online and target nets' Q-values at slots l .. stop-1
        (m' = min(m, stop - l): the slots after are padding everywhere); ``q_target`` default: unrolled."""
        c = self.config
        l = c.burn_in
        q_target = self.unroll(self.q_target, batch) if q_target is None else q_target
        span = q_target.shape[1]
        m = min(c.seq_len, span)
        masks = None if batch.masks is None else batch.masks[:, l:l + span]  # the actions allowed in s_t
        # --8<-- [start:double_q]
        if c.double_q:  # the online net selects the action, the target net evaluates it
            values = q_target.gather(2, masked(q_online.detach(), masks).argmax(2, keepdim=True)).squeeze(2)
        else:
            values = masked(q_target, masks).max(2).values
        # --8<-- [end:double_q]
        if c.value_rescaling:
            values = unrescale(values)
        if span < m + c.n_step:  # slots past stop: never bootstrapped from
            values = nn.functional.pad(values, (0, m + c.n_step - span))
        # y_t = sum_{k<K} gamma^k r_t+k + gamma^K Q_w-(s_t+K, argmax_a Q_w(s_t+K, a)), K = n or to the episode's end
        end = l + m + c.n_step
        target = n_step_targets(batch.rewards[:, l:end], batch.terminated[:, l:end], batch.valid[:, l:end], values,
                                c.n_step, c.gamma, m)
        return rescale(target) if c.value_rescaling else target

    def loss(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The loss on a batch of sequences; the TD errors y_t - Q_w(s_t, a_t) at its trained slots (0 at
        slots past every sequence's end), and which of those hold a step (1) or padding (0)."""
        c = self.config
        l, m = c.burn_in, c.seq_len
        first, stored, stop = self.layout(batch)
        q = self.unroll(self.q, batch, stop, first, stored)  # Q_w(s_t, .) for t = l .. stop-1
        q_target = self.replay(self.q_target, batch, first, stored, stop)
        m_run = min(m, stop - l)  # trained slots run: later ones are padding in every sequence
        # --8<-- [start:loss]
        actions = torch.as_tensor(batch.actions[:, l:l + m_run, None])
        q_taken = q[:, :m_run].gather(2, actions).squeeze(2)  # Q_w(s_t, a_t)
        target = self.targets(batch, q, q_target)
        valid = torch.as_tensor(batch.valid[:, l:l + m_run]).float()  # padding past an episode's end: no loss
        loss_fn = nn.functional.smooth_l1_loss if c.huber else nn.functional.mse_loss
        weights = torch.as_tensor(batch.weights).view(-1, 1)  # importance weights (1 for uniform replay)
        loss = (weights * valid * loss_fn(q_taken, target, reduction="none")).sum() / valid.sum().clamp(min=1.0)
        # --8<-- [end:loss]
        q_logged = unrescale(q_taken.detach()) if c.value_rescaling else q_taken.detach()  # (logged as Q, not h(Q))
        self.last_q_mean = (q_logged * valid).sum() / valid.sum().clamp(min=1.0)
        td = nn.functional.pad((target - q_taken).detach(), (0, m - m_run))
        return loss, td, torch.as_tensor(batch.valid[:, l:l + m]).float()

    def update(self, batch, buffer) -> torch.Tensor:
        """One gradient step on a batch of sequences; returns the loss (a tensor: .item() only when logged)."""
        c = self.config
        loss, td, valid = self.loss(batch)
        self.gradient_step(loss)
        if c.prioritized:  # p_i = eta max_t |delta_t| + (1 - eta) mean_t |delta_t|, over the steps held
            surprise = td.abs() * valid
            mean = surprise.sum(1) / valid.sum(1).clamp(min=1.0)
            buffer.update_priorities(batch.index, (c.priority_eta * surprise.max(1).values
                                                   + (1.0 - c.priority_eta) * mean).numpy())
        return loss.detach()
