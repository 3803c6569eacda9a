"""The FastAPI app every service starts from: errors as RFC 9457 ``application/problem+json``,
request ids, a body-size limit, health, readiness and Prometheus metrics.

No error answer ever carries a stack trace; an unexpected exception is logged with the request id
and answered with a bare 500 problem that quotes that id.
"""

from __future__ import annotations

import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import errors, metrics
from shared.logging import get_logger
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
    """Refuse oversize bodies with 413 before the app parses them (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
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
                await self._refuse(scope, send)
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

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = (
            b'{"type":"about:blank","title":"Content Too Large","status":413,'
            b'"detail":"request body exceeds ' + str(self.max_bytes).encode() + b' bytes"}'
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


class _RequestContext:
    """Request id, access log and HTTP metrics for every request.

    A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
    ``BaseHTTPMiddleware`` runs the app in a separate task and streams the answer through
    memory channels, which cost more CPU than the work of a small write (measured on the comment
    path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        if not request_id or len(request_id) > 128:
            request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            method = scope["method"]
            elapsed = time.perf_counter() - started
            metrics.HTTP_REQUESTS.labels(method, path, str(status)).inc()
            metrics.HTTP_DURATION.labels(method, path).observe(elapsed)
            if path not in _QUIET_ROUTES:
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
) -> FastAPI:
    """``required`` names the readiness checks that decide readiness (all of them when None);
    the others are reported only, as ``"<name>": "reachable" | "unreachable"`` too."""
    app = FastAPI(title=title, description=description, version=version)

    app.add_middleware(_RequestContext)

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

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Frames only: an exception's message may quote request data (personal data included).
        log.error(
            "unhandled error",
            error_type=type(exc).__name__,
            stack="".join(traceback.format_tb(exc.__traceback__)),
        )
        return problem_response(
            request,
            Problem(
                500,
                "Internal Server Error",
                "an unexpected error occurred; quote the request_id when reporting it",
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

    # One span per request; per-chunk send/receive spans cost more than they tell.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls="healthz,readyz,metrics", exclude_spans=["send", "receive"]
    )
    app.add_middleware(_BodyLimit, max_bytes=max_body_bytes)
    install_openapi(app)  # the document says what the handlers above really answer
    return app
