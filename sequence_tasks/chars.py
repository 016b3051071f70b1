"""chars: a character-level language model (seeds 002 and 004).

One-hot characters in, a softmax over the next character out, cross-entropy
loss; the text is the bundled sonnets (Shakespeare 1-75, public domain) or
``--text FILE``. The text is cut once, by ``split_parts``, into three
disjoint parts in order: the first eight tenths are trained on, the ninth
tenth is the validation part (it only chooses which weights are kept), and
the last tenth is the held-out test part (the same tail as CharPredict-v0's
test split), read by nothing until the final score. Training reads the
training part as ``--batch`` parallel streams in chunks of ``--seq-len``
characters, carrying the hidden state from chunk to chunk and backpropagating
only within one (truncated BPTT), with the gradient clipped by norm. A text of
30k characters is learned by heart in a few dozen passes, so the model is
validated every ``--eval-every`` chunks (and after the last) and the weights
that validated best are the ones kept (early stopping); ``best_iteration`` is
the chunk they come from.

On texts this small regularisation decides the score, and the defaults are one
recipe for every text, in the spirit of Merity et al.'s AWD-LSTM (2018): an
LSTM of 256, Adam at 5e-3, 32 streams x truncated BPTT over 64, DropConnect
on the recurrent weights W_hh (``--weight-drop`` 0.6), dropout on the LSTM's
outputs (``--dropout`` 0.4) and on whole input characters (``--input-dropout``
0.1), and the step size halved whenever 3 validations in a row have not improved
on the best (``--lr-decay``, ``--patience``). ``--weight-decay`` (AdamW) is
there, off by default: on the sonnets it did not help. Measured against
min-char-rnn in benchmarks/chars_vs_minchar.py. ``--model window`` trains the
fixed-window neural LM of Bengio et al. 2003 instead (``window.py``: the last
``--window`` characters' embeddings, one tanh layer of ``--hidden``, a softmax),
the same way, on the same parts.

Reported, every score the kept weights' with dropout off, each part read as
one stream from a zero state by ``bits_per_char``: ``train_bits_per_char``,
``val_bits_per_char`` and ``bits_per_char`` (the test part). Also ``loss``,
the training curve's last point: the mean cross-entropy (nats per character)
of the last 100 training chunks, with dropout on and the weights as they were
then, not a score; ``lr_drops``, the [chunk, new step size] of every
``--lr-decay``. Then text sampled at ``--temperature``, and the lecture's
"hello" example as a tiny check: with vocabulary [h, e, l, o], a model that
reads "hell" must learn to answer "ello". ``training.png`` plots bits per
character against training time: on the training chunks, on the validation
part, and the test score of the kept weights.
"""

from __future__ import annotations

import collections
import math
import stat
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gymlab.cli import UsageError, number
from gymlab.sequence_tasks.backbone import detach_state
from gymlab.sequence_tasks.common import (GATES, MAX_COUNT, MAX_SIZE, activations, add_backbone_arguments,
                                          check_memory, core_parameters, flags, path_arg)
from gymlab.sequence_tasks.data import Vocabulary, load_text, split_text
from gymlab.sequence_tasks import window
from gymlab.sequence_tasks.models import CharModel

ITERATIONS = 1500  # chunks of training, unless --seconds says how long instead
MAX_SECONDS = 30 * 24 * 3600
MAX_TEXT_BYTES = 256 * 2**20  # the whole text is held in memory, as characters and as ids
EVAL_CHUNK = 4096  # characters scored at once (the state carried from one to the next)


