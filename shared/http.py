"""The FastAPI app every service starts from: errors as RFC 9457 ``application/problem+json``,
request ids, security headers, a body-size limit, health, readiness and Prometheus metrics.

No error answer ever carries a stack trace; an unexpected exception is caught by the request
middleware itself (not by Starlette's outermost error middleware, which re-raises it to the
server, whose log line would quote the exception's message: asyncpg's quotes the failing row), is
logged once with the request id, its type and its frames, and is answered with a bare 500 problem
that quotes that id, ``x-request-id`` and the security headers included.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import docs_ui, errors, metrics, telemetry
from shared.logging import get_logger, safe_traceback
from shared.openapi import install as install_openapi

log = get_logger(__name__)
PROBLEM_JSON = "application/problem+json"

ReadinessCheck = Callable[[], Awaitable[Mapping[str, bool]]]


class Problem(Exception):
    """An HTTP error with a stable shape: ``type``, ``title``, ``status``, ``detail`` and, for
    invalid input, ``errors: [{field, message}]`` naming each field at fault."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        type_: str = "about:blank",
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.type = type_
        self.extra = extra or {}


class Conflict(Problem):
    """A rule of the domain forbids this now (e.g. a transition of a state machine)."""

    def __init__(self, detail: str, *, rule: str | None = None) -> None:
        super().__init__(409, "Conflict", detail, extra={"rule": rule} if rule else None)


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    if problem.detail:
        body["detail"] = problem.detail
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def problem_for(err: errors.DomainError) -> Problem:
    """The one mapping of domain refusals to HTTP answers (see :mod:`shared.errors`)."""
    if isinstance(err, errors.RuleViolation):
        if err.field:
            return Problem(
                422,
                "Unprocessable Content",
                err.message,
                errors=[{"field": err.field, "message": err.message}],
                extra={"rule": err.rule},
            )
        return Conflict(err.message, rule=err.rule)
    if isinstance(err, errors.Invalid):
        fields = [{"field": f, "message": m} for f, m in err.errors]
        return Problem(422, "Unprocessable Content", err.message, errors=fields)
    if isinstance(err, errors.NotFound):
        return Problem(404, "Not Found", err.message)
    if isinstance(err, errors.Forbidden):
        return Problem(403, "Forbidden", err.message)
    if isinstance(err, errors.RateLimited):
        return Problem(429, "Too Many Requests", err.message, headers={"Retry-After": str(err.retry_after_s)})
    return Problem(400, "Bad Request", err.message)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "body"


class _BodyLimit:
    """Refuse oversize bodies with 413 before the app parses them (declared or streamed).

    ``path_limits`` gives some exact paths a limit of their own (the plans imports take files of
    many MB): for those, a declared length above it is refused here and the body is passed on
    unbuffered, since the route reads it as a stream and must count it against that limit
    itself (see :mod:`services.plans.api_data`)."""

    def __init__(self, app: ASGIApp, max_bytes: int, path_limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        own = self.path_limits.get(scope.get("path", ""))
        if own is not None:
            if declared is not None and declared.isdigit() and int(declared) > own:
                await self._refuse(scope, send, own)
                return
            await self.app(scope, receive, send)
            return
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send, self.max_bytes)
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): buffer up to the limit, so an oversize body is refused
        # here, before any parser can turn the overflow into a less precise error.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.max_bytes:
                await self._refuse(scope, send, self.max_bytes)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        body = (
            b'{"type":"about:blank","title":"Content Too Large","status":413,'
            b'"detail":"request body exceeds ' + str(limit).encode() + b' bytes"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})

#: The methods of RFC 9110 and PATCH: the ``method`` label takes one of these or ``other``, so a
#: client inventing methods adds no series.
STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})

#: Answers are JSON (or CSV): nothing in them may run, load or be framed.
JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#: A plain page of the service (notifications' confirm and unsubscribe): its one form posts back
#: to the service; nothing else is loaded.
HTML_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


