"""``python -m sequence_tasks`` against hostile input: every input either works or is refused in
one line, exit 2, no traceback, nothing written (an earlier run left byte for byte as it was).

Most cases call ``main(argv)`` in-process (fast); a few run the real command to see the real
exit code."""

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gymlab.sequence_tasks import EXPERIMENTS
from gymlab.sequence_tasks.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(EXPERIMENTS)

# -- the table: bad values for every option of every experiment ---------------------------------

HUGE = "10000000000000"  # 1e13: past every count's cap
INT1 = ["-1", "0", "nan", "inf", HUGE, "abc", "", "2.5", "1e3"]  # counts >= 1
INT0 = ["-1", "nan", "inf", HUGE, "abc", "", "2.5"]  # counts where 0 means something
POSITIVE = ["-1", "0", "-0.0", "nan", "inf", "-inf", "1e999", "abc", ""]  # rates, norms, temperatures
PROBABILITY = ["-0.5", "1.5", "nan", "inf", "1e999", "abc", ""]
CHOICE = ["", "abc", "LSTM"]

COMMON = {
    "--seed": ["-1", "nan", "inf", str(2**64), "abc", "", "2.5"],
    "--threads": INT1[:4] + ["1000000", "abc", ""],
    "--run-dir": [""],
    "--kind": CHOICE,
    "--hidden": INT1 + ["10000000", "4097"],
    "--layers": INT1 + ["17"],
}
OPTIONS = {
    "sine": {
        **COMMON,
        "--recipe": CHOICE,
        "--schedule": ["", " ", "abc", ",", "0:0", "-1:5", "0:10,x", "0:1:2", "5", "nan:1", "0:nan",
                       "0:1000000000", "1000000000:1", ",".join(["0:1"] * 101)],
        "--window": INT1,
        "--lbfgs-steps": INT1,
        "--impl": CHOICE,
        "--waves": INT1 + ["3"],
        "--length": INT1 + ["1"],
        "--future": INT1,
    },
    "cosine": {
        **COMMON,
        "--iterations": INT1,
        "--batch": INT1,
        "--seq-len": INT1,
        "--warmup": INT0,
        "--p-every": INT1,
        "--p-max": PROBABILITY,
        "--lr": POSITIVE,
        "--clip": POSITIVE,
        "--val-waves": INT1,
        "--val-len": INT1 + ["2"],
        "--val-warmup": INT1,
        "--eval-every": INT0,
    },
    "chars": {
        **COMMON,
        "--text": [""],
        "--iterations": INT1,
        "--seconds": POSITIVE + ["1e9"],
        "--batch": INT1,
        "--seq-len": INT1,
        "--lr": POSITIVE,
        "--clip": POSITIVE,
        "--dropout": PROBABILITY + ["1"],
        "--input-dropout": PROBABILITY + ["1"],
        "--weight-drop": PROBABILITY + ["1"],
        "--weight-decay": ["-0.1", "nan", "inf", "11", "abc", ""],
        "--lr-decay": ["0", "-0.5", "1.5", "nan", "inf", "abc", ""],
        "--patience": INT1,
        "--eval-every": INT1,
        "--temperature": POSITIVE,
        "--sample-len": INT0,
        "--model": CHOICE + ["rnn"],
        "--window": INT1 + ["4097"],
        "--embed": INT1 + ["4097"],
    },
    "gradients": {
        **{k: v for k, v in COMMON.items() if k not in ("--kind", "--layers")},
        "--hidden": INT1 + ["1025"],
        "--cells": CHOICE + ["rnn,rnn", ",", "rnn,LSTM"],
        "--max-lag": INT1 + ["1001"],
        "--burn-in": INT0 + ["1001"],
        "--vocab": INT1 + ["1", "257"],
        "--batch": INT1 + ["4097"],
        "--forget-bias": ["", "abc", "nan", "none,none", "21", "-inf"],
        "--train-steps": INT0,
        "--train-clip": ["0", "-1", "nan", "inf", "abc", "", "None"],
        "--radii": ["", "0", "-1", "nan", "inf", "11", "1,1", "abc"],
        "--explode-radius": POSITIVE + ["11"],
        "--explode-lr": POSITIVE,
        "--explode-steps": INT1,
        "--explode-delay": INT1 + ["1001"],
        "--clip": POSITIVE,
    },
    "words": {
        "--seed": COMMON["--seed"],
        "--threads": COMMON["--threads"],
        "--run-dir": [""],
        "--corpus": CHOICE + ["brown"],
        "--arch": CHOICE,
        "--loss": CHOICE,
        "--negative": INT1 + ["101"],
        "--subsample": PROBABILITY + ["1"],
        "--dim": INT1 + ["1001"],
        "--window": INT1 + ["51"],
        "--epochs": INT1 + ["1001"],
        "--min-count": INT1 + ["100000"],
        "--lr": POSITIVE + ["11"],
        "--batch": INT1,
        "--neighbours": ["", ",,", "zzzq"],
    },
}
FLAGS_WITHOUT_VALUES = {"-h", "--help", "--no-progress", "--force", "--float64", "--test-every-step", "--direct",
                        "--no-reference"}

