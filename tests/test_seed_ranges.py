"""``--seeds`` takes a count, a list, or a range ``A-B`` (both ends included): held-out seeds
(1000-1009, the reporting convention of benchmarks/) are one short flag, not ten numbers."""

import argparse

import pytest

from gymlab.flags import seed_list


def test_a_range_gives_every_seed_from_its_first_to_its_last():
    assert seed_list("1000-1009") == list(range(1000, 1010))
    assert seed_list("3-3") == [3]


def test_a_count_and_a_list_still_mean_what_they_meant():
    assert seed_list("3") == [0, 1, 2]
    assert seed_list("5,7") == [5, 7]


@pytest.mark.parametrize("text", ["9-3", "1-", "-4", "a-b", "0-20000"])
def test_a_bad_range_is_one_usage_line(text):
    with pytest.raises(argparse.ArgumentTypeError):
        seed_list(text)
