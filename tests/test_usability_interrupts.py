"""Issue 23 item 5: Ctrl-C in a sequence experiment keeps the best weights, the curve and a
summary marked interrupted (exit 130), in one line. (Moved from test_usability.py.)"""

from __future__ import annotations

import contextlib
import io
import json
import signal

import numpy as np
import pytest

from usability_helpers import kill_group, spawn

# -- 5: Ctrl-C in a sequence experiment keeps the best weights, the curve and a summary ---------

CHUNKS_SAID = """import sys
from gymlab.sequence_tasks import common


class Bar:  # says each chunk done on stdout, so the test knows training has begun
    n = 0

    def update(self, k=1):
        Bar.n += 1
        print(f"chunk {Bar.n}", flush=True)

    def set_postfix(self, **kw):
        pass

    def close(self):
        pass


common.Experiment.progress = lambda self, total, desc: Bar()
from gymlab.sequence_tasks.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_chars_interrupted_keeps_best_weights_curve_and_summary(tmp_path):
    """Spawned, SIGINT once 6 chunks (3 validations) are done: exit 130, summary.json marked
    interrupted, the curve so far, and weights.npz holding the weights that validated best (their
    validation bits/char, recomputed here, are the curve's minimum)."""
    import torch

    from gymlab.sequence_tasks.chars import bits_per_char, split_parts
    from gymlab.sequence_tasks.data import Vocabulary
    from gymlab.sequence_tasks.models import CharModel

    text = "".join(f"line {i % 7}: the quick brown fox jumps over the lazy dog.\n" for i in range(60))
    (tmp_path / "t.txt").write_text(text)
    run_dir = tmp_path / "run"
    proc = spawn(["-c", CHUNKS_SAID, "chars", "--text", "t.txt", "--run-dir", run_dir, "--iterations", "10000000",
                  "--eval-every", "2", "--hidden", "16", "--batch", "4", "--seq-len", "16"], cwd=tmp_path)
    try:
        for line in proc.stdout:
            if line.strip() == "chunk 6":
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        kill_group(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["experiment"] == "chars"
    curve = summary["val_curve"]
    assert len(curve) >= 3 and summary["iterations"] >= curve[-1][0] >= 6
    with np.load(run_dir / "weights.npz") as data:
        weights = {k: torch.from_numpy(data[k]) for k in data.files}
    vocab = Vocabulary(text)
    model = CharModel(len(vocab), "lstm", 16, 1)
    model.load_state_dict(weights)
    bpc = bits_per_char(model, vocab.encode(split_parts(text)["val"]))
    assert bpc == pytest.approx(min(c[2] for c in curve), abs=1e-3)
    assert summary["best_iteration"] == min(curve, key=lambda c: c[2])[0]


class _StopAt:
    """A progress bar that raises KeyboardInterrupt (as Ctrl-C would) at its n-th update."""

    def __init__(self, n):
        self.n, self.count = n, 0

    def __call__(self, total=None, desc=""):
        return self

    def update(self, k=1):
        self.count += 1
        if self.count == self.n:
            raise KeyboardInterrupt

    def set_postfix(self, **kw):
        pass

    def close(self):
        pass


@pytest.mark.parametrize("argv,steps_key", [
    (["sine", "--recipe", "lecture", "--lbfgs-steps", "50", "--waves", "8", "--length", "60", "--future", "10",
      "--hidden", "8"], "train_loss"),
    (["cosine", "--iterations", "500", "--batch", "4", "--seq-len", "30", "--val-waves", "10", "--val-len", "40",
      "--val-warmup", "10", "--eval-every", "2", "--hidden", "8"], "train_loss"),
])
def test_sine_and_cosine_interrupted_keep_weights_and_curve(argv, steps_key, tmp_path, monkeypatch):
    import torch

    from gymlab.sequence_tasks import cli, common
    from gymlab.sequence_tasks.models import NextValue

    monkeypatch.setattr(common.Experiment, "progress", lambda self, total, desc: bar)
    bar = _StopAt(3)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main([*argv, "--run-dir", str(tmp_path / "r")])
    assert code == 130 and err.getvalue().count("\n") == 1 and "kept in" in err.getvalue(), err.getvalue()
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["interrupted"] is True and len(summary[steps_key]) == 3
    with np.load(tmp_path / "r" / "weights.npz") as data:
        weights = {k: torch.from_numpy(data[k]) for k in data.files}
    model = NextValue("lstm", 8, 2 if argv[0] == "sine" else 1)
    model.load_state_dict(weights)  # every weight of the model, and nothing else
    assert all(torch.isfinite(w).all() for w in weights.values())
