"""Per-env default hyper-parameters and budgets, in one readable place.

``defaults(agent, env_id, env_kwargs)`` gives the settings a run starts from.
They are looked up by the task, never by how it was spelled: ``pong``,
``gymlab/Pong-v0`` and ``gymlab/Pong-v0`` with ``obs_type='features'`` are one
task (key ``gymlab/Pong-v0``), ``pong-pixels`` and ``obs_type='pixels'`` another
(key ``gymlab/Pong-v0 obs_type=pixels``). Only the env arguments in
``TASK_KWARGS`` make another task; the rest (Pong's ``difficulty``) keep the
env's entry. Anything here can be overridden on the command line
(``--gamma 0.9``, ``--steps 500``). A task missing from an agent's table runs
with the agent's own Config defaults and the agent's ``"*"`` budget.
"""

from __future__ import annotations

# The env arguments that change what an agent sees (another observation space) or must do
# (a longer memory), with the env's own defaults for them: settings tuned on one do not carry
# over (an LSTM tuned to carry a symbol over 10 blanks is untested over 50: recall-50).
TASK_KWARGS: dict[str, dict] = {
    "gymlab/Pong-v0": {"obs_type": "features"},
    "gymlab/Recall-v0": {"delay": 10, "n_symbols": 4},
}

# What each entry was tuned on, in the entry itself (``tuned_on``; ``defaults`` leaves it out): the
# seeds (and texts) whose results chose it, and where that is written. Reported figures use other
# seeds (``benchmarks/_common.report_seeds``: 1000 and up); ``tuning_seeds`` is what a report must
# avoid. ``seeds=None``: nobody wrote them down; ``()``: nothing was tuned here.


def tuned(seeds: tuple[int, ...] | None = None, how: str = "not recorded", texts: tuple[str, ...] = ()) -> dict:
    return dict(seeds=seeds, texts=texts, how=how)


# Config defaults that a probe chose, and the fields it chose: an entry that leaves any of them to
# the default inherits the probe's seeds. (Other Configs' defaults were chosen by no probe on record;
# the hill climber's are "the ones it always had", README.)
DEFAULTS_TUNED_ON: dict[str, dict] = {
    "dqn": dict(seeds=tuple(range(10)), envs=("CartPole-v1", "Acrobot-v1"),
                fields=("hidden", "dueling", "learning_rate", "lr_anneal", "batch_size", "buffer_size",
                        "learning_starts", "train_freq", "gradient_steps", "target_update_interval", "n_step",
                        "exploration_fraction", "epsilon_end", "huber"),
                how="12 variants on CartPole seeds 0-3 (f11f5ea); made the defaults after its flags solved "
                    "Acrobot seeds 0-9 (e917c6d, 1f74ffe)"),
    "reinforce": dict(seeds=(100, 101, 102), envs=("Acrobot-v1",), fields=("learning_rate", "batch_episodes"),
                      how="four variants on Acrobot seeds 100-102 (f31194d)"),
}

