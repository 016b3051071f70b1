"""Fixtures for tests/."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from children import Children


@pytest.fixture
def spawn():
    """``spawn(args, **popen_kwargs) -> Popen``: the one way a test starts a child it will signal
    (``tests/children.py``): SIGINT's default disposition, its own process group, killed with its
    group when the test ends."""
    with Children() as start:
        yield start


@pytest.fixture
def ray_tmp():
    """Ray's temp dir, short (its socket paths must fit in 107 bytes), and the env for a child."""
    temp = tempfile.mkdtemp(prefix="rs", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_TMPDIR=temp, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    try:
        yield Path(temp), env
    finally:
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The site, built once a session by ``mkdocs build --strict`` (the ``site`` tests)."""
    from site_build import build

    out = tmp_path_factory.mktemp("site") / "site"
    done = build(out)
    assert done.returncode == 0, done.stderr[-4000:]
    return out
