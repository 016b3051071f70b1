"""The ``chars`` model against a numpy vanilla RNN written the min-char-rnn way, at equal training time.

    python benchmarks/chars_vs_minchar.py            # 240 s of training each: about 8.5 minutes
    python benchmarks/chars_vs_minchar.py --quick    # 30 s each: about 1.5 minutes, to *_quick.json (untracked)
    python benchmarks/chars_vs_minchar.py --seconds 120 --text FILE

writes benchmarks/results/chars_vs_minchar.json (or ``--json PATH``).

Both models get the same text, cut the same way (``sequence_tasks.chars.split_parts``):
both are trained on its first eight tenths, both are validated on the ninth
tenth every 102,400 training characters (ours: every 50 chunks of 32 streams x
64 characters; min-char-rnn: every 4096 unrolls of 25) and after the last, and
both keep the weights that validated best (early stopping: the same rule for
both, so that neither is scored on weights that have learnt the training text
by heart). Both sets of kept weights are scored by one function,
``sequence_tasks.chars.bits_per_char`` (dropout off, each part read as one
stream from a zero state, float32: min-char-rnn's float64 weights are copied
into a torch Elman RNN of the same equations for it), on the training part,
the validation part and the last tenth, which neither model reads before that.
Training time counts the validations; the two run one after the other, never
side by side (a machine busy with something else during one of them makes the
comparison unfair: the chars/s column shows it).

The reference follows Karpathy's min-char-rnn (written here from its
description, in numpy, float64): h_t = tanh(W_xh x_t + W_hh h_t-1 + b_h), y_t
= W_hy h_t + b_y, 100 hidden units, 25-step unrolls with the state carried
between them, Adagrad with lr 0.1, every gradient entry clipped to [-5, 5],
weights from N(0, 0.01^2). Ours is ``python -m sequence_tasks chars --seconds
S`` at its defaults (torch, float32: LSTM 256, Adam 5e-3, 32 streams, truncated
BPTT over 64, weight drop 0.6 on W_hh, dropout 0.4 on the LSTM's outputs and
0.1 on input characters, the step size halved after 3 validations without
improvement). Every row of the JSON carries the commit, the command and the
time it was measured.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import RESULTS, provenance, table, write_json  # noqa: E402
from gymlab.sequence_tasks.chars import bits_per_char, score, split_parts  # noqa: E402
from gymlab.sequence_tasks.data import Vocabulary, load_text  # noqa: E402
from gymlab.sequence_tasks.models import CharModel  # noqa: E402

# Ours at its defaults, passed explicitly; its validation interval in characters is min-char-rnn's too.
BATCH, SEQ_LEN, EVAL_EVERY = 32, 64, 50
EVAL_CHARS = EVAL_EVERY * BATCH * SEQ_LEN  # 102,400 training characters between validations
UNROLL, HIDDEN = 25, 100  # min-char-rnn's
PARTS = ("train", "val", "test")


class MinCharRNN:
    def __init__(self, vocab_size: int, hidden: int = HIDDEN, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.V, self.H = vocab_size, hidden
        self.params = {"Wxh": rng.standard_normal((hidden, vocab_size)) * 0.01,
                       "Whh": rng.standard_normal((hidden, hidden)) * 0.01,
                       "Why": rng.standard_normal((vocab_size, hidden)) * 0.01,
                       "bh": np.zeros((hidden, 1)), "by": np.zeros((vocab_size, 1))}
        self.memory = {k: np.zeros_like(v) for k, v in self.params.items()}  # Adagrad's sums of squares

    # --8<-- [start:minchar_step]
    def loss_and_grads(self, inputs, targets, h_prev):
        """Forward over one unroll, then backpropagation through time; the loss in nats (summed)."""
        P = self.params
        xs, hs, ps = {}, {-1: h_prev}, {}
        loss = 0.0
        for t, (i, j) in enumerate(zip(inputs, targets)):
            xs[t] = np.zeros((self.V, 1))
            xs[t][i] = 1.0
            hs[t] = np.tanh(P["Wxh"] @ xs[t] + P["Whh"] @ hs[t - 1] + P["bh"])
            y = P["Why"] @ hs[t] + P["by"]
            e = np.exp(y - y.max())
            ps[t] = e / e.sum()
            loss -= math.log(ps[t][j, 0])
        grads = {k: np.zeros_like(v) for k, v in P.items()}
        dh_next = np.zeros((self.H, 1))
        for t in reversed(range(len(inputs))):
            dy = ps[t].copy()
            dy[targets[t]] -= 1.0  # softmax and cross-entropy: p - onehot
            grads["Why"] += dy @ hs[t].T
            grads["by"] += dy
            dh = P["Why"].T @ dy + dh_next
            draw = (1.0 - hs[t] ** 2) * dh  # through tanh
            grads["bh"] += draw
            grads["Wxh"] += draw @ xs[t].T
            grads["Whh"] += draw @ hs[t - 1].T
            dh_next = P["Whh"].T @ draw
        for g in grads.values():
            np.clip(g, -5, 5, out=g)
        return loss, grads, hs[len(inputs) - 1]

    def adagrad(self, grads, lr: float = 0.1):
        for k, p in self.params.items():
            self.memory[k] += grads[k] ** 2
            p -= lr * grads[k] / np.sqrt(self.memory[k] + 1e-8)
    # --8<-- [end:minchar_step]

    def to_torch(self) -> CharModel:
        """The same network as ``sequence_tasks.models.CharModel`` (an Elman RNN, float32), for
        scoring by ``chars.bits_per_char``: torch's h_t = tanh(W_ih x_t + b_ih + W_hh h_t-1 + b_hh)
        is min-char-rnn's with b_ih = b_h and b_hh = 0."""
        model = CharModel(self.V, "rnn", self.H)
        P, rnn = self.params, model.core.rnn
        with torch.no_grad():
            for target, value in ((rnn.weight_ih_l0, P["Wxh"]), (rnn.weight_hh_l0, P["Whh"]),
                                  (rnn.bias_ih_l0, P["bh"][:, 0]), (rnn.bias_hh_l0, np.zeros(self.H)),
                                  (model.head.weight, P["Why"]), (model.head.bias, P["by"][:, 0])):
                target.copy_(torch.from_numpy(np.asarray(value)))
        return model.eval()

    def numpy_bits_per_char(self, ids: np.ndarray) -> float:
        """Its own float64 forward pass, from a zero state: a cross-check of ``to_torch`` (the
        tests compare the two), not the benchmark's score."""
        P, h, nats = self.params, np.zeros((self.H, 1)), 0.0
        for i, j in zip(ids[:-1], ids[1:]):
            h = np.tanh(P["Wxh"][:, i:i + 1] + P["Whh"] @ h + P["bh"])
            y = (P["Why"] @ h + P["by"])[:, 0]
            nats -= y[j] - y.max() - math.log(np.exp(y - y.max()).sum())
        return nats / (len(ids) - 1) / math.log(2)


