"""Helpers shared by REINFORCE's tests (tests/test_reinforce_fixes.py,
tests/test_reinforce_points.py)."""


def spy_on_updates(agent, look):
    """Call ``look(batch)`` on every batch just before the agent updates on it."""
    update = agent.update

    def spy(batch, logger=None):
        look(batch)
        return update(batch, logger)

    agent.update = spy
