"""The fixed-window neural language model (Bengio et al. 2003; seed 004), on characters.

The lecture's picture, one prediction per position t, from the last n characters only:

    e = [C x^(t-n+1); ...; C x^(t)]      the window's embeddings, concatenated
    h = tanh(W e + b_1)                  one hidden layer
    y = softmax(U h + b_2 (+ D e))       the next character (D: Bengio's optional direct connections)

The names are the lecture's; Bengio et al. write y = b + W x + U tanh(d + H x), so their H, d,
b and W are our W, b_1, b_2 and D (their x our e). Our n (``--window``) counts the characters
read; Bengio's n counts the n-gram, the predicted word included, so our n is his n - 1.

Its limits are the lecture's: the window is too small, enlarging it enlarges W, and each
position of the window has its own weights in W (no symmetry in how the inputs are
processed). ``python -m sequence_tasks chars --model window --window 8`` trains it
exactly as the recurrent char model is trained (same split, same chunks, same scoring);
benchmarks/chars_vs_minchar.py puts it beside min-char-rnn and the LSTM for several n.

Like ``CharModel`` it reads (T, B) ids, time first, and returns a "state": here the last
n - 1 characters read, so that chunk after chunk (truncated BPTT, scoring, sampling) each
window reaches back into the previous chunk. Before the text starts, the window is padded
with an extra "nothing yet" symbol that has its own embedding.

``input_dropout`` p drops whole characters, as the recurrent model's does: each character of the
text is dropped with probability p (in training) and then read as zeros by every window that
holds it, the next chunk's windows included (a dropped character is carried in the state as
``DROPPED``); the characters kept are scaled by 1 / (1 - p), the padding is never dropped.

    >>> import torch
    >>> model = WindowLM(vocab_size=5, window=3, embed=2, hidden=4)
    >>> logits, state = model(torch.tensor([[0], [1], [2], [3]]))
    >>> logits.shape, state.view(-1).tolist()   # (T, B, V); the last 2 characters read
    (torch.Size([4, 1, 5]), [2, 3])
"""

from __future__ import annotations

import torch
from torch import nn

from gymlab.sequence_tasks.models import Sampling


DROPPED = -1  # in a training state: a character input dropout removed (still removed in the next chunk)


class WindowLM(Sampling, nn.Module):
    def __init__(self, vocab_size: int, window: int = 8, embed: int = 16, hidden: int = 256, direct: bool = False,
                 dropout: float = 0.0, input_dropout: float = 0.0):
        super().__init__()
        for name, p in (("dropout", dropout), ("input_dropout", input_dropout)):
            if not 0 <= p < 1:
                raise ValueError(f"{name} is a probability in [0, 1), not {p}")
        self.vocab_size, self.window, self.input_dropout = vocab_size, window, input_dropout
        self.embed = nn.Embedding(vocab_size + 1, embed)  # C; row vocab_size: "before the text"
        self.hidden = nn.Linear(window * embed, hidden)  # W, b_1
        self.out = nn.Linear(hidden, vocab_size)  # U, b_2
        self.direct = nn.Linear(window * embed, vocab_size, bias=False) if direct else None  # D
        self.dropout = nn.Dropout(dropout)  # on h, in training only

    # --8<-- [start:forward]
    def forward(self, ids, state=None):
        """ids: (T, B) int64 -> logits (T, B, V), the last window - 1 ids read (the next call's state)."""
        if state is None:  # the start of the text: nothing before it
            state = ids.new_full((self.window - 1, ids.shape[1]), self.vocab_size)
        dropping = self.training and self.input_dropout > 0
        if dropping:  # whole characters: each one dropped (or kept) in every window that reads it
            ids = ids.masked_fill(torch.rand(ids.shape, device=ids.device) < self.input_dropout, DROPPED)
        context = torch.cat([state, ids])  # (window - 1 + T, B)
        windows = context.unfold(0, self.window, 1)  # (T, B, window): x^(t-n+1) .. x^(t)
        e = self.embed(windows.clamp(min=0)) * (windows != DROPPED).unsqueeze(-1)  # (T, B, window, embed)
        if dropping:  # the characters kept scaled by 1 / (1 - p), the padding not
            e = torch.where((windows < self.vocab_size).unsqueeze(-1), e / (1.0 - self.input_dropout), e)
        e = e.flatten(2)  # e = [C x^(t-n+1); ...; C x^(t)]
        h = torch.tanh(self.hidden(e))  # h = tanh(W e + b_1)
        logits = self.out(self.dropout(h))  # U h + b_2
        if self.direct is not None:
            logits = logits + self.direct(e)  # + D e
        return logits, context[context.shape[0] - (self.window - 1):]
    # --8<-- [end:forward]


# -- how ``python -m sequence_tasks chars`` offers it (sequence_tasks/chars.py calls these) ------

MAX_WINDOW, MAX_EMBED = 4096, 4096


def add_arguments(p) -> None:
    """``--model``, ``--window``, ``--embed``, ``--direct`` for the chars command."""
    from gymlab.cli import number

    p.add_argument("--model", choices=("recurrent", "window"), default="recurrent",
                   help="recurrent: the backbone (--kind, --layers, --weight-drop; default); window: the "
                        "fixed-window neural LM of Bengio et al. 2003 (--window, --embed, --direct)")
    p.add_argument("--window", type=number(int, lo=1, hi=MAX_WINDOW), default=None,
                   help=f"--model window: the characters it reads before predicting the next (Bengio et al.'s "
                        f"n - 1), 1 to {MAX_WINDOW} (default 8)")
    p.add_argument("--embed", type=number(int, lo=1, hi=MAX_EMBED), default=None,
                   help=f"--model window: each character's embedding size, 1 to {MAX_EMBED} (default 16)")
    p.add_argument("--direct", action="store_true", default=None,
                   help="--model window: add Bengio's direct connections D e from the embeddings to the output")


RECURRENT_ONLY = {"kind": "lstm", "layers": 1, "weight_drop": 0.6}  # the recurrent model's options, defaults
WINDOW_ONLY = {"window": 8, "embed": 16, "direct": False}


def resolve(args) -> None:
    """Each model's own options get their defaults; one given to the other model is refused
    (``UsageError``, one line): a flag that would change nothing is never taken silently."""
    from gymlab.cli import UsageError

    mine, other = (WINDOW_ONLY, RECURRENT_ONLY) if args.model == "window" else (RECURRENT_ONLY, WINDOW_ONLY)
    for name in other:
        if getattr(args, name) is not None:
            raise UsageError(f"--{name.replace('_', '-')} is an option of the {'window' if other is WINDOW_ONLY else 'recurrent'} "
                             f"model, not of --model {args.model}")
        setattr(args, name, None)
    for name, default in mine.items():
        if getattr(args, name) is None:
            setattr(args, name, default)


def memory_numbers(args, vocab: int, tokens: int, eval_chunk: int) -> int:
    """About how many numbers a run of the window model holds: weights, their gradients and Adam's
    moments; a chunk's embeddings, hidden layer and logits (and their gradients); a scoring chunk."""
    span = args.window * args.embed
    params = (vocab + 1) * args.embed + (span + 1) * args.hidden + (args.hidden + 1) * vocab \
        + (span * vocab if args.direct else 0)
    return 4 * params + 2 * tokens * (2 * span + 3 * args.hidden + 3 * vocab) \
        + eval_chunk * (2 * span + args.hidden + 3 * vocab)
