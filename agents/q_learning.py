"""Tabular Q-learning, as in the lecture's 6-room example.

    python train.py --env rooms --agent q
    python train.py --env CliffWalking-v1 --agent q

For any env with a Discrete observation space and a Discrete action space
(Rooms, FrozenLake, CliffWalking, Taxi, ...). The whole algorithm is the
``learn`` method below: epsilon-greedy exploration that respects
``info["action_mask"]`` when the env gives one, and the update

    Q(s,a) <- Q(s,a) + eta [r + gamma max_b Q(s',b) - Q(s,a)]

which with eta = 1 is the lecture's deterministic rule
Q(s,a) = R(s,a) + gamma max_b Q(s',b).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gymnasium import spaces

from gymlab.agents import action_masks, seeding
from gymlab.agents.base import Agent, SpaceError, param, validate
from gymlab.agents.checkpoint import short_space
from gymlab.agents.rollout import Steps
from gymlab.agents.schedules import linear


@dataclass
class QConfig:
    # Above 1 each update overshoots its target: the table oscillates instead of converging.
    learning_rate: float = param(0.5, "eta, the step size; 1 is the lecture's rule for a deterministic world",
                                 "(0, 1]")
    gamma: float = param(0.99, "discount factor (the lecture uses 0.8 on Rooms)", "[0, 1]")
    epsilon_start: float = param(1.0, "exploration rate at the start", "[0, 1]")
    epsilon_end: float = param(0.05, "exploration rate after the decay", "[0, 1]")
    exploration_fraction: float = param(0.5, "fraction of the budget over which epsilon falls linearly from start "
                                             "to end", "[0, 1]")
    use_action_mask: bool = param(True, "explore and maximise only over actions allowed by info['action_mask']")

    def __post_init__(self):
        validate(self)


class QLearning(Agent):
    name = "q"
    Config = QConfig

    @classmethod
    def check_spaces(cls, observation_space, action_space) -> None:
        for what, space in (("observation", observation_space), ("action", action_space)):
            if not isinstance(space, spaces.Discrete):
                raise SpaceError(
                    f"tabular Q-learning needs a Discrete {what} space (its table has one row per state "
                    f"and one column per action), but this env's {what} space is {short_space(space)}. "
                    f"Use a function-approximation agent for it instead."
                )

    def __init__(self, observation_space, action_space, config=None, seed: int = 0):
        super().__init__(observation_space, action_space, config, seed)
        self.q = np.zeros((observation_space.n, action_space.n))
        self.rng = seeding.agent_rng(seed)
        self.epsilon = self.config.epsilon_start
        self.steps, self._resumed_steps = None, None  # the env being stepped, kept between calls of learn

    # ---------------------------------------------------------------- acting
    def _allowed(self, mask) -> np.ndarray:
        """Indices of the actions we may take: those the mask allows, or all of them."""
        return np.flatnonzero(action_masks.allowed(mask if self.config.use_action_mask else None, self.q.shape[1]))

    def _greedy(self, s: int, mask, tie_break: bool) -> int:
        allowed = self._allowed(mask)
        values = self.q[s, allowed]
        best = allowed[values == values.max()]
        return int(self.rng.choice(best)) if tie_break else int(best[0])

    # --8<-- [start:q-explore]
    def _explore(self, obs, info) -> int:
        s, mask = self._state(obs), info.get("action_mask")
        if self.rng.random() < self.epsilon:
            return int(self.rng.choice(self._allowed(mask)))
        return self._greedy(s, mask, tie_break=True)
    # --8<-- [end:q-explore]

    def _state(self, obs) -> int:
        return int(obs) - int(self.observation_space.start)

    def predict(self, obs, state=None, episode_start=None, deterministic: bool = False, action_mask=None):
        if not deterministic and self.rng.random() < self.epsilon:
            action = int(self.rng.choice(self._allowed(action_mask)))
        else:
            action = self._greedy(self._state(obs), action_mask, tie_break=False)
        return action + int(self.action_space.start), state

    # ---------------------------------------------------------------- learning
    def learn(self, env, budget, logger):
        c = self.config
        decay = c.exploration_fraction * budget.total

        def policy(obs, info):
            done_so_far = logger.steps if budget.steps is not None else logger.episodes
            self.epsilon = linear(c.epsilon_start, c.epsilon_end, decay, done_so_far)
            return self._explore(obs, info) + int(self.action_space.start)

        if self.steps is None or self.steps.env is not env:  # else: going on where a resume state left off
            self.steps = Steps(env, self.env_seed())
        # --8<-- [start:q-update]
        for t in self.steps.run(policy, budget, logger):
            s, a, s2 = self._state(t.obs), int(t.action) - int(self.action_space.start), self._state(t.next_obs)
            # The target: r + gamma max_b Q(s',b), over the actions allowed in s'.
            # Only a real end of the episode (terminated) bootstraps from zero; a time-limit
            # truncation cuts the episode, not the world, so s' keeps its value.
            future = 0.0 if t.terminated else self.q[s2, self._allowed(t.next_info.get("action_mask"))].max()
            target = t.reward + c.gamma * future
            self.q[s, a] += c.learning_rate * (target - self.q[s, a])  # Q <- Q + eta [target - Q]
        # --8<-- [end:q-update]
        return self

    # ---------------------------------------------------------------- checkpoints
    def state_arrays(self):
        return {"q": self.q}

    def load_state_arrays(self, arrays):
        q = np.asarray(arrays["q"], dtype=float)
        if q.shape != self.q.shape:
            raise ValueError(f"Q-table has shape {q.shape}, expected {self.q.shape}")
        self.q = q.copy()

    # ---------------------------------------------------------------- resume state
    def resume_state(self):
        return {"q": self.q, "rng": self.rng,  # (epsilon: from the schedule at each step)
                "steps": None if self.steps is None else self.steps.state()}

    def load_resume_state(self, state):
        self.load_state_arrays({"q": state["q"]})
        self.rng, self._resumed_steps = state["rng"], state["steps"]  # (a saved "epsilon", before: not read)

    def resume_in(self, env):
        state, self._resumed_steps = self._resumed_steps, None
        if state is not None:
            self.steps = Steps(env, self.env_seed())
            self.steps.load_state(state)

    # ---------------------------------------------------------------- reporting
    def normalised_q(self) -> np.ndarray:
        """The table scaled so its largest magnitude is 100, rounded, as the lecture shows it."""
        scale = np.abs(self.q).max()
        return np.rint(100 * self.q / scale).astype(int) if scale > 0 else np.zeros(self.q.shape, int)

    def greedy_route(self, env, start: int, max_len: int = 100) -> tuple[list[int], bool]:
        """States visited by the greedy policy from state ``start``, following the env's own
        transition table ``P[s][a]`` (most likely outcome); and whether it ended the episode.
        States and actions are the spaces' own values (a space may start at 1), not table rows."""
        P = env.unwrapped.P
        mask_of = getattr(env.unwrapped, "action_mask", None)
        route, s = [start], start
        for _ in range(max_len):
            a, _ = self.predict(s, deterministic=True, action_mask=mask_of(s) if mask_of else None)
            _, s, _, terminated = max(P[s][a], key=lambda outcome: outcome[0])
            s = int(s)
            route.append(s)
            if terminated:
                return route, True
            if s in route[:-1]:
                return route, False
        return route, False

    def report(self, env, run_dir: Path | None = None):
        n_states, n_actions = self.q.shape
        norm = self.normalised_q()
        figures = {"q_table_normalised": norm.tolist()}
        if n_states * n_actions <= 1000:
            figures["q_table"] = np.round(self.q, 6).tolist()
        lines = []
        if run_dir is not None:
            from gymlab.agents.plots import heatmap

            heatmap(Path(run_dir) / "q_table.png", norm, "Q-table (normalised, largest = 100)",
                    "action", "state")
        if n_states <= 16 and n_actions <= 16:
            s0, a0 = int(self.observation_space.start), int(self.action_space.start)
            rows, columns = ("state", "action") if s0 == a0 == 0 else (
                f"state {s0}-{s0 + n_states - 1}", f"action {a0}-{a0 + n_actions - 1}")
            lines.append(f"Q-table, normalised so that the largest entry is 100 (row = {rows}, column = {columns}):")
            lines += ["".join(f"{v:5d}" for v in row) for row in norm]
        if hasattr(env.unwrapped, "P"):
            if n_states <= 16:
                starts = range(int(self.observation_space.start), int(self.observation_space.start) + n_states)
            else:  # a big world: only the route from where a reset puts the agent
                starts = [int(env.reset(seed=self.env_seed())[0])]
            lines.append("Greedy route from " + ("each state:" if n_states <= 16 else "the start state:"))
            routes = {}
            for s in starts:
                route, ends = self.greedy_route(env, s)
                routes[str(s)] = route
                lines.append("  " + " -> ".join(map(str, route)) + ("" if ends else "  (does not end)"))
            figures["greedy_routes"] = routes
        return figures, lines
