"""The child-process plumbing of the speed benchmarks, in one place (``benchmarks/_speed.py``):
``run_child`` starts ``SCRIPT --child JOB --out FILE`` and reads FILE back; ``parse_args`` is the
other end, in the script: given those hidden flags it writes ``measure(JOB)`` to FILE and says so
(None), else it is the script's own parsed flags. dqn_speed.py and resume_state.py both answer
through it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from benchmark_module import load_benchmark

from benchmarks import _speed

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = '''
import argparse
import sys

sys.path.insert(0, {root!r})
from benchmarks import _speed


def measure(job):
    if job["x"] < 0:
        raise ValueError("a broken measurement")
    return {{"twice": job["x"] * 2, "torch_imported": "torch" in sys.modules}}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--x", type=int, default=21)
    args = _speed.parse_args(p, argv, measure, torch_threads=False)
    if args is None:  # (the child)
        return 0
    print(_speed.run_child(__file__, {{"x": args.x}}, "the child")["twice"])
    return 0


sys.exit(main())
'''


def test_run_child_and_parse_args_are_the_two_ends_of_one_round_trip(tmp_path):
    script = tmp_path / "bench.py"
    script.write_text(SCRIPT.format(root=str(ROOT)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "42", done.stderr
    failed = subprocess.run([sys.executable, str(script), "--x", "-1"], capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1 and "the child failed (exit 1)" in failed.stderr
    assert "a broken measurement" in failed.stderr  # (the child's own error, passed on)


def test_parse_args_without_the_child_flags_is_the_scripts_own(tmp_path):
    p = argparse.ArgumentParser()
    p.add_argument("--x", type=int)
    args = _speed.parse_args(p, ["--x", "3"], lambda job: pytest.fail("measured"), torch_threads=False)
    assert args.x == 3 and args.child is None


@pytest.mark.parametrize("name,measure", [("dqn_speed", "measure"), ("resume_state", "phase")])
def test_both_benchmarks_answer_as_the_child_through_it(name, measure, tmp_path, monkeypatch):
    bench = load_benchmark(name)
    monkeypatch.setattr(bench, measure, lambda job: {"job": job, "threads": __import__("torch").get_num_threads()})
    out = tmp_path / "result.json"
    assert bench.main(["--child", json.dumps({"case": "x"}), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {"job": {"case": "x"}, "threads": 1}
