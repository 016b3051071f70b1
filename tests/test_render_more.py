"""The rooms table, the replay-memory table and the blocks of families not yet re-measured."""

import pytest

from benchmarks.rendering import more
from render_fixtures import stamp


def test_the_rooms_block_is_what_train_py_printed_with_its_stamp():
    row = {"q_table_header": "Q-table, normalised", "q_table": [[0, 80], [64, 100]], "routes": ["0 -> 1", "1 -> 1"],
           **stamp(command="python train.py --env rooms --agent q --seed 1000")}
    text = more.rooms_table({"rows": [row], "command": "python benchmarks/rooms_table.py"})
    assert "        0   80\n       64  100" in text
    assert "      0 -> 1" in text and "commit `6017cfb77c5c`" in text
    assert "--seed 1000" in text


def test_an_unstamped_rooms_row_is_not_rendered():
    row = {"q_table_header": "Q", "q_table": [[1]], "routes": [], "command": "x"}
    assert more.rooms_table({"rows": [row]}).startswith("Not yet re-measured")


def test_quick_replay_rows_are_not_figures():
    row = {"task": "cartpole", "contestant": "dqn", "buffer_size": 100, "replay_bytes": 4e6, "peak_rss_mb": 300.0,
           "quick": True, **stamp()}
    assert more.replay_memory({"rows": [row]}).startswith("Not yet re-measured")
    row["quick"] = False
    assert "| cartpole | `dqn` | 100 | 4 MB | - | 300 MB |" in more.replay_memory({"rows": [row]})


def test_a_pending_block_names_its_command_and_refuses_stamped_rows_it_cannot_render():
    render = more.pending("python benchmarks/memory.py")
    assert "`python benchmarks/memory.py`" in render({"rows": [{"commit": "old"}]})
    with pytest.raises(KeyError):
        render({"rows": [{"seeds": [1000], **stamp()}]})


def test_steps_to_the_threshold_keep_censored_runs_and_give_an_interval_only_from_10():
    from benchmarks.rendering.sweeps import to_threshold

    few = {"threshold": 475.0, "n": 3, "reached": 2, "censored": 1, "median_steps": 2000.0,
           "steps": {"n": 2, "median": 1500.0, "iqm": 1500.0, "range": [1000.0, 2000.0], "iqm_ci": None}}
    assert to_threshold(few) == ("2 of 3 reached 475; median over all 3: 2,000 steps "
                                 "(those that reached it: 1,000 to 2,000)")
    assert "median over all 3: beyond the budget" in to_threshold({**few, "median_steps": None})
    many = {**few, "n": 10, "reached": 10, "censored": 0, "median_steps": 1500.0,
            "steps": {"n": 10, "median": 1500.0, "iqm": 1400.0, "range": [1000.0, 2000.0], "iqm_ci": [1200.0, 1600.0]}}
    assert to_threshold(many) == "10 of 10 reached 475; median over all 10: 1,500 steps (IQM 1,400 [1,200, 1,600])"
    assert to_threshold(None) == "-"


def test_a_speed_row_is_not_called_busy_for_the_load_the_benchmark_itself_made():
    row = {"kind": "lstm", "hidden": 32, "cells_ms_median": 15.7, "fused_ms_median": 2.7, **stamp(load=1.0),
           "vs_ref": {"ref": "torch fused", "per_round": [5.0] * 5, "median": 5.0, "min": 4.0, "max": 6.0}}
    quiet = {"rows": [row], "busy": False, "load_before": [0.2, 0.2, 0.2]}
    assert "busy" not in more.cells_vs_torch(quiet)
    assert "(busy machine)" in more.cells_vs_torch({**quiet, "busy": True, "load_before": [0.9, 0.2, 0.2]})


def test_the_provenance_line_names_the_commit_that_wrote_the_file_when_no_row_was_measured_at_it():
    from benchmarks.rendering.rules import provenance

    rows = [stamp()]
    line = provenance(rows, "python benchmarks/x.py", "abc123+dirty")
    assert "`6017cfb77c5c`" in line and "written at `abc123+dirty` (uncommitted changes) by `python benchmarks/x.py`" in line
    assert "written at" not in provenance(rows, "python benchmarks/x.py", "6017cfb77c5c")


def test_the_chars_block_is_pending_until_stamped_full_rows_then_a_row_per_text_and_model():
    from benchmarks.rendering import chars

    assert chars.chars({}) == "Not yet re-measured under the current protocol: run " \
                              "`python benchmarks/chars_vs_minchar.py --seconds 240`."

    def row(model, seed, test, **kw):
        return {"model": model, "description": f"{model} (described)", "text": "python-docs", "seed": seed,
                "test_bits_per_char": test, "train_bits_per_char": test - 0.5, "chars_per_s": 1000.0 * seed / 1000,
                "best_chars_trained": 10, "chars_trained": 20, "on_tuning_text": False, "quick": False,
                **stamp(command=f"python -m sequence_tasks chars --seed {seed}"), **kw}

    quick = {"seconds": 30, "quick": True, "rows": [row("ours", 1000, 2.0)]}
    assert chars.chars(quick).startswith("Not yet re-measured")  # a --quick file is no figure
    d = {"seconds": 240, "rows": [row("min-char-rnn", 1000, 2.5), row("window-8", 1000, 2.25),
                                  row("window-8", 1001, 2.125), row("ours", 1000, 2.0, load=[3.0, 1, 1])]}
    text = chars.chars(d)
    assert "| python-docs | window-8 (described) | 1000, 1001 | 2.25 2.125 (range 2.125 to 2.25, n = 2) |" in text
    assert "| python-docs | ours (described) | 1000 | 2 (range 2 to 2, n = 1) | 1.5 (range 1.5 to 1.5, n = 1) " \
           "| 1,000 (busy machine) |" in text
    assert text.index("min-char-rnn") < text.index("window-8") < text.index("ours (described)")
    assert "trained 240 s" in text and "commit `6017cfb77c5c`" in text
