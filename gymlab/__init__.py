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

import signal as _signal
import sys as _sys

# The commands import this package first: the installed ``gymlab`` and ``gymlab-train``, and
# ``python -m gymlab`` (runpy imports the package before its __main__; meanwhile argv[0] is
# "-m"). A Ctrl-C while they start exits 130, quietly, as at any later moment, even inside
# numpy's C start-up, which re-raises it as an ImportError. Installed first thing, before any
# other import, so that nothing but the interpreter's own start-up comes before the guard.


def _is_command() -> bool:
    argv, orig = _sys.argv, getattr(_sys, "orig_argv", [])
    if argv and argv[0] == "-m":  # python -m gymlab, while runpy imports the package
        at = orig.index("-m") if "-m" in orig else -2
        return orig[at + 1:at + 2] == ["gymlab"] or "-mgymlab" in orig
    return bool(argv) and argv[0].replace("\\", "/").rsplit("/", 1)[-1] in ("gymlab", "gymlab-train")


_command = _is_command()
_sigints = []


def _on_sigint(signum, frame):  # Python's own handler, but remembered
    _sigints.append(signum)
    raise KeyboardInterrupt


_guard = _command and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler
try:
    if _guard:
        _signal.signal(_signal.SIGINT, _on_sigint)  # (ValueError outside the main thread: no guard there)
except ValueError:
    _guard = False
try:
    from pathlib import Path

    __version__ = "0.2.0"

    _here = Path(__file__).resolve().parent
    if not (_here / "envs").is_dir() and (_here.parent / "envs" / "__init__.py").is_file() \
            and (_here.parent / "train.py").is_file():
        __path__.append(str(_here.parent))  # noqa: F821  (a package's __path__)

    from gymlab import envs  # noqa: E402  (registers gymlab/* with Gymnasium)
except KeyboardInterrupt:
    if _command:
        raise SystemExit(130) from None
    raise
except ImportError:
    if _command and _sigints:
        raise SystemExit(130) from None
    raise
finally:
    if _guard and _signal.getsignal(_signal.SIGINT) is _on_sigint:
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)

__all__ = ["envs", "__version__"]
