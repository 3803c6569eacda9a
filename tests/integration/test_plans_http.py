"""The plans HTTP API against the real database: the happy path and every rejection path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from shared.runtime import Runtime
from tests.conftest import Env, running, token
from tests.helpers import assert_problem, ok

STAFF = token("staff")


@pytest.fixture
async def rt(env: Env) -> AsyncIterator[Runtime]:
    async with running(PLANS, env.settings(PlansSettings, "plans", http_max_body_bytes=20_000)) as runtime:
        yield runtime


def plan_body(member_id: str, **over: Any) -> dict[str, Any]:
    body = {
        "member_id": member_id, "title": "Third national action plan",
        "start_date": "2025-01-01", "end_date": "2027-01-01",
        "point_of_contact": {"name": "Lina Haddad", "email": "lina@example.org", "language": "ar"},
    }  # fmt: skip
    body.update(over)
    return body


async def member(api: httpx.AsyncClient) -> str:
    r = await api.post("/v1/members", json={"name": "Jordan", "kind": "national", "country_code": "JO"},
                       headers=STAFF)  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_happy_path_and_public_reads_hide_contact_details(api: httpx.AsyncClient) -> None:
    mid = await member(api)
    r = await api.post("/v1/plans", json=plan_body(mid), headers=STAFF)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["state"] == "draft"
    pid = plan["id"]
    for target in ("co_creation",):
        assert (await api.post(f"/v1/plans/{pid}/transitions", json={"to": target},
                               headers=STAFF)).status_code == 200  # fmt: skip
    r = await api.post(f"/v1/plans/{pid}/commitments", json={"title": "Open budgets"}, headers=STAFF)
    assert r.status_code == 201 and r.json()["number"] == 1
    r = await api.post(f"/v1/plans/{pid}/transitions", json={"to": "submitted"}, headers=STAFF)
    assert r.json()["state"] == "submitted" and r.json()["submitted_at"]
    public = await api.get(f"/v1/plans/{pid}")  # anonymous
    assert public.status_code == 200
    assert "lina@example.org" not in public.text and "Lina" not in public.text


async def test_invalid_fields_are_named(api: httpx.AsyncClient) -> None:
    mid = await member(api)
    r = await api.post("/v1/plans", json=plan_body(mid, start_date="not-a-date"), headers=STAFF)
    assert_problem(r, 422, "start_date")
    r = await api.post("/v1/plans", json=plan_body(mid, end_date="2024-01-01"), headers=STAFF)
    assert_problem(r, 422, "end_date")
    bad_contact = plan_body(mid, point_of_contact={"name": "X", "email": "nope"})
    assert_problem(await api.post("/v1/plans", json=bad_contact, headers=STAFF), 422,
                   "point_of_contact.email")  # fmt: skip
    r = await api.post("/v1/members", json={"name": "X", "kind": "galactic"}, headers=STAFF)
    assert_problem(r, 422, "kind")
    r = await api.post("/v1/plans", json=plan_body(str(uuid4())), headers=STAFF)
    assert_problem(r, 422, "member_id")
    r = await api.post("/v1/plans", content=b"{broken", headers={**STAFF, "content-type": "application/json"})
    assert_problem(r, 422)
    r = await api.post("/v1/plans", json={**plan_body(mid), "surprise": 1}, headers=STAFF)
    assert_problem(r, 422, "surprise")


async def test_missing_or_invalid_token_is_401(api: httpx.AsyncClient) -> None:
    body = {"name": "X", "kind": "local"}
    r = await api.post("/v1/members", json=body)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await api.post("/v1/members", json=body, headers={"Authorization": "Bearer garbage"})
    assert_problem(r, 401)
    r = await api.post("/v1/members", json=body, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(r, 401)


async def test_wrong_role_or_other_member_is_403(api: httpx.AsyncClient) -> None:
    mid = await member(api)
    r = await api.post("/v1/members", json={"name": "X", "kind": "local"}, headers=token("participant"))
    assert_problem(r, 403)
    r = await api.post("/v1/members", json={"name": "X", "kind": "local"}, headers=token("government"))
    assert_problem(r, 403)
    other_member = token("government", member_ids=[str(uuid4())])
    assert_problem(await api.post("/v1/plans", json=plan_body(mid), headers=other_member), 403)
    own = token("government", member_ids=[mid])
    assert (await api.post("/v1/plans", json=plan_body(mid), headers=own)).status_code == 201


async def test_forbidden_transition_is_409_naming_the_rule(api: httpx.AsyncClient) -> None:
    mid = await member(api)
    pid = ok(await api.post("/v1/plans", json=plan_body(mid), headers=STAFF))["id"]
    r = await api.post(f"/v1/plans/{pid}/transitions", json={"to": "implementing"}, headers=STAFF)
    assert assert_problem(r, 409)["rule"] == "plan.transition_not_allowed"
    ok(await api.post(f"/v1/plans/{pid}/transitions", json={"to": "co_creation"}, headers=STAFF))
    r = await api.post(f"/v1/plans/{pid}/transitions", json={"to": "submitted"}, headers=STAFF)
    assert assert_problem(r, 409)["rule"] == "plan.submit_without_commitments"
    r = await api.post(f"/v1/plans/{pid}/transitions", json={"to": "paused"}, headers=STAFF)
    assert_problem(r, 422, "to")


async def test_unknown_things_are_404_and_oversize_is_413(api: httpx.AsyncClient) -> None:
    assert_problem(await api.get(f"/v1/plans/{uuid4()}"), 404)
    assert_problem(await api.get("/v1/plans/not-a-uuid"), 422, "path.plan_id")
    assert_problem(await api.get("/v1/nowhere"), 404)
    huge = {"name": "x" * 30_000, "kind": "local"}
    assert_problem(await api.post("/v1/members", json=huge, headers=STAFF), 413)


async def test_operations_endpoints(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json()["status"] == "ok"
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"postgres": True, "migrations": True, "kafka": True}
    metrics = await api.get("/metrics")
    assert "sharaka_outbox_backlog" in metrics.text
    r = await api.get("/healthz", headers={"x-request-id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    missing = await api.get(f"/v1/members/{uuid4()}", headers={"x-request-id": "req-404"})
    assert missing.headers["x-request-id"] == "req-404" and missing.json()["request_id"] == "req-404"
    assert (
        'sharaka_http_requests_total{method="GET",route="/v1/members/{member_id}",status="404"}'
        in (await api.get("/metrics")).text
    )
    assert (await api.get("/openapi.json")).json()["info"]["title"] == "Sharaka plans"


async def test_a_streamed_oversize_body_is_413_too(api: httpx.AsyncClient) -> None:
    async def chunks():  # no Content-Length: the limit must count what arrives
        for _ in range(30):
            yield b'{"name": "' + b"x" * 1000

    r = await api.post("/v1/members", content=chunks(), headers={**STAFF, "content-type": "application/json"})
    assert_problem(r, 413)
