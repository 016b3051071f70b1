"""Fixtures for tests/."""

import pytest

from children import Children


@pytest.fixture
def spawn():
    """``spawn(args, **popen_kwargs) -> Popen``: the one way a test starts a child it will signal
    (``tests/children.py``): SIGINT's default disposition, its own process group, killed with its
    group when the test ends."""
    with Children() as start:
        yield start
