"""Where a measured number comes from: one rule for the sweeps' ``sweep.json`` and the benchmarks' rows.

    from gymlab.provenance import provenance, config_hash
    provenance("python train.py --env CartPole-v1 --agent dqn --seeds 1000-1009")
    # {"commit": "6017cfb4a1b2+dirty", "command": ..., "when": "2026-12-07 15:20:01 UTC",
    #  "machine": {"cpu", "cores", "usable_cores", "python", "system"}, "load": [1, 5, 15-min]}
    config_hash(summary)   # sha256 of a run's resolved config, env, env_kwargs and agent

A stamp is taken when the measurement starts and kept with its numbers; a row read back later
keeps the stamp it was measured with. Imports nothing heavy (no torch, no numpy).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout (an installed gymlab has no .git: "unknown")
IDENTITY_KEYS = ("agent", "env", "env_kwargs", "config")  # what a run's config hash covers


def commit() -> str:
    """The commit the code ran at, ``+dirty`` when the tree had uncommitted changes; ``unknown``
    without git or outside a checkout."""
    if not (ROOT / ".git").exists():
        return "unknown"

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        except OSError:  # no git here
            return ""

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    # (benchmarks/results/ aside: a benchmark that ran before this one in the same tree wrote there)
    # (a new file nobody committed counts; what .gitignore names, such as runs/, does not)
    changed = git("status", "--porcelain", "--untracked-files=all", "--", ".", ":!benchmarks/results")
    return head + ("+dirty" if changed else "")


def this_command() -> str:
    """This process's command line, as typed: ``python benchmarks/memory.py --quick``."""
    return "python " + " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).as_posix(), *sys.argv[1:]])


def machine() -> dict:
    """What the numbers were measured on: CPU model, cores (and those this process may use), Python."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": model, "cores": os.cpu_count(), "usable_cores": usable, "python": platform.python_version(),
            "system": platform.system()}


def load() -> list[float] | None:
    """The 1, 5 and 15-minute load averages now (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def now(t: float | None = None) -> str:
    """The time ``t`` (seconds since the epoch; default now) as every stamp says it: in UTC, and
    saying so (a stamp read on another machine, in another zone, means the same moment)."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def provenance(command: str | None = None) -> dict:
    """Where one measurement's numbers come from, stamped as it begins: ``{"commit", "command",
    "when", "machine", "load"}`` (``command``: default this process's)."""
    return {"commit": commit(), "command": command or this_command(), "when": now(), "machine": machine(),
            "load": load()}


def config_hash(run: dict) -> str:
    """sha256 of a run's resolved config, env, env_kwargs and agent (``run``: its summary.json, or
    ``gymlab.experiment.identity``), as canonical JSON: equal exactly when the runs train alike."""
    text = json.dumps({k: run[k] for k in IDENTITY_KEYS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