# Options each fine alone, refused together (flag, in the message): (experiment, arguments, flag).
COMBINATIONS = [
    ("sine", ["--window", "990"], "--window"),
    ("sine", ["--length", "50"], "--length"),
    ("sine", ["--schedule", "0:1,2000:1"], "--schedule"),
    ("sine", ["--hidden", "4096", "--layers", "16"], "--hidden"),
    ("sine", ["--hidden", "4096"], "--hidden"),  # LBFGS keeps 200 copies of 200M weights
    ("sine", ["--waves", "1000000", "--length", "1000000", "--recipe", "lecture"], "--waves"),
    ("cosine", ["--warmup", "200"], "--warmup"),
    ("cosine", ["--seq-len", "5", "--warmup", "20"], "--warmup"),
    ("cosine", ["--val-len", "101"], "--val-len"),
    ("cosine", ["--val-warmup", "999"], "--val-warmup"),
    ("cosine", ["--hidden", "4096", "--layers", "16"], "--hidden"),
    ("cosine", ["--val-waves", "1000000", "--val-len", "1000000"], "--val-waves"),
    ("cosine", ["--batch", "1000000", "--seq-len", "1000000", "--warmup", "0"], "--batch"),
    ("chars", ["--batch", "100000"], "--batch"),
    ("chars", ["--seq-len", "1000000"], "--seq-len"),
    ("chars", ["--batch", "1000", "--seq-len", "64"], "--batch"),
    ("chars", ["--hidden", "4096", "--layers", "16"], "--hidden"),
    ("chars", ["--model", "window", "--window", "4096", "--embed", "4096"], "--window"),
    ("chars", ["--window", "4"], "--window"),
    ("gradients", ["--hidden", "1024", "--batch", "4096", "--max-lag", "1000"], "--hidden"),
]


def _texts(tmp: Path) -> dict:
    """Bad --text files: name -> path."""
    (tmp / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (tmp / "nul.txt").write_bytes(b"abc\x00" * 500)
    (tmp / "empty.txt").write_bytes(b"")
    (tmp / "short.txt").write_text("to be or not to be, " * 5)
    (tmp / "folder").mkdir()
    (tmp / "file").write_text("a file")
    return {"missing": tmp / "missing.txt", "directory": tmp / "folder", "binary": tmp / "binary.txt",
            "nul": tmp / "nul.txt", "empty": tmp / "empty.txt", "short": tmp / "short.txt",
            "device": Path("/dev/zero"), "under a file": tmp / "file" / "x.txt"}


TEXTS = ["missing", "directory", "binary", "nul", "empty", "short", "device", "under a file"]
RUN_DIRS = ["a file", "under a file", "/proc/x", "earlier run", "not a run", "name too long"]

CASES = (
    [pytest.param(name, [flag, value], flag, id=f"{name} {flag}={value!r}"[:90])
     for name in NAMES for flag, values in OPTIONS[name].items() for value in values]
    + [pytest.param(name, args, flag, id=f"{name} {' '.join(args)}") for name, args, flag in COMBINATIONS]
    + [pytest.param("chars", ["--text", f"<{kind}>"], "--text", id=f"chars --text {kind}") for kind in TEXTS]
    + [pytest.param(name, ["--seed"], "--seed", id=f"{name} --seed (no value)") for name in NAMES]
    + [pytest.param(name, ["--hiden", "8"], "--hiden", id=f"{name} --hiden (a typo)") for name in NAMES]
)


# -- an earlier run, once per module, that no refusal may touch ---------------------------------

def snapshot(path: Path) -> dict:
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() else None) for p in sorted(path.rglob("*"))}


