"""The project's rule: no source file over 400 lines (split one before it grows past it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 400


def test_no_source_file_is_over_400_lines():
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    over = {f: n for f in files if (n := len((ROOT / f).read_text().splitlines())) > LIMIT}
    assert not over, over
