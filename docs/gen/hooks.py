"""MkDocs hooks (mkdocs.yml ``hooks:``): add the reference pages ``docs/gen/reference.py`` writes
from the code, and list every ``docs/guide/*.md`` under Guides, the ones the nav does not name
included, so a guide page is never built without a way to it; and typeset the equations as MathML."""

from __future__ import annotations

import importlib.util
import re
from html import unescape
from pathlib import Path

from mkdocs.structure.files import File

_spec = importlib.util.spec_from_file_location("gymlab_docs_reference", Path(__file__).with_name("reference.py"))
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


def on_files(files, config):
    for uri, write in reference.PAGES.items():
        files.append(File.generated(config, uri, content=write()))
    return files


def on_config(config):
    """Every docs/guide/*.md under Guides in the nav, in name order after the ones it names."""
    guide_dir = Path(config.docs_dir) / "guide"
    for entry in config.nav or []:
        if isinstance(entry, dict) and isinstance(entry.get("Guides"), list):
            listed = {v for item in entry["Guides"] for v in (item.values() if isinstance(item, dict) else [item])}
            entry["Guides"] += [f"guide/{p.name}" for p in sorted(guide_dir.glob("*.md"))
                                if f"guide/{p.name}" not in listed]
    return config


_MATH = re.compile(r'<(span|div) class="arithmatex">\\([(\[])(.*?)\\[)\]]</\1>', re.S)


def on_page_content(html, page, config, files):
    """The lecture's equations as MathML, which the browser typesets itself (no MathJax or KaTeX
    from a CDN): pymdownx.arithmatex keeps each whole as ``\\(...\\)`` or ``\\[...\\]``; one
    latex2mathml cannot read stays as it was."""
    from latex2mathml.converter import convert

    def typeset(m):
        try:
            return convert(unescape(m.group(3)), display="block" if m.group(2) == "[" else "inline")
        except Exception:  # noqa: BLE001 (latex2mathml raises many kinds; the source stays readable)
            return m.group(0)

    return _MATH.sub(typeset, html)
