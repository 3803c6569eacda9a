"""The multi-stakeholder forum (OGP co-creation standards 1 and 5) against the real Postgres and
Kafka: the HTTP API with every refusal, the events it publishes, and the overdue timer's
exactly-once emission (again, concurrently, and per gap)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from aiokafka import ConsumerRecord

from services.consultation import timers
from services.consultation.api_forum import router as forum_router
from services.consultation.domain.forum import forum_meeting_due
from services.consultation.queries import forum as forum_queries
from services.consultation.settings import ConsultationSettings
from services.consultation.store import ConsultationUnitOfWork, PgConsultationUnitOfWork
from services.consultation.use_cases import forum
from shared.auth import Principal
from shared.events import topics
from shared.events.consultation import MeetingPhase, Sector
from shared.kafka import TopicSpec
from shared.runtime import Runtime, ServiceSpec
from tests.conftest import Env, running, token
from tests.helpers import assert_problem, header, read_topic

# The service's own SPEC also mounts routers still being written; the forum needs only its own.
FORUM_SPEC = ServiceSpec(
    name="consultation",
    title="Sharaka consultation (forum)",
    description="The multi-stakeholder forum alone, for its tests.",
    migrations=Path(__file__).resolve().parents[2] / "services" / "consultation" / "migrations",
    routers=[forum_router],
    uow=PgConsultationUnitOfWork,
    produces=[TopicSpec(topics.CONSULTATION)],
)

STAFF = token("staff")
STAFF_WHO = Principal(subject="ogp-staff", roles=frozenset({"staff"}), member_ids=frozenset())
ESTABLISHED = "ogp.consultation.forum_established.v1"
HELD = "ogp.consultation.forum_meeting_held.v1"
OVERDUE = "ogp.consultation.forum_meeting_overdue.v1"


@pytest.fixture
async def rt(env: Env) -> AsyncIterator[Runtime]:
    settings = env.settings(ConsultationSettings, "consultation", timers_enabled=False, timers_batch_size=2)
    async with running(FORUM_SPEC, settings) as runtime:
        yield runtime


def forum_body(member_id: UUID, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "member_id": str(member_id),
        "name": "Jordan OGP Multi-stakeholder Forum",
        "rules_url": "https://ogp.gov.jo/forum/rules",
        "rules_summary": "Half the seats are civil society; decisions by consensus.",
        "established_on": "2025-01-15",
    }
    body.update(over)
    return body


def meeting_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "held_on": "2025-03-10",
        "phase": "co_creation",
        "agenda": "Prioritise the ideas of the first round",
        "minutes_url": "https://ogp.gov.jo/forum/minutes/2025-03-10",
        "attendance": {"government": 6, "civil_society": 7, "academia": 1},
    }
    body.update(over)
    return body


async def new_forum(api: httpx.AsyncClient, member_id: UUID | None = None, **over: Any) -> dict[str, Any]:
    r = await api.post("/v1/forums", json=forum_body(member_id or uuid4(), **over), headers=STAFF)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def events_of(
    env: Env, wanted: dict[str, int], timeout: float = 20.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """The consultation topic's records once it holds at least ``wanted`` records of each type."""

    def enough(records: list[ConsumerRecord[bytes, bytes]]) -> bool:
        types = [header(r, "ce_type") for r in records]
        return all(types.count(t) >= n for t, n in wanted.items())

    records = await read_topic(
        env.kafka.bootstrap, env.topic(topics.CONSULTATION), until=enough, timeout=timeout
    )
    assert enough(records), [header(r, "ce_type") for r in records]
    return records


# --- the forum -------------------------------------------------------------------------------