def add_arguments(p):
    p.add_argument("--text", type=path_arg, help="a UTF-8 text file to learn (default: the bundled sonnets)")
    p.add_argument("--iterations", type=number(int, lo=1, hi=MAX_COUNT), default=None,
                   help=f"chunks of training (default {ITERATIONS}, or as many as --seconds allows)")
    p.add_argument("--seconds", type=number(float, lo=0, lo_open=True, hi=MAX_SECONDS), default=None,
                   help="stop after this much training time instead (with --iterations too: whichever comes "
                        "first; a time limit makes the run depend on the machine's speed)")
    size = number(int, lo=1, hi=MAX_SIZE)
    p.add_argument("--batch", type=size, default=32, help="parallel streams (default %(default)s)")
    p.add_argument("--seq-len", type=size, default=64, help="characters per chunk, the BPTT length (default 64)")
    p.add_argument("--lr", type=number(float, lo=0, lo_open=True), default=5e-3,
                   help="Adam's (or AdamW's) initial step size (default %(default)s)")
    p.add_argument("--clip", type=number(float, lo=0, lo_open=True), default=5.0,
                   help="clip the gradient to this norm (default 5)")
    add_backbone_arguments(p, hidden=256)
    p.set_defaults(kind=None, layers=None)  # (None: not given; window.resolve gives the model's defaults)
    window.add_arguments(p)
    probability = number(float, lo=0, hi=1, hi_open=True)
    p.add_argument("--dropout", type=probability, default=0.4,
                   help="dropout on the recurrent core's outputs (the window model's hidden layer), a "
                        "probability in [0, 1) (default %(default)s)")
    p.add_argument("--input-dropout", type=probability, default=0.1,
                   help="drop whole input characters with this probability in training (the recurrent model: "
                        "zero its one-hot vector; the window model: its embedding, in every window that reads "
                        "it), in [0, 1) (default %(default)s)")
    p.add_argument("--weight-drop", type=probability, default=None,
                   help="DropConnect on the recurrent weights W_hh, one mask per chunk, a probability in "
                        "[0, 1) (default 0.6; the recurrent model only)")
    p.add_argument("--weight-decay", type=number(float, lo=0, hi=10), default=0.0,
                   help="AdamW's decoupled weight decay, 0 to 10 (0: plain Adam; default %(default)s)")
    p.add_argument("--lr-decay", type=number(float, lo=0, lo_open=True, hi=1), default=0.5,
                   help="multiply the step size by this factor in (0, 1] whenever --patience validations in a "
                        "row have not improved on the best (1: never; default %(default)s)")
    p.add_argument("--patience", type=number(int, lo=1, hi=MAX_COUNT), default=3,
                   help="validations without improvement before --lr-decay applies (default %(default)s)")
    p.add_argument("--eval-every", type=number(int, lo=1, hi=MAX_COUNT), default=50,
                   help="validate every this many chunks (default 50)")
    p.add_argument("--temperature", type=number(float, lo=0, lo_open=True), default=0.8,
                   help="sampling temperature (default %(default)s)")
    p.add_argument("--sample-len", type=number(int, lo=0, hi=100_000), default=400,
                   help="characters to sample, 0 to 100000 (default %(default)s)")


