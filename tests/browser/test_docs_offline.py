"""The model server's /docs page renders, and works, in Chromium with the network cut off.

The week-1 lab (labs/w1_deploy_a_model.ipynb) tells the reader to open the printed /docs
address. FastAPI's own page loads Swagger UI from a CDN and stays blank offline; the server of
``create_app`` serves the files itself (utils/deployment/docs_offline.py). Here every request
that leaves 127.0.0.1 is aborted and recorded, so the page must render from the server alone.
A plain FastAPI app is the control: its /docs page does try to leave, and the test sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlparse

import numpy as np
import pytest
from fastapi import FastAPI

from utils.deployment.serving import ServerHandle, create_app, serve_in_background

pytestmark = pytest.mark.browser


class _Model:
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.tile([0.25, 0.75], (len(X), 1))


@dataclass
class _Offline:
    """What a page asked for beyond 127.0.0.1 (all aborted), and what failed or erred."""

    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    app = create_app(_Model(), model_name="digits", input_shape=(8, 8), class_names=["zero", "one"])
    with serve_in_background(app) as handle:
        yield handle


@pytest.fixture
def offline_page(browser: object) -> Iterator[object]:
    """Open a URL in a page whose requests to any host but 127.0.0.1 are aborted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def _open(url: str) -> tuple[object, _Offline]:
        log = _Offline()
        page = context.new_page()

        def route(r: object) -> None:
            if urlparse(r.request.url).hostname == "127.0.0.1":
                r.continue_()
            else:
                log.blocked.append(r.request.url)
                r.abort("internetdisconnected")

        page.route("**/*", route)
        page.on("requestfailed", lambda r: log.failed.append(f"{r.url} ({r.failure})"))
        page.on(
            "response", lambda r: r.status >= 400 and log.failed.append(f"{r.url} ({r.status})")
        )
        page.on("console", lambda m: m.type == "error" and log.errors.append(m.text))
        page.on("pageerror", lambda e: log.errors.append(str(e)))
        page.goto(url, wait_until="networkidle")
        return page, log

    yield _open
    context.close()


def test_swagger_ui_renders_offline(server, offline_page, screenshot) -> None:
    page, log = offline_page(f"{server.url}/docs")
    path = page.locator(".opblock-summary-path", has_text="/predict").first
    path.wait_for(timeout=15_000)
    assert path.is_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/health", "/ready", "/metadata", "/predict", "/predict/image"} <= {
        p.strip() for p in paths
    }, paths
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("digits")
    screenshot(page, "docs_offline")
    assert (log.blocked, log.failed, log.errors) == ([], [], [])


def test_swagger_ui_can_call_the_server_offline(server, offline_page) -> None:
    page, log = offline_page(f"{server.url}/docs")
    page.locator('.opblock-summary-path[data-path="/ready"]').click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    status = page.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=15_000)
    assert status.inner_text().strip() == "200"
    assert '"status": "ready"' in page.locator(".live-responses-table").inner_text()
    assert (log.blocked, log.failed, log.errors) == ([], [], [])


def test_fastapi_default_docs_would_need_the_network(offline_page) -> None:
    """The control: FastAPI's own /docs page asks a CDN for its files, and stays blank."""
    app = FastAPI(title="control")

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ping": "pong"}

    with serve_in_background(app) as control:
        page, log = offline_page(f"{control.url}/docs")
        assert any("swagger-ui-bundle.js" in url for url in log.blocked), log.blocked
        assert page.locator(".opblock-summary-path").count() == 0
