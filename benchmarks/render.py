"""Fill the results blocks of README.md and of the site's pages (docs/**/*.md) from the stored JSONs in
benchmarks/results/: figures rendered, never typed.

    python benchmarks/render.py            # rewrite every page's blocks in place
    python benchmarks/render.py --check    # exit 1 and print a diff when a block differs
    python benchmarks/render.py --readme FILE   # only that file (--readme again: those files)

A block is ``<!-- render:NAME -->`` ... ``<!-- /render:NAME -->``; NAME is one of
``benchmarks/rendering.BLOCKS``, which says which JSON it reads. Everything between the two
markers is the renderer's: a number typed there is gone at the next run, and ``--check``
(the tests run it) goes red until then. Imports neither numpy nor torch.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.rendering import BLOCKS, RESULTS, render_block  # noqa: E402

MARKER = re.compile(r"<!-- (/?)render:([\w-]+) -->")


def _line(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def fill(text: str, results: Path = RESULTS) -> str:
    """``text`` with every block's body rendered again; ``ValueError`` for a marker that does not pair."""
    out, at, rendered = [], 0, {}
    markers = list(MARKER.finditer(text))
    i = 0
    while i < len(markers):
        m = markers[i]
        closing, name = m.group(1), m.group(2)
        if closing:
            raise ValueError(f"line {_line(text, m.start())}: <!-- /render:{name} --> closes no block")
        if name not in BLOCKS:
            raise ValueError(f"line {_line(text, m.start())}: no block named {name!r} (known: {', '.join(BLOCKS)})")
        end = markers[i + 1] if i + 1 < len(markers) else None
        if end is None or end.group(1) != "/" or end.group(2) != name:
            raise ValueError(f"line {_line(text, m.start())}: block {name!r} is never closed "
                             f"(<!-- /render:{name} --> before the next marker)")
        if name not in rendered:
            rendered[name] = render_block(name, results)
        out += [text[at:m.end()], "\n\n", rendered[name], "\n\n"]
        at = end.start()
        i += 2
    out.append(text[at:])
    return "".join(out)


def targets(root: Path = ROOT) -> list[Path]:
    """The files whose blocks are filled: README.md and every page of the site (docs/gen/ is code)."""
    docs = root / "docs"
    site = sorted(p for p in docs.rglob("*.md") if "gen" not in p.relative_to(docs).parts) if docs.is_dir() else []
    return [root / "README.md", *site]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 and print a diff when a block differs")
    p.add_argument("--readme", type=Path, action="append", metavar="FILE",
                   help="a file to fill, given once or more (default: README.md and docs/**/*.md)")
    p.add_argument("--results", type=Path, default=RESULTS, help="the JSONs' folder (default benchmarks/results)")
    args = p.parse_args(argv)
    files = args.readme or targets()
    changed = {}
    for path in files:  # every page read and rendered before any is written: an error leaves all as they were
        try:
            text = path.read_text()
            new = fill(text, args.results)
        except (OSError, ValueError) as e:
            print(f"render.py: {_name(path)}: {e}" if isinstance(e, ValueError) else f"render.py: {e}",
                  file=sys.stderr)
            return 2
        if new != text:
            changed[path] = (text, new)
    for path, (text, new) in changed.items():
        if args.check:
            name = _name(path)
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True), name,
                                                       f"{name} (rendered)"))
        else:
            path.write_text(new)
    return 1 if changed and args.check else 0


def _name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
