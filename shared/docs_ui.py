"""The ``/docs`` page: Swagger UI at one exact version, each file checked by Subresource Integrity.

FastAPI's own page loads ``swagger-ui-dist@5`` (whatever 5.x the CDN serves that day) without an
``integrity`` attribute: a changed or compromised file would run in the page with the reader's
token. Here the version is exact, the browser refuses a file whose hash differs, the page's own
start-up code is served by the service (no inline script), and the page's Content-Security-Policy
allows exactly these files and calls to the service itself.

The hashes are those of the files in the npm package ``swagger-ui-dist`` at :data:`VERSION`
(``sha384``, base64), which the CDN serves unchanged. To move to another version, download that
package, check it against the registry's published integrity and recompute both hashes.
"""

from __future__ import annotations

import html

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

VERSION = "5.18.2"
_BASE = f"https://cdn.jsdelivr.net/npm/swagger-ui-dist@{VERSION}"
JS_URL = f"{_BASE}/swagger-ui-bundle.js"
JS_SRI = "sha384-NXtFPpN61oWCuN4D42K6Zd5Rt2+uxeIT36R7kpXBuY9tLnZorzrJ4ykpqwJfgjpZ"
CSS_URL = f"{_BASE}/swagger-ui.css"
CSS_SRI = "sha384-rcbEi6xgdPk0iWkAQzT2F3FeBJXdG+ydrawGlfHAFIZG7wU6aKbQaRewysYpmrlW"
INIT_PATH = "/docs/init.js"

#: What the page needs: the two files, its own start-up script, the OpenAPI document (same
#: origin), the stylesheet's embedded images; nothing else, and no framing.
DOCS_CSP = (
    f"default-src 'none'; script-src 'self' {JS_URL}; style-src {CSS_URL}; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

_INIT_JS = """window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]
  });
});
"""


def _page(title: str, openapi_url: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)} - API</title>
<link rel="stylesheet" href="{CSS_URL}" integrity="{CSS_SRI}" crossorigin="anonymous">
</head>
<body>
<div id="swagger-ui" data-openapi="{html.escape(openapi_url)}"></div>
<script src="{JS_URL}" integrity="{JS_SRI}" crossorigin="anonymous"></script>
<script src="{INIT_PATH.lstrip("/")}"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """Serve ``/docs`` and its start-up script; ``app`` must be made with ``docs_url=None`` and
    ``redoc_url=None`` (FastAPI's ReDoc page loads a floating ``redoc@2`` the same way)."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        # Behind a path prefix (``root_path``) the document is under it too; the start-up script
        # is linked relatively, so it follows.
        page = _page(app.title, request.scope.get("root_path", "").rstrip("/") + openapi_url)
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    @app.get(INIT_PATH, include_in_schema=False)
    async def docs_init() -> Response:
        return Response(_INIT_JS, media_type="text/javascript", headers={"Content-Security-Policy": DOCS_CSP})
