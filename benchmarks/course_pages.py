"""The recurrent-network course pages' short commands: read from the pages, run, checked, and their figures.

    python benchmarks/course_pages.py state-memory --out runs/course/08-state-memory.png   # page 08's figure
    python benchmarks/course_pages.py figures      # run every page's commands, copy their figures to docs/course/img/
    python benchmarks/course_pages.py figures --runs runs/course   # copy them from the runs the pages' commands made

A page's short command is every line of its ```bash blocks that no ``<!-- not-run: ... -->``
line precedes; the pages are the one place the commands are written, so that the tests
(tests/test_course_rnn_commands.py) and this script run what a reader reads. A command's run
directory is under ``runs/course/``; run from here (and in the tests) that folder is replaced
by a temporary one. ``PAGES`` says, for each page, which figures of its run directories the page
shows (copied, shrunk, to ``docs/course/img/``); the tests say which printed numbers they bound.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "docs" / "course"
IMG = COURSE / "img"
RUNS = "runs/course/"  # the pages' run directories live here; replaced by a temporary folder when run here
WIDTH = 760  # pixels: a figure is shrunk to this width for the site


class Page(NamedTuple):
    figure: str | None  # the file the page's command writes (under runs/course/), shown on the page
    image: str | None   # its name under docs/course/img/


PAGES = {  # a page's figures: (file under runs/course/, name under docs/course/img/)
    "08-cells.md": (Page("08-state-memory.png", "08-state-memory.png"),),
    "09-training-rnns.md": (Page("09-gradients/gradients.png", "09-gradients.png"),
                            Page("09-elman-chars/training.png", "09-elman-chars.png")),
    "10-sine-cosine.md": (Page("10-cosine/best_and_worst.png", "10-cosine.png"),),
    "11-characters.md": (Page("11-chars/training.png", "11-chars.png"),),
    "12-word-vectors.md": (Page("12-words/rhyme_svd.png", "12-rhyme-svd.png"),),
    "13-memory.md": (Page("13-recall/learning_curve.png", "13-recall.png"),),
}

FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(text: str, lang: str) -> list[str]:
    """The bodies of the ```lang blocks of ``text`` that no ``<!-- not-run: ... -->`` line precedes."""
    out = []
    for m in FENCE.finditer(text):
        before = text[:m.start()].rstrip().splitlines()
        if m.group(1) == lang and not (before and before[-1].strip().startswith("<!-- not-run:")):
            out.append(m.group(2))
    return out


def commands(page: str) -> list[str]:
    """The page's short commands, one a line, as written on it."""
    text = (COURSE / page).read_text()
    return [line.strip() for body in blocks(text, "bash") for line in body.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def argv(command: str, runs: Path) -> list[str]:
    """A page's command line as run here: ``python`` this interpreter, ``runs/course/`` ``runs``."""
    args = [a.replace(RUNS, f"{runs}/", 1) if a.startswith(RUNS) else a for a in shlex.split(command)]
    return [sys.executable, *args[1:]] if args[0] == "python" else args


def run(command: str, runs: Path, timeout: float = 600) -> str:
    """Run one of a page's commands from the repository root; its stdout and stderr. ``RuntimeError``
    (with the output) if it fails."""
    return _child(argv(command, runs), command, timeout)


def _child(args: list[str], what: str, timeout: float) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{what!r} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


# --8<-- [start:state_memory]
def state_memory(hidden: int = 32, steps: int = 40, seed: int = 0) -> dict[str, list[float]]:
    """How long each cell's state remembers its first input, at torch's initialisation: two copies
    of a cell read different first inputs x_0, then the same zeros; the distance between their
    states after t steps, over the distance after the first, for t = 1 .. steps (the mean over
    64 pairs). An LSTM's cell state c is measured, an Elman RNN's and a GRU's h."""
    import torch

    from gymlab.sequence_tasks.backbone import RecurrentCore

    curves = {}
    for name, kind, bias in (("Elman", "rnn", None), ("LSTM", "lstm", None), ("LSTM, forget bias 3", "lstm", 3.0),
                             ("GRU", "gru", None)):
        torch.manual_seed(seed)
        core = RecurrentCore(kind, 4, hidden, impl="cells", forget_bias=bias).double()  # float64: no rounding floor
        x = torch.zeros(steps, 128, 4, dtype=torch.float64)
        x[0] = torch.randn(128, 4, dtype=torch.float64) * 2.0  # rows 0..63 and 64..127: the two copies' first inputs
        dist, state = [], None
        with torch.no_grad():
            for t in range(steps):
                _, state = core(x[t:t + 1], state)
                s = state[1] if kind == "lstm" else state  # c for the LSTM, h for the others
                dist.append(float((s[0, :64] - s[0, 64:]).norm(dim=1).mean()))
        curves[name] = [d / dist[0] for d in dist]
    return curves
# --8<-- [end:state_memory]


def plot_state_memory(curves: dict[str, list[float]], out: Path) -> None:
    from gymlab.runs import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=100)
    for name, ratios in curves.items():
        ax.semilogy(range(1, len(ratios) + 1), ratios, lw=1.8, label=name)
    ax.set(xlabel="steps since the first input, t", ylabel="state distance at t / at 1",
           title="what a cell at initialisation still holds of its first input")
    ax.set_ylim(1e-14, 3)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def shrink(src: Path, dest: Path, width: int = WIDTH) -> None:
    """``src`` written to ``dest`` at most ``width`` pixels wide, in 128 colours (a small PNG for the site)."""
    from PIL import Image

    with Image.open(src) as im:
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
        dest.parent.mkdir(parents=True, exist_ok=True)
        im.convert("RGB").quantize(colors=128).save(dest, optimize=True)


def main(argv_=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    q = sub.add_parser("state-memory", help="page 08's figure: how long each cell's state remembers its first input")
    q.add_argument("--out", type=Path, default=IMG / "08-state-memory.png")
    q = sub.add_parser("figures", help="run every page's commands and copy their figures to docs/course/img/")
    q.add_argument("--runs", type=Path, help="copy the figures from the run directories under RUNS (e.g. "
                                            "runs/course, where the pages' commands write) instead of running")
    args = p.parse_args(argv_)
    if args.what == "state-memory":
        curves = state_memory()
        for name, ratios in curves.items():
            print(f"{name:20s} state distance, over its value at t=1: t=5 {ratios[4]:.2e}, t=10 {ratios[9]:.2e}, "
                  f"t=40 {ratios[39]:.2e}")
        plot_state_memory(curves, args.out)
        print(f"written: {args.out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for page, figures in PAGES.items():
            if args.runs is None:
                for command in commands(page):
                    print(f"{page}: {command}", flush=True)
                    print(run(command, Path(tmp)), flush=True)
            for spec in figures:
                if spec.figure:
                    shrink((args.runs or Path(tmp)) / spec.figure, IMG / spec.image)
                    print(f"written: {IMG / spec.image}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
