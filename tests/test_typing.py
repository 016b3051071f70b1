"""Typed (issue 28): gymlab ships ``py.typed``, and its public API type-checks clean under mypy
(``[tool.mypy]`` in pyproject.toml): the envs' classes, ``agents.base`` (every agent's ``predict``,
``learn``, ``save``, ``load``), ``gymlab.experiment`` and ``gymlab.stats``, and
``tests/typing_user.py``, code calling them as a user would. mypy reads the tree laid out as the
wheel installs it (``gymlab.envs`` is ``envs/``: the checkout's ``gymlab/__init__.py`` finds those
at run time, which mypy cannot follow). A file of wrong calls shows the annotations are read: each
wrong line is an error."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ["gymlab/stats/*.py", "gymlab/experiment.py", "gymlab/agents/__init__.py", "gymlab/agents/base.py",
          *[f"gymlab/envs/{name}.py" for name in ("rooms", "pong", "recall", "char_predict", "sine_predict",
                                                   "cartpole_po")]]
MISUSE = textwrap.dedent("""\
    from gymlab import stats
    from gymlab.agents.base import Agent, Budget
    from gymlab.experiment import RunConfig, run
    def wrong(agent: Agent) -> None:
        run("rooms")
        name: str = stats.iqm([1.0, 2.0])
        Budget(steps="10")
        agent.save(3)
        action, state, extra = agent.predict(0)
        RunConfig(env="rooms")
    """)


def installed_layout(where: Path) -> Path:
    """The checkout's packages as the wheel lays them out (pyproject.toml's package-dir)."""
    site = where / "site"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "gymlab", site / "gymlab", ignore=ignore)
    for name in ("envs", "agents", "sequence_tasks"):
        shutil.copytree(ROOT / name, site / "gymlab" / name, ignore=ignore)
    shutil.copy(ROOT / "train.py", site / "gymlab" / "train.py")
    return site


def mypy(site: Path, files: list[str]) -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                           "--cache-dir", str(ROOT / ".mypy_cache"), "--no-pretty", *files],
                          cwd=site, env={"MYPYPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode in (0, 1), proc.stderr  # 1: errors found; anything else: mypy itself failed
    return [line for line in proc.stdout.splitlines() if ": error:" in line]


def test_the_public_api_and_a_users_code_type_check_clean(tmp_path):
    site = installed_layout(tmp_path)
    assert (site / "gymlab" / "py.typed").is_file()
    shutil.copy(ROOT / "tests" / "typing_user.py", site / "typing_user.py")
    (site / "misuse.py").write_text(MISUSE)
    files = sorted(str(p.relative_to(site)) for pattern in PUBLIC for p in site.glob(pattern))
    errors = mypy(site, [*files, "typing_user.py", "misuse.py"])
    ours = [e for e in errors if not e.startswith("misuse.py")]
    assert not ours, "\n".join(ours)
    wrong = {int(m.group(1)) for e in errors if (m := re.match(r"misuse\.py:(\d+):", e))}
    assert wrong == {5, 6, 7, 8, 9, 10}, "\n".join(errors)


def test_a_run_config_without_an_env_is_a_usage_error():
    """mypy's finding: ``RunConfig.env`` may be None (``train.py --load`` fills it from the checkpoint),
    and ``run`` went on with None to a TypeError ("argument of type 'NoneType' is not iterable")."""
    from gymlab.cli import UsageError
    from gymlab.experiment import RunConfig, run

    with pytest.raises(UsageError, match="no env"):
        run(RunConfig(env=None, agent="q", steps=10))