async def test_create_forum_who_may_and_the_public_view(api: httpx.AsyncClient, env: Env) -> None:
    member, other = uuid4(), uuid4()
    body = forum_body(member)
    assert_problem(await api.post("/v1/forums", json=body), 401)
    assert_problem(await api.post("/v1/forums", json=body, headers=token("participant")), 403)
    # A government point of contact acts for its own member only.
    elsewhere = token("government", sub="poc-other", member_ids=[str(other)])
    assert_problem(await api.post("/v1/forums", json=body, headers=elsewhere), 403)

    own = token("government", sub="lina.haddad@gov.jo", member_ids=[str(member)])
    r = await api.post("/v1/forums", json=body, headers=own)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["member_id"] == str(member) and created["rules_url"] == body["rules_url"]
    assert created["meetings"] == 0 and created["last_meeting_on"] is None
    assert created["next_meeting_due"] == "2025-07-15"
    assert "created_by" not in created and "lina.haddad" not in r.text

    dup = assert_problem(
        await api.post("/v1/forums", json=forum_body(member, name="Another"), headers=STAFF), 409
    )
    assert dup["rule"] == "forum_exists"

    by_id = (await api.get(f"/v1/forums/{created['id']}")).json()  # public: no token
    by_member = (await api.get(f"/v1/members/{member}/forum")).json()
    assert by_id == by_member
    assert by_id["seats"] == [] and by_id["seats_by_sector"] == {s.value: 0 for s in Sector}
    # Established in January 2025 and never met: long overdue on any day this test runs.
    assert by_id["overdue"] is True
    assert by_id["compliance"] == {
        "has_government": False, "has_civil_society": False,
        "rules_public": True, "meets_every_six_months": False,
    }  # fmt: skip
    assert_problem(await api.get(f"/v1/forums/{uuid4()}"), 404)
    assert_problem(await api.get(f"/v1/members/{other}/forum"), 404)
    assert_problem(await api.get("/v1/forums/not-a-uuid"), 422, "path.forum_id")

    records = await events_of(env, {ESTABLISHED: 1})
    [event] = [json.loads(r.value) for r in records if header(r, "ce_type") == ESTABLISHED]
    assert event == {
        "forum_id": created["id"], "member_id": str(member), "name": body["name"],
        "rules_url": body["rules_url"], "established_on": "2025-01-15",
    }  # fmt: skip
    [record] = [r for r in records if header(r, "ce_type") == ESTABLISHED]
    assert record.key == str(member).encode()  # forum events are ordered per member


async def test_forum_input_is_validated_field_by_field(api: httpx.AsyncClient) -> None:
    member = uuid4()
    for field, value in [
        ("rules_url", "not a url"),
        ("rules_url", "ftp://ogp.gov.jo/rules"),
        ("rules_url", "javascript:alert(1)"),
        ("name", ""),
        ("name", "x" * 301),
        ("name", "Forum\x00"),
        ("rules_summary", ""),
        ("established_on", "2025-02-30"),
        ("member_id", "jordan"),
    ]:
        r = await api.post("/v1/forums", json={**forum_body(member), field: value}, headers=STAFF)
        assert_problem(r, 422, field)
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    assert_problem(await api.post("/v1/forums", json=forum_body(member, established_on=future), headers=STAFF),
                   422, "established_on")  # fmt: skip
    assert_problem(await api.post("/v1/forums", json=forum_body(member, chair="Lina Haddad"), headers=STAFF),
                   422, "chair")  # fmt: skip
    assert_problem(await api.post("/v1/forums", content=b"{", headers=STAFF | {"content-type": "application/json"}),
                   422)  # fmt: skip


# --- seats -----------------------------------------------------------------------------------


