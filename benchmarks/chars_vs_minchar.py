"""The ``chars`` models against a numpy vanilla RNN written the min-char-rnn way, at equal training time.

    python benchmarks/chars_vs_minchar.py            # 240 s of training each model: about 25 minutes a text and seed
    python benchmarks/chars_vs_minchar.py --quick    # 30 s each: about 3.5 minutes, to *_quick.json (untracked)
    python benchmarks/chars_vs_minchar.py --seconds 120 --texts FILE --seeds 1000,1001 --windows 4,16

writes benchmarks/results/chars_vs_minchar.json (or ``--json PATH``).

The models, each trained for the same time on the same text, cut the same way
(``sequence_tasks.chars.split_parts``): min-char-rnn; ours, ``python -m
sequence_tasks chars`` at its defaults; and the fixed-window neural LM of Bengio
et al. 2003 (``chars --model window --window N``, seed 004) for each N of
``--windows`` (default 2, 4, 8, 16: however large, a window sees only N
characters back, the lecture's point against it). All are trained on the
text's first eight tenths, validated on the ninth tenth every 102,400 training
characters (ours and the windows: every 50 chunks of 32 streams x 64
characters; min-char-rnn: every 4096 unrolls of 25) and after the last, and
keep the weights that validated best (early stopping: the same rule for all,
so that none is scored on weights that have learnt the training text by
heart). Every set of kept weights is scored by one function,
``sequence_tasks.chars.bits_per_char`` (dropout off, each part read as one
stream from a zero state, float32: min-char-rnn's float64 weights are copied
into a torch Elman RNN of the same equations for it), on the training part,
the validation part and the last tenth, which no model reads before that.
Training time counts the validations; the models run one after the other,
never side by side (a machine busy with something else during one of them
makes the comparison unfair: the chars/s column shows it).

Held out by default (issue 24): the seeds are report seeds (``--seeds 1``:
1000), and the text is not the bundled sonnets, on which ours was tuned
(``sequence_tasks/tuned_on.py``): ``python-docs``, the first 100,000
characters of Python's own reference topics (the standard library's
``pydoc_data.topics``, topics in sorted order: English prose with code, on
every machine with Python, so nothing is downloaded; its characters depend on
the Python version, which each row's stamp names, and its sha256 is stored).
The benchmark writes it to ``--work-dir`` for the ``chars`` runs to read.
``--texts sonnets`` (or a seed below 1000) is refused unless
``--allow-tuning-texts`` (``--allow-tuning-seeds``), and such rows are marked.

The reference follows Karpathy's min-char-rnn (written here from its
description, in numpy, float64): h_t = tanh(W_xh x_t + W_hh h_t-1 + b_h), y_t
= W_hy h_t + b_y, 100 hidden units, 25-step unrolls with the state carried
between them, Adagrad with lr 0.1, every gradient entry clipped to [-5, 5],
weights from N(0, 0.01^2). Ours is ``python -m sequence_tasks chars --seconds
S`` at its defaults (torch, float32: LSTM 256, Adam 5e-3, 32 streams, truncated
BPTT over 64, weight drop 0.6 on W_hh, dropout 0.4 on the LSTM's outputs and
0.1 on input characters, the step size halved after 3 validations without
improvement); each window model is the same command with ``--model window
--window N`` (embeddings of 16, a tanh layer of 256, dropout 0.4 on it and 0.1
on input characters, the same optimiser and schedule). The input dropout p means
the same for both: each character of the training text is dropped with
probability p, ours zeroing its one-hot vector at the one step that reads it,
a window model zeroing its embedding in all N windows that read it. N counts the
characters a window reads (Bengio et al.'s n - 1). Every row of the JSON
carries the commit, the command and the time it was measured.
"""

from __future__ import annotations

import argparse
import hashlib
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


def ours_command(seconds: float, text: str | None, seed: int, model: list[str] = ()) -> list[str]:
    """The ``chars`` run of a row: ours at its defaults, or with ``model`` (``--model window
    --window N``)."""
    return ["-m", "sequence_tasks", "chars", "--seconds", f"{seconds:g}", "--iterations", "1000000", "--seed",
            str(seed), "--batch", str(BATCH), "--seq-len", str(SEQ_LEN), "--eval-every", str(EVAL_EVERY),
            "--threads", "1", "--no-progress", *model] + (["--text", text] if text else [])


