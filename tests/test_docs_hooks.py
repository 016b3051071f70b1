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


def test_the_lectures_equations_are_typeset_as_mathml_with_no_script():
    """arithmatex keeps $...$ and $$...$$ whole as \\(...\\) and \\[...\\], for a script to typeset; the
    site loads none from a CDN, so the equations showed as raw LaTeX. The build now turns them into
    MathML, which the browser draws itself."""
    m = hooks()
    html = ('<p>the target <span class="arithmatex">\\(r + \\gamma \\max_b Q(s\', b) &lt; 1\\)</span> and</p>'
            '<div class="arithmatex">\\[Q(s,a) \\leftarrow Q(s,a) + \\eta \\left[ y - Q(s,a) \\right]\\]</div>')
    out = m.on_page_content(html, page=None, config=None, files=None)
    assert out.count("<math") == 2 and 'display="block"' in out
    assert "\\(" not in out and "\\[" not in out and "arithmatex" not in out
    assert "<mi>&#x003B3;</mi>" in out or "γ" in out or "&#947;" in out  # gamma became a symbol
    assert "<mo>&lt;</mo>" in out or "<mo>&#x0003C;</mo>" in out  # the escaped < read as a less-than
    broken = '<span class="arithmatex">\\(\\frac{1}{\\)</span>'
    assert m.on_page_content(broken, page=None, config=None, files=None).startswith("<span")  # left as it was