TABLE: dict[str, dict[str, dict]] = {
    "q": {
        # The lecture: learning rate 1 (a deterministic world), gamma 0.8, exploring at
        # random from a random room every episode. 3000 steps is ~600 episodes, enough
        # for every door to be tried long after the values behind it have settled.
        "gymlab/Rooms-v0": dict(learning_rate=1.0, gamma=0.8, epsilon_start=1.0, epsilon_end=1.0, steps=3000,
                                tuned_on=tuned(how="not recorded (the lecture's settings; 87d6d1a)")),
        # Deterministic grid: eta = 1 is exact; decaying epsilon, then the greedy path along the cliff.
        "CliffWalking-v1": dict(learning_rate=1.0, gamma=0.99, epsilon_start=1.0, epsilon_end=0.1, steps=20_000,
                                tuned_on=tuned((0, 1, 2, 3), "20k steps: the optimal path 'for every seed tried (0-3)' "
                                                             "(README at f11f5ea)")),
        "FrozenLake-v1": dict(learning_rate=0.1, gamma=0.99, epsilon_start=1.0, epsilon_end=0.05,
                              exploration_fraction=0.5, steps=200_000, tuned_on=tuned()),
        "Taxi-v4": dict(learning_rate=0.5, gamma=0.99, epsilon_start=1.0, epsilon_end=0.05, steps=200_000,
                        tuned_on=tuned()),
        "*": dict(steps=50_000, tuned_on=tuned()),
    },
    "random": {"*": dict(steps=10_000, tuned_on=tuned((), "nothing to tune: the uniform random policy"))},
    "dqn": {
        # DQNConfig's defaults are the CartPole recipe: double Q, dueling heads, 3-step returns, a
        # Huber loss, and a learning rate that decays to 0 over the budget, so the last policy is a
        # settled one. Chosen over 12 variants tried on seeds 0-3 (see the README); measured:
        # benchmarks/dqn_vs_sb3.py. Off CartPole they hold (benchmarks/untuned_envs.py), on the
        # Acrobot seeds that made them the defaults (DEFAULTS_TUNED_ON).
        "CartPole-v1": dict(steps=50_000, tuned_on=tuned((0, 1, 2, 3), "12 variants on seeds 0-3 (README; f11f5ea)")),
        # Tuned before the recipe became the defaults: plain heads, 1000-step target copies.
        "gymlab/Pong-v0": dict(hidden=(128, 128), dueling=False, learning_rate=5e-4, lr_anneal=True, n_step=3,
                               train_freq=4, target_update_interval=1000, learning_starts=5000,
                               exploration_fraction=0.2, epsilon_end=0.02, steps=150_000,
                               tuned_on=tuned(how="not recorded (tuned before 1f74ffe)")),
        # Pixel Pong, after Mnih et al. (2015) at a smaller scale: the CNN (two strided
        # convolutions, a dense layer of 256) sees the last 4 frames as channels, and the replay
        # stores each 80x80 frame once (0.65 GB at 100k, not 5.1 GB); Adam at 1e-4, batches of
        # 32, a target copy every 1000 steps, epsilon to 0.01 over the first 10%; 3-step returns;
        # 4 courts side by side, train_freq counting the steps of all four: one round per 4
        # transitions, about one per vector step (a court adds no transition at a step in which
        # it only resets). Plain heads and a constant learning rate: the probe that set the
        # budget (seed 0, eval every 25k) read +12 at 50k steps, +17 at 100k, +15 at 125k.
        # Measured (`--seeds 3`): +14.6 [13.2, 15.9] over 20 games a seed, 25 min a trial.
        "gymlab/Pong-v0 obs_type=pixels": dict(policy="cnn", history=4, hidden=(256,), learning_rate=1e-4,
                                               dueling=False, lr_anneal=False,
                                               buffer_size=100_000, batch_size=32, learning_starts=10_000,
                                               train_freq=4, gradient_steps=1, target_update_interval=1000,
                                               n_step=3, exploration_fraction=0.1, epsilon_end=0.01, num_envs=4,
                                               steps=150_000, tuned_on=tuned((0,), "the probe on seed 0 (f5fb69d)")),
        # Recurrent DQN on Recall (delay 10): sequences of 16 with a burn-in of 4 (R2D2's 80 and 40
        # would pad each 12-step episode to 123 slots, 10x the time for the same learning); an
        # LSTM of 32. Tried on seeds 0 and 1 only (1.00 on both, from 7,200 and 3,600 steps).
        "gymlab/Recall-v0": dict(policy="lstm", hidden=(32,), seq_len=16, burn_in=4, learning_rate=3e-3,
                                 batch_size=32, train_freq=4, target_update_interval=500, learning_starts=1000,
                                 exploration_fraction=0.3, steps=24_000,
                                 tuned_on=tuned((0, 1), "tried on seeds 0 and 1 only (54c9236)")),
        # Recall over 50 blanks: each sequence is a whole 52-step episode (no burn-in), so the
        # gradient at the query reaches the symbol; otherwise the delay-10 entry. Probed on seed 0
        # (greedy over 50 episodes every 20k): 0.0, 0.0, 0.8, 1.0, 1.0.
        "gymlab/Recall-v0 delay=50": dict(policy="lstm", hidden=(32,), seq_len=52, burn_in=0, learning_rate=3e-3,
                                          batch_size=32, train_freq=4, target_update_interval=500,
                                          learning_starts=2000, exploration_fraction=0.3, steps=100_000,
                                          tuned_on=tuned((0,), "probed on seed 0 (213f4c5)")),
        # Recurrent DQN on position-only CartPole: an LSTM of 64 over sequences of 20 with a
        # burn-in of 10, a round every 4 steps, Adam at 3e-3; the rest is the CartPole recipe.
        # At lr 1e-3 a 50k sweep read 288 and 180 (seeds 0, 1: its training returns still
        # climbing); at 3e-3 seed 1 read 134, 124, 193, 500, 500 every 10k. Sequences of 40 with a
        # round every 8 steps stayed below 50; R2D2's 80 and 40 learned (500 at 20k on seed 0)
        # at a third of the speed. The MLP controls: benchmarks/memory.py.
        "gymlab/CartPoleNoVel-v1": dict(policy="lstm", hidden=(64,), seq_len=20, burn_in=10, batch_size=32,
                                        train_freq=4, learning_rate=3e-3, steps=50_000,
                                        tuned_on=tuned((0, 1, 2), "sequences probed on seed 0 (213f4c5); lr 3e-3 after "
                                                       "seeds 0-2 at 1e-3 and a probe on seed 1 (2770dc4)")),
        "*": dict(steps=100_000, tuned_on=tuned()),
    },
    "reinforce": {
        "CartPole-v1": dict(hidden=(64,), learning_rate=1e-2, batch_episodes=8, steps=100_000,
                            tuned_on=tuned(how="not recorded (first reported on seeds 0-1: README at f11f5ea)")),
        # Karpathy's pixel Pong, on our court: the CNN sees frame differences; 8 games side by
        # side, an update every 8 finished games (an update drops the games still in flight, which
        # older weights began: with an update every 2 games that was three games in four); gamma 0.97 keeps a point's credit mostly to
        # the rally that won or lost it; a small entropy bonus (without it, or at lr 1e-3, the
        # policy collapsed to one action within 1.3M steps in our trials).
        "gymlab/Pong-v0 obs_type=pixels": dict(policy="cnn", hidden=(128,), frame_diff=True, learning_rate=5e-4,
                                               batch_episodes=8, num_envs=8, gamma=0.97, entropy_coef=0.005,
                                               threads=1, steps=2_000_000,
                                               tuned_on=tuned(how="not recorded ('in our trials'; f11f5ea)")),
        # An LSTM of 64 that must carry the symbol over 10 blank steps. Its forget gates start
        # at sigma(3) = 0.95 (at torch's sigma(0) = 0.5 the memory fades by half a step and the
        # policy stayed at chance, or at 0.5, through 1.2M steps); an entropy bonus keeps it
        # trying all four answers until the memory forms. 1.00 on seeds 0-2 (see the README).
        "gymlab/Recall-v0": dict(policy="lstm", hidden=(64,), forget_bias=3.0, learning_rate=1e-3,
                                 entropy_coef=0.01, num_envs=16, batch_episodes=16, steps=600_000,
                                 tuned_on=tuned((0, 1, 2), "1.00 on seeds 0-2 (39b991e)")),
        # Position-only CartPole with an LSTM of 64; CartPole's rate and batches of 8 games. On
        # seed 0 (greedy over 5 games every 50k) it read 42, 236, 364, 500 at 200k, then fell to
        # 481 and 173 by 300k; at lr 1e-3 with 16 games a batch it swung between 260 and 460
        # through 500k. REINFORCE has no schedule to settle it: the budget stops at the probe's peak.
        "gymlab/CartPoleNoVel-v1": dict(policy="lstm", hidden=(64,), learning_rate=3e-3, batch_episodes=8,
                                        num_envs=8, steps=200_000,
                                        tuned_on=tuned((0,), "the probe on seed 0 (213f4c5)")),
        # Prediction envs: an action changes no later observation, so each step is credited
        # with its own reward only (gamma 0); a recurrent policy, as for the supervised agent.
        # On characters a strong entropy bonus: at 0.01 (or 0.001, or lr 3e-4) the LSTM policy
        # collapsed onto the commonest character (a space, 0.17) and stayed; 0.1 reached 0.34.
        "gymlab/SinePredict-v0": dict(policy="lstm", hidden=(64,), gamma=0.0, learning_rate=3e-3,
                                      num_envs=16, batch_episodes=16, max_grad_norm=1.0, steps=1_000_000,
                                      tuned_on=tuned(how="not recorded (first reported on seed 0: README at 39b991e)")),
        "gymlab/CharPredict-v0": dict(policy="lstm", hidden=(128,), gamma=0.0, learning_rate=1e-3,
                                      entropy_coef=0.1, num_envs=16, batch_episodes=16, max_grad_norm=1.0,
                                      steps=1_000_000,
                                      tuned_on=tuned((0,), "entropy 0.1 judged on seed 0 (a1dd275)",
                                                     ("bundled sonnets",))),
        "*": dict(steps=100_000, tuned_on=tuned()),
    },
    "supervised": {
        "gymlab/SinePredict-v0": dict(hidden=(64,), steps=300_000, tuned_on=tuned()),
        "gymlab/CharPredict-v0": dict(hidden=(128,), steps=1_000_000, tuned_on=tuned()),
        "*": dict(steps=100_000, tuned_on=tuned()),
    },
    "hill": {
        "CartPole-v1": dict(sigma=0.5, alpha=1.0, episodes_per_trial=3, steps=200_000, tuned_on=tuned()),
        "*": dict(steps=100_000, tuned_on=tuned()),
    },
    # The references, with RL-Zoo's tuned settings where it has them (rl-baselines3-zoo, hyperparams/*.yml).
    "sb3-dqn": {
        # RL-Zoo's recipe, every line of it: rl-baselines3-zoo hyperparams/dqn.yml, CartPole-v1 (n_timesteps:
        # 5e4, MlpPolicy, learning_rate: 2.3e-3, batch_size: 64, buffer_size: 100000, learning_starts: 1000,
        # gamma: 0.99, target_update_interval: 10, train_freq: 256, gradient_steps: 128,
        # exploration_fraction: 0.16, exploration_final_eps: 0.04, policy_kwargs: net_arch=[256, 256]); the
        # rest SB3's defaults, which SB3DQNConfig's are. What still differs: PUBLISHED below.
        "CartPole-v1": dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
                            gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
                            exploration_fraction=0.16, exploration_final_eps=0.04, net_arch=(256, 256),
                            steps=50_000, tuned_on=tuned((), "not here: RL-Zoo's hyperparams/dqn.yml")),
        "*": dict(steps=100_000, tuned_on=tuned()),
    },
    "sb3-ppo": {"*": dict(steps=100_000, tuned_on=tuned())},
    "sb3-a2c": {"*": dict(steps=100_000, tuned_on=tuned())},
    "sb3-recurrent-ppo": {
        # RL-Zoo's recipe, every line of it: rl-baselines3-zoo hyperparams/ppo_lstm.yml, CartPoleNoVel-v1
        # (normalize: True, n_envs: 8, n_timesteps: 1e5, MlpLstmPolicy, n_steps: 32, batch_size: 256,
        # gae_lambda: 0.8, gamma: 0.98, n_epochs: 20, ent_coef: 0.0, learning_rate: lin_0.001,
        # clip_range: lin_0.2, policy_kwargs: ortho_init=False, activation_fn=nn.ReLU,
        # lstm_hidden_size=64, enable_critic_lstm=True, net_arch=dict(pi=[64], vf=[64])). The zoo's
        # normalize: True is VecNormalize with norm_obs and norm_reward and the algorithm's gamma; our
        # net_arch (64,) builds the same separate pi and vf layers. What still differs: the zoo's env
        # (MaskVelocityWrapper) zeroes the two velocities and keeps 4 numbers, ours drops them (2);
        # the zoo runs until a whole rollout passes 1e5 steps (391 rollouts of 256, 100,096 steps),
        # our budget stops at 100,000, in the 391st, which is not learned from (390 updates): PUBLISHED.
        "gymlab/CartPoleNoVel-v1": dict(num_envs=8, norm_obs=True, norm_reward=True, n_steps=32, batch_size=256,
                                        gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0, learning_rate=1e-3,
                                        lr_anneal=True, clip_range=0.2, clip_anneal=True, ortho_init=False,
                                        activation="relu", lstm_hidden_size=64, enable_critic_lstm=True,
                                        net_arch=(64,), steps=100_000,
                                        tuned_on=tuned((), "not here: RL-Zoo's ppo_lstm.yml recipe")),
        # The same LSTM of 64 on Recall, with an entropy bonus to keep trying all four answers.
        "gymlab/Recall-v0": dict(lstm_hidden_size=64, net_arch=(64,), learning_rate=1e-3, ent_coef=0.01,
                                 steps=100_000, tuned_on=tuned((), "not here (README: 'neither is tuned here')")),
        "*": dict(steps=100_000, tuned_on=tuned()),
    },
}

