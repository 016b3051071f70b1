"""MkDocs hooks (mkdocs.yml ``hooks:``): add the reference pages ``docs/gen/reference.py`` writes
from the code, and list every ``docs/guide/*.md`` under Guides, the ones the nav does not name
included, so a guide page is never built without a way to it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from mkdocs.structure.files import File
from mkdocs.structure.nav import Section
from mkdocs.structure.pages import Page

_spec = importlib.util.spec_from_file_location("gymlab_docs_reference", Path(__file__).with_name("reference.py"))
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


def on_files(files, config):
    for uri, write in reference.PAGES.items():
        files.append(File.generated(config, uri, content=write()))
    return files


def on_nav(nav, config, files):
    guides = next((s for s in nav.items if isinstance(s, Section) and s.title == "Guides"), None)
    if guides is None:
        return nav
    listed = {p.file.src_uri for p in guides.children if isinstance(p, Page)}
    for file in sorted(files.documentation_pages(), key=lambda f: f.src_uri):
        if file.src_uri.startswith("guide/") and file.src_uri not in listed:
            page = file.page or Page(None, file, config)
            page.parent = guides
            guides.children.append(page)
    nav.pages = [p for p in _pages(nav.items)]
    for prev, page in zip([None] + nav.pages, nav.pages):
        page.previous_page = prev
        if prev is not None:
            prev.next_page = page
    if nav.pages:
        nav.pages[-1].next_page = None
    return nav


def _pages(items):
    for item in items:
        if isinstance(item, Page):
            yield item
        elif isinstance(item, Section):
            yield from _pages(item.children)
