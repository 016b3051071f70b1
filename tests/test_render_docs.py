"""``benchmarks/render.py`` fills and checks the results blocks of the site's pages (docs/**/*.md)
as well as README.md's: a number typed into a block on any page turns ``--check`` red."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


def tree(tmp_path: Path) -> Path:
    """A copy of the renderer and the stored results, with a README and a site page of its own."""
    (tmp_path / "benchmarks").mkdir()
    shutil.copy(ROOT / "benchmarks" / "render.py", tmp_path / "benchmarks" / "render.py")
    for d in ("rendering", "results"):
        shutil.copytree(ROOT / "benchmarks" / d, tmp_path / "benchmarks" / d,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "README.md").write_text("# front door\n\nno blocks here\n")
    (tmp_path / "docs" / "results").mkdir(parents=True)
    return tmp_path


def run(root: Path, *args):
    return subprocess.run([sys.executable, str(root / "benchmarks" / "render.py"), *args], cwd=root,
                          capture_output=True, text=True, timeout=60)


def test_a_number_typed_into_a_site_page_turns_check_red_and_render_fills_it(tmp_path):
    root = tree(tmp_path)
    page = root / "docs" / "results" / "q.md"
    planted = "# Q\n\n<!-- render:rooms_table -->\n\n    Q-table: 100 100 100 (typed)\n\n<!-- /render:rooms_table -->\n"
    page.write_text(planted)
    out = run(root, "--check")
    assert out.returncode == 1, (out.returncode, out.stdout, out.stderr)
    assert "docs/results/q.md" in out.stdout and "-    Q-table: 100 100 100 (typed)" in out.stdout
    assert page.read_text() == planted  # --check writes nothing
    assert run(root).returncode == 0
    filled = page.read_text()
    assert "(typed)" not in filled and "Greedy route from each state" in filled
    assert run(root, "--check").returncode == 0


def test_a_bad_marker_on_a_site_page_is_one_line_naming_the_page(tmp_path):
    root = tree(tmp_path)
    (root / "docs" / "bad.md").write_text("<!-- render:nope -->\n<!-- /render:nope -->\n")
    out = run(root, "--check")
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "docs/bad.md" in out.stderr and "'nope'" in out.stderr