async def test_seats_make_the_composition_and_compliance(api: httpx.AsyncClient) -> None:
    member = uuid4()
    f = await new_forum(api, member)
    seats = f"/v1/forums/{f['id']}/members"
    own = token("government", member_ids=[str(member)])
    r = await api.post(seats, json={"organisation": "Ministry of Planning", "sector": "government",
                                    "joined_on": "2025-01-15"}, headers=own)  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["left_on"] is None and r.json()["forum_id"] == f["id"]
    r = await api.post(seats, json={"organisation": "Rasheed for Integrity", "sector": "civil_society",
                                    "joined_on": "2025-01-15"}, headers=STAFF)  # fmt: skip
    assert r.status_code == 201, r.text
    cso = r.json()["id"]
    r = await api.post(seats, json={"organisation": "University of Jordan", "sector": "academia",
                                    "joined_on": "2025-02-01"}, headers=STAFF)  # fmt: skip
    assert r.status_code == 201, r.text

    view = (await api.get(f"/v1/forums/{f['id']}")).json()
    assert [(s["organisation"], s["sector"]) for s in view["seats"]] == [
        ("University of Jordan", "academia"),
        ("Rasheed for Integrity", "civil_society"),
        ("Ministry of Planning", "government"),
    ]
    assert view["seats_by_sector"] == {"government": 1, "civil_society": 1, "academia": 1,
                                       "private_sector": 0, "other": 0}  # fmt: skip
    assert view["compliance"]["has_government"] and view["compliance"]["has_civil_society"]

    # The same organisation twice, however it is typed, is one seat.
    for name in ("Rasheed for Integrity", "  rasheed  FOR integrity "):
        dup = assert_problem(await api.post(seats, json={"organisation": name, "sector": "other",
                                                         "joined_on": "2025-03-01"}, headers=STAFF), 409)  # fmt: skip
        assert dup["rule"] == "seat_exists"
    elsewhere = token("government", member_ids=[str(uuid4())])
    assert_problem(await api.post(seats, json={"organisation": "X", "sector": "other", "joined_on": "2025-03-01"},
                                  headers=elsewhere), 403)  # fmt: skip
    assert_problem(
        await api.post(seats, json={"organisation": "X", "sector": "other", "joined_on": "2025-03-01"}), 401
    )
    assert_problem(await api.post(seats, json={"organisation": "X", "sector": "media", "joined_on": "2025-03-01"},
                                  headers=STAFF), 422, "sector")  # fmt: skip
    assert_problem(await api.post(f"/v1/forums/{uuid4()}/members", json={"organisation": "X", "sector": "other",
                                  "joined_on": "2025-03-01"}, headers=STAFF), 404)  # fmt: skip

    # Leaving: not before joining, not twice on different days; the same request again is harmless.
    leave = f"{seats}/{cso}/leave"
    assert_problem(await api.post(leave, json={"left_on": "2025-01-14"}, headers=STAFF), 422, "left_on")
    r = await api.post(leave, json={"left_on": "2025-06-30"}, headers=own)
    assert r.status_code == 200, r.text
    assert r.json()["left_on"] == "2025-06-30"
    assert (await api.post(leave, json={"left_on": "2025-06-30"}, headers=own)).status_code == 200
    assert (
        assert_problem(await api.post(leave, json={"left_on": "2025-07-01"}, headers=own), 409)["rule"]
        == "seat_left"
    )
    assert_problem(
        await api.post(f"{seats}/{uuid4()}/leave", json={"left_on": "2025-06-30"}, headers=STAFF), 404
    )
    assert_problem(await api.post(leave, json={"left_on": "2025-06-30"}, headers=elsewhere), 403)

    view = (await api.get(f"/v1/members/{member}/forum")).json()
    assert "Rasheed for Integrity" not in [s["organisation"] for s in view["seats"]]
    assert view["seats_by_sector"]["civil_society"] == 0
    assert view["compliance"]["has_civil_society"] is False  # standard 1 needs civil society seated

    # An organisation that left may come back: a new seat, the old one kept in the record.
    back = await api.post(seats, json={"organisation": "Rasheed for Integrity", "sector": "civil_society",
                                       "joined_on": "2025-09-01"}, headers=own)  # fmt: skip
    assert back.status_code == 201, back.text
    assert back.json()["id"] != cso
    view = (await api.get(f"/v1/members/{member}/forum")).json()
    assert view["compliance"]["has_civil_society"] is True


# --- meetings --------------------------------------------------------------------------------


