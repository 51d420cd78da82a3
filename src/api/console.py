"""The browser side, served by the API itself: the finance console under /console, Swagger UI
at /docs and ReDoc at /redoc, all from files inside this package (vendored at pinned versions by
scripts/vendor_web_assets.sh), so nothing is fetched from elsewhere at run time. Every page gets a
Content-Security-Policy without inline scripts."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).parent
CONSOLE_DIR = HERE / "console"
DOCS_DIR = HERE / "docs_assets"

# The console: its own scripts and styles only, API calls to this origin only.
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# Swagger UI and ReDoc set element styles inline and ReDoc searches in a blob worker; scripts
# stay 'self' only.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# API answers are data, never pages.
API_CSP = "default-src 'none'; frame-ancestors 'none'"

SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Payments Ledger API</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/docs-assets/swagger-init.js"></script>
</body>
</html>
"""

REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Payments Ledger API</title>
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="/docs-assets/redoc/redoc.standalone.js"></script>
</body>
</html>
"""


def _policy(path: str) -> str:
    if path == "/console" or path.startswith("/console/"):
        return CONSOLE_CSP
    if path in ("/docs", "/redoc") or path.startswith("/docs-assets/"):
        return DOCS_CSP
    return API_CSP


class SecurityHeaders:
    """Pure ASGI: a CSP chosen by path, no sniffing, no referrer, on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = _policy(scope.get("path", "")).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"content-security-policy"
                ]
                headers += [
                    (b"content-security-policy", policy),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Mount the console and the offline API docs on app (created with docs_url=None)."""

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> Response:
        return HTMLResponse(SWAGGER_PAGE)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> Response:
        return HTMLResponse(REDOC_PAGE)

    @app.get("/console", include_in_schema=False)
    def console_root() -> Response:
        return RedirectResponse("/console/", status_code=308)

    # check_dir=False: a package built without the assets still serves the API (and 404s here).
    console = StaticFiles(directory=CONSOLE_DIR, html=True, check_dir=False)
    app.mount("/console", console, name="console")
    app.mount("/docs-assets", StaticFiles(directory=DOCS_DIR, check_dir=False), name="docs-assets")
