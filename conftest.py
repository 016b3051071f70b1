"""pytest set-up for the whole tree (tests/ and the env doctests): no display, no pygame banner."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# The tests that take half a minute or more (Ray start-ups, wheel builds, an MLflow server) run first: with two
# workers, one of them started near the end keeps a worker busy while the other sits idle.
SLOW_FIRST = ("tests/test_sweep.py::", "tests/test_wheel.py::", "tests/test_tracking.py::", "tests/test_search.py::")


def pytest_configure(config):
    config.addinivalue_line("markers", "server: starts a server (an MLflow server, a Ray search with its re-measure) "
                                       "and takes minutes; run with -m server (.ci/run does), skipped otherwise")
    config.addinivalue_line("markers", "site: builds the documentation site or opens it in Chromium; left out of "
                                       "the default run, run by `python -m pytest -q -m site` (.ci/run's second step)")


def pytest_collection_modifyitems(config, items):
    if "site" not in (config.getoption("markexpr", "") or ""):  # the site tests run only when asked for by -m
        kept = [item for item in items if item.get_closest_marker("site") is None]
        if len(kept) != len(items):
            config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("site")])
            items[:] = kept
    items.sort(key=lambda item: not any(item.nodeid.startswith(s) for s in SLOW_FIRST))  # stable: order kept
    if "server" not in (config.getoption("markexpr", "") or ""):  # the main suite stays within minutes
        import pytest

        skip = pytest.mark.skip(reason="starts a server and takes minutes: run with -m server")
        for item in items:
            if "server" in item.keywords:
                item.add_marker(skip)

# tests/mutants.py is a script (it plants bugs in a copy of the tree and runs pytest there), not a test module.
collect_ignore = ["tests/mutants.py"]
