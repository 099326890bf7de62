"""``/docs`` and ``/redoc`` served with their assets from the app: no CDN, no inline script.

The JavaScript and CSS bundles come from the ``fastapi-offline`` package; the small start-up
scripts live in ``static/`` beside this file.
"""

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"

# Swagger UI and ReDoc set inline styles and ReDoc starts a blob: worker; scripts stay 'self'.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _page(title: str, head: str, body: str) -> HTMLResponse:
    html = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="icon" href="{ASSETS_URL}/favicon.png">'
        f"{head}</head><body>{body}</body></html>"
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_CSP})


def swagger_page(title: str, openapi_url: str) -> HTMLResponse:
    return _page(
        f"{title} - Swagger UI",
        f'<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">',
        '<div id="swagger-ui"></div>'
        f'<div id="swagger-config" data-openapi-url="{escape(openapi_url)}" '
        f'data-oauth2-redirect-url="{OAUTH2_REDIRECT_URL}" hidden></div>'
        f'<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>'
        f'<script src="{ASSETS_URL}/swagger-init.js"></script>',
    )


def redoc_page(title: str, openapi_url: str) -> HTMLResponse:
    return _page(
        f"{title} - ReDoc",
        "",
        f'<redoc spec-url="{escape(openapi_url)}"></redoc>'
        f'<script src="{ASSETS_URL}/redoc.standalone.js"></script>',
    )


def oauth2_redirect_page() -> HTMLResponse:
    return _page("OAuth2 redirect", "", f'<script src="{ASSETS_URL}/oauth2-redirect.js"></script>')


def add_docs(app: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Mount the assets and the two documentation pages (create the app with docs disabled)."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(
        ASSETS_URL,
        StaticFiles(packages=[("app.core.api", "static"), ("fastapi_offline", "static")]),
        name="docs-assets",
    )

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return swagger_page(app.title, openapi_url)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return oauth2_redirect_page()

    @app.get(redoc_url, include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return redoc_page(app.title, openapi_url)