def earlier_run(path: Path, name: str) -> dict:
    """Make (or restore) a faked earlier run of ``name`` at ``path``: what it must still hold after."""
    path.mkdir(exist_ok=True)
    for p in path.iterdir():
        p.unlink()
    (path / "summary.json").write_text(json.dumps({"experiment": name, "seed": 3}) + "\n")
    (path / "training.png").write_bytes(b"\x89PNG fake figure")
    return snapshot(path)


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """Where the earlier runs are, the bad texts and the bad run directories."""
    tmp = tmp_path_factory.mktemp("seq_cli")
    texts = _texts(tmp)
    (tmp / "not_a_run").mkdir()
    (tmp / "not_a_run" / "notes.txt").write_text("mine")
    run_dirs = {"a file": tmp / "file", "under a file": tmp / "file" / "run", "/proc/x": Path("/proc/x"),
                "earlier run": None, "not a run": tmp / "not_a_run", "name too long": tmp / ("r" * 300)}
    return {"tmp": tmp, "earlier": {name: tmp / f"earlier_{name}" for name in NAMES}, "texts": texts,
            "run_dirs": run_dirs}


@pytest.fixture
def no_training(monkeypatch):
    """Input that gets past the checks reaches no real training: the experiments' ``run`` fails
    at once (an internal error, exit 70), so a missing check fails the test fast."""
    import importlib

    def reached(exp, args, **inputs):
        raise AssertionError("the input was accepted and the run started")

    for module, _ in EXPERIMENTS.values():
        monkeypatch.setattr(importlib.import_module(module), "run", reached)


def refused(capsys, argv, flag=None):
    """Run ``main(argv)`` in-process: exit 2, one non-empty line on stderr naming ``flag``, no
    traceback, nothing on stdout."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), err
    assert "Traceback" not in err and out == ""
    if flag is not None:
        assert flag in lines[0], lines[0]
    return lines[0]


def test_the_table_covers_every_option():
    """Each option of each experiment has hostile values in the table (a new option must too)."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(sub.choices) == NAMES
    for name, parser in sub.choices.items():
        flags = {s for a in parser._actions for s in a.option_strings if s.startswith("--")}
        assert flags - FLAGS_WITHOUT_VALUES == set(OPTIONS[name]), name


@pytest.mark.parametrize("name, args, flag", CASES)
def test_hostile_input_is_refused_in_one_line(name, args, flag, place, capsys, no_training):
    args = [str(place["texts"][a[1:-1]]) if a.startswith("<") else a for a in args]
    earlier = place["earlier"][name]
    before = earlier_run(earlier, name)
    # --force on the earlier run: had the run directory been prepared before the options were
    # checked, the earlier run would be gone.
    line = refused(capsys, [name, "--run-dir", str(earlier), "--force", "--no-progress", *args], flag)
    assert snapshot(earlier) == before, line


@pytest.mark.parametrize("kind", RUN_DIRS)
@pytest.mark.parametrize("name", NAMES)
def test_bad_run_dir_is_refused(name, kind, place, capsys, no_training):
    earlier_run(place["earlier"][name], name)
    before = snapshot(place["tmp"])
    path = place["run_dirs"][kind] or place["earlier"][name]
    force = ["--force"] if kind == "not a run" else []  # --force replaces a run, nothing else
    refused(capsys, [name, "--run-dir", str(path), *force, "--no-progress"], "--run-dir")
    assert snapshot(place["tmp"]) == before
    assert not Path("/proc/x").exists()


@pytest.mark.parametrize("name", NAMES)
def test_nothing_is_written_for_bad_input(name, tmp_path, monkeypatch, capsys, no_training):
    """Neither a new --run-dir nor the default runs/ directory is made for a refused input."""
    monkeypatch.chdir(tmp_path)
    refused(capsys, [name, "--run-dir", str(tmp_path / "new" / "run"), "--hidden", "0"], "--hidden")
    refused(capsys, [name, "--layers", "nan"], "--layers")
    assert list(tmp_path.iterdir()) == []


