"""Helpers shared by the chars experiment's tests (tests/test_chars_experiment.py,
tests/test_chars_regularisers.py)."""


def positions_text(n: int) -> str:
    """``n`` distinct characters in increasing code point order: character i has id i."""
    return "".join(chr(0x100 + i) for i in range(n))
