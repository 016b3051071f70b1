"""A refused --run-dir's advice is one that works (issue 23 item 9): a folder of the user's own
files, with no gymlab run in it, is never told to pass --force, which would refuse it too."""

import train


def test_the_advice_for_a_folder_of_the_users_own_files_works(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    args = ["--env", "rooms", "--agent", "q", "--steps", "50", "--no-progress", "--run-dir", str(folder)]
    assert train.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" not in err, err  # the advice given is the one to follow
    assert train.main(args + ["--force"]) == 2  # (--force replaces a run only: the user's folder stays theirs)
    assert (folder / "notes.txt").read_text() == "mine" and sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
