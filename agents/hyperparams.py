"""Per-env default hyper-parameters and budgets, in one readable place.

``defaults(agent, env_id)`` gives the settings a run starts from; anything
here can be overridden on the command line (``--gamma 0.9``, ``--steps 500``).
An env missing from an agent's table runs with the agent's own Config
defaults and the agent's ``"*"`` budget.
"""

from __future__ import annotations

TABLE: dict[str, dict[str, dict]] = {
    "q": {
        # The lecture: learning rate 1 (a deterministic world), gamma 0.8, exploring at
        # random from a random room every episode. 3000 steps is ~600 episodes, enough
        # for every door to be tried long after the values behind it have settled.
        "gymlab/Rooms-v0": dict(learning_rate=1.0, gamma=0.8, epsilon_start=1.0, epsilon_end=1.0, steps=3000),
        # Deterministic grid: eta = 1 is exact; decaying epsilon, then the greedy path along the cliff.
        "CliffWalking-v1": dict(learning_rate=1.0, gamma=0.99, epsilon_start=1.0, epsilon_end=0.1, steps=20_000),
        "FrozenLake-v1": dict(learning_rate=0.1, gamma=0.99, epsilon_start=1.0, epsilon_end=0.05,
                              exploration_fraction=0.5, steps=200_000),
        "Taxi-v4": dict(learning_rate=0.5, gamma=0.99, epsilon_start=1.0, epsilon_end=0.05, steps=200_000),
        "*": dict(steps=50_000),
    },
}

BUDGET_KEYS = ("steps", "episodes")


def defaults(agent: str, env_id: str) -> tuple[dict, dict]:
    """``(config_overrides, budget)`` for ``agent`` on ``env_id``."""
    table = TABLE.get(agent, {})
    settings = dict(table.get(env_id, table.get("*", {})))
    budget = {k: settings.pop(k) for k in BUDGET_KEYS if k in settings}
    if not budget:
        budget = {k: v for k, v in table.get("*", {}).items() if k in BUDGET_KEYS} or {"steps": 50_000}
    return settings, budget
