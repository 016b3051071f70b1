"""pytest set-up for the whole tree (tests/ and the env doctests): no display, no pygame banner."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# The tests that take half a minute or more (Ray start-ups, wheel builds, an MLflow server) run first: with two
# workers, one of them started near the end keeps a worker busy while the other sits idle.
SLOW_FIRST = ("tests/test_sweep.py::", "tests/test_wheel.py::", "tests/test_tracking.py::", "tests/test_search.py::")


# Tests that take minutes run in .ci/run's later steps, only when their marker is asked for by -m.
SEPARATE = {
    "site": "builds the documentation site or opens it in Chromium",
    "course": "runs a course page's short command (tens of seconds)",
    "server": "starts a server (an MLflow server, Ray's processes for a sweep or a search) and takes a minute or more",
    "install": "installs gymlab's wheel beside other packages in a fresh venv, from the registry",
    "workers": "runs --workers 2: each run starts a second process that imports torch (a minute or more a file)",
}


def pytest_configure(config):
    for name, what in SEPARATE.items():
        config.addinivalue_line("markers", f"{name}: {what}; left out of the default run, run with -m {name} "
                                           f"(.ci/run's later steps)")


def pytest_collection_modifyitems(config, items):
    asked = config.getoption("markexpr", "") or ""
    left_out = [item for item in items if any(item.get_closest_marker(m) is not None and m not in asked
                                              for m in SEPARATE)]
    if left_out:  # the main suite stays within minutes
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in set(left_out)]
    items.sort(key=lambda item: not any(item.nodeid.startswith(s) for s in SLOW_FIRST))  # stable: order kept


# tests/mutants.py is a script (it plants bugs in a copy of the tree and runs pytest there), not a test module.
collect_ignore = ["tests/mutants.py"]