async def test_meeting_is_recorded_and_published_without_personal_data(
    api: httpx.AsyncClient, rt: Runtime, env: Env
) -> None:
    member = uuid4()
    plan = uuid4()
    f = await new_forum(api, member)
    meetings = f"/v1/forums/{f['id']}/meetings"
    own = token("government", sub="lina.haddad@gov.jo", member_ids=[str(member)])
    r = await api.post(meetings, json=meeting_body(plan_id=str(plan)), headers=own)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["attendance"] == {"government": 6, "civil_society": 7, "academia": 1}
    for held_on in ("2025-06-01", "2025-11-20"):
        r = await api.post(meetings, json=meeting_body(held_on=held_on, phase="implementation", plan_id=str(plan)),
                           headers=STAFF)  # fmt: skip
        assert r.status_code == 201, r.text
    r = await api.post(meetings, json=meeting_body(held_on="2025-12-01", phase="other", plan_id=None,
                                                   minutes_url=None), headers=STAFF)  # fmt: skip
    assert r.status_code == 201, r.text

    listed = (await api.get(meetings)).json()  # public
    assert [m["held_on"] for m in listed["meetings"]] == [
        "2025-12-01",
        "2025-11-20",
        "2025-06-01",
        "2025-03-10",
    ]
    assert listed["counts"] == {"total": 4, "implementation": 2}
    assert listed.get("implementation_meetings_required") is None
    of_plan = (await api.get(meetings, params={"plan_id": str(plan)})).json()
    assert of_plan["counts"] == {"total": 3, "implementation": 2}
    assert of_plan["implementation_meetings_required"] == 2
    assert all(m["plan_id"] == str(plan) for m in of_plan["meetings"])
    page = (await api.get(meetings, params={"limit": 1, "offset": 1})).json()
    assert [m["held_on"] for m in page["meetings"]] == ["2025-11-20"] and page["counts"]["total"] == 4
    assert_problem(await api.get(meetings, params={"limit": 0}), 422, "query.limit")
    assert_problem(await api.get(f"/v1/forums/{uuid4()}/meetings"), 404)
    assert "lina.haddad" not in str(listed)

    view = (await api.get(f"/v1/forums/{f['id']}")).json()
    assert view["meetings"] == 4 and view["last_meeting_on"] == "2025-12-01"
    assert view["next_meeting_due"] == "2026-06-01"

    async with rt.pool.acquire() as conn:
        assert await forum_queries.meeting_counts(conn, plan) == (3, 2)
        assert await forum_queries.meeting_counts(conn, uuid4()) == (0, 0)

    records = await events_of(env, {HELD: 4})
    held = [r for r in records if header(r, "ce_type") == HELD]
    assert {r.key for r in held} == {str(member).encode()}
    event = json.loads(held[0].value)
    assert event == {
        "meeting_id": first["id"], "forum_id": f["id"], "member_id": str(member),
        "held_on": "2025-03-10", "phase": "co_creation", "plan_id": str(plan),
        "agenda": "Prioritise the ideas of the first round",
        "minutes_url": "https://ogp.gov.jo/forum/minutes/2025-03-10",
        "attendance": {"government": 6, "civil_society": 7, "academia": 1},
    }  # fmt: skip
    assert all(
        b"lina.haddad" not in r.value and b"lina.haddad" not in bytes(str(r.headers), "utf8") for r in held
    )