def run_minchar(vocab: Vocabulary, parts: dict[str, str], seconds: float | None, eval_chars: int = EVAL_CHARS,
                seed: int = 0, max_steps: int | None = None) -> dict:
    """min-char-rnn trained on ``parts["train"]`` for ``seconds`` of training time (or ``max_steps``
    unrolls, whichever comes first), validated on ``parts["val"]`` every ``eval_chars`` training
    characters and after the last unroll; the weights that validated best are kept and scored on
    every part by ``chars.score``."""
    train, val_ids = vocab.encode(parts["train"]), vocab.encode(parts["val"])
    model = MinCharRNN(len(vocab), seed=seed)
    best = (math.inf, 0, None)  # validation bits/char, unroll, weights
    curve = []  # (unroll, seconds, validation bits/char)
    p, h, chars, steps, since = 0, np.zeros((HIDDEN, 1)), 0, 0, 0
    start = time.perf_counter()

    def checkpoint():
        nonlocal best
        bpc = bits_per_char(model.to_torch(), val_ids)
        curve.append([steps, round(time.perf_counter() - start, 3), round(bpc, 4)])
        if bpc < best[0]:
            best = (bpc, steps, {k: v.copy() for k, v in model.params.items()})

    while (max_steps is None or steps < max_steps) and (seconds is None or time.perf_counter() - start < seconds):
        if p + UNROLL + 1 > len(train):
            p, h = 0, np.zeros((HIDDEN, 1))  # back to the start of the text with a clear memory
        _, grads, h = model.loss_and_grads(train[p:p + UNROLL], train[p + 1:p + UNROLL + 1], h)
        model.adagrad(grads)
        p, chars, steps, since = p + UNROLL, chars + UNROLL, steps + 1, since + UNROLL
        if since >= eval_chars:
            checkpoint()
            since = 0
    if since or not curve:
        checkpoint()
    elapsed = time.perf_counter() - start
    model.params = best[2]  # early stopping: the weights that validated best
    scores = score(model.to_torch(), vocab, parts)
    return {"train_time_s": elapsed, "chars_per_s": chars / elapsed, "iterations": steps,
            "chars_trained": chars, "best_iteration": best[1], "best_chars_trained": best[1] * UNROLL,
            **{f"{k}_bits_per_char": scores[k] for k in PARTS}, "val_curve": curve}


def ours_command(seconds: float, text: str | None, seed: int) -> list[str]:
    return ["-m", "sequence_tasks", "chars", "--seconds", f"{seconds:g}", "--iterations", "1000000", "--seed",
            str(seed), "--batch", str(BATCH), "--seq-len", str(SEQ_LEN), "--eval-every", str(EVAL_EVERY),
            "--threads", "1", "--no-progress"] + (["--text", text] if text else [])