def run_ours(seconds: float, text: str | None, seed: int = 0, model: list[str] = ()) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, *ours_command(seconds, text, seed, model), "--run-dir", tmp]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        s = json.loads(Path(tmp, "summary.json").read_text())
    return {"train_time_s": s["train_time_s"], "chars_per_s": s["chars_per_s"], "iterations": s["iterations"],
            "chars_trained": s["chars_trained"], "best_iteration": s["best_iteration"],
            "best_chars_trained": s["best_chars_trained"], "train_bits_per_char": s["train_bits_per_char"],
            "val_bits_per_char": s["val_bits_per_char"], "test_bits_per_char": s["bits_per_char"],
            "val_curve": s["val_curve"], "splits": s["splits"],
            "last_100_chunks_loss_nats_dropout_on": s["loss"]}


# -- the texts: held out (not tuned on) by default ------------------------------------------------

HELD_OUT_CHARS = 100_000
HELD_OUT = {"python-docs": "the first 100,000 characters of Python's reference topics (pydoc_data.topics, "
                           "sorted by topic)"}
TUNED_TEXTS = {"sonnets": "bundled sonnets"}  # our name -> sequence_tasks/tuned_on.py's


def held_out_text(name: str) -> str:
    """A named held-out text, made from what every Python ships (nothing downloaded)."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k] for k in sorted(topics))[:HELD_OUT_CHARS]


def text_source(name: str, work_dir: Path) -> tuple[str, str | None]:
    """``(text, --text for the chars runs)`` of a ``--texts`` entry: a held-out name (written to
    ``work_dir``), ``sonnets`` (the bundled text: no --text) or a file."""
    if name in HELD_OUT:
        text = held_out_text(name)
        path = work_dir / f"{name}.txt"
        work_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return text, str(path)
    if name in TUNED_TEXTS:
        return load_text(None), None
    return load_text(name), name


def tuned_texts(names: list[str]) -> list[str]:
    """The ``--texts`` that ours was tuned on (``sequence_tasks/tuned_on.py``)."""
    from gymlab.sequence_tasks.tuned_on import TUNED_ON

    return [n for n in names if TUNED_TEXTS.get(n) in TUNED_ON["chars"]["texts"]]


def _listed(kind):
    def parse(text: str):
        return [kind(t.strip()) for t in text.split(",") if t.strip()]
    return parse


def describe(name: str) -> str:
    if name == "min-char-rnn":
        return "min-char-rnn (numpy float64; RNN 100, Adagrad 0.1, unrolls of 25)"
    if name == "ours":
        return "ours (torch float32; LSTM 256, Adam, 32 x TBPTT 64, weight drop 0.6, dropout 0.4, input dropout 0.1)"
    return (f"fixed window of {name.split('-')[1]} (Bengio et al. 2003; torch float32; embeddings 16, tanh 256, "
            f"Adam, dropout 0.4, input dropout 0.1)")


def measure(name: str, seconds: float, text: str, text_arg: str | None, seed: int, vocab, parts, splits) -> dict:
    """One row: ``name``'s run, stamped as it begins."""
    if name == "min-char-rnn":
        stamp = provenance()
        return {**run_minchar(vocab, parts, seconds, seed=seed), **stamp}
    model = [] if name == "ours" else ["--model", "window", "--window", name.split("-")[1]]
    stamp = provenance("python " + " ".join(shlex.quote(a) for a in ours_command(seconds, text_arg, seed, model)))
    row = run_ours(seconds, text_arg, seed, model)
    if row.pop("splits") != splits:
        raise SystemExit(f"the chars run cut the text differently from this benchmark: {splits}")
    return {**row, **stamp}


