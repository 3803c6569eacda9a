"""Every write route of every service, called by every role, against the table in ``authorization.toml``.

The routes come from the service's own OpenAPI document: a new write route without a row in the
table fails, and so does a row whose route is gone. Each route is called by each role on real
resources of one member (created first, through the service's API or, for what another service
owns, through its events on Kafka), so "a government acting for its own member" and "for
another member" are both really tried, as are the assigned and an unassigned IRM researcher.

"Denied" means 401 without a token and 403 with one; "allowed" means anything else (a 404, 409
or 422 got past authorization). Every mismatch is listed at the end, not just the first.
"""

from __future__ import annotations

import importlib
import re
import time
import tomllib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from services.consultation.settings import ConsultationSettings
from services.irm.settings import IrmSettings
from services.notifications.settings import NotificationsSettings
from services.plans.settings import PlansSettings
from shared.auth import person_id
from shared.events import topics
from shared.events.plans import CommitmentAdded, PlanCreated, PlanSubmitted
from shared.runtime import Runtime
from tests.conftest import Env, client, running, token
from tests.helpers import as_record, eventually, produce
from tests.security.conftest import MATRIX

TABLE = Path(__file__).with_name("authorization.toml")
ROLES = (
    "none",
    "participant",
    "government_own",
    "government_other",
    "irm",
    "researcher_own",
    "researcher_other",
    "moderator",
    "service",
    "staff",
)
WRITES = ("post", "put", "patch", "delete")
PARTICIPANT_SUB = "matrix-participant"


@dataclass
class World:
    """The member the government_own token acts for, another member, and real resource ids."""

    own_member: str
    other_member: str = field(default_factory=lambda: str(uuid4()))
    ids: dict[str, str] = field(default_factory=dict)

    def tokens(self) -> dict[str, dict[str, str]]:
        return {
            "none": {},
            "participant": token("participant", sub=PARTICIPANT_SUB),
            "government_own": token("government", sub="matrix-gov-own", member_ids=[self.own_member]),
            "government_other": token("government", sub="matrix-gov-other", member_ids=[self.other_member]),
            "irm": token("irm", sub="matrix-irm"),
            "researcher_own": token("researcher", sub="matrix-res-own"),
            "researcher_other": token("researcher", sub="matrix-res-other"),
            "moderator": token("moderator", sub="matrix-moderator"),
            "service": token("service", sub="matrix-service"),
            "staff": token("staff", sub="matrix-staff"),
        }


STAFF = token("staff", sub="matrix-staff")
IRM = token("irm", sub="matrix-irm")