# The published recipes that entries above are, and every way a run of the entry still differs from
# the recipe run as its authors run it (each benchmark row of these references states it, with any
# setting the row changes: benchmarks/_common.differs_from_recipe). (agent, task key) -> (source,
# {what: how it differs}); "steps": how the budget ends, said of the entry's own budget.
PUBLISHED: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    ("sb3-recurrent-ppo", "gymlab/CartPoleNoVel-v1"): ("rl-baselines3-zoo hyperparams/ppo_lstm.yml, CartPoleNoVel-v1", {
        "env": "the env: the zoo's MaskVelocityWrapper sets the two velocities to 0 and keeps 4 numbers, gymlab's "
        "CartPoleNoVel-v1 drops them (2 numbers)",
        "steps": "the budget's end: the zoo runs whole rollouts of 8 x 32 steps until n_timesteps 1e5 is passed (391 "
        "rollouts, 100,096 steps; its 391st update at a progress remaining of -0.00096, so a learning rate of "
        "-9.6e-7 and a clip range of -1.9e-4); the budget here stops at 100,000 steps inside the 391st rollout, "
        "which is not learned from (390 updates)"}),
    ("sb3-dqn", "CartPole-v1"): ("rl-baselines3-zoo hyperparams/dqn.yml, CartPole-v1", {
        "steps": "the budget's end: the zoo collects whole rounds of train_freq 256 steps until n_timesteps 5e4 is passed "
        "(196 rounds, 50,176 env steps; 128 gradient steps after each round past learning_starts: 193 rounds, "
        "24,704 gradient steps); the budget here stops at 50,000 steps inside the 196th round, which is not learned "
        "from (192 rounds, 24,576 gradient steps)"}),
}

