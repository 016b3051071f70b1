"""README.md's results blocks are what ``benchmarks/render.py`` renders from the JSONs in the repository."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.rendering import BLOCKS  # noqa: E402
from tests.benchmark_module import load_benchmark  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
render = load_benchmark("render")


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "render.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_every_readme_block_is_what_the_jsons_render():
    text = README.read_text()
    assert render.fill(text, ROOT / "benchmarks" / "results") == text, \
        "README.md differs from the stored JSONs: run python benchmarks/render.py"


def test_every_block_is_in_the_readme_once_or_on_a_docs_page():
    names = re.findall(r"<!-- render:([\w-]+) -->", README.read_text())
    docs = {n for page in (ROOT / "docs").glob("**/*.md") for n in re.findall(r"<!-- render:([\w-]+) -->",
                                                                              page.read_text())}
    assert len(names) == len(set(names)) and set(names) <= set(BLOCKS) and set(BLOCKS) <= set(names) | docs


def test_a_hand_typed_number_in_a_block_turns_check_red(tmp_path):
    copy = tmp_path / "README.md"
    text = README.read_text()
    end = text.index("<!-- /render:deep_agents -->")
    typed = "| `python train.py --env CartPole-v1 --agent dqn` | 50k | 500.0 [498.2, 500.0] |\n"
    planted = text[:end] + typed + text[end:]
    copy.write_text(planted)
    out = run("--check", "--readme", str(copy))
    assert out.returncode == 1, out.stderr
    assert "-| `python train.py --env CartPole-v1 --agent dqn` | 50k | 500.0 [498.2, 500.0] |" in out.stdout
    assert "deep_agents" in out.stdout
    assert copy.read_text() == planted  # --check writes nothing
    assert run("--readme", str(copy)).returncode == 0  # the default rewrites the file...
    assert copy.read_text() == text
    again = run("--check", "--readme", str(copy))  # ...and twice is once
    assert again.returncode == 0 and again.stdout == "", again.stdout


def test_check_on_the_repository_is_green_and_imports_no_torch_nor_numpy():
    code = ("import runpy, sys\nsys.argv = ['benchmarks/render.py', '--check']\n"
            "try:\n    runpy.run_path('benchmarks/render.py', run_name='__main__')\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "heavy = {'torch', 'numpy'} & set(sys.modules)\nassert not heavy, heavy\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout


def test_bad_markers_are_one_line_and_exit_2(tmp_path):
    cases = {"<!-- render:nonesuch -->\n<!-- /render:nonesuch -->\n": "no block named 'nonesuch'",
             "<!-- render:deep_agents -->\nnever closed\n": "never closed",
             "<!-- /render:deep_agents -->\n": "closes no block"}
    for text, says in cases.items():
        (tmp_path / "R.md").write_text("# R\n\n" + text)
        out = run("--check", "--readme", str(tmp_path / "R.md"))
        assert out.returncode == 2 and says in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    out = run("--readme", str(tmp_path / "missing.md"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_another_results_directory_is_read(tmp_path):
    from tests.render_fixtures import stamp, sweep_row

    rows = [sweep_row("CartPole-v1", "dqn", [500.0] * 10, 475)]
    (tmp_path / "deep_agents.json").write_text(json.dumps({**stamp(command="python benchmarks/deep_agents.py"),
                                                           "rows": rows}))
    (tmp_path / "R.md").write_text("<!-- render:deep_agents -->\n<!-- /render:deep_agents -->\n")
    out = run("--check", "--readme", str(tmp_path / "R.md"), "--results", str(tmp_path))
    assert out.returncode == 1
    assert ("+| `python train.py --env CartPole-v1 --agent dqn --seeds 1000-1009` | 50,000 env steps "
            "| 500 [500, 500] |") in out.stdout


def test_a_stamped_row_of_another_shape_is_one_line_and_exit_2_not_a_guess(tmp_path):
    """Stamped rows in a shape the renderer does not read (the speed benchmark's old ``vs_sb3_same``,
    the untuned sweep's old ``returns``) are named, never shown as something else."""
    from tests.render_fixtures import speed_row, stamp, sweep_row

    old_speed = [speed_row("sb3-dqn (same)", [560.0, 562.0, 570.0]), speed_row("dqn", [700.0, 722.0, 730.0])]
    old_speed[1]["vs_sb3_same"] = 1.29  # no vs_ref: the old schema, stamped as a row measured today is
    old_untuned = sweep_row("Acrobot-v1", "random", [-500.0] * 10, -100)
    old_untuned["returns"] = old_untuned.pop("figures")
    for name, rows, field in (("dqn_speed", old_speed, "vs_ref"), ("untuned_envs", [old_untuned], "figures")):
        (tmp_path / f"{name}.json").write_text(json.dumps({**stamp(command="x"), "rows": rows}))
        (tmp_path / "R.md").write_text(f"<!-- render:{name} -->\n<!-- /render:{name} -->\n")
        out = run("--check", "--readme", str(tmp_path / "R.md"), "--results", str(tmp_path))
        assert out.returncode == 2, out.stdout
        assert f"{name}.json" in out.stderr and repr(field) in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_no_rendered_table_has_a_column_with_nothing_in_it():
    """The speed table carried two replay columns of dashes after the replay moved to its own table."""
    results = ROOT / "benchmarks" / "results"
    for name, fn in BLOCKS.items():
        try:
            text = render.fill(f"<!-- render:{name} -->\n<!-- /render:{name} -->", results)
        except SystemExit:
            continue
        tables, current = [], []
        for line in text.splitlines() + [""]:
            if line.startswith("|"):
                if not set(line) <= set("|-: "):
                    current.append([c.strip() for c in line.strip().strip("|").split("|")])
            elif current:
                tables.append(current)
                current = []
        for table in tables:
            header, body = table[0], table[1:]
            for i, title in enumerate(header):
                cells = [r[i] for r in body if i < len(r)]
                assert not body or any(c not in ("", "-") for c in cells), f"{name}: column {title!r} is empty"
