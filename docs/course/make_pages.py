"""Run the reinforcement-learning course pages' short commands: write what they print into the pages
and copy the figures they make into docs/course/img/.

    python docs/course/make_pages.py                 # every page (about 2 minutes of CPU)
    python docs/course/make_pages.py 01-rooms-q.md   # one page

A page's command is the ```bash block after the line ``COMMAND_MARK``; each of its lines is one
command, run from the repository root. What it printed goes into the first ```text block after it,
replaced whole, so the output on a page is always one a run produced. ``tests/test_course_commands.py``
reads the same block with ``command_lines`` and checks the printed figures.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = Path(__file__).resolve().parent
IMG = PAGES / "img"
COMMAND_MARK = ("<!-- not-run: the page's short command, run by tests/test_course_commands.py, "
                "which checks what it prints -->")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)

# The figures each page shows: (line of its command, file in that run's directory, name in img/),
# and extra commands made only for a figure: (command, {file it writes under its directory: name in img/}).
FIGURES = {
    "01-rooms-q.md": [(0, "q_table.png", "rooms-q-table.png")],
    "02-exploration.md": [(0, "q_table.png", "exploration-greedy-q-table.png")],
    "03-hill-climbing.md": [(0, "learning_curve.png", "hill-learning-curve.png")],
    "04-reinforce.md": [(0, "learning_curve.png", "reinforce-common-learning-curve.png"),
                        (1, "learning_curve.png", "reinforce-textbook-learning-curve.png")],
    "05-dqn.md": [(0, "learning_curve.png", "dqn-learning-curve.png")],
    "06-action-masks.md": [],
    "07-pong-pixels.md": [],
}
EXTRA = {
    "01-rooms-q.md": [("python train.py --env rooms --agent q --seed 1000 --record-video "
                       "--eval-env-kwargs start_room=2 --eval-episodes 1",
                       {"videos/eval-episode-0.gif": "rooms-q-walk.gif"})],
    "06-action-masks.md": [("python train.py --env rooms --agent dqn --steps 3000 --max-episode-steps 3 --seed 1000 "
                            "--record-video --eval-env-kwargs start_room=2 --eval-episodes 1",
                            {"videos/eval-episode-0.gif": "masks-dqn-walk.gif"})],
    "07-pong-pixels.md": [("python -m gymlab play --screenshot {dir}",
                           {"pong_human.png": "pong-human.png", "pong_pixels.png": "pong-pixels.png"})],
}


def command_block(text: str) -> re.Match:
    """The ```bash block after ``COMMAND_MARK`` (ValueError when the page has none)."""
    at = text.find(COMMAND_MARK)
    if at < 0:
        raise ValueError(f"no command block (the line {COMMAND_MARK!r} before a ```bash block)")
    m = FENCE.search(text, at)
    if m is None or m.group(1) != "bash" or text[at + len(COMMAND_MARK):m.start()].strip():
        raise ValueError("the line after the command mark is not a ```bash block")
    return m


def command_lines(text: str) -> list[str]:
    """The commands of a page, one a line, as written."""
    return [line for line in command_block(text).group(2).splitlines() if line.strip()]


def argv(line: str, run_dir: Path | None = None) -> list[str]:
    """A command line as this Python runs it; ``run_dir``: train.py's run goes there (and not under runs/)."""
    args = shlex.split(line)
    if args[0] == "python":
        args[0] = sys.executable
    if run_dir is not None and "train.py" in args:
        args += ["--run-dir", str(run_dir)]
    return args


def run(line: str, run_dir: Path | None = None, timeout: float = 600) -> str:
    """What the command printed on stdout (RuntimeError with its stderr when it fails)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SDL_VIDEODRIVER": "dummy", "MPLBACKEND": "Agg"}
    done = subprocess.run(argv(line, run_dir), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{line!r} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def make(page: Path) -> None:
    text = page.read_text()
    lines = command_lines(text)
    with tempfile.TemporaryDirectory(prefix="course") as tmp:
        outputs = []
        for i, line in enumerate(lines):
            run_dir = Path(tmp) / f"run{i}"
            out = run(line, run_dir)
            # The page shows what a user sees: the run under runs/, not the temporary directory.
            outputs.append(f"$ {line}\n" + out.replace(str(run_dir), "runs/<run>") if len(lines) > 1 else
                           out.replace(str(run_dir), "runs/<run>"))
            for index, name, target in FIGURES.get(page.name, []):
                if index == i:
                    shutil.copyfile(run_dir / name, IMG / target)
        for j, (line, files) in enumerate(EXTRA.get(page.name, [])):
            where = Path(tmp) / f"extra{j}"
            run(line.format(dir=where), None if "{dir}" in line else where)
            for name, target in files.items():
                shutil.copyfile(where / name, IMG / target)
    block = command_block(text)
    shown = FENCE.search(text, block.end())
    if shown is None or shown.group(1) != "text":
        raise ValueError(f"{page.name}: no ```text block after the command block")
    body = "\n".join(o.rstrip("\n") for o in outputs) + "\n"
    page.write_text(text[:shown.start()] + "```text\n" + body + "```\n" + text[shown.end():])


def main(argv_=None) -> int:
    names = (argv_ if argv_ is not None else sys.argv[1:]) or sorted(FIGURES)
    IMG.mkdir(exist_ok=True)
    for name in names:
        page = PAGES / Path(name).name
        if not page.is_file():
            print(f"make_pages.py: no page {page}", file=sys.stderr)
            return 2
        print(f"{page.name} ...", flush=True)
        make(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