BUDGET_KEYS = ("steps", "episodes")


def task_key(env_id: str, env_kwargs: dict | None = None) -> str:
    """The table key of a task: the env id, then each ``TASK_KWARGS`` argument that differs
    from the env's default, e.g. ``gymlab/Pong-v0 obs_type=pixels``."""
    given = env_kwargs or {}
    return " ".join([env_id] + [f"{k}={given[k]}" for k, default in TASK_KWARGS.get(env_id, {}).items()
                                if k in given and given[k] != default])


def parse_key(key: str) -> tuple[str, dict]:
    """``task_key`` read back: ``(env_id, env_kwargs)``."""
    env_id, *pairs = key.split(" ")
    return env_id, dict(pair.split("=", 1) for pair in pairs)


# Settings that only mean something for some network types: dropped from the defaults when the
# command line picks another (``--env recall --agent reinforce --policy mlp`` gets no forget bias,
# ``--agent dqn --policy mlp`` no sequence replay).
def _policy_only() -> dict[str, tuple[str, ...]]:
    from gymlab.agents.dqn_config import RECURRENT, RECURRENT_ONLY  # (no torch)

    return {"forget_bias": ("lstm",), **{k: RECURRENT for k in RECURRENT_ONLY}}


POLICY_ONLY = _policy_only()


