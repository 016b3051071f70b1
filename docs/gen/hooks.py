"""MkDocs hooks (mkdocs.yml ``hooks:``): add the reference pages ``docs/gen/reference.py`` writes
from the code, and list every ``docs/guide/*.md`` under Guides, the ones the nav does not name
included, so a guide page is never built without a way to it."""

from __future__ import annotations

import importlib.util
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
