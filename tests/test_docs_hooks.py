"""The site's build hooks (docs/gen/hooks.py): every guide page gets into the nav."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("mkdocs")
ROOT = Path(__file__).resolve().parents[1]


def hooks():
    spec = importlib.util.spec_from_file_location("gymlab_docs_hooks", ROOT / "docs" / "gen" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_guide_page_is_listed_under_guides_once(tmp_path):
    (tmp_path / "guide").mkdir()
    for name in ("index.md", "tracking.md", "export.md", "named.md"):
        (tmp_path / "guide" / name).write_text(f"# {name}\n")
    nav = [{"Home": "index.md"}, {"Guides": ["guide/index.md", {"Named": "guide/named.md"}]}, {"Results": "r.md"}]
    config = hooks().on_config(SimpleNamespace(docs_dir=str(tmp_path), nav=nav))
    assert config.nav[1]["Guides"] == ["guide/index.md", {"Named": "guide/named.md"}, "guide/export.md",
                                       "guide/tracking.md"]
    assert config.nav[0] == {"Home": "index.md"} and config.nav[2] == {"Results": "r.md"}
