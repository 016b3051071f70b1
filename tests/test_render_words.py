"""The word-vectors block (``benchmarks/rendering/words.py``) and benchmarks/words.py's verdict."""

from benchmarks.rendering import words
from benchmarks.words import verdict
from render_fixtures import stamp


def row(seed, ours, theirs, load=0.1, quick=False):
    keys = ("analogies_kjv_accuracy", "analogies_google_accuracy", "wordsim353_rho", "simlex999_rho")
    side = lambda v, speed: {**dict(zip(keys, (*v, v[-1] / 2))), "analogies_kjv_n": 1944,  # noqa: E731
                             "analogies_google_n": 906, "wordsim353_n": 48, "simlex999_n": 258, "words_per_s": speed}
    return {"seed": seed, "quick": quick, "corpus_words": 776496, "settings": {"corpus": "kjv"},
            "ours": side(ours, 20000.0), "gensim": side(theirs, 150000.0),
            **stamp(command=f"python -m sequence_tasks words --seed {seed}", load=load)}


def test_the_block_shows_both_sides_per_seed_and_the_verdict():
    rows = [row(1000, (0.30, 0.10, 0.40), (0.32, 0.10, 0.41)), row(1001, (0.28, None, 0.38), (0.30, None, 0.40), load=3)]
    d = {"rows": rows, "summary": verdict(rows), "tolerance": 0.1, "command": "python benchmarks/words.py"}
    text = words.words(d)
    assert "| 1000 | 0.300 / 0.320 | 0.100 / 0.100 | 0.400 / 0.410 | 0.200 / 0.205 | 20,000 / 150,000 |" in text
    assert "| 1001 | 0.280 / 0.300 | - / - | 0.380 / 0.400 | 0.190 / 0.200 | 20,000 / 150,000 (busy machine) |" in text
    assert "776,496 words of the King James Bible" in text and "1,944 of the KJV set" in text
    assert "SimLex-999 pairs: 258" in text
    assert "analogies_kjv_accuracy: mean 0.290 / 0.310, ratio 0.935 (within 10%)" in text
    assert "analogies_google_accuracy: mean 0.100 / 0.100" in text  # the seeds with a figure only
    assert "commit `6017cfb77c5c`" in text


def test_quick_or_unstamped_rows_are_not_figures():
    r = row(1000, (0.1, 0.1, 0.1), (0.5, 0.5, 0.5), quick=True)
    assert words.words({"rows": [r]}).startswith("Not yet re-measured")
    assert words.words({}).startswith("Not yet re-measured")
    assert verdict([row(1000, (0.1, 0.1, 0.1), (0.5, 0.5, 0.5))])["wordsim353_rho"]["within"] is False


def test_the_block_shows_words_kept_per_second_what_is_timed_and_what_differs():
    r = row(1000, (0.30, 0.10, 0.40), (0.32, 0.10, 0.41))
    r["ours"]["kept_words_per_s"], r["gensim"]["kept_words_per_s"] = 9000.0, 90000.0
    d = {"rows": [r], "summary": verdict([r]), "tolerance": 0.1, "timed": "ours: encoding and training",
         "differs_from_gensim": ["subsampling: ours this", "initialisation: ours that"]}
    text = words.words(d)
    assert "| 20,000 / 150,000 | 9,000 / 90,000 |" in text and "words kept/s" in text
    assert "ours: encoding and training" in text
    assert "subsampling: ours this" in text and "initialisation: ours that" in text