def test_unknown_or_missing_experiment(capsys):
    assert "sine" in refused(capsys, ["waves"])
    assert "EXPERIMENT" in refused(capsys, [])


# -- what happens during a run --------------------------------------------------------------------

TINY_SINE = ["--waves", "5", "--length", "30", "--future", "5", "--window", "10", "--schedule", "0:1,3:1",
             "--hidden", "4", "--layers", "1", "--no-progress"]


def test_force_replaces_an_earlier_run_and_threads_default_to_one(tmp_path, capsys):
    for name in NAMES:
        assert build_parser().parse_args([name]).threads == 1
    run_dir = tmp_path / "run"
    torch.set_num_threads(2)
    assert main(["sine", "--run-dir", str(run_dir), "--seed", "1", *TINY_SINE]) == 0
    assert torch.get_num_threads() == 1  # the default, 1, was applied
    (run_dir / "old_metrics.csv").write_text("from an earlier run\n")
    before = snapshot(run_dir)
    capsys.readouterr()
    refused(capsys, ["sine", "--run-dir", str(run_dir), "--seed", "2", *TINY_SINE], "--force")
    assert snapshot(run_dir) == before
    assert main(["sine", "--run-dir", str(run_dir), "--seed", "2", "--force", *TINY_SINE]) == 0
    assert json.loads((run_dir / "summary.json").read_text())["seed"] == 2
    assert (run_dir / "old_metrics.csv").read_text() == "from an earlier run\n"  # not the run's: kept (issue 23)
    assert (run_dir / "predictions.png").read_bytes()[:4] == b"\x89PNG"


def test_a_diverging_run_is_a_usage_error_and_leaves_nothing(tmp_path, capsys):
    run_dir = tmp_path / "new" / "run"
    line = refused(capsys, ["cosine", "--run-dir", str(run_dir), "--lr", "1e30", "--iterations", "20", "--batch",
                            "2", "--seq-len", "12", "--warmup", "2", "--val-waves", "2", "--val-len", "20",
                            "--val-warmup", "5", "--hidden", "4", "--no-progress"], "--lr")
    assert "diverged" in line and not (tmp_path / "new").exists()


def test_a_bug_is_an_internal_error_not_a_usage_error(tmp_path, capsys, monkeypatch):
    """A ValueError from inside the experiment is a bug: exit 70, traceback saved in the run."""
    from gymlab.sequence_tasks import sine

    def broken(exp, args):
        raise ValueError("a bug")

    monkeypatch.setattr(sine, "run", broken)
    assert main(["sine", "--run-dir", str(tmp_path / "run"), *TINY_SINE]) == 70
    err = capsys.readouterr().err
    assert "internal error" in err and "a bug" in err and len(err.splitlines()) == 1
    assert "ValueError: a bug" in (tmp_path / "run" / "crash.txt").read_text()


# -- the real command ------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["-m", "sequence_tasks", "sine", "--seed", "-1"],
    ["-m", "gymlab", "seq", "chars", "--hidden", "10000000"],
], ids=["seed", "hidden via gymlab seq"])
def test_real_exit_code(argv, tmp_path):
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "summary.json").write_text("{}\n")
    proc = subprocess.run([sys.executable, *argv, "--run-dir", str(earlier), "--force"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert argv[-2] in proc.stderr
    assert (earlier / "summary.json").read_text() == "{}\n" and len(list(earlier.iterdir())) == 1


def test_ctrl_c_exits_130(tmp_path, spawn):
    code = "import sys; from gymlab.sequence_tasks.cli import main; sys.exit(main(sys.argv[1:]))"
    run_dir = tmp_path / "run"
    proc = spawn([sys.executable, "-c", code, "cosine", "--run-dir", str(run_dir), "--no-progress"], cwd=ROOT)
    deadline = time.monotonic() + 60
    while not run_dir.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # into the training loop
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    if run_dir.exists():  # a step was trained: what it learned is kept (tests/test_usability.py checks it)
        assert json.loads((run_dir / "summary.json").read_text())["interrupted"] is True
        assert sorted(p.name for p in run_dir.iterdir()) == ["summary.json", "weights.npz"]
    # else nothing had been written yet: the empty directory is gone
