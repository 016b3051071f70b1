"""Every page of the built site, opened in a real headless Chromium (the distribution's, driven by
Playwright) from python's http.server on localhost: no broken internal link, no missing image, no
JavaScript error, and no request leaving localhost. ``SITE_SHOTS=DIR`` also saves screenshots of the
home page, a course page and the environments page there."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

pytestmark = pytest.mark.site
CHROMIUM = "/usr/bin/chromium"
SHOTS = {"home": "", "course": "course/01-rooms-q/", "env": "reference/envs/"}


class Served:
    """A folder on http://127.0.0.1:PORT/, from a server in its own process group, stopped by it."""

    def __init__(self, folder: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.folder, self.base = folder, f"http://127.0.0.1:{port}/"
        self.server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                        "--directory", str(folder)], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(100):
            try:
                urllib.request.urlopen(self.base, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.killpg(self.server.pid, signal.SIGTERM)
        self.server.wait(timeout=10)


def target(site: Path, path: str) -> Path:
    """The file a site URL path serves (a folder serves its index.html)."""
    local = site / path.lstrip("/")
    return local / "index.html" if path.endswith("/") or local.is_dir() else local


def site_pages(site: Path) -> list[str]:
    return sorted("/" + "".join(f"{part}/" for part in p.relative_to(site).parent.parts) for p in site.rglob("index.html"))


def problems_of(served: Served, shots: dict[str, str] | None = None) -> list[str]:
    """Every page of the served site opened in Chromium; what is wrong with them, one line each."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs it)")
    base, site = served.base, served.folder
    problems, links = [], set()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        where = {"url": ""}
        page.on("console", lambda m: m.type == "error" and problems.append(f"{where['url']}: console: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"{where['url']}: JavaScript error: {e}"))
        page.on("response", lambda r: r.status >= 400 and problems.append(f"{where['url']}: {r.status} {r.url}"))

        def outside(route):
            problems.append(f"{where['url']}: a request leaves localhost: {route.request.url}")
            route.abort()

        page.route(lambda url: not url.startswith(base) and not url.startswith(("data:", "blob:")), outside)
        for path in site_pages(site):
            where["url"] = path
            page.goto(base + path.lstrip("/"), wait_until="load")
            page.wait_for_load_state("networkidle")
            broken = page.eval_on_selector_all(
                "img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0)).map(e => e.src)")
            problems += [f"{path}: image does not load: {src}" for src in broken]
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                url, _ = urldefrag(href)
                if url.startswith(base):
                    links.add((path, urlparse(url).path))
            name = next((k for k, v in (shots or {}).items() if "/" + v == path), None)
            if name and os.environ.get("SITE_SHOTS"):
                Path(os.environ["SITE_SHOTS"]).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(os.environ["SITE_SHOTS"]) / f"{name}.png"), full_page=False)
        browser.close()
    return problems + [f"{src}: broken link to {dest}" for src, dest in sorted(links)
                       if not target(site, dest).is_file()]


def test_every_page_opens_with_no_broken_link_image_or_script_error(built_site):
    assert len(site_pages(built_site)) > 30
    with Served(built_site) as served:
        problems = problems_of(served, SHOTS)
    assert not problems, "\n".join(problems[:50])


def test_a_broken_link_a_missing_image_and_a_script_error_are_each_seen(tmp_path):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "index.html").write_text("<html><body><a href='../'>home</a></body></html>")
    (tmp_path / "index.html").write_text(
        "<html><body><a href='ok/'>fine</a> <a href='gone/'>broken</a> <img src='nothing.png'>"
        "<script>undefinedFunction()</script></body></html>")
    with Served(tmp_path) as served:
        problems = problems_of(served)
    said = " | ".join(problems)
    assert "broken link to /gone/" in said and "image does not load" in said and "JavaScript error" in said, said
    assert not any(p.startswith("/ok/") for p in problems), said


def test_a_broken_link_is_seen(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text("x")
    assert target(tmp_path, "/a/").is_file() and target(tmp_path, "/a").is_file()
    assert not target(tmp_path, "/b/").is_file()
