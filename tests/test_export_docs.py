"""docs/guide/export.md runs as written: its bash lines (a tiny Pong run, its export) from the
repository root, then its onnxruntime loop, which plays a game. (The site's docs test runs every
page; this one keeps the export page's own blocks honest on this branch.)"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "guide" / "export.md"


def blocks(text: str) -> list[tuple[str, str]]:
    """The page's fenced blocks, (language, body), but those marked ``<!-- not-run: ... -->``."""
    found = []
    for m in re.finditer(r"(<!-- not-run:[^>]*-->\n)?```(\w+)\n(.*?)```", text, re.S):
        if not m.group(1):
            found.append((m.group(2), m.group(3)))
    return found


def test_the_export_page_runs():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = []
    for lang, body in blocks(PAGE.read_text()):
        if lang == "bash":
            for line in filter(str.strip, body.splitlines()):
                cmd = shlex.split(line)
                cmd = [sys.executable, *cmd[1:]] if cmd[0] == "python" else cmd
                proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
                assert proc.returncode == 0, f"{line}\n{proc.stderr}"
        elif lang == "python":
            proc = subprocess.run([sys.executable, "-c", body], cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=300)
            assert proc.returncode == 0, proc.stderr
            ran.append(proc.stdout)
    assert len(ran) == 1 and ran[0].startswith("game over:"), ran
