"""The interactive API documentation (``/docs``) served without internet.

FastAPI's default ``/docs`` page loads Swagger UI's script, its style sheet and an icon from a
CDN, so on a machine without internet the page stays blank. :func:`install_offline_docs` serves
the same page from files shipped in the ``fastapi-offline`` package (MIT licence; it bundles
Swagger UI, Apache 2.0), following FastAPI's recipe for self-hosted docs: ``get_swagger_ui_html``
pointed at the app's own static files. FastAPI's second page, ``/redoc``, is left out: ReDoc
loads its vendor's logo from a CDN whatever its options, so it cannot work fully offline.

Used by :func:`utils.deployment.serving.create_app`, whose ``/docs`` page the week-1 lab asks
the reader to open (labs/w1_deploy_a_model.ipynb).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: Where the app serves the documentation's script, style sheet and icon.
STATIC_URL = "/docs-static"

#: The files ``/docs`` loads, all from :data:`STATIC_URL`.
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")


def asset_dir() -> Path:
    """The folder of the packaged documentation assets (from ``fastapi-offline``)."""
    try:
        folder = Path(str(importlib.resources.files("fastapi_offline") / "static"))
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "the offline /docs page needs the fastapi-offline package: pip install fastapi-offline "
            "(it is in requirements.txt)",
            name="fastapi_offline",
        ) from None
    missing = [name for name in ASSETS if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"fastapi-offline's folder {folder} lacks {', '.join(missing)}")
    return folder


def install_offline_docs(app: FastAPI, *, docs_url: str = "/docs") -> None:
    """Add ``/docs`` (Swagger UI) to ``app``, loading nothing but the app's own files.

    ``app`` must have been created with ``docs_url=None, redoc_url=None`` so that FastAPI does
    not add its own pages, which load their files from a CDN.
    """
    app.mount(STATIC_URL, StaticFiles(directory=asset_dir()), name="docs-static")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = f"{docs_url}/oauth2-redirect"

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + redirect_url,
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            # Swagger UI would otherwise send the spec to an online validator for its badge.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