async def test_meeting_input_is_refused_field_by_field(api: httpx.AsyncClient, rt: Runtime) -> None:
    member = uuid4()
    f = await new_forum(api, member)
    meetings = f"/v1/forums/{f['id']}/meetings"
    # The latest date anywhere on Earth is at most one day after UTC's; two days on is the future.
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert_problem(await api.post(meetings, json=meeting_body(held_on=future), headers=STAFF), 422, "held_on")
    bad_count = meeting_body(attendance={"government": 3, "civil_society": -1})
    assert_problem(await api.post(meetings, json=bad_count, headers=STAFF), 422, "attendance.civil_society")
    nobody = meeting_body(attendance={"government": 0, "civil_society": 0})
    assert_problem(await api.post(meetings, json=nobody, headers=STAFF), 422, "attendance")
    assert_problem(
        await api.post(meetings, json=meeting_body(attendance={}), headers=STAFF), 422, "attendance"
    )
    names = meeting_body(attendance={"Lina Haddad": 1})  # attendance is counted by sector, not named
    assert_problem(await api.post(meetings, json=names, headers=STAFF), 422)
    for url in ("minutes.pdf", "ftp://ogp.gov.jo/m.pdf", "https://" + "a" * 2100 + ".org"):
        assert_problem(
            await api.post(meetings, json=meeting_body(minutes_url=url), headers=STAFF), 422, "minutes_url"
        )
    assert_problem(await api.post(meetings, json=meeting_body(phase="planning"), headers=STAFF), 422, "phase")
    assert_problem(await api.post(meetings, json=meeting_body(agenda=""), headers=STAFF), 422, "agenda")
    assert_problem(
        await api.post(meetings, json=meeting_body(agenda="Budget\x00"), headers=STAFF), 422, "agenda"
    )
    assert_problem(
        await api.post(meetings, json=meeting_body(attendees=["Lina"]), headers=STAFF), 422, "attendees"
    )
    before = meeting_body(held_on="2025-01-14")  # the forum was established on 15 January 2025
    assert_problem(await api.post(meetings, json=before, headers=STAFF), 422, "held_on")
    # A plan known here as another member's is not this forum's business.
    other_plan = uuid4()
    await rt.pool.execute(
        "INSERT INTO co_creation_spaces (plan_id, member_id, state) VALUES ($1, $2, 'open')",
        other_plan,
        uuid4(),
    )
    assert_problem(await api.post(meetings, json=meeting_body(plan_id=str(other_plan)), headers=STAFF),
                   422, "plan_id")  # fmt: skip
    elsewhere = token("government", member_ids=[str(uuid4())])
    assert_problem(await api.post(meetings, json=meeting_body(), headers=elsewhere), 403)
    assert_problem(await api.post(meetings, json=meeting_body()), 401)
    assert_problem(await api.post(f"/v1/forums/{uuid4()}/meetings", json=meeting_body(), headers=STAFF), 404)
    assert (await api.get(meetings)).json()["counts"]["total"] == 0  # nothing was recorded
    # Today (UTC) is never the future, wherever the forum sits.
    today = datetime.now(UTC).date().isoformat()
    assert (await api.post(meetings, json=meeting_body(held_on=today), headers=STAFF)).status_code == 201


# --- the overdue timer -------------------------------------------------------------------------


