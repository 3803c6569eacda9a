"""The consultation's personal-data paths against the real Postgres and Kafka: an author's contact
left to hear of the response (private topic only, never read back, refused field by field), its
erasure (rows gone, a tombstone per input, an audit row, applied once), and the "closing soon"
announcement (once per round, across a restart, and on a written-out clock)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import ConsumerRecord

from devstack.services import ServiceProcess
from services.consultation import timers
from services.consultation.service import SPEC
from shared.events import topics
from shared.events.plans import CommitmentAdded, PlanCreated
from shared.events.privacy import ErasureRequested, digest
from shared.runtime import Runtime
from tests import privacy
from tests.conftest import Env, client, running
from tests.helpers import as_record, assert_problem, eventually, header, produce, read_topic
from tests.integration.test_consultation import (
    GOV,
    MEMBER,
    MODERATOR,
    consultation_events,
    of_type,
    open_round,
    person,
    seed_plan,
    settings,
    window,
)

CONTACT_TYPE = "sharaka.consultation.author_contact_registered.v1"
SALMA = {"name": "Salma", "email": "Salma.BenAli@Example.TN", "phone": "+216 71 123 456", "language": "fr"}
#: What must never appear in a public answer or event once Salma left her contact.
SECRETS = ("salma.benali", "example.tn", "71 123 456", "21671123456")


@pytest.fixture
async def svc(env: Env) -> AsyncIterator[Runtime]:
    async with running(SPEC, settings(env)) as rt:
        yield rt


async def contact_records(env: Env, until: int, timeout: float = 10.0) -> list[ConsumerRecord[bytes, bytes]]:
    return await read_topic(
        env.kafka.bootstrap, env.topic(topics.CONSULTATION_CONTACTS), until=lambda rs: len(rs) >= until,
        timeout=timeout,
    )  # fmt: skip


async def post(
    http: httpx.AsyncClient, rid: str, kind: str, who: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    return await http.post(f"/v1/rounds/{rid}/{kind}", headers=who, json=body)


# --- opting in -----------------------------------------------------------------------------------


async def test_a_contact_goes_to_the_private_topic_only(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]
        sid = (await post(http, rid, "submissions", person(1), {"body": "Open budgets"})).json()["id"]
        r = await post(http, rid, "comments", person("salma"),
                       {"body": "Agreed", "parent_id": sid, "display_name": "S.", "notify": SALMA})  # fmt: skip
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        assert not any(s in r.text.lower() for s in SECRETS)
        r = await post(http, rid, "submissions", person(2),
                       {"body": "Open contracts", "language": "ar", "notify": {"phone": "+33 6 12 34 56 78"}})  # fmt: skip
        assert r.status_code == 201, r.text
        other = r.json()["id"]
        await http.post(f"/v1/rounds/{rid}/responses", headers=GOV,
                        json={"input_ids": [cid], "decision": "accepted", "rationale": "Yes"})  # fmt: skip
        answers = [
            (await http.get(f"/v1/rounds/{rid}/inputs")).text,
            (await http.get(f"/v1/inputs/{cid}")).text,
            (await http.get(f"/v1/inputs/{sid}/replies")).text,
            (await http.get(f"/v1/moderation/inputs/{cid}", headers=MODERATOR)).text,
            (await http.get("/v1/moderation/queue", headers=MODERATOR)).text,
            (await http.get(f"/v1/rounds/{rid}/response-table.json")).text,
            (await http.get(f"/v1/rounds/{rid}/response-table.csv")).text,
            (await http.get(f"/v1/rounds/{rid}/responses")).text,
            (await http.get(f"/v1/rounds/{rid}/participation")).text,
        ]

    records = await contact_records(env, until=2)
    assert len(records) == 2
    by_key = {r.key.decode(): r for r in records if r.key is not None}
    assert set(by_key) == {cid, other}
    assert {header(r, "ce_type") for r in records} == {CONTACT_TYPE}
    salma = json.loads(by_key[cid].value)
    assert salma | {"input_id": None} == {
        "input_id": None, "round_id": rid, "plan_id": str(plan_id), "name": "Salma",
        "email": "salma.benali@example.tn", "phone": "+21671123456", "language": "fr",
    }  # fmt: skip
    assert json.loads(by_key[other].value)["name"] == ""
    assert json.loads(by_key[other].value)["language"] == "ar"
    assert json.loads(by_key[other].value)["phone"] == "+33612345678"
    stored = await svc.pool.fetch("SELECT input_id, email, phone FROM author_contacts ORDER BY created_at")
    assert [(str(r["input_id"]), r["email"], r["phone"]) for r in stored] == [
        (cid, "salma.benali@example.tn", "+21671123456"), (other, None, "+33612345678"),
    ]  # fmt: skip

    events = await consultation_events(env, until=7)
    assert of_type(events, "comment_added") and not [e for e in events if e["type"] == CONTACT_TYPE]
    for text in answers + [e["raw"] for e in events]:
        assert not any(s in text.lower() for s in SECRETS), text
        assert "33612345678" not in text and "+33 6" not in text


async def test_an_unusable_contact_is_a_422_naming_the_field(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]
        cases = [
            ({"email": "salma(at)example.tn"}, ["notify.email"]),
            ({"phone": "71 123 456"}, ["notify.phone"]),
            ({"phone": "+216 1"}, ["notify.phone"]),
            ({"email": "salma@example.org", "language": "de"}, ["notify.language"]),
            ({"name": "Salma"}, ["notify"]),
            ({"email": "bad", "phone": "bad", "language": "xx"}, ["notify.email", "notify.phone", "notify.language"]),
            ({"email": "salma@example.org", "fax": "+21671123456"}, ["notify.fax"]),
            ({"email": "salma@example.org", "name": "bell \u0007"}, ["notify.name"]),
            ({"email": "a" * 400 + "@example.org"}, ["notify.email"]),
        ]  # fmt: skip
        for kind in ("comments", "submissions"):
            for n, (notify, fields) in enumerate(cases):
                r = await post(http, rid, kind, person(3), {"body": f"{kind} {n}", "notify": notify})
                body = assert_problem(r, 422)
                assert [e["field"] for e in body["errors"]] == fields, body
                assert "salma(at)" not in r.text and "71 123 456" not in r.text
        assert await svc.pool.fetchval("SELECT count(*) FROM inputs") == 0
        assert await svc.pool.fetchval("SELECT count(*) FROM author_contacts") == 0
        # The author may post at once: refusals were not counted against their window.
        ok = await post(
            http, rid, "comments", person(3), {"body": "fine", "notify": {"email": "s@example.org"}}
        )
        assert ok.status_code == 201, ok.text


# --- erasure -------------------------------------------------------------------------------------


async def test_an_erasure_deletes_tombstones_and_audits_once(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]
        mine = [
            (await post(http, rid, "submissions", person("salma"), {"body": "one", "notify": SALMA})).json()[
                "id"
            ],
            (
                await post(
                    http,
                    rid,
                    "comments",
                    person("salma"),
                    {"body": "two", "notify": {"phone": SALMA["phone"]}},
                )
            ).json()["id"],  # fmt: skip
        ]
        theirs = (
            await post(
                http, rid, "comments", person(2), {"body": "three", "notify": {"email": "karim@example.org"}}
            )
        ).json()["id"]
    await contact_records(env, until=3)

    erasure = ErasureRequested(
        erasure_id=uuid4(), email_sha256=digest(" salma.benali@example.tn "), phone_sha256=digest("+21671123456"),
        requested_at=datetime.now(UTC),
    )  # fmt: skip
    first = as_record(erasure, service="notifications")
    await produce(env.kafka.bootstrap, env.topic(topics.ERASURES), [first])

    async def audited() -> Any:
        return await svc.pool.fetchrow("SELECT contacts_erased, applied_at FROM erasures WHERE erasure_id = $1",
                                       erasure.erasure_id)  # fmt: skip

    audit = await eventually(audited)
    assert audit["contacts_erased"] == 2
    left = await svc.pool.fetch("SELECT input_id FROM author_contacts")
    assert [str(r["input_id"]) for r in left] == [theirs]
    assert await svc.pool.fetchval("SELECT count(*) FROM inputs") == 3  # the inputs stay
    columns = await svc.pool.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'erasures' ORDER BY ordinal_position"
    )
    assert [c["column_name"] for c in columns] == ["erasure_id", "contacts_erased", "applied_at"]

    records = await contact_records(env, until=5)
    tombstones = [r for r in records if r.value is None]
    assert sorted(r.key.decode() for r in tombstones if r.key) == sorted(mine)
    assert len(records) == 5

    # The same request again: the same record (the inbox) and a new event with the same erasure
    # id (the use case). Nothing changes and no tombstone is added.
    again = ErasureRequested(**erasure.model_dump())
    second = as_record(again, service="notifications")
    await produce(env.kafka.bootstrap, env.topic(topics.ERASURES), [first, second])
    second_id = UUID(dict(second[2])["ce_id"].decode())

    async def handled() -> bool:
        return bool(await svc.pool.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", second_id))

    await eventually(handled)
    assert (await audited())["applied_at"] == audit["applied_at"]
    assert await svc.pool.fetchval("SELECT count(*) FROM erasures") == 1
    await asyncio.sleep(1.5)  # deliberate: an outbox row would be relayed within this time
    assert len(await contact_records(env, until=6, timeout=2)) == 5


# --- closing soon --------------------------------------------------------------------------------


async def test_closing_soon_is_announced_once_across_a_restart(env: Env) -> None:
    cfg = settings(env)
    async with running(SPEC, cfg) as rt, client(rt) as http:
        plan_id, _ = await seed_plan(env, rt)
        soon = (await open_round(http, plan_id, **window(-1, 3600)))["id"]
        later = (await open_round(http, plan_id, **window(-1, 5 * 86400)))["id"]

        async def is_announced() -> Any:
            return await rt.pool.fetchval("SELECT closing_soon_at FROM rounds WHERE id = $1", UUID(soon))

        await eventually(is_announced, timeout=10)
    async with running(SPEC, cfg) as rt:
        await asyncio.sleep(1.5)  # deliberate: several timer passes (0.3 s apart) after the restart

    # co_creation_opened, then scheduled and opened for each round, then one announcement.
    records = await read_topic(env.kafka.bootstrap, env.topic(topics.CONSULTATION), timeout=3)
    announced = [
        r for r in records if header(r, "ce_type") == "ogp.consultation.consultation_closing_soon.v1"
    ]
    assert len(records) == 6 and len(announced) == 1
    [record] = announced
    event = json.loads(record.value)
    assert record.key == str(plan_id).encode()
    assert (event["round_id"], event["plan_id"], event["days_left"]) == (soon, str(plan_id), 1)
    assert event["title"] == "Ideas for the plan" and event["member_id"]
    assert later != event["round_id"]


async def test_closing_soon_on_a_written_out_clock(env: Env) -> None:
    """Rounds closing in 2030, announced by the timer's own step with the clock it is given
    (the running service's passes, on today's clock, leave them alone); concurrent callers
    announce each round once."""
    async with running(SPEC, settings(env)) as rt:
        plan_id, _ = await seed_plan(env, rt)
        closes = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)
        ids = []
        for hours, state in ((0, "open"), (1, "open"), (0, "scheduled"), (48, "open")):
            rid = uuid4()
            await rt.pool.execute(
                """INSERT INTO rounds (id, plan_id, member_id, kind, title, opens_at, closes_at, scheduled_at,
                                       notice_days, short_notice, state, created_by)
                   VALUES ($1, $2, $3, 'ideas', 'Ideas', $4, $5, $4, 14, false, $6, 'test')""",
                rid, plan_id, uuid4(), closes - timedelta(days=20), closes + timedelta(hours=hours), state,
            )  # fmt: skip
            ids.append(rid)
        before = datetime(2030, 3, 8, 11, 59, tzinfo=UTC)
        assert await timers.announce_closing_soon(rt, 10, 2, now=before) == 0
        at = datetime(2030, 3, 8, 12, 0, tzinfo=UTC)
        counts = await asyncio.gather(*(timers.announce_closing_soon(rt, 10, 2, now=at) for _ in range(3)))
        assert sum(counts) == 1
        assert await timers.announce_closing_soon(rt, 10, 2, now=at + timedelta(hours=1)) == 1
        assert (
            await timers.announce_closing_soon(rt, 10, 2, now=datetime(2030, 3, 10, 11, 0, tzinfo=UTC)) == 0
        )
        rows = await rt.pool.fetch("SELECT id, closing_soon_at FROM rounds WHERE id = ANY($1::uuid[])", ids)
        got = {r["id"]: r["closing_soon_at"] for r in rows}
        assert [got[i] for i in ids] == [at, at + timedelta(hours=1), None, None]

    events = await consultation_events(env, until=4, timeout=5)
    soon = of_type(events, "consultation_closing_soon")
    assert [(e["round_id"], e["days_left"], e["closes_at"]) for e in soon] == [
        (str(ids[0]), 2, "2030-03-10T12:00:00Z"), (str(ids[1]), 2, "2030-03-10T13:00:00Z"),
    ]  # fmt: skip


# --- the privacy audit: the service as deployed, its INFO log and every topic -------------------

#: Several people, contact details in the forms people type them. Their names must not travel
#: either (the display name an author chooses for an input is public by design; these are not it).
PEOPLE = [
    {"name": "Amina Trabelsi", "email": "Amina.Trabelsi@Example.TN", "phone": "+216 98 765 432", "language": "ar"},
    {"name": "Karim Haddad", "email": "karim.haddad+ogp@example.org", "language": "en"},
    {"name": "Nadia Mwangi", "phone": "+254 712 345 678", "language": "en"},
    {"name": "Jean-Luc Moreau", "email": "jl.moreau@example.fr", "phone": "+33 6 12 34 56 78", "language": "fr"},
]  # fmt: skip
NAMES = [p["name"] for p in PEOPLE]


async def test_privacy_audit_of_the_consultation_process_log_and_every_topic(
    env: Env, tmp_path: Path
) -> None:
    """The consultation as a process at INFO level: contacts left with inputs, personal data typed
    in a body and in request headers, an erasure. Then the scanner reads the whole log and every
    record (key, value, headers) of every topic of the run: no e-mail address or phone number
    anywhere but the private contacts topic, where the scanner does find them (so it is known to
    see them), and no contact's name outside it either."""
    proc = ServiceProcess(
        "consultation",
        env.env_vars("CONSULTATION_", "consultation", log_level="INFO", timers_interval_s=0.3,
                     public_base_url="https://ogp.example.org"),
        tmp_path,
    )  # fmt: skip
    plan_id = uuid4()
    commitment_id = uuid4()
    now = datetime.now(UTC)
    try:
        proc.start()
        await proc.wait_ready()
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(e) for e in (
            PlanCreated(plan_id=plan_id, member_id=MEMBER, title="Plan 2026-2028", start_date=now.date(),
                        end_date=(now + timedelta(days=730)).date(), point_of_contact_id=uuid4(), created_at=now),
            CommitmentAdded(plan_id=plan_id, commitment_id=commitment_id, member_id=MEMBER, number=1,
                            title="Commitment 1", added_at=now),
        )])  # fmt: skip
        async with httpx.AsyncClient(base_url=proc.base_url, timeout=10) as http:

            async def space_ready() -> bool:
                r = await http.get(f"/v1/plans/{plan_id}/co-creation")
                return r.status_code == 200 and bool(r.json()["commitments"])

            await eventually(space_ready)
            rid = (await open_round(http, plan_id))["id"]
            ids = []
            for n, contact in enumerate(PEOPLE):
                r = await post(http, rid, "submissions", person(f"audit-{n}"),
                               {"body": f"Idea {n}: open budgets for every county", "notify": contact})  # fmt: skip
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
            # Personal data typed where it does not belong: the service masks it or keeps it out.
            typed = await http.post(
                f"/v1/rounds/{rid}/comments",
                headers=person("audit-x") | {"x-request-id": "leila@example.org",
                                             "user-agent": "Leila +216 22 333 444"},
                json={"body": "Write to leila.ben@example.org or call 06 12 34 56 78", "parent_id": ids[0],
                      "links": ["https://example.org/contact?mail=leila.ben@example.org&tel=+21622333444"]},
            )  # fmt: skip
            assert typed.status_code == 201, typed.text
            assert (
                await http.get(f"/v1/rounds/{rid}/inputs", params={"q": "amina@example.tn"})
            ).status_code == 200
            r = await http.post(f"/v1/rounds/{rid}/responses", headers=GOV,
                                json={"input_ids": ids, "decision": "accepted",
                                      "rationale": "Agreed; questions to desk@example.tn or +216 71 000 111"})  # fmt: skip
            assert r.status_code == 201, r.text
        erasure = ErasureRequested(erasure_id=uuid4(), email_sha256=digest("amina.trabelsi@example.tn"),
                                   phone_sha256=digest("+21698765432"), requested_at=datetime.now(UTC))  # fmt: skip
        await produce(
            env.kafka.bootstrap, env.topic(topics.ERASURES), [as_record(erasure, service="notifications")]
        )
        # The contacts (4) and the erasure's tombstone reached the private topic: all is on Kafka.
        await contact_records(env, until=5, timeout=20)
    finally:
        proc.ensure_stopped()

    log = proc.log_path.read_text()
    assert '"level": "info"' in log  # INFO lines were written, so the scan reads them
    assert privacy.scan_logs([proc.log_path]) == []
    for name in NAMES:
        assert name not in log

    names = await privacy.topics_with_prefix(env.kafka.bootstrap, env.prefix)
    assert {
        env.topic(topics.CONSULTATION),
        env.topic(topics.CONSULTATION_CONTACTS),
        env.topic(topics.ERASURES),
    } <= set(names)
    scan = await privacy.scan_topics(env.kafka.bootstrap, names)
    assert scan.records[env.topic(topics.CONSULTATION)] > 0
    assert scan.public(env.prefix) == [], "\n".join(map(str, scan.public(env.prefix)))
    found = {f.value for f in scan.private(env.prefix)}
    assert {
        "amina.trabelsi@example.tn",
        "karim.haddad+ogp@example.org",
        "+254712345678",
        "+33612345678",
    } <= found
    for record in await read_topic(env.kafka.bootstrap, env.topic(topics.CONSULTATION), timeout=2):
        text = (record.value or b"").decode() + (record.key or b"").decode() + repr(record.headers)
        assert not any(name in text for name in NAMES), text