#: A request id a client may choose (it is echoed in a header and logged as is).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def method_label(method: str) -> str:
    return method if method in STANDARD_METHODS else "other"


def _with_security_headers(
    headers: list[tuple[bytes, bytes]], request_id: str, *, authenticated: bool, public_read: bool
) -> list[tuple[bytes, bytes]]:
    """The answer's headers with the request id and the security headers. A route's own
    Content-Security-Policy (``/docs``) is kept. An answer to a request with credentials is never
    stored by any cache (``no-store`` replaces what the route said); a public read without a
    ``Cache-Control`` of its own may be stored but is revalidated each time (``no-cache``: the
    public plan page's ETag keeps that cheap); anything else is ``no-store``."""
    names = {name.lower() for name, _ in headers}
    if names.isdisjoint(_ROUTE_MAY_SET):  # nearly every answer: nothing of ours to keep or drop
        html = b"content-type" in names and any(
            n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers
        )
        headers.append((b"x-request-id", request_id.encode()))
        headers.extend(_DEFAULT_HTML if html else _DEFAULT_JSON)
        headers.append(_NO_CACHE if public_read and not authenticated else _NO_STORE)
        return headers
    html = any(n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers)
    out = [h for h in headers if not (authenticated and h[0].lower() == b"cache-control")]
    out.append((b"x-request-id", request_id.encode()))
    out.extend(h for h in _SECURITY_HEADERS if h[0] not in names)
    if b"content-security-policy" not in names:
        out.append((b"content-security-policy", (HTML_CSP if html else JSON_CSP).encode()))
    if authenticated or b"cache-control" not in names:
        out.append(_NO_CACHE if public_read and not authenticated else _NO_STORE)
    return out


#: Headers a route may set that :func:`_with_security_headers` keeps or replaces.
_ROUTE_MAY_SET = frozenset({b"cache-control", b"content-security-policy", *(n for n, _ in _SECURITY_HEADERS)})
_DEFAULT_JSON = (*_SECURITY_HEADERS, (b"content-security-policy", JSON_CSP.encode()))
_DEFAULT_HTML = (*_SECURITY_HEADERS, (b"content-security-policy", HTML_CSP.encode()))
_NO_CACHE = (b"cache-control", b"no-cache")
_NO_STORE = (b"cache-control", b"no-store")


