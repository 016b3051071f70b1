"""Every code block of README.md and docs/**/*.md runs as the page says it does (the convention:
``tests/docs_blocks.py``). A page's blocks run in order in one scratch directory that sees the
repository's files (so ``python train.py`` works as written from the root) but keeps the run
directories the commands write."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from docs_blocks import ROOT, Block, blocks, commands, is_excerpt, pages, problems

TIMEOUT_S = 180  # a block's line: doc commands are kept to seconds (user CPU); this only stops a hang on a loaded machine
KEEP_OUT = {".git", ".venv", "runs", "site", "__pycache__"}


def sandbox(tmp: Path) -> Path:
    for entry in ROOT.iterdir():
        if entry.name not in KEEP_OUT:
            (tmp / entry.name).symlink_to(entry)
    return tmp


def child_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `python` is this one
    env["PYTHONPATH"] = str(ROOT)
    env.update(MPLBACKEND="Agg", SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYGAME_HIDE_SUPPORT_PROMPT="1")
    env.pop("DISPLAY", None)
    return env


def checked_elsewhere() -> set[tuple[Path, str]]:
    """(page, command) of the course pages' short commands, which the course tests run and hold to
    bounds (``benchmarks/course_pages.py``, tests/test_course_rnn_commands.py): run once in the suite,
    there, not again here (they take 10-80 s each)."""
    module = ROOT / "benchmarks" / "course_pages.py"
    if not module.is_file():
        return set()
    from benchmark_module import load_benchmark

    pages = load_benchmark("course_pages")
    return {(pages.COURSE / name, line) for name in pages.PAGES for line in pages.commands(name)}


ELSEWHERE = checked_elsewhere()


def run_block(block: Block, cwd: Path, env: dict, n: int) -> None:
    if block.lang == "python":
        script = cwd / f"_docs_block_{n}.py"
        script.write_text(block.code)
        todo = [([sys.executable, script.name], f"python block:\n{block.code}")]
    else:
        todo = [(["bash", "-o", "pipefail", "-c", line], line) for line in commands(block.code)
                if (block.path, line) not in ELSEWHERE]
    for argv, what in todo:
        try:
            done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{block.where}: over {TIMEOUT_S} s: {what}")
        assert done.returncode == 0, (f"{block.where}: exit {done.returncode}: {what}\n--- stdout\n"
                                      f"{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-3000:]}")


PAGES = pages()


@pytest.mark.site  # (a later CI step: the pages' commands take a minute or more of CPU together)
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_block_of_the_page_runs(page, tmp_path):
    found = [p for b in blocks(page) for p in problems(b)]
    assert not found, "\n".join(found)
    cwd, env = sandbox(tmp_path), child_env()
    for n, block in enumerate(blocks(page)):
        if block.lang in ("python", "bash") and block.not_run is None and not is_excerpt(block):
            run_block(block, cwd, env, n)


# ------------------------------------------------------------------ the reader of the convention
def _page(tmp_path, text):
    path = tmp_path / "page.md"
    path.write_text(text)
    return blocks(path)


def test_the_convention_is_read_as_written(tmp_path):
    found = _page(tmp_path, "\n".join([
        "```python", "print(1)", "```",
        "<!-- not-run: full budget: 14 minutes here -->", "", "```bash", "python train.py \\", "  --env rooms",
        "# a comment", "", "ls", "```",
        "```text", "output", "```",
        "<!-- not-run: -->", "```bash", "x", "```",
        "```yaml", "a: 1", "```",
        "  ```python", "  --8<-- \"agents/dqn.py:nowhere\"", "  ```",
        "````", "```python", "inside", "```", "````",
    ]))
    assert [(b.lang, b.not_run) for b in found] == [("python", None), ("bash", "full budget: 14 minutes here"),
                                                    ("text", None), ("bash", ""), ("yaml", None), ("python", None),
                                                    ("", None)]
    assert commands(found[1].code) == ["python train.py    --env rooms", "ls"]
    assert found[6].code == "```python\ninside\n```\n"  # a longer fence holds a shorter one
    said = [p.split(": ", 1)[1] for b in found for p in problems(b)]
    assert said == ["<!-- not-run: REASON --> needs its REASON",
                    "fence language 'yaml' is not one of python, bash, text",
                    "agents/dqn.py has no section markers [start:nowhere] ... [end:nowhere]",
                    "fence language '(none)' is not one of python, bash, text"]


def test_a_failing_command_fails_the_page(tmp_path):
    block = Block(ROOT / "README.md", 1, "bash", "true\nfalse\n", None)
    with pytest.raises(AssertionError, match="exit 1: false"):
        run_block(block, sandbox(tmp_path), child_env(), 0)