async def overdue_rows(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """The ForumMeetingOverdue events in the outbox (relayed or not), oldest first."""
    rows = await pool.fetch("SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id", OVERDUE)
    return [json.loads(r["payload"]) for r in rows]


async def make_forum(rt: Runtime, established_on: date) -> dict[str, Any]:
    cmd = forum.CreateForum(STAFF_WHO, uuid4(), "Forum", "https://ogp.example/rules", None, established_on)
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        return asdict(await forum.create_forum(uow, cmd))


async def meet(rt: Runtime, forum_id: UUID, held_on: date) -> None:
    cmd = forum.RecordMeeting(
        STAFF_WHO, forum_id, held_on, MeetingPhase.IMPLEMENTATION, None, "Implementation review", None,
        {Sector.GOVERNMENT: 2, Sector.CIVIL_SOCIETY: 3},
    )  # fmt: skip
    uow: ConsultationUnitOfWork
    async with rt.uow() as uow:
        await forum.record_meeting(uow, cmd)


async def test_overdue_is_emitted_once_per_gap(rt: Runtime, env: Env) -> None:
    settings = rt.settings
    assert isinstance(settings, ConsultationSettings)
    pool = rt.pool
    f = await make_forum(rt, date(2025, 1, 15))
    due = date(2025, 7, 15)
    assert await timers.emit_forum_overdue(rt, due, settings) == 0  # the due day itself is allowed
    assert await timers.emit_forum_overdue(rt, date(2025, 8, 15), settings) == 1
    assert await timers.emit_forum_overdue(rt, date(2025, 8, 15), settings) == 0
    assert await timers.emit_forum_overdue(rt, date(2025, 12, 1), settings) == 0  # the same gap, later
    [event] = await overdue_rows(pool)
    assert event["forum_id"] == str(f["id"]) and event["member_id"] == str(f["member_id"])
    assert event["last_meeting_on"] is None
    assert (event["since"], event["due_on"]) == ("2025-01-15", "2025-07-15")
    emitted = await pool.fetch("SELECT kind, occurrence FROM timer_emissions")
    assert [(r["kind"], r["occurrence"]) for r in emitted] == [
        ("forum_meeting_overdue", f"{f['id']}:2025-01-15")
    ]

    # A meeting ends the gap; seven months without another is a new gap, a new occurrence.
    await meet(rt, f["id"], date(2025, 9, 1))
    assert await timers.emit_forum_overdue(rt, date(2026, 3, 1), settings) == 0  # due 2026-03-01
    assert await timers.emit_forum_overdue(rt, date(2026, 4, 1), settings) == 1
    assert await timers.emit_forum_overdue(rt, date(2026, 4, 1), settings) == 0
    second = (await overdue_rows(pool))[1]
    assert (second["last_meeting_on"], second["since"], second["due_on"]) == (
        "2025-09-01",
        "2025-09-01",
        "2026-03-01",
    )

    records = await events_of(env, {OVERDUE: 2})
    overdue = [r for r in records if header(r, "ce_type") == OVERDUE]
    assert len(overdue) == 2 and {r.key for r in overdue} == {str(f["member_id"]).encode()}


async def test_overdue_month_end_clamps_like_the_domain(rt: Runtime) -> None:
    settings = rt.settings
    assert isinstance(settings, ConsultationSettings)
    f = await make_forum(rt, date(2025, 8, 31))
    assert forum_meeting_due(None, date(2025, 8, 31)) == date(2026, 2, 28)
    assert await timers.emit_forum_overdue(rt, date(2026, 2, 28), settings) == 0
    assert await timers.emit_forum_overdue(rt, date(2026, 3, 1), settings) == 1
    [event] = await overdue_rows(rt.pool)
    assert event["forum_id"] == str(f["id"]) and event["due_on"] == "2026-02-28"
    # Postgres' date arithmetic and the domain's agree on every day of two years (leap years too).
    days = [date(2027, 1, 1) + timedelta(days=i) for i in range(731)]
    rows = await rt.pool.fetch(
        "SELECT d, (d + make_interval(months => 6))::date AS due FROM unnest($1::date[]) AS t(d)", days
    )
    assert all(r["due"] == forum_meeting_due(None, r["d"]) for r in rows)


async def test_overdue_concurrent_callers_emit_once(rt: Runtime) -> None:
    settings = rt.settings
    assert isinstance(settings, ConsultationSettings)
    forums = [await make_forum(rt, date(2025, 1, 15)) for _ in range(5)]
    today = date(2025, 8, 15)
    counts = await asyncio.gather(*(timers.emit_forum_overdue(rt, today, settings) for _ in range(3)))
    assert sum(counts) == 5, counts  # five forums, each once (in batches of two)
    assert await timers.emit_forum_overdue(rt, today, settings) == 0
    events = await overdue_rows(rt.pool)
    assert sorted(e["forum_id"] for e in events) == sorted(str(f["id"]) for f in forums)


async def test_overdue_stops_between_batches_and_skips_forums_that_meet(rt: Runtime) -> None:
    settings = rt.settings
    assert isinstance(settings, ConsultationSettings)
    assert settings.timers_batch_size == 2
    quiet = [await make_forum(rt, date(2025, 1, 15)) for _ in range(3)]
    active = await make_forum(rt, date(2025, 1, 15))
    await meet(rt, active["id"], date(2025, 6, 1))
    today = date(2025, 8, 15)
    assert await timers.emit_forum_overdue(rt, today, settings, lambda: False) == 0
    calls = 0

    def once() -> bool:
        nonlocal calls
        calls += 1
        return calls == 1

    assert await timers.emit_forum_overdue(rt, today, settings, once) == 2  # one batch, then stop
    assert await timers.emit_forum_overdue(rt, today, settings) == 1
    events = await overdue_rows(rt.pool)
    assert sorted(e["forum_id"] for e in events) == sorted(str(f["id"]) for f in quiet)
