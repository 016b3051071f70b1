"""Schedules: exploration, and when the DQN family's first gradient step comes."""


# --8<-- [start:linear]
def linear(start: float, end: float, duration: float, t: float) -> float:
    """Go from ``start`` to ``end`` linearly over ``duration`` units of ``t``, then stay at ``end``."""
    if duration <= 0:
        return end
    return start + (end - start) * min(1.0, t / duration)
# --8<-- [end:linear]


def first_gradient_step(config) -> int | None:
    """The env step at which a DQN-family agent takes its first gradient step, or None for an
    agent without that schedule (no ``learning_starts``, ``train_freq``).

    DQN's loop (``agents/dqn.learning_loop``, and SB3's DQN alike) updates at the env step
    numbered s (counting the steps of every env) when s > learning_starts, s % train_freq == 0
    and its replay holds something: the first n-step transition is complete at step n_step,
    the first sequence of the recurrent DQN at step seq_len + n_step (both sooner only if an
    episode ends before then). Epsilon does not wait for it: it follows its schedule from step 0."""
    starts, every = getattr(config, "learning_starts", None), getattr(config, "train_freq", None)
    if starts is None or every is None:
        return None
    from gymlab.agents.dqn_config import RECURRENT

    n_step = getattr(config, "n_step", 1)
    filled = n_step + (config.seq_len if getattr(config, "policy", None) in RECURRENT else 0)
    after = max(starts + 1, filled)  # the first step that may update, but for train_freq
    return -(-after // every) * every
