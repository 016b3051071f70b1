"""The supervised sequence models: the backbone with a linear read-out.

    NextValue   a wave in, its next value out (regression); free-running generation
    CharModel   a character in (one-hot), the next character's logits out; sampling

Both run over (T, B, ...) tensors, time first, like torch's recurrent modules, and
return their state so that a caller can carry it on (truncated BPTT, generation).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from gymlab.sequence_tasks.backbone import RecurrentCore


class NextValue(nn.Module):
    """y_t = W_hy h_t + b_y, a prediction of x_t+1 from x_1 .. x_t."""

    def __init__(self, kind: str = "lstm", hidden: int = 51, layers: int = 2, impl: str = "fused"):
        super().__init__()
        self.core = RecurrentCore(kind, 1, hidden, layers, impl)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x, state=None):
        """x: (T, B, 1) -> predictions of the next values (T, B, 1), state."""
        out, state = self.core(x, state)
        return self.head(out), state

    # --8<-- [start:free_run]
    def free_run(self, y, state, steps: int):
        """Feed the model its own last output ``y`` (1, B, 1) for ``steps`` steps:
        the next ``steps`` predictions (steps, B, 1) and the state."""
        outs = []
        for _ in range(steps):
            y, state = self(y, state)
            outs.append(y)
        return torch.cat(outs), state
    # --8<-- [end:free_run]

    # --8<-- [start:scheduled]
    def scheduled(self, x, p_own: float, rng: np.random.Generator, warmup: int = 0):
        """Teacher forcing with a schedule (the lecture's SineRNN.forward): at each step the
        input is the true previous value with probability 1 - ``p_own``, else the model's own
        last output; the first ``warmup`` inputs are always true. x: (T, B, 1) -> (T, B, 1)."""
        state, y, outs = None, None, []
        own = rng.random((x.shape[0], x.shape[1], 1)) < p_own
        for t in range(x.shape[0]):
            inp = x[t:t + 1]
            if t >= warmup and y is not None:
                inp = torch.where(torch.from_numpy(own[t:t + 1]), y, inp)
            y, state = self(inp, state)
            outs.append(y)
        return torch.cat(outs)
    # --8<-- [end:scheduled]


class Sampling:
    """Text from a language model whose ``forward(ids, state)`` gives (logits, state): ``CharModel``
    and ``window.WindowLM``."""

    # --8<-- [start:sample]
    @torch.no_grad()
    def sample(self, prime: list[int], n: int, temperature: float, generator: torch.Generator) -> list[int]:
        """``n`` ids drawn one at a time from softmax(logits / temperature), after reading ``prime``."""
        logits, state = self(torch.tensor(prime).view(-1, 1))
        out = []
        for _ in range(n):
            p = torch.softmax(logits[-1, 0] / max(temperature, 1e-6), dim=-1)
            i = int(torch.multinomial(p, 1, generator=generator))
            out.append(i)
            logits, state = self(torch.tensor([[i]]), state)
        return out
    # --8<-- [end:sample]


class CharModel(Sampling, nn.Module):
    """A character-level language model: one-hot in, softmax over the next character out.

    The lecture's "hello" example (seeds 002 and 004): vocabulary [h, e, l, o], each character
    read as a one-hot vector, a softmax over the next one out, trained with cross-entropy to
    read "hell" and answer "ello" (the second "l" must remember the first: an "l" is followed
    by "l" once and by "o" once). A hidden layer of 3, as in the notes' picture:

    >>> from gymlab.sequence_tasks.data import Vocabulary
    >>> vocab = Vocabulary("helo")  # ids in sorted order: e 0, h 1, l 2, o 3
    >>> ids = torch.from_numpy(vocab.encode("hell")).view(-1, 1)  # (T, B) = (4, 1)
    >>> nn.functional.one_hot(ids[:, 0], len(vocab))  # what the model reads, one row a step
    tensor([[0, 1, 0, 0],
            [1, 0, 0, 0],
            [0, 0, 1, 0],
            [0, 0, 1, 0]])
    >>> _ = torch.manual_seed(0)
    >>> model = CharModel(len(vocab), "rnn", hidden=3)
    >>> targets = torch.from_numpy(vocab.encode("ello"))
    >>> opt = torch.optim.Adam(model.parameters(), lr=0.1)
    >>> for _ in range(300):
    ...     loss = nn.functional.cross_entropy(model(ids)[0][:, 0], targets)
    ...     opt.zero_grad(); loss.backward(); opt.step()
    >>> p = torch.softmax(model(ids)[0][:, 0], dim=-1)  # a distribution over e, h, l, o at each step
    >>> p.shape, vocab.decode(p.argmax(-1))
    (torch.Size([4, 4]), 'ello')
    >>> bool(p.max(-1).values.min() > 0.9)  # and a confident one
    True

    Three dropouts, each in training only (``model.eval()`` turns them all off), each a
    probability in [0, 1), 0 for none:

    - ``input_dropout``: whole input characters, each (time step, stream) on its own with that
      probability: its one-hot vector is zeroed (the survivors scaled by 1 / (1 - p)), so the
      model must guess the character from the others around it (token dropout, the "word
      dropout" of Bowman et al. 2016; on one-hot inputs it equals plain input dropout. Gal &
      Ghahramani's and Merity et al.'s embedding dropout drop a character everywhere in the
      batch instead, which we did not try);
    - ``weight_drop``: DropConnect on the recurrent weights W_hh of every layer (Merity et
      al. 2018's weight drop): one mask per forward call, i.e. per chunk, shared by every time
      step and stream of it, so the dropout does not disturb the memory from step to step;
    - ``dropout``: the core's outputs, before the read-out (Zaremba et al. 2014).
    """

    def __init__(self, vocab_size: int, kind: str = "lstm", hidden: int = 128, layers: int = 1, impl: str = "fused",
                 dropout: float = 0.0, input_dropout: float = 0.0, weight_drop: float = 0.0):
        super().__init__()
        for name, p in (("dropout", dropout), ("input_dropout", input_dropout), ("weight_drop", weight_drop)):
            if not 0 <= p < 1:
                raise ValueError(f"{name} is a probability in [0, 1), not {p}")
        self.vocab_size = vocab_size
        self.core = RecurrentCore(kind, vocab_size, hidden, layers, impl)
        self.input_dropout = input_dropout
        self.weight_drop = weight_drop
        self.dropout = nn.Dropout(dropout)  # on the core's outputs, in training only
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        """ids: (T, B) int64 -> logits (T, B, V), state."""
        x = nn.functional.one_hot(ids, self.vocab_size).float()
        if self.training and self.input_dropout > 0:
            keep = torch.rand(ids.shape + (1,), device=x.device) >= self.input_dropout  # whole characters
            x = x * keep / (1.0 - self.input_dropout)
        if self.training and self.weight_drop > 0:
            dropped = {name: nn.functional.dropout(w, self.weight_drop)  # one mask for the whole chunk
                       for name, w in self.core.named_parameters() if name.split(".")[-1].startswith("weight_hh")}
            out, state = torch.func.functional_call(self.core, dropped, (x, state), strict=False)
        else:
            out, state = self.core(x, state)
        return self.head(self.dropout(out)), state