def read_text(path: Path | None) -> str:
    """The text of ``--text`` (or the bundled sonnets), refused in one line if it is not a
    readable UTF-8 text file of sane size."""
    if path is None:
        return load_text()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(f"--text {path}: no such file") from None
    except OSError as err:
        raise UsageError(f"--text {path}: cannot read it ({err.strerror or err})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"--text {path} is a directory, not a text file")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"--text {path} is not a regular file")
    if info.st_size > MAX_TEXT_BYTES:
        raise UsageError(f"--text {path} holds {info.st_size / 2**20:,.0f} MB; at most {MAX_TEXT_BYTES // 2**20} MB "
                         f"(the whole text is kept in memory)")
    try:
        text = load_text(path)
    except UnicodeDecodeError as err:
        raise UsageError(f"--text {path} is not UTF-8 text (byte {err.start}: {err.reason})") from None
    except OSError as err:
        raise UsageError(f"--text {path}: cannot read it ({err.strerror or err})") from None
    if "\0" in text:
        raise UsageError(f"--text {path} holds NUL characters: a binary file, not text")
    return text


def check(args) -> dict:
    """The text, how the options fit it, and whether the run fits in memory: before anything
    is written. Returns ``{"text": ...}`` for ``run``."""
    window.resolve(args)
    text = read_text(args.text)
    parts = split_parts(text)
    if len(parts["train"]) < args.batch * (args.seq_len + 1) or len(parts["val"]) < 2 or len(parts["test"]) < 2:
        raise UsageError(f"--text: the text ({len(text)} characters) is too short for --batch {args.batch} "
                         f"--seq-len {args.seq_len} (its first 80% must hold --batch x (--seq-len + 1) "
                         f"characters)")
    vocab = len(set(text))
    if args.model == "window":
        check_memory(4 * window.memory_numbers(args, vocab, args.seq_len * args.batch, EVAL_CHUNK) + 48 * len(text),
                     flags(args, "window", "embed", "hidden", "batch", "seq_len") + f" and {vocab} distinct "
                     f"characters", "the window model and a chunk of characters")
        return {"text": text}
    params = core_parameters(args.kind, vocab, args.hidden, args.layers) + (args.hidden + 1) * vocab
    tokens = args.seq_len * args.batch
    numbers = (4 * params  # weights, gradients, Adam's two moments
               + activations(args.kind, args.seq_len, args.batch, args.hidden, args.layers)
               + tokens * (4 * vocab + 2 * args.hidden)  # one-hot inputs, logits and their gradients, dropout
               + EVAL_CHUNK * (3 * vocab + args.hidden * args.layers * (GATES[args.kind] + 2)))
    data = 48 * len(text)  # the text as characters, and as ids three times over
    check_memory(4 * numbers + data, flags(args, "hidden", "layers", "batch", "seq_len") + f" and {vocab} "
                 f"distinct characters", "the model and a chunk of one-hot characters")
    return {"text": text}


def split_parts(text: str) -> dict[str, str]:
    """The text's three parts, disjoint, in order, together the whole text: ``train`` its first
    eight tenths (the weights are fitted to it), ``val`` the ninth tenth (early stopping: it
    chooses which weights are kept) and ``test`` the last tenth (the final score only; the same
    tail as ``split_text`` gives CharPredict-v0). The one place the split is made: ``run`` and
    benchmarks/chars_vs_minchar.py (for both of its models) use it."""
    rest, test = split_text(text)
    train, val = split_text(rest, 1 / 9)
    return {"train": train, "val": val, "test": test}


def streams(ids: np.ndarray, batch: int) -> torch.Tensor:
    """The text cut into ``batch`` equal streams side by side: (length, batch)."""
    n = len(ids) // batch
    return torch.from_numpy(ids[:n * batch].reshape(batch, n).T.copy())


# --8<-- [start:bits_per_char]
@torch.no_grad()
def bits_per_char(model, ids: np.ndarray, chunk: int = EVAL_CHUNK) -> float:
    """The score: the mean cross-entropy, in bits (log base 2), of predicting each character of
    ``ids`` from those before it, read as one stream from a zero state with dropout off (the
    model is put in eval mode, and back in the mode it was in after), ``chunk`` characters at a
    time with the state carried on (memory independent of length). Every bits/char that chars
    reports, and both models' in benchmarks/chars_vs_minchar.py, come from here."""
    was_training = model.training
    model.eval()
    try:
        x = torch.from_numpy(ids).view(-1, 1)
        state, total = None, 0.0
        for start in range(0, len(ids) - 1, chunk):
            targets = x[start + 1:start + chunk + 1]
            logits, state = model(x[start:start + len(targets)], state)
            total += float(nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1),
                                                       reduction="sum"))
    finally:
        model.train(was_training)
    return total / (len(ids) - 1) / math.log(2)
# --8<-- [end:bits_per_char]


def score(model, vocab: Vocabulary, parts: dict[str, str]) -> dict[str, float]:
    """``bits_per_char`` of ``model`` on each part of ``parts`` (``split_parts``), by name."""
    return {name: bits_per_char(model, vocab.encode(part)) for name, part in parts.items()}


def validate(model, val_ids, iteration, best):
    """``(bits/char, best)``: the model's score on ``val_ids``, and ``best`` (bits/char,
    iteration, weights) updated with it (early stopping keeps the best)."""
    bpc = bits_per_char(model, val_ids)
    if bpc < best[0]:
        return bpc, (bpc, iteration, {k: v.clone() for k, v in model.state_dict().items()})
    return bpc, best


def optimizer(model, args):
    """Adam at ``--lr``; with ``--weight-decay`` above 0, AdamW (Loshchilov & Hutter 2019): the
    decay is decoupled from the gradient's scaling and applied to the weight matrices only, not
    to the biases."""
    if args.weight_decay == 0:
        return torch.optim.Adam(model.parameters(), lr=args.lr)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=args.lr)


