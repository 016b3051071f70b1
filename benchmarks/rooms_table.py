"""The lecture's Q-table, rediscovered: what ``train.py`` prints for the rooms, stored as data.

    python benchmarks/rooms_table.py          # a few seconds; writes benchmarks/results/rooms_table.json

Runs ``python train.py --env rooms --agent q --seed 1000`` (a report seed; the entry is the
lecture's own settings, tuned on nothing) as a user would, in a child process, and keeps the
normalised Q-table and the greedy routes it prints, so the README shows that output and not a
copy typed by hand. The tests check the raw table against value iteration on the env itself.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import ROOT, provenance, write_json  # noqa: E402

FLAGS = ["--env", "rooms", "--agent", "q", "--seed", "1000"]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        command = "python train.py " + " ".join(FLAGS)
        stamp = provenance(command)
        out = subprocess.run([sys.executable, str(ROOT / "train.py"), *FLAGS, "--run-dir", str(Path(tmp) / "run"),
                              "--no-progress"], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Q-table"))
    route = next(i for i, line in enumerate(lines) if line.startswith("Greedy route"))
    row = {"row": "rooms q", "seeds": [1000], "agent": "q", "env": "gymlab/Rooms-v0",
           "q_table_header": lines[start], "q_table": [[int(v) for v in line.split()] for line in lines[start + 1:route]],
           "routes": [line.strip() for line in lines[route + 1:] if "->" in line], **stamp}
    path = write_json("rooms_table", {"rows": [row]})
    print("\n".join(lines[start:]))
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