async def ok(r: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, (
        f"set-up {r.request.method} {r.request.url.path}: {r.status_code} {r.text}"
    )
    body: dict[str, Any] = r.json()
    return body


# --- the world of each service ------------------------------------------------------------------


async def plans_world(_env: Env, _rt: Runtime, api: httpx.AsyncClient) -> World:
    async def member(name: str) -> str:
        body = {"name": name, "kind": "national", "country_code": "JO"}
        return str((await ok(await api.post("/v1/members", json=body, headers=STAFF)))["id"])

    world = World(await member("Ownland"), await member("Otherland"))
    contact = {"name": "Lina Haddad", "email": "lina@example.org", "language": "ar"}
    plan = {"member_id": world.own_member, "title": "Own plan", "start_date": "2025-01-01",
            "end_date": "2027-01-01", "point_of_contact": contact}  # fmt: skip
    pid = (await ok(await api.post("/v1/plans", json=plan, headers=STAFF)))["id"]
    cid = (await ok(await api.post(f"/v1/plans/{pid}/commitments", json={"title": "C1"}, headers=STAFF)))[
        "id"
    ]
    mid = (
        await ok(await api.post(f"/v1/commitments/{cid}/milestones", json={"title": "M1"}, headers=STAFF))
    )["id"]
    world.ids.update(
        member_id=world.own_member, plan_id=pid, commitment_id=cid, milestone_id=mid, year="2025"
    )
    return world


async def consultation_world(env: Env, rt: Runtime, api: httpx.AsyncClient) -> World:
    """The member's plan as the plans service announces it, two open rounds (one to cancel), an
    input by the participant, the member's forum with one seat."""
    world = World(str(uuid4()))
    plan_id, now = uuid4(), datetime.now(UTC)
    created = PlanCreated(plan_id=plan_id, member_id=world.own_member, title="Own plan", start_date=now.date(),
                          end_date=(now + timedelta(days=730)).date(), point_of_contact_id=uuid4(), created_at=now)  # fmt: skip
    added = CommitmentAdded(plan_id=plan_id, commitment_id=uuid4(), member_id=world.own_member, number=1,
                            title="C1", added_at=now)  # fmt: skip
    await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(created), as_record(added)])

    async def space() -> bool:
        return bool(
            await rt.pool.fetchval("SELECT count(*) FROM commitment_spaces WHERE plan_id = $1", plan_id)
        )

    await eventually(space)
    window = {
        "opens_at": (now - timedelta(seconds=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
    }
    rounds = [
        (
            await ok(
                await api.post(
                    f"/v1/plans/{plan_id}/rounds",
                    json={"kind": kind, "title": "Ideas", **window},
                    headers=STAFF,
                )
            )
        )["id"]  # fmt: skip
        for kind in ("ideas", "draft_plan")
    ]

    async def opened() -> bool:
        states = [(await ok(await api.get(f"/v1/rounds/{r}"), 200))["state"] for r in rounds]
        return states == ["open", "open"]

    await eventually(opened)
    participant = token("participant", sub=PARTICIPANT_SUB)
    submitted = await api.post(
        f"/v1/rounds/{rounds[0]}/submissions", json={"body": "First idea"}, headers=participant
    )
    forum = {"member_id": world.own_member, "name": "Own forum", "rules_url": "https://ogp.example.org/rules",
             "established_on": "2025-01-01"}  # fmt: skip
    forum_id = (await ok(await api.post("/v1/forums", json=forum, headers=STAFF)))["id"]
    seat = {"organisation": "Watchdog", "sector": "civil_society", "joined_on": "2025-01-02"}
    seat_id = (await ok(await api.post(f"/v1/forums/{forum_id}/members", json=seat, headers=STAFF)))["id"]
    world.ids.update(
        plan_id=str(plan_id), round_id=rounds[0], spare_round_id=rounds[1], input_id=(await ok(submitted))["id"],
        forum_id=forum_id, seat_id=seat_id, opens_at=window["opens_at"], closes_at=window["closes_at"],
        own_member=world.own_member,
    )  # fmt: skip
    return world


async def irm_world(env: Env, _rt: Runtime, api: httpx.AsyncClient) -> World:
    """The member's Action Plan Review (from the plans event), assigned to researcher_own, in
    pre-publication, with one comment of the member's government."""
    world = World(str(uuid4()))
    plan_id = uuid4()
    submitted = PlanSubmitted(
        plan_id=plan_id, member_id=world.own_member, title="Own plan", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=3, point_of_contact_id=uuid4(),
        submitted_at=datetime(2025, 1, 10, 9, tzinfo=UTC),
    )  # fmt: skip
    await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(submitted)])

    async def review() -> str | None:
        rows = await ok(await api.get("/v1/reviews", params={"plan_id": str(plan_id)}), 200)
        return next((str(x["id"]) for x in rows if x["kind"] == "action_plan_review"), None)  # type: ignore[attr-defined]

    rid = await eventually(review)
    for sub in ("matrix-res-own", "matrix-res-other"):
        researcher = await ok(
            await api.post("/v1/researchers", json={"subject": sub, "name": sub}, headers=IRM)
        )
        if sub == "matrix-res-own":
            await ok(await api.post(f"/v1/reviews/{rid}/assignment", json={"researcher_id": researcher["id"]},
                                    headers=IRM), 200)  # fmt: skip
    await ok(await api.post(f"/v1/reviews/{rid}/draft", json={"draft_url": "https://irm.example.org/d.pdf"},
                            headers=IRM), 200)  # fmt: skip
    await ok(await api.post(f"/v1/reviews/{rid}/steps", json={"to": "pre_publication"}, headers=IRM), 200)
    gov = world.tokens()["government_own"]
    comment = await ok(await api.post(f"/v1/reviews/{rid}/comments", json={"text": "On track"}, headers=gov))
    world.ids.update(review_id=rid, comment_id=comment["id"], commitment_id=str(uuid4()))
    return world


async def notifications_world(_env: Env, _rt: Runtime, api: httpx.AsyncClient) -> World:
    """The participant as a recipient with a profile and one subscription."""
    world = World(str(uuid4()))
    me = token("participant", sub=PARTICIPANT_SUB)
    rid = str(person_id(PARTICIPANT_SUB))
    profile = {"name": "Matrix Person", "email": "matrix@example.org"}
    await ok(await api.put(f"/v1/recipients/{rid}/preferences", json=profile, headers=me), 200)
    follow = {"scope_type": "member", "scope_id": world.own_member}
    sub = await api.post(f"/v1/recipients/{rid}/subscriptions", json=follow, headers=me)
    assert sub.status_code in (200, 201), sub.text
    world.ids.update(recipient_id=rid, subscription_id=sub.json()["id"], own_member=world.own_member)
    return world


