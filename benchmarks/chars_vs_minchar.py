"""The ``chars`` model against a numpy vanilla RNN written the min-char-rnn way, at equal wall time.

    python benchmarks/chars_vs_minchar.py               # about 2.5 minutes; writes results/chars_vs_minchar.json
    python benchmarks/chars_vs_minchar.py --seconds 120 --text FILE

Both train for ``--seconds`` of training time on the first nine tenths of the
text (the bundled sonnets by default) and are scored the same way: bits per
character on the last tenth, read from a zero state. They run one after the
other, never side by side.

The reference follows Karpathy's min-char-rnn (written here from its
description, in numpy): h_t = tanh(W_xh x_t + W_hh h_t-1 + b_h), y_t = W_hy
h_t + b_y, 100 hidden units, 25-step unrolls with the state carried between
them, Adagrad with lr 0.1, every gradient entry clipped to [-5, 5], weights
from N(0, 0.01^2). Ours is ``python -m sequence_tasks chars --seconds S``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import table, write_json  # noqa: E402
from gymlab.sequence_tasks.data import Vocabulary, load_text, split_text  # noqa: E402


class MinCharRNN:
    def __init__(self, vocab_size: int, hidden: int = 100, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.V, self.H = vocab_size, hidden
        self.params = {"Wxh": rng.standard_normal((hidden, vocab_size)) * 0.01,
                       "Whh": rng.standard_normal((hidden, hidden)) * 0.01,
                       "Why": rng.standard_normal((vocab_size, hidden)) * 0.01,
                       "bh": np.zeros((hidden, 1)), "by": np.zeros((vocab_size, 1))}
        self.memory = {k: np.zeros_like(v) for k, v in self.params.items()}  # Adagrad's sums of squares

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

    def bits_per_char(self, ids: np.ndarray) -> float:
        P, h, nats = self.params, np.zeros((self.H, 1)), 0.0
        for i, j in zip(ids[:-1], ids[1:]):
            h = np.tanh(P["Wxh"][:, i:i + 1] + P["Whh"] @ h + P["bh"])
            y = (P["Why"] @ h + P["by"])[:, 0]
            nats -= y[j] - y.max() - math.log(np.exp(y - y.max()).sum())
        return nats / (len(ids) - 1) / math.log(2)


def run_minchar(train_ids, test_ids, vocab_size, seconds: float, seed: int = 0) -> dict:
    model, seq = MinCharRNN(vocab_size, seed=seed), 25
    p, h, chars, losses = 0, np.zeros((100, 1)), 0, []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if p + seq + 1 > len(train_ids):
            p, h = 0, np.zeros((100, 1))  # back to the start of the text with a clear memory
        loss, grads, h = model.loss_and_grads(train_ids[p:p + seq], train_ids[p + 1:p + seq + 1], h)
        model.adagrad(grads)
        losses.append(loss / seq)
        p, chars = p + seq, chars + seq
    elapsed = time.perf_counter() - start
    return {"train_s": elapsed, "chars_per_s": chars / elapsed, "loss": float(np.mean(losses[-100:])),
            "bits_per_char": model.bits_per_char(test_ids)}


def run_ours(seconds: float, text: str | None, seed: int = 0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "sequence_tasks", "chars", "--seconds", str(seconds), "--iterations",
               "1000000", "--seed", str(seed), "--run-dir", tmp, "--no-progress"]
        subprocess.run(cmd + (["--text", text] if text else []), check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        s = json.loads(Path(tmp, "summary.json").read_text())
    return {"train_s": s["train_time_s"], "chars_per_s": s["chars_per_s"], "loss": s["loss"],
            "bits_per_char": s["bits_per_char"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0, help="training time of each (default 60)")
    p.add_argument("--text", help="a text file (default: the bundled sonnets)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    text = load_text(args.text)
    vocab = Vocabulary(text)
    train, test = (vocab.encode(part) for part in split_text(text))
    print(f"text: {len(text)} characters, {len(vocab)} distinct; held out: the last {len(test)}", flush=True)
    ref = run_minchar(train, test, len(vocab), args.seconds)
    print(f"  min-char-rnn: {ref['bits_per_char']:.3f} bits/char held out", flush=True)
    ours = run_ours(args.seconds, args.text)
    print(f"  ours: {ours['bits_per_char']:.3f} bits/char held out", flush=True)
    ln2 = math.log(2)
    rows = [["min-char-rnn (numpy, RNN 100, Adagrad 0.1)", ref["train_s"], ref["chars_per_s"], ref["loss"] / ln2,
             ref["bits_per_char"]],
            ["ours (torch LSTM 256, Adam, TBPTT 64)", ours["train_s"], ours["chars_per_s"], ours["loss"] / ln2,
             ours["bits_per_char"]]]
    print()
    print(table(["model", "train s", "chars/s", "train bits/char", "held-out bits/char"], rows))
    print(f"\nheld-out bits/char, ours / min-char-rnn: {ours['bits_per_char'] / ref['bits_per_char']:.2f}; "
          f"characters per second: {ours['chars_per_s'] / ref['chars_per_s']:.1f}x")
    write_json("chars_vs_minchar", {"seconds": args.seconds, "text_chars": len(text), "held_out_chars": len(test),
                                    "min_char_rnn": ref, "ours": ours}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
