"""The HTTP layer every service shares (``shared.http.create_app``), hardened: an unexpected error
leaks no personal data to any log line, answers a problem with its request id and never reaches the
server; every answer carries the security headers; the metric labels are bounded; ``/docs`` loads
only files pinned by Subresource Integrity.

A real app made by ``create_app`` with a few routes of its own, called in-process; the logs are the
real JSON lines of ``shared.logging``, captured from the root handler."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from prometheus_client import REGISTRY
from pydantic import BaseModel

from shared.http import create_app
from shared.logging import configure_logging

# Built from parts, so that no source line quoted in a traceback holds them whole.
EMAIL = "ana.haddad" + "@" + "example.org"
PHONE = "+216 71 " + "123 456"
PHONE_DIGITS = "21671123456"


class Body(BaseModel):
    name: str


async def _ready() -> dict[str, bool]:
    return {}


def _app() -> FastAPI:
    app = create_app(
        service="hardening", title="Hardening", description="test", version="1", readiness=_ready,
        max_body_bytes=1_000,
    )  # fmt: skip

    @app.get("/v1/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.post("/v1/items")
    async def create(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/v1/page")
    async def page() -> HTMLResponse:
        return HTMLResponse('<form method="post" action="/v1/page"><button>Go</button></form>')

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError(f"cannot reach {EMAIL} or {PHONE}")

    @app.post("/v1/db")
    async def db() -> None:
        # What asyncpg raises for a NOT NULL column given null: its str() carries the DETAIL line.
        raise asyncpg.exceptions.NotNullViolationError.new(
            {
                "S": "ERROR", "C": "23502",
                "M": 'null value in column "policy_areas" of relation "commitments" violates not-null constraint',
                "D": f"Failing row contains (1, {EMAIL}, {PHONE}, null).",
            }
        )  # fmt: skip

    return app


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """The service's JSON log lines, at INFO, as the deployed process writes them."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("hardening", "INFO")
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions: an exception that escaped the app would fail the request here, as it
    # reaches uvicorn (which logs it, message and all) in a deployed service.
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    out = []
    for line in buffer.getvalue().splitlines():
        out.append(json.loads(line))  # every line is JSON: none is dropped unread
    return out


def _no_personal_data(text: str) -> None:
    digits = re.sub(r"\D", "", text)
    assert EMAIL not in text and "example.org" not in text, text
    assert PHONE not in text and PHONE_DIGITS not in digits, text
    assert "Failing row" not in text and "DETAIL" not in text, text


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/boom"), ("POST", "/v1/db")])
async def test_unexpected_error_logs_no_personal_data_and_answers_with_the_request_id(
    api: httpx.AsyncClient, logs: io.StringIO, method: str, path: str
) -> None:
    r = await api.request(method, path, headers={"x-request-id": "req-500-a"})
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["x-request-id"] == "req-500-a"
    body = r.json()
    assert body["status"] == 500 and body["request_id"] == "req-500-a"
    _no_personal_data(r.text)
    assert "Traceback" not in r.text and "null value" not in r.text
    lines = _lines(logs)
    _no_personal_data(logs.getvalue())
    errors = [line for line in lines if line.get("event") == "unhandled error"]
    assert len(errors) == 1, lines
    error = errors[0]
    assert error["request_id"] == "req-500-a" and error["level"] == "error"
    assert error["error_type"] in ("RuntimeError", "NotNullViolationError")
    assert path.rsplit("/", 1)[1] in error["stack"]  # the frames are there: where it went wrong
    assert not any("Exception in ASGI application" in str(line.get("event")) for line in lines)


async def test_log_lines_of_other_code_are_scrubbed_too(logs: io.StringIO) -> None:
    """A library logging an asyncpg error (its str() has the DETAIL) or an exception with
    ``exc_info``: neither the row nor the message reaches the line."""
    err = asyncpg.exceptions.UniqueViolationError.new(
        {"S": "ERROR", "C": "23505", "M": "duplicate key", "D": f"Key (email)=({EMAIL}) already exists."}
    )
    logging.getLogger("somelib").warning("write failed: %s", err)
    try:
        raise ValueError(f"bad phone {PHONE}")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    logging.getLogger("somelib").warning("broker %s unreachable", "10.244.12.134:9092")
    _no_personal_data(logs.getvalue())
    # By event, not by position: a service of an earlier test of the session may still log.
    lines = {str(line["event"]).split(":")[0]: line for line in _lines(logs)}
    assert lines["write failed"]["event"] == "write failed: duplicate key"
    crash = lines["Exception in ASGI application"]
    assert crash["error_type"] == "ValueError" and "test_http_hardening.py" in crash["exception"]
    assert "broker 10.244.12.134" in lines  # a machine's address is kept


_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def _assert_security_headers(r: httpx.Response, *, cache: str = "no-store") -> None:
    for name, value in _HEADERS.items():
        assert r.headers.get(name) == value, (r.request.url, name, r.headers)
    assert r.headers.get("x-request-id"), r.headers
    assert r.headers.get("cache-control") == cache, (r.request.url, r.headers)
    csp = r.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, csp