SERVICES: dict[str, tuple[Any, Callable[[Env, Runtime, httpx.AsyncClient], Awaitable[World]]]] = {
    "plans": (lambda env: env.settings(PlansSettings, "plans"), plans_world),
    "consultation": (lambda env: env.settings(ConsultationSettings, "consultation"), consultation_world),
    "irm": (lambda env: env.settings(IrmSettings, "irm", timers_today=date(2025, 2, 1)), irm_world),
    "notifications": (lambda env: env.settings(NotificationsSettings, "notifications"), notifications_world),
}


# --- the matrix -----------------------------------------------------------------------------------


def _fill(value: Any, ids: dict[str, str]) -> Any:
    """``"{name}"`` placeholders replaced by the world's ids (in strings, lists and tables)."""
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], value)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def write_routes(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": op
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in WRITES
    }


def request_for(route: str, row: dict[str, Any], op: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    method, path = route.split(" ", 1)
    params = {**ids, **_fill(row.get("path", {}), ids)}
    url = re.sub(r"\{(\w+)\}", lambda m: params.get(m.group(1), str(uuid4())), path)
    out: dict[str, Any] = {"method": method, "url": url}
    if "raw" in row:
        out["content"] = row["raw"].encode()
        out["headers"] = {"content-type": row["content_type"]}
    elif "body" in row or "requestBody" in op:
        out["json"] = _fill(row.get("body", {}), ids)
    return out


def expected(role: str, row: dict[str, Any]) -> int | None:
    """None when ``role`` is allowed, else the status that denies it."""
    allowed = row["allowed"]
    if "*" in allowed or role in allowed:
        return None
    return int(row.get("none_status", 401)) if role == "none" else 403


def test_the_table_names_only_known_roles() -> None:
    table = tomllib.loads(TABLE.read_text())
    unknown = {
        f"{service} {route}: {role}"
        for service, rows in table.items()
        for route, row in rows.items()
        for role in row["allowed"]
        if role != "*" and role not in ROLES
    }
    assert not unknown, unknown


@pytest.mark.parametrize("service", list(SERVICES))
async def test_every_write_route_refuses_every_role_it_should(env: Env, service: str) -> None:
    rows: dict[str, dict[str, Any]] = tomllib.loads(TABLE.read_text()).get(service, {})
    make_settings, make_world = SERVICES[service]
    spec = importlib.import_module(f"services.{service}.service").SPEC
    started = time.monotonic()
    async with running(spec, make_settings(env)) as rt, client(rt) as api:
        routes = write_routes(rt.app.openapi())
        missing = sorted(set(routes) - set(rows))
        stale = sorted(set(rows) - set(routes))
        assert not missing, f"write routes of {service} without a row in {TABLE.name}: {missing}"
        assert not stale, f"rows of {TABLE.name} for routes {service} no longer has: {stale}"
        world = await make_world(env, rt, api)
        tokens = world.tokens()
        mismatches: list[str] = []
        counts: Counter[str] = Counter()
        for route, row in rows.items():  # the table's order: later rows may rely on earlier writes
            order = sorted(ROLES, key=lambda role: expected(role, row) is None)  # denied first
            for role in order:
                request = request_for(
                    route, row, routes[route], {"own_member": world.own_member, **world.ids}
                )
                request["headers"] = {**request.get("headers", {}), **tokens[role]}
                r = await api.request(**request)
                counts["cells"] += 1
                want = expected(role, row)
                if want is None and r.status_code in (401, 403):
                    mismatches.append(
                        f"{route} as {role}: expected allowed, got {r.status_code} {r.text[:200]}"
                    )
                elif want is not None and r.status_code != want:
                    mismatches.append(
                        f"{route} as {role}: expected {want}, got {r.status_code} {r.text[:200]}"
                    )
                if r.status_code >= 500:
                    mismatches.append(f"{route} as {role}: {r.status_code} {r.text[:200]}")
        counts["routes"] = len(rows)
        counts["roles"] = len(ROLES)
        counts["denied"] = sum(
            1 for row in rows.values() for role in ROLES if expected(role, row) is not None
        )
    MATRIX[service] = counts
    took = time.monotonic() - started
    assert not mismatches, (
        f"{service} ({took:.0f}s): {len(mismatches)} of {counts['cells']} cells differ:\n"
        + "\n".join(mismatches)
    )