# --8<-- [start:hello]
def hello(kind: str, seed: int) -> dict:
    """The lecture's toy: vocabulary [h, e, l, o], read "hell", answer "ello"."""
    vocab = Vocabulary("helo")
    x, y = torch.from_numpy(vocab.encode("hell")).view(-1, 1), torch.from_numpy(vocab.encode("ello"))
    torch.manual_seed(seed)
    model = CharModel(len(vocab), kind, hidden=8)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for step in range(1, 501):
        logits = model(x)[0][:, 0]
        loss = nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        answer = vocab.decode(model(x)[0][:, 0].argmax(-1))
        if answer == "ello":
            break
    return {"input": "hell", "answer": answer, "steps": step, "loss": round(loss.item(), 4)}
# --8<-- [end:hello]


def plot(exp, curve, best, bpc, train_time):
    """Bits per character against training time: the training chunks (since the previous point,
    with dropout), the validation part, the kept weights, and their score on the test part."""
    plt, path = exp.figure("training.png")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    seconds = [c[1] for c in curve]
    ax.plot(seconds, [c[2] for c in curve], lw=1, color="tab:blue", alpha=0.8, label="training chunks")
    ax.plot(seconds, [c[3] for c in curve], "o-", ms=3, lw=1, color="black", label="validation part (9th tenth)")
    kept = next((c for c in curve if c[0] == best[1]), None)
    if kept is not None:
        ax.plot([kept[1]], [kept[3]], "s", ms=8, mfc="none", color="tab:green",
                label=f"kept weights (chunk {best[1]}): {best[0]:.3f}")
    ax.plot([train_time], [bpc], "*", ms=12, color="tab:red", label=f"test part (last tenth), kept weights: {bpc:.3f}")
    ax.set(xlabel="training time (s)", ylabel="bits per character", title="chars: bits per character")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return exp.save_figure(fig, path)


