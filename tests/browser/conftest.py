"""Fixtures for end-to-end tests of the built site in a real headless browser.

The site in ``_build/html`` is served on 127.0.0.1 and driven with Playwright using Debian's
Chromium (no browser download). Without Chromium these tests skip with a message saying how to
install it, except under CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
ARTIFACTS = ROOT / "tests" / "artifacts"
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402  (tools/ is a folder of scripts, not a package)

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def built_site() -> Path:
    """The built site, rebuilt with tools/build_book.py when a source is newer than the last build.

    Under ``pytest -n 2`` each worker has its own session: a lock makes the second wait for the
    first one's build instead of building into the same folder at the same time.
    """
    SITE.parent.mkdir(exist_ok=True)
    with open(SITE.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stale = book.stale_sources()
        if stale:
            names = ", ".join(str(p.relative_to(ROOT)) for p in stale[:3])
            print(
                f"\nrebuilding the site: {len(stale)} source(s) changed since the last build ({names} ...)"
            )
            subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py")], check=True)
    return SITE


@pytest.fixture(scope="session")
def site_url(built_site: Path) -> Iterator[str]:
    """Base URL (ending in "/") of the built site served on 127.0.0.1 by a thread."""
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A Playwright Browser running Debian's Chromium headless."""
    executable = _chromium()
    if executable is None:
        message = (
            "Chromium was not found. Install it to run the browser tests: "
            "sudo apt-get install chromium (Debian/Ubuntu), brew install --cask chromium (macOS)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@dataclass
class PageLog:
    """What a page did while it loaded: console errors, failed and off-site requests."""

    base: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)

    def attach(self, page: object) -> None:
        host = urlparse(self.base).netloc
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        page.on(
            "response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} ({r.status})")
        )

        def on_request(request: object) -> None:
            parsed = urlparse(request.url)
            if parsed.scheme in ("http", "https", "ws", "wss") and parsed.netloc != host:
                self.external.append(request.url)

        page.on("request", on_request)

    def problems(self) -> list[str]:
        return (
            [f"console error: {e}" for e in self.console_errors]
            + [f"page error: {e}" for e in self.page_errors]
            + [f"failed request: {e}" for e in self.failed]
            + [f"request to another host: {e}" for e in self.external]
        )


@pytest.fixture
def open_page(browser: object, site_url: str) -> Iterator[object]:
    """Open a site path in a fresh page; returns (page, log)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def _open(path: str) -> tuple[object, PageLog]:
        page = context.new_page()
        log = PageLog(site_url)
        log.attach(page)
        page.goto(site_url + path, wait_until="networkidle")
        page.wait_for_timeout(300)  # let late work (widget fonts, typesetting) show its requests
        page.wait_for_load_state("networkidle")
        return page, log

    yield _open
    context.close()


@pytest.fixture
def screenshot():
    """``screenshot(page, name)`` saves a full-page screenshot to tests/artifacts/NAME.png."""

    def _save(page: object, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _save
