"""The data of the sequence experiments, made by plain numpy generators.

The supervised experiments (``python -m sequence_tasks ...``) and the RL envs
(``gymlab/SinePredict-v0``, ``gymlab/CharPredict-v0``) draw from these same
functions, so a wave or a text window an agent sees is one a supervised model
could have been trained on. No torch here: the envs import this module.

    >>> import numpy as np
    >>> lecture_sines(np.random.default_rng(0), n=4, length=5).shape
    (4, 5)
    >>> taken = lecture_shifts(np.random.default_rng(0), n=97)
    >>> fresh = fresh_shifts(np.random.default_rng(1), n=20, taken=taken)
    >>> bool(np.all(np.abs(fresh[:, None] - taken[None, :]) >= 0.25))
    True
    >>> waves = random_cosines(np.random.default_rng(0), n=3, length=8)
    >>> bool(np.all(np.abs(waves) <= 1.5))
    True
    >>> v = Vocabulary("hello")
    >>> v.chars, v.encode("hello").tolist()
    (['e', 'h', 'l', 'o'], [1, 0, 2, 2, 3])
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SONNETS = Path(__file__).with_name("data") / "sonnets.txt"

# The lecture's sine example (seed 000): x = sin((t + shift) / T), shift in [-4T, 4T).
SINE_PERIOD_SCALE = 20
# The teacher-forcing example and the cosine assignment (seed 003): np.linspace(0, 10, 100),
# a step of 10/99 radians (about 62 samples a period).
COSINE_STEP = 10 / 99
AMPLITUDES = (0.5, 1.5)


def sines(shifts, length: int, period_scale: float = SINE_PERIOD_SCALE) -> np.ndarray:
    """One wave ``sin((t + shift) / period_scale)``, t = 0 .. length-1, for each shift: float64,
    (len(shifts), length)."""
    return np.sin((np.arange(length) + np.asarray(shifts, dtype=np.float64)[:, None]) / period_scale)


def lecture_shifts(rng: np.random.Generator, n: int, period_scale: float = SINE_PERIOD_SCALE) -> np.ndarray:
    """The lecture's shifts: ``n`` integers in ``[-4 period_scale, 4 period_scale)``."""
    return rng.integers(-4 * period_scale, 4 * period_scale, size=n)


def lecture_sines(rng: np.random.Generator, n: int = 100, length: int = 1000,
                  period_scale: float = SINE_PERIOD_SCALE) -> np.ndarray:
    """``n`` waves of ``length`` steps with the lecture's shifts: its data, float64, (n, length)."""
    return sines(lecture_shifts(rng, n, period_scale), length, period_scale)


def fresh_shifts(rng: np.random.Generator, n: int, taken, gap: float = 0.25,
                 period_scale: float = SINE_PERIOD_SCALE, max_rounds: int = 1000) -> np.ndarray:
    """``n`` real shifts, uniform in the lecture's range ``[-4 period_scale, 4 period_scale)`` but
    at least ``gap`` steps from every shift in ``taken``, measured around the period
    ``2 pi period_scale`` (shifts a period apart make the same wave): waves that are none of
    ``taken``'s, nor nearly one. A quarter step apart, two waves differ by up to 0.0125 (at
    period_scale 20), an MSE of about 8e-5 between them. Candidates too close are drawn again;
    a ValueError if ``taken`` leaves no room."""
    period = 2 * np.pi * period_scale
    taken = np.unique(np.asarray(taken, dtype=np.float64))  # the lecture's: at most 8 period_scale of them
    kept: list[float] = []
    for _ in range(max_rounds):
        candidates = rng.uniform(-4 * period_scale, 4 * period_scale, size=n)
        around = (candidates[:, None] - taken[None, :] + period / 2) % period - period / 2
        far = np.abs(around).min(axis=1, initial=np.inf) >= gap
        kept.extend(candidates[far][:n - len(kept)])
        if len(kept) == n:
            return np.array(kept)
    raise ValueError(f"no room for {n} shifts {gap} steps from {len(taken)} taken ones")


def random_cosines(rng: np.random.Generator, n: int, length: int, step: float = COSINE_STEP,
                   amplitudes: tuple[float, float] = AMPLITUDES) -> np.ndarray:
    """``n`` waves ``A cos(step t + phi)``, phase uniform in [0, 2 pi), amplitude ``A`` uniform
    in ``amplitudes``: the cosine assignment's data, float32, (n, length)."""
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
    amplitude = rng.uniform(*amplitudes, size=(n, 1))
    return (amplitude * np.cos(step * np.arange(length) + phase)).astype(np.float32)


def load_text(path: str | Path | None = None) -> str:
    """The text of ``path``, or the bundled sonnets (Shakespeare 1-75, public domain)."""
    return Path(path or SONNETS).read_text(encoding="utf-8")


def split_text(text: str, held_out: float = 0.1) -> tuple[str, str]:
    """``(train, test)``: the test part is the last ``held_out`` of the text."""
    cut = int(round(len(text) * (1.0 - held_out)))
    return text[:cut], text[cut:]


class Vocabulary:
    """Characters <-> integer ids, in sorted order."""

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        try:
            return np.fromiter((self.index[ch] for ch in text), dtype=np.int64, count=len(text))
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)