def main(argv=None) -> int:
    from benchmarks._common import report_seeds, seeds_argument

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, help="training time of each model (default 240, or 30 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="30 s each, to results/chars_vs_minchar_quick.json (untracked) unless --json says where")
    p.add_argument("--texts", "--text", type=_listed(str), default=["python-docs"],
                   help=f"comma-separated: held-out names ({', '.join(HELD_OUT)}), sonnets (the bundled text, tuned "
                        f"on) or files (default python-docs; --text is the same option)")
    p.add_argument("--seeds", type=seeds_argument, default=report_seeds(1), metavar="N|A-B|S,S",
                   help="a count N is the first N report seeds (1000..); or a range or list (default 1: 1000); "
                        "each seeds every model's weights")
    p.add_argument("--windows", type=_listed(int), default=[2, 4, 8, 16],
                   help="the fixed-window models' windows, comma-separated (default 2,4,8,16; empty: none)")
    p.add_argument("--work-dir", type=Path, default=ROOT / "runs" / "chars_vs_minchar",
                   help="where the held-out texts are written for the chars runs (default runs/chars_vs_minchar)")
    p.add_argument("--allow-tuning-texts", action="store_true", help="run on a text ours was tuned on, rows marked")
    p.add_argument("--allow-tuning-seeds", action="store_true", help="run seeds below 1000, rows marked")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    seconds = args.seconds or (30.0 if args.quick else 240.0)
    on_texts, on_seeds = tuned_texts(args.texts), [s for s in args.seeds if s < 1000]
    for found, allowed, what in ((on_texts, args.allow_tuning_texts, "texts"), (on_seeds, args.allow_tuning_seeds,
                                                                               "seeds")):
        if found and not allowed:
            print(f"refused: ours was tuned on {what} {', '.join(map(str, found))} (sequence_tasks/tuned_on.py; "
                  f"tuning seeds are those below 1000); give --allow-tuning-{what} to keep such rows marked",
                  file=sys.stderr)
            return 2
    torch.set_num_threads(1)  # scoring, as ours runs (--threads 1)
    models = ["min-char-rnn", "ours", *[f"window-{n}" for n in args.windows]]
    out = args.json or (RESULTS / "chars_vs_minchar_quick.json" if args.quick else None)
    texts, rows = {}, []
    for name in args.texts:
        text, text_arg = text_source(name, args.work_dir)
        vocab, parts = Vocabulary(text), split_parts(text)
        bounds = np.cumsum([0] + [len(parts[k]) for k in PARTS]).tolist()
        splits = {k: bounds[i:i + 2] for i, k in enumerate(PARTS)}
        texts[name] = {"chars": len(text), "vocab_size": len(vocab), "splits": splits,
                       "sha256": hashlib.sha256(text.encode()).hexdigest(), "about": HELD_OUT.get(name, name)}
        print(f"text {name}: {len(text)} characters, {len(vocab)} distinct; train {splits['train']}, validation "
              f"{splits['val']}, test {splits['test']} (character positions); {seconds:g} s of training each",
              flush=True)
        for seed in args.seeds:
            for model in models:
                row = measure(model, seconds, text, text_arg, seed, vocab, parts, splits)
                rows.append({"model": model, "description": describe(model), "text": name, "seed": seed,
                             "on_tuning_text": name in on_texts, "on_tuning_seeds": seed < 1000, "quick": args.quick,
                             **row})
                print(f"  seed {seed}, {model}: kept {row['best_iteration']} of {row['iterations']}; "
                      f"test {row['test_bits_per_char']:.3f} bits/char", flush=True)
                path = write_json("chars_vs_minchar", {  # after every row: a stopped run keeps what it measured
                    "seconds": seconds, "quick": args.quick, "seeds": args.seeds, "texts": texts,
                    "splits_note": "character positions [start, end): every model trains on train, early-stops "
                                   "on val, and is scored on all three; test is read by none before the final score",
                    "scoring": "chars.bits_per_char on each part of the kept (best-validation) weights, dropout "
                               "off, from a zero state, float32",
                    "validate_every_chars": EVAL_CHARS, "rows": rows}, out)
    print("\nEvery bits/char column: each model's kept weights (the best on the validation part), dropout off, "
          "that part read from a zero state by chars.bits_per_char in float32. Training time counts validation.")
    print(table(["text", "seed", "model", "train s", "chars/s", "kept: after chars", "train (1st 8/10) bits/char",
                 "val (9th 10th) bits/char", "test (last 10th) bits/char"],
                [[r["text"], r["seed"], r["model"], r["train_time_s"], r["chars_per_s"],
                  f"{r['best_chars_trained']:,} of {r['chars_trained']:,}",
                  *(f"{r[f'{k}_bits_per_char']:.3f}" for k in PARTS)] for r in rows]))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
