"""Exploration schedules."""


def linear(start: float, end: float, duration: float, t: float) -> float:
    """Go from ``start`` to ``end`` linearly over ``duration`` units of ``t``, then stay at ``end``."""
    if duration <= 0:
        return end
    return start + (end - start) * min(1.0, t / duration)