def defaults(agent: str, env_id: str, env_kwargs: dict | None = None, policy: str | None = None
             ) -> tuple[dict, dict]:
    """``(config_overrides, budget)`` for ``agent`` on the env ``env_id`` made with ``env_kwargs``.
    An alias (``pong-pixels``) is read as the id and arguments it stands for. ``policy``: the
    network the command line asks for, if it does (see ``POLICY_ONLY``)."""
    table = TABLE.get(agent, {})
    settings = dict(_entry(agent, env_id, env_kwargs) or {})
    settings.pop("tuned_on", None)
    budget = {k: settings.pop(k) for k in BUDGET_KEYS if k in settings}
    if policy is not None:
        settings = {k: v for k, v in settings.items() if policy in POLICY_ONLY.get(k, (policy,))}
    if not budget:
        budget = {k: v for k, v in table.get("*", {}).items() if k in BUDGET_KEYS} or {"steps": 50_000}
    return settings, budget


def _entry(agent: str, env_id: str, env_kwargs: dict | None) -> dict | None:
    """The table entry a run of ``agent`` on this env starts from (an alias read as what it stands for)."""
    from gymlab.envs import ALIASES

    if env_id in ALIASES:
        alias_id, alias_kwargs = ALIASES[env_id]
        env_id, env_kwargs = alias_id, {**alias_kwargs, **(env_kwargs or {})}
    table = TABLE.get(agent, {})
    return table.get(task_key(env_id, env_kwargs), table.get("*"))


def tuning_seeds(agent: str, env_id: str, env_kwargs: dict | None = None) -> set[int] | None:
    """The seeds ``agent``'s settings on this env were tuned on: its entry's, and those of the Config
    defaults it inherits (``DEFAULTS_TUNED_ON``); None when any of them is not recorded."""
    entry = _entry(agent, env_id, env_kwargs)
    inherited = DEFAULTS_TUNED_ON.get(agent)
    records = [entry["tuned_on"]] if entry else []
    if inherited and not set(inherited["fields"]) <= set(entry or {}):
        records.append(inherited)
    if not records or any(r["seeds"] is None for r in records):
        return None
    return set().union(*(r["seeds"] for r in records))