def run_ours(seconds: float, text: str | None, seed: int = 0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, *ours_command(seconds, text, seed), "--run-dir", tmp]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        s = json.loads(Path(tmp, "summary.json").read_text())
    return {"train_time_s": s["train_time_s"], "chars_per_s": s["chars_per_s"], "iterations": s["iterations"],
            "chars_trained": s["chars_trained"], "best_iteration": s["best_iteration"],
            "best_chars_trained": s["best_chars_trained"], "train_bits_per_char": s["train_bits_per_char"],
            "val_bits_per_char": s["val_bits_per_char"], "test_bits_per_char": s["bits_per_char"],
            "val_curve": s["val_curve"], "splits": s["splits"],
            "last_100_chunks_loss_nats_dropout_on": s["loss"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, help="training time of each (default 240, or 30 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="30 s each, to results/chars_vs_minchar_quick.json (untracked) unless --json says where")
    p.add_argument("--text", help="a text file (default: the bundled sonnets)")
    p.add_argument("--seed", type=int, default=0, help="seeds both models' weights (default 0)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    seconds = args.seconds or (30.0 if args.quick else 240.0)
    torch.set_num_threads(1)  # scoring, as ours runs (--threads 1)

    text = load_text(args.text)
    vocab, parts = Vocabulary(text), split_parts(text)
    bounds = np.cumsum([0] + [len(parts[k]) for k in PARTS]).tolist()
    splits = {k: bounds[i:i + 2] for i, k in enumerate(PARTS)}
    print(f"text: {len(text)} characters, {len(vocab)} distinct; train {splits['train']}, validation "
          f"{splits['val']}, test {splits['test']} (character positions); {seconds:g} s of training each",
          flush=True)

    stamp = provenance()  # each row stamped as its measurement begins
    ref = {**run_minchar(vocab, parts, seconds, seed=args.seed), **stamp}
    print(f"  min-char-rnn: kept unroll {ref['best_iteration']} of {ref['iterations']}; "
          f"test {ref['test_bits_per_char']:.3f} bits/char", flush=True)
    cmd = ours_command(seconds, args.text, args.seed)
    stamp = provenance("python " + " ".join(shlex.quote(a) for a in cmd))
    ours = run_ours(seconds, args.text, args.seed)
    if ours.pop("splits") != splits:
        raise SystemExit(f"the chars run cut the text differently from this benchmark: {splits}")
    ours.update(stamp)
    print(f"  ours: kept chunk {ours['best_iteration']} of {ours['iterations']}; "
          f"test {ours['test_bits_per_char']:.3f} bits/char", flush=True)

    names = {"min-char-rnn": "min-char-rnn (numpy float64; RNN 100, Adagrad 0.1, unrolls of 25)",
             "ours": "ours (torch float32; LSTM 256, Adam, 32 x TBPTT 64, weight drop 0.6, dropout 0.4, input dropout 0.1)"}
    rows = [[names[name], r["train_time_s"], r["chars_per_s"], f"{r['best_chars_trained']:,} of {r['chars_trained']:,}",
             *(f"{r[f'{k}_bits_per_char']:.3f}" for k in PARTS)]
            for name, r in (("min-char-rnn", ref), ("ours", ours))]
    print("\nEvery bits/char column: each model's kept weights (the best on the validation part), dropout off, "
          "that part read from a zero state by chars.bits_per_char in float32. Training time counts validation.")
    print(table(["model (training precision)", "train s", "chars/s", "kept: after chars",
                 "train (1st 8/10) bits/char", "val (9th 10th) bits/char", "test (last 10th) bits/char"], rows))
    print(f"\ntest bits/char, ours / min-char-rnn: {ours['test_bits_per_char'] / ref['test_bits_per_char']:.2f}; "
          f"characters per second: {ours['chars_per_s'] / ref['chars_per_s']:.1f}x")
    out = args.json or (RESULTS / "chars_vs_minchar_quick.json" if args.quick else None)
    path = write_json("chars_vs_minchar", {
        "seconds": seconds, "quick": args.quick, "text": args.text or "bundled sonnets", "text_chars": len(text),
        "vocab_size": len(vocab), "splits": splits,
        "splits_note": "character positions [start, end): both models train on train, early-stop on val, "
                       "and are scored on all three; test is read by neither before the final score",
        "scoring": "chars.bits_per_char on each part of the kept (best-validation) weights, dropout off, "
                   "from a zero state, float32",
        "validate_every_chars": EVAL_CHARS,
        "rows": [{"model": name, "description": names[name], **r} for name, r in (("min-char-rnn", ref),
                                                                                   ("ours", ours))]}, out)
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