class _HttpMetrics:
    """The request counter's and duration histogram's children by label values, looked up once:
    ``labels()`` takes a lock and builds a key each time. Label values are bounded (methods,
    route templates, statuses), so is this."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                metrics.HTTP_REQUESTS.labels(method, route, str(status)),
                metrics.HTTP_DURATION.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


def _internal_error_body(request_id: str, path: str) -> bytes:
    return json.dumps(
        {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "an unexpected error occurred; quote the request_id when reporting it",
            "instance": path,
            "request_id": request_id,
        }
    ).encode()


class _RequestContext:
    """Request id, security headers, unexpected errors, access log and HTTP metrics for every
    request. The outermost of the app's own middlewares, so a 413 of the body limit gets the
    headers too.

    A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
    ``BaseHTTPMiddleware`` runs the app in a separate task and streams the answer through
    memory channels, which cost more CPU than the work of a small write (measured on the comment
    path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._metrics = _HttpMetrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        authenticated = False
        for name, value in scope["headers"]:
            if name == b"x-request-id" and not request_id:
                request_id = value.decode("latin-1")
            elif name in (b"authorization", b"cookie"):
                authenticated = True
        if not _REQUEST_ID.fullmatch(request_id):  # echoed and logged: an id, nothing else
            request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False
        method = method_label(scope["method"])
        public_read = method in ("GET", "HEAD")

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = _with_security_headers(
                    list(message.get("headers", ())),
                    request_id,
                    authenticated=authenticated,
                    public_read=public_read and status < 400,
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # Never re-raised: the server would log it again, message and all.
            status = 500
            log.error("unhandled error", error_type=type(exc).__name__, stack=safe_traceback(exc))
            # The span says an error happened and of which type; not its message, as above.
            trace.get_current_span().set_status(Status(StatusCode.ERROR, type(exc).__name__))
            if not response_started:
                body = _internal_error_body(request_id, scope.get("path", ""))
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", PROBLEM_JSON.encode()),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            self._metrics.observe(method, path, status, elapsed)
            if path not in _QUIET_ROUTES and log.isEnabledFor(logging.INFO):
                log.info(
                    "http request",
                    method=method,
                    route=path,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            structlog.contextvars.unbind_contextvars("request_id")


def create_app(
    *,
    service: str,
    title: str,
    description: str,
    version: str,
    readiness: ReadinessCheck,
    required: Sequence[str] | None = None,
    max_body_bytes: int = 1_000_000,
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """``required`` names the readiness checks that decide readiness (all of them when None);
    the others are reported only, as ``"<name>": "reachable" | "unreachable"`` too.
    ``body_limits`` maps exact paths to a body limit of their own, in place of ``max_body_bytes``
    (their routes count a streamed body themselves)."""
    # /docs is our own page (shared.docs_ui); FastAPI's pages load floating CDN files unchecked.
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        docs_url=None,
        redoc_url=None,
        telemetry=telemetry.NATIVE_TELEMETRY_OFF,
    )
    docs_ui.install(app)

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(errors.DomainError)
    async def on_domain_error(request: Request, exc: errors.DomainError) -> JSONResponse:
        return problem_response(request, problem_for(exc))

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(request, Problem(422, "Unprocessable Content", detail, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {
            400: "Bad Request",
            404: "Not Found",
            405: "Method Not Allowed",
            401: "Unauthorized",
            403: "Forbidden",
            413: "Content Too Large",
            415: "Unsupported Media Type",
        }
        return problem_response(
            request,
            Problem(
                exc.status_code,
                titles.get(exc.status_code, "Error"),
                str(exc.detail),
                headers=dict(exc.headers or {}),
            ),
        )

    @app.exception_handler(asyncpg.exceptions.DataError)
    @app.exception_handler(UnicodeEncodeError)
    async def on_unstorable(request: Request, exc: Exception) -> JSONResponse:
        # A value the validators let through but Postgres refuses (a character it cannot store, a
        # number out of its range). Its message quotes the value, which may be personal data:
        # neither the answer nor the log repeats it.
        log.warning("value refused by the database", error_type=type(exc).__name__)
        return problem_response(
            request,
            Problem(
                422, "Unprocessable Content", "a value contains characters or numbers that cannot be stored"
            ),
        )

    @app.exception_handler(asyncpg.exceptions.DeadlockDetectedError)
    @app.exception_handler(asyncpg.exceptions.SerializationError)
    async def on_contention(request: Request, exc: Exception) -> JSONResponse:
        log.warning("concurrent update refused; client asked to retry", error_type=type(exc).__name__)
        return problem_response(
            request,
            Problem(
                503,
                "Service Unavailable",
                "a concurrent change got in the way; retry",
                headers={"Retry-After": "1"},
            ),
        )

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["operations"], summary="Ready to serve: the required checks pass")
    async def readyz() -> JSONResponse:
        checks = dict(await readiness())
        needed = list(required) if required is not None else list(checks)
        ok = all(checks.get(name, False) for name in needed)
        status = "ready" if ok else "not ready"
        body: dict[str, Any] = {"status": status, "checks": checks, "required": needed}
        for name, passed in checks.items():
            if name not in needed:
                body[name] = "reachable" if passed else "unreachable"
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    telemetry.instrument_app(app, _QUIET_ROUTES)
    app.add_middleware(_BodyLimit, max_bytes=max_body_bytes, path_limits=body_limits)
    app.add_middleware(_RequestContext)  # added last: the outermost, around the body limit too
    install_openapi(app)  # the document says what the handlers above really answer
    return app
