"""The documentation site builds with ``mkdocs build --strict`` (a warning fails it), with no font or
script from a CDN, its generated reference pages saying what the code says, and a missing snippet
marker failing the build."""

from __future__ import annotations

import dataclasses
import re

import pytest
import yaml

from site_build import ROOT, build

pytestmark = pytest.mark.site
CDN = re.compile(r"https?://[^\"'\s)]*(fonts\.googleapis|fonts\.gstatic|unpkg|jsdelivr|cdnjs|cdn\.)", re.I)


def test_the_site_builds_strictly_with_nothing_from_a_cdn(built_site):
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) > 30
    fetched = {str(p.relative_to(built_site)): CDN.findall(p.read_text()) for p in pages}
    assert not {k: v for k, v in fetched.items() if v}
    for course in ("01-rooms-q", "05-dqn", "13-memory"):
        assert (built_site / "course" / course / "index.html").is_file()


def test_the_generated_reference_pages_say_what_the_code_says(built_site):
    from gymlab import agents, envs
    from gymlab.agents.base import flag

    env_page = (built_site / "reference" / "envs" / "index.html").read_text()
    for env_id in envs._ENVS:
        assert env_id in env_page
    flags_page = (built_site / "reference" / "agent-flags" / "index.html").read_text()
    for name in ("q", "dqn", "reinforce", "hill"):
        for f in dataclasses.fields(agents.get(name).Config):
            assert f"<code>{flag(f.name)}</code>" in flags_page, (name, f.name)
    train_page = (built_site / "reference" / "train-flags" / "index.html").read_text()
    for option in ("--env", "--resume", "--seeds", "--save-every-minutes"):
        assert f"<code>{option}</code>" in train_page
    play_page = (built_site / "reference" / "play-flags" / "index.html").read_text()
    assert "<code>--difficulty</code>" in play_page and "<code>--screenshot</code>" in play_page
    seq_page = (built_site / "reference" / "sequence-flags" / "index.html").read_text()
    assert all(f'id="{name}"' in seq_page for name in ("sine", "cosine", "chars"))
    assert "%(default)" not in seq_page + train_page  # argparse's placeholders filled in, as --help prints


def _snippet_build(tmp_path, page: str):
    """A one-page site with the site's Markdown extensions, its snippets read from tmp_path."""
    ours = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    extensions = [{"pymdownx.snippets": {**e["pymdownx.snippets"], "base_path": [str(tmp_path)]}}
                  if isinstance(e, dict) and "pymdownx.snippets" in e else e for e in ours["markdown_extensions"]]
    (tmp_path / "src.py").write_text("before_marker = 0\n# --8<-- [start:step]\nq_value = reward + gamma * best_next\n"
                                     "# --8<-- [end:step]\nafter_marker = 1\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(page)
    config = tmp_path / "mkdocs.yml"
    config.write_text(yaml.safe_dump({"site_name": "t", "docs_dir": str(tmp_path / "docs"), "strict": True,
                                      "markdown_extensions": extensions}))
    return build(tmp_path / "out", config)


def test_a_snippet_section_is_included_and_only_it(tmp_path):
    done = _snippet_build(tmp_path, '# t\n\n```python\n--8<-- "src.py:step"\n```\n')
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert "q_value" in html and "before_marker" not in html and "after_marker" not in html and "8&lt;" not in html


def test_a_missing_snippet_marker_fails_the_build(tmp_path):
    done = _snippet_build(tmp_path, '# t\n\n```python\n--8<-- "src.py:no-such-section"\n```\n')
    assert done.returncode != 0
    assert "no-such-section" in done.stderr


def test_every_equation_is_typeset_as_mathml(built_site):
    """No course page keeps its LaTeX raw for a script the site does not load."""
    pages = sorted((built_site / "course").glob("*/index.html"))
    assert len(pages) == 13
    for page in pages:
        html = page.read_text()
        assert 'class="arithmatex"' not in html, page
    assert "<math" in (built_site / "course" / "05-dqn" / "index.html").read_text()
