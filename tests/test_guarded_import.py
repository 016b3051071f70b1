"""A Ctrl-C landing while ``guarded`` imports its own helpers (``gymlab.runs``, ``gymlab.signals``)
is a Ctrl-C like any other: exit 130, one line, no traceback. (test_hostile_inputs'
``test_ctrl_c_at_any_moment[0.3]`` met it by chance on a loaded machine: a traceback from
``from gymlab import runs, signals``, exit -2.)"""

from __future__ import annotations

import importlib.abc
import sys

from gymlab import cli


class _CtrlCOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "gymlab.signals":
            raise KeyboardInterrupt
        return None


def test_ctrl_c_while_guarded_imports_its_helpers_is_exit_130(monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "gymlab.signals", raising=False)
    import gymlab

    monkeypatch.delattr(gymlab, "signals", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_CtrlCOnImport(), *sys.meta_path])
    code = cli.guarded("train.py", lambda: 0)
    err = capsys.readouterr().err
    assert code == cli.EXIT_INTERRUPTED
    assert err.strip() == "train.py: interrupted"