async def test_security_headers_on_every_kind_of_answer(api: httpx.AsyncClient) -> None:
    bearer = {"Authorization": "Bearer x"}
    ok = await api.get("/v1/items/7", headers=bearer)
    assert ok.status_code == 200
    _assert_security_headers(ok)  # an authenticated answer: never stored
    assert ok.headers["content-security-policy"].startswith("default-src 'none'")
    public = await api.get("/v1/items/7")
    assert public.status_code == 200
    _assert_security_headers(public, cache="no-cache")  # public data: stored, revalidated
    created = await api.post("/v1/items", json={"name": "x"}, headers=bearer)
    assert created.status_code == 200
    _assert_security_headers(created)
    page = await api.get("/v1/page")  # a plain page: its own form may post back, nothing else
    _assert_security_headers(page, cache="no-cache")
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for r in (
        await api.get("/v1/nothing-here"),
        await api.get("/v1/items/not-a-number", headers=bearer),
        await api.post("/v1/items", json={"name": None}),
        await api.post("/v1/items", content=b"x" * 2_000, headers={"content-type": "application/json"}),
        await api.get("/v1/boom"),
    ):
        assert r.status_code in (404, 413, 422, 500), r.text
        _assert_security_headers(r)
        assert r.headers["content-type"].startswith("application/problem+json"), r.headers


async def test_docs_pin_swagger_ui_with_integrity_and_a_csp_for_exactly_it(api: httpx.AsyncClient) -> None:
    r = await api.get("/docs")
    assert r.status_code == 200
    for name, value in _HEADERS.items():
        assert r.headers[name] == value
    scripts = re.findall(r"<script[^>]*>", r.text)
    assert len(scripts) == 2, scripts  # the pinned bundle and the page's own start-up file
    external = [s for s in scripts if "https://" in s]
    assert len(external) == 1
    styles = re.findall(r"<link[^>]*stylesheet[^>]*>", r.text)
    for tag in [*external, *styles]:
        assert re.search(r'integrity="sha384-[A-Za-z0-9+/]{64}"', tag), tag
        assert 'crossorigin="anonymous"' in tag
        assert re.search(r"swagger-ui-dist@\d+\.\d+\.\d+/", tag), tag  # an exact version
    assert "<script>" not in r.text  # no inline script: the CSP needs no 'unsafe-inline'
    csp = r.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    src = re.search(r'src="https://[^"]+"', external[0])
    assert src and src.group(0)[5:-1] in csp  # that very file, not the whole CDN
    init = await api.get("/docs/init.js")
    assert init.status_code == 200 and "SwaggerUIBundle" in init.text
    assert init.headers["content-type"].startswith("text/javascript")
    assert (await api.get("/redoc")).status_code == 404  # FastAPI's floating redoc@2 page is gone


def _count(method: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "sharaka_http_requests_total", {"method": method, "route": route, "status": status}
    )
    return value or 0.0


async def test_metric_labels_are_bounded(api: httpx.AsyncClient) -> None:
    before_other = _count("other", "/v1/items/{item_id}", "405")
    before_item = _count("GET", "/v1/items/{item_id}", "200")
    r = await api.request("PROPFIND", "/v1/items/1")
    assert r.status_code == 405
    assert _count("other", "/v1/items/{item_id}", "405") == before_other + 1
    assert _count("PROPFIND", "/v1/items/{item_id}", "405") == 0
    for n in (1, 2, 3):
        assert (await api.get(f"/v1/items/{n}")).status_code == 200
    assert _count("GET", "/v1/items/{item_id}", "200") == before_item + 3
    assert _count("GET", "/v1/items/2", "200") == 0  # the template, never the raw path
    before = _count("GET", "unmatched", "404")
    assert (await api.get("/v1/made-up/path-12345")).status_code == 404
    assert _count("GET", "unmatched", "404") == before + 1


async def test_request_logs_carry_the_callers_trace_without_an_exporter(
    api: httpx.AsyncClient, logs: io.StringIO
) -> None:
    """Without an exporter no span is recorded, yet each request's log line names its trace: the
    caller's when it sent a ``traceparent``, a new one otherwise."""
    from shared.telemetry import configure_telemetry, exporting

    configure_telemetry("hardening")
    assert not exporting()
    trace_id, parent_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    headers = {"traceparent": f"00-{trace_id}-{parent_span}-01", "x-request-id": "traced-1"}
    assert (await api.get("/v1/items/1", headers=headers)).status_code == 200
    assert (await api.get("/v1/items/2", headers={"x-request-id": "traced-2"})).status_code == 200
    lines = {line.get("request_id"): line for line in _lines(logs) if line.get("event") == "http request"}
    assert lines["traced-1"]["trace_id"] == trace_id
    assert re.fullmatch(r"[0-9a-f]{16}", lines["traced-1"]["span_id"])
    assert lines["traced-1"]["span_id"] != parent_span  # the server's own span, a child
    assert re.fullmatch(r"[0-9a-f]{32}", lines["traced-2"]["trace_id"])
    assert lines["traced-2"]["trace_id"] != trace_id