def run(exp, args, text: str | None = None) -> dict:
    """The experiment, on options ``check`` has passed (``text``: the text it read)."""
    text = read_text(args.text) if text is None else text
    vocab = Vocabulary(text)
    parts = split_parts(text)  # train, val, test: disjoint, in order
    data = streams(vocab.encode(parts["train"]), args.batch)
    if args.model == "window":
        model = window.WindowLM(len(vocab), args.window, args.embed, args.hidden, args.direct, dropout=args.dropout,
                                input_dropout=args.input_dropout)
    else:
        model = CharModel(len(vocab), args.kind, args.hidden, args.layers, dropout=args.dropout,
                          input_dropout=args.input_dropout, weight_drop=args.weight_drop)
    val_ids = vocab.encode(parts["val"])
    best = (float("inf"), 0, None)  # validation bits/char, iteration, weights
    opt = optimizer(model, args)
    stale, lr_drops = 0, []  # validations since the best; (chunk, new step size) at each decay
    iterations = args.iterations or (MAX_COUNT if args.seconds else ITERATIONS)
    state, pos, chars_seen, done = None, 0, 0, 0
    recent = collections.deque(maxlen=100)  # the last 100 chunks' losses: the reported loss
    since, curve = [], []  # losses since the last validation; (chunk, seconds, training bpc, validation bpc)

    def checkpoint(last: bool = False):
        nonlocal best, stale
        before = best[0]
        bpc, best = validate(model, val_ids, done, best)
        stale = 0 if best[0] < before else stale + 1
        if stale >= args.patience and args.lr_decay < 1 and not last:  # (after the last chunk: no chunk to slow)
            stale = 0
            for group in opt.param_groups:
                group["lr"] *= args.lr_decay
            lr_drops.append((done, opt.param_groups[0]["lr"]))
        curve.append((done, round(time.perf_counter() - start, 3), float(np.mean(since)) / math.log(2), bpc))
        since.clear()

    exp.so_far = lambda: None if best[2] is None else (best[2], {  # Ctrl-C keeps the best weights so far
        "iterations": done, "chars_trained": chars_seen, "best_iteration": best[1], "val_bits_per_char": best[0],
        "val_curve": [[c[0], c[1], round(c[3], 4)] for c in curve], "lr_drops": [list(d) for d in lr_drops]})
    bar = exp.progress(None if args.iterations is None and args.seconds else iterations, "chars (chunks)")
    start = time.perf_counter()
    for it in range(iterations):
        if args.seconds and done and time.perf_counter() - start >= args.seconds:
            break  # (after one chunk at least, however short the limit)
        if pos + args.seq_len + 1 > len(data):
            state, pos = None, 0  # the end of the streams: start over from a clear memory
        # --8<-- [start:tbptt]
        chunk = data[pos:pos + args.seq_len + 1]
        logits, state = model(chunk[:-1], state)
        state = detach_state(state)  # truncated BPTT: keep the values, cut the history
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), chunk[1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        # --8<-- [end:tbptt]
        value = loss.item()
        if not math.isfinite(value):
            raise UsageError(f"the loss diverged ({value}) at chunk {it + 1}; lower --lr "
                             f"(now {opt.param_groups[0]['lr']:g})")
        pos += args.seq_len
        chars_seen += args.seq_len * args.batch
        done += 1
        recent.append(value)
        since.append(value)
        if done % args.eval_every == 0:
            checkpoint(last=done == iterations or bool(args.seconds) and time.perf_counter() - start >= args.seconds)
            bar.set_postfix(loss=f"{np.mean(list(recent)[-50:]):.3f}", val_bpc=f"{best[0]:.3f}")
        bar.update()
    bar.close()
    if since:  # the chunks since the last validation
        checkpoint(last=True)
    if best[2] is None:
        raise UsageError(f"the validation loss was never finite (last: {curve[-1][3]}); lower --lr "
                         f"(now {opt.param_groups[0]['lr']:g})")
    model.load_state_dict(best[2])  # early stopping: the weights that validated best
    model.eval()
    train_time = time.perf_counter() - start
    scores = score(model, vocab, parts)  # the kept weights, dropout off, on each part
    bpc = scores["test"]
    figure = plot(exp, curve, best, bpc, train_time)
    generator = torch.Generator().manual_seed(exp.seed)
    sample = vocab.decode(model.sample(list(vocab.encode(text[0])), args.sample_len, args.temperature, generator))
    toy = hello(args.kind, exp.seed) if args.model == "recurrent" else None  # (a recurrent toy)
    loss = float(np.mean(recent))
    bounds = np.cumsum([0] + [len(parts[k]) for k in ("train", "val", "test")]).tolist()
    print(f"--- sample at temperature {args.temperature} ---\n{text[0]}{sample}\n---")
    print(f"kept the weights of chunk {best[1]} of {done} (the best on the validation part)")
    print(f"kept weights, bits/char: train {scores['train']:.3f}, validation {scores['val']:.3f}, test "
          f"({len(parts['test'])} chars) {bpc:.3f}; last 100 training chunks (dropout on): {loss:.3f} nats/char; "
          f"{chars_seen / train_time:.0f} chars/s")
    if toy:
        print(f"hello: reads {toy['input']!r}, answers {toy['answer']!r} after {toy['steps']} steps")
    return {"model": args.model, **({"window": args.window, "embed": args.embed, "direct": args.direct}
                                     if args.model == "window" else {"kind": args.kind}),
            "loss": loss, "bits_per_char": bpc, "train_bits_per_char": scores["train"],
            "val_bits_per_char": scores["val"], "best_iteration": best[1],
            "best_chars_trained": best[1] * args.seq_len * args.batch, "iterations": done,
            "chars_trained": chars_seen,
            "train_time_s": round(train_time, 3), "chars_per_s": round(chars_seen / train_time, 1),
            "vocab_size": len(vocab), "text_chars": len(text), "held_out_chars": len(parts["test"]),
            "splits": {name: bounds[i:i + 2] for i, name in enumerate(("train", "val", "test"))},
            "temperature": args.temperature, "sample": text[0] + sample, "hello": toy,
            "val_curve": [[c[0], c[1], round(c[3], 4)] for c in curve],
            "lr_drops": [[chunk, lr] for chunk, lr in lr_drops], "figures": [figure]}
