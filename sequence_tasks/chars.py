"""chars: a character-level language model (seeds 002 and 004).

One-hot characters in, a softmax over the next character out, cross-entropy
loss; the text is the bundled sonnets (Shakespeare 1-75, public domain) or
``--text FILE``. Its last tenth is held out for the final score, and the
tenth before it for validation. Training reads the rest as ``--batch``
parallel streams in chunks of ``--seq-len`` characters, carrying the hidden
state from chunk to chunk and backpropagating only within one (truncated
BPTT), with the gradient clipped by norm and dropout on the LSTM's outputs.
A text of 30k characters is learned by heart in a few dozen passes, so the
model is validated every ``--eval-every`` chunks and the best weights are the
ones kept (early stopping).

Reported: ``loss`` (training cross-entropy, nats per character, over the last
100 chunks), ``val_bits_per_char`` (the kept weights on the validation tenth)
and ``bits_per_char`` on the held-out tail (read from a zero state),
text sampled at ``--temperature``, and the lecture's "hello" example as a tiny
check: with vocabulary [h, e, l, o], a model that reads "hell" must learn to
answer "ello".
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from gymlab.sequence_tasks.backbone import detach_state
from gymlab.sequence_tasks.common import add_backbone_arguments
from gymlab.sequence_tasks.data import Vocabulary, load_text, split_text
from gymlab.sequence_tasks.models import CharModel


def add_arguments(p):
    p.add_argument("--text", help="a UTF-8 text file to learn (default: the bundled sonnets)")
    p.add_argument("--iterations", type=int, default=1500, help="chunks of training (default %(default)s)")
    p.add_argument("--seconds", type=float, default=0.0,
                   help="stop after this much training time instead (0: no limit; a time limit makes the run "
                        "depend on the machine's speed)")
    p.add_argument("--batch", type=int, default=32, help="parallel streams (default %(default)s)")
    p.add_argument("--seq-len", type=int, default=64, help="characters per chunk, the BPTT length (default 64)")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's step size (default %(default)s)")
    p.add_argument("--clip", type=float, default=5.0, help="clip the gradient to this norm (default 5)")
    add_backbone_arguments(p, hidden=256)
    p.add_argument("--dropout", type=float, default=0.3, help="dropout on the LSTM's outputs (default %(default)s)")
    p.add_argument("--eval-every", type=int, default=50, help="validate every this many chunks (default 50)")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (default %(default)s)")
    p.add_argument("--sample-len", type=int, default=400, help="characters to sample (default %(default)s)")


def streams(ids: np.ndarray, batch: int) -> torch.Tensor:
    """The text cut into ``batch`` equal streams side by side: (length, batch)."""
    n = len(ids) // batch
    return torch.from_numpy(ids[:n * batch].reshape(batch, n).T.copy())


@torch.no_grad()
def bits_per_char(model, ids: np.ndarray) -> float:
    """Mean cross-entropy (bits) of predicting each character of ``ids`` from those before it."""
    x = torch.from_numpy(ids).view(-1, 1)
    logits, _ = model(x[:-1])
    return float(nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), x[1:].view(-1))) / math.log(2)


def validate(model, val_ids, iteration, best):
    """``best`` (bits/char, iteration, weights) updated with the model's score on ``val_ids``."""
    model.eval()
    bpc = bits_per_char(model, val_ids)
    model.train()
    if bpc < best[0]:
        return bpc, iteration, {k: v.clone() for k, v in model.state_dict().items()}
    return best


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


def run(exp, args) -> dict:
    text = load_text(args.text)
    vocab = Vocabulary(text)
    train_text, test_text = split_text(text)
    train_text, val_text = split_text(train_text, 1 / 9)  # the tenth of the text before the test tail
    if len(train_text) < args.batch * (args.seq_len + 1) or len(val_text) < 2 or len(test_text) < 2:
        raise ValueError(f"the text ({len(text)} characters) is too short for --batch {args.batch} "
                         f"--seq-len {args.seq_len}")
    data = streams(vocab.encode(train_text), args.batch)
    model = CharModel(len(vocab), args.kind, args.hidden, args.layers, dropout=args.dropout)
    val_ids = vocab.encode(val_text)
    best = (float("inf"), 0, None)  # validation bits/char, iteration, weights
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    state, pos, losses, chars_seen = None, 0, [], 0
    bar = exp.progress(args.iterations, "chars (chunks)")
    start = time.perf_counter()
    for it in range(args.iterations):
        if args.seconds and time.perf_counter() - start >= args.seconds:
            break
        if pos + args.seq_len + 1 > len(data):
            state, pos = None, 0  # the end of the streams: start over from a clear memory
        chunk = data[pos:pos + args.seq_len + 1]
        logits, state = model(chunk[:-1], state)
        state = detach_state(state)  # truncated BPTT: keep the values, cut the history
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), chunk[1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        pos += args.seq_len
        chars_seen += args.seq_len * args.batch
        losses.append(loss.item())
        if (it + 1) % args.eval_every == 0:
            best = validate(model, val_ids, it + 1, best)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}", val_bpc=f"{best[0]:.3f}")
        bar.update()
    bar.close()
    best = validate(model, val_ids, len(losses), best)
    model.load_state_dict(best[2])  # early stopping: the weights that validated best
    model.eval()
    train_time = time.perf_counter() - start
    bpc = bits_per_char(model, vocab.encode(test_text))
    generator = torch.Generator().manual_seed(exp.seed)
    sample = vocab.decode(model.sample(list(vocab.encode(text[0])), args.sample_len, args.temperature, generator))
    toy = hello(args.kind, exp.seed)
    loss = float(np.mean(losses[-100:]))
    print(f"--- sample at temperature {args.temperature} ---\n{text[0]}{sample}\n---")
    print(f"kept the weights of chunk {best[1]} of {len(losses)}: validation {best[0]:.3f} bits/char")
    print(f"training loss {loss:.3f} nats/char ({loss / math.log(2):.3f} bits); held-out tail "
          f"({len(test_text)} chars): {bpc:.3f} bits/char; {chars_seen / train_time:.0f} chars/s")
    print(f"hello: reads {toy['input']!r}, answers {toy['answer']!r} after {toy['steps']} steps")
    return {"loss": loss, "bits_per_char": bpc, "val_bits_per_char": best[0], "best_iteration": best[1],
            "iterations": len(losses), "chars_trained": chars_seen,
            "train_time_s": round(train_time, 3), "chars_per_s": round(chars_seen / train_time, 1),
            "vocab_size": len(vocab), "text_chars": len(text), "held_out_chars": len(test_text),
            "temperature": args.temperature, "sample": text[0] + sample, "hello": toy}
