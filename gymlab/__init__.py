"""gymlab: Gymnasium environments and hand-written learning agents, installed under one name.

    import gymlab                                   # registers every gymlab/* env
    import gymnasium as gym
    env = gym.make("gymlab/Rooms-v0")
    env = gym.make("gymlab:gymlab/Rooms-v0")        # the same, with no import first

The installed packages are ``gymlab.envs``, ``gymlab.agents``,
``gymlab.sequence_tasks`` and the command line ``gymlab.train``; nothing else
goes into site-packages at top level.

In a source checkout those live at the top of the repository (``envs/``,
``agents/``, ``sequence_tasks/``, ``train.py``), the layout the design asks for;
this file then adds the repository root to the package's search path, so
``gymlab.envs`` is ``envs/`` whether or not the checkout is installed (the
wheel copies them under ``gymlab/`` instead: ``package-dir`` in pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.2.0"

_here = Path(__file__).resolve().parent
if not (_here / "envs").is_dir() and (_here.parent / "envs" / "__init__.py").is_file() \
        and (_here.parent / "train.py").is_file():
    __path__.append(str(_here.parent))  # noqa: F821  (a package's __path__)

try:
    from gymlab import envs  # noqa: E402  (registers gymlab/* with Gymnasium)
except KeyboardInterrupt:
    import sys

    if Path(sys.argv[0]).name in ("gymlab", "gymlab-train"):  # Ctrl-C while a command starts: exit 130,
        raise SystemExit(130) from None                       # quietly, as at any later moment
    raise

__all__ = ["envs", "__version__"]
