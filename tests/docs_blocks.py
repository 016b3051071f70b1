"""The fenced code blocks of README.md and docs/**/*.md, as the documentation convention reads them
(tests/test_docs_code.py runs them):

- ```python blocks are run, each a script, in order, in one scratch directory per page;
- ```bash blocks are run line by line (a line ending in a backslash goes on), each line a command;
- ```text blocks are output, never run;
- a block after the line ``<!-- not-run: REASON -->`` is not run (the REASON is required);
- any other fence language, or none, is an error;
- a python block of ``--8<-- "path:NAME"`` lines is a source excerpt: its markers must exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("python", "bash", "text")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[^\s`{]*)(?P<rest>.*)$")
NOT_RUN = re.compile(r"^\s*<!--\s*not-run:?(?P<reason>.*?)-->\s*$")
SNIPPET = re.compile(r'^\s*-{1,}8<-{1,}\s+"(?P<path>[^":]+)(?::(?P<name>[\w-]+))?"\s*$')


@dataclass
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    not_run: str | None  # None: run it; else the reason given ("" when none was)

    @property
    def where(self) -> str:
        path = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{path}:{self.line}"


def pages() -> list[Path]:
    """README.md and every page under docs/ (docs/gen/ is code, not a page)."""
    docs = sorted(p for p in (ROOT / "docs").rglob("*.md") if "gen" not in p.relative_to(ROOT / "docs").parts)
    return [ROOT / "README.md", *docs]


def blocks(path: Path) -> list[Block]:
    lines = path.read_text().splitlines()
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        body, j = [], i + 1
        while j < len(lines):
            close = lines[j].strip()
            if close.startswith(fence[0] * len(fence)) and set(close) == {fence[0]}:
                break
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        prev = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = NOT_RUN.match(prev)
        out.append(Block(path, i + 1, m.group("lang").lower(), "\n".join(body) + "\n",
                         marker.group("reason").strip() if marker else None))
        i = j + 1
    return out


def problems(block: Block) -> list[str]:
    """What breaks the convention in ``block``: an unknown language, a not-run with no reason, a
    snippet whose file or section markers are missing."""
    found = []
    if block.lang not in LANGUAGES:
        found.append(f"{block.where}: fence language {block.lang or '(none)'!r} is not one of "
                     f"{', '.join(LANGUAGES)}")
    if block.not_run == "":
        found.append(f"{block.where}: <!-- not-run: REASON --> needs its REASON")
    for path, name in snippets(block):
        source = ROOT / path
        if not source.is_file():
            found.append(f"{block.where}: snippet file {path} does not exist")
        elif name and not all(f"--8<-- [{end}:{name}]" in source.read_text() for end in ("start", "end")):
            found.append(f"{block.where}: {path} has no section markers [start:{name}] ... [end:{name}]")
    return found


def snippets(block: Block) -> list[tuple[str, str | None]]:
    return [(m.group("path"), m.group("name")) for line in block.code.splitlines() if (m := SNIPPET.match(line))]


def is_excerpt(block: Block) -> bool:
    return bool(snippets(block))


def commands(code: str) -> list[str]:
    """A bash block's commands: one a line, a trailing backslash joining the next; blank lines and
    comments skipped."""
    out, pending = [], ""
    for line in code.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(line.strip())
    if pending.strip():
        out.append(pending.strip())
    return out
