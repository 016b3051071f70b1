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


@pytest.fixture(autouse=True)
def _an_idle_machine_for_the_speed_protocol(monkeypatch):
    """The speed protocol marks a measurement busy when other work ran beside it
    (``benchmarks/_speed.cpu_clocks``); under the test suite something always does. Its tests on
    fabricated clocks set their own; ``_speed.read_cpu_clocks`` is the real reading."""
    from benchmarks import _speed

    monkeypatch.setattr(_speed, "cpu_clocks", lambda: (None, 0.0, 0.0))


@pytest.fixture
def five_fabricated_rounds(monkeypatch):
    """Tests on fabricated timings written for 5 rounds: the rows' contents, not the rounds rule
    (``test_speed_protocol.py`` checks that: an even number, at least 5)."""
    from benchmarks import _speed

    monkeypatch.setattr(_speed, "DEFAULT_ROUNDS", 5)
    monkeypatch.setattr(_speed, "check_rounds", lambda rounds, quick: rounds)
