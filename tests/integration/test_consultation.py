"""The consultation service against the real Postgres and Kafka: rounds run by timers across a
restart, inputs and their refusals, moderation visibility, reasoned responses and coverage, the
participation report, and the absence of personal data from events and public answers."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import ConsumerRecord

from services.consultation.service import SPEC
from services.consultation.settings import ConsultationSettings
from shared.events import topics
from shared.events.plans import CommitmentAdded, PlanCreated, PlanSubmitted
from shared.runtime import Runtime
from tests.conftest import Env, client, running, token
from tests.helpers import (
    as_record,
    assert_problem,
    eventually,
    header,
    leader_passes,
    ok,
    produce,
    read_topic,
)

MEMBER = uuid4()
STAFF = token("staff", sub="staff-1")
GOV = token("government", sub="gov-1", member_ids=[str(MEMBER)])
OTHER_GOV = token("government", sub="gov-2", member_ids=[str(uuid4())])
MODERATOR = token("moderator", sub="mod-1")


def person(n: int | str) -> dict[str, str]:
    return token("participant", sub=f"person-{n}")


def settings(env: Env, **overrides: Any) -> ConsultationSettings:
    values: dict[str, Any] = {
        "timers_interval_s": 0.3,
        "timers_lock_retry_s": 0.2,
        "public_base_url": "https://ogp.example.org",
    }
    values.update(overrides)
    return env.settings(ConsultationSettings, "consultation", **values)  # type: ignore[no-any-return]


@pytest.fixture
async def svc(env: Env) -> AsyncIterator[Runtime]:
    async with running(SPEC, settings(env)) as rt:
        yield rt


async def seed_plan(env: Env, rt: Runtime, *, commitments: int = 1) -> tuple[UUID, list[UUID]]:
    """A plan and its commitments as the plans service announces them, through Kafka."""
    plan_id = uuid4()
    now = datetime.now(UTC)
    events = [
        PlanCreated(plan_id=plan_id, member_id=MEMBER, title="Plan 2026-2028", start_date=now.date(),
                    end_date=(now + timedelta(days=730)).date(), point_of_contact_id=uuid4(), created_at=now)
    ]  # fmt: skip
    ids = [uuid4() for _ in range(commitments)]
    for n, cid in enumerate(ids, 1):
        events.append(CommitmentAdded(plan_id=plan_id, commitment_id=cid, member_id=MEMBER, number=n,
                                      title=f"Commitment {n}", added_at=now))  # fmt: skip
    await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(e) for e in events])

    async def ready() -> bool:
        return (
            await rt.pool.fetchval("SELECT count(*) FROM commitment_spaces WHERE plan_id = $1", plan_id)
            == commitments
        )

    await eventually(ready)
    return plan_id, ids


def window(opens_in_s: float = -1, lasts_s: float = 3600) -> dict[str, str]:
    opens = datetime.now(UTC) + timedelta(seconds=opens_in_s)
    return {"opens_at": opens.isoformat(), "closes_at": (opens + timedelta(seconds=lasts_s)).isoformat()}


async def open_round(http: httpx.AsyncClient, plan_id: UUID, **body: Any) -> dict[str, Any]:
    r = await http.post(f"/v1/plans/{plan_id}/rounds", headers=GOV,
                        json={"kind": "ideas", "title": "Ideas for the plan", **window(), **body})  # fmt: skip
    assert r.status_code == 201, r.text
    rid = r.json()["id"]

    async def is_open() -> bool:
        return (await http.get(f"/v1/rounds/{rid}")).json()["state"] == "open"

    await eventually(is_open, timeout=10)
    return dict(r.json())


async def consultation_events(env: Env, until: int = 0, timeout: float = 10.0) -> list[dict[str, Any]]:
    records: list[ConsumerRecord[bytes, bytes]] = await read_topic(
        env.kafka.bootstrap, env.topic(topics.CONSULTATION), until=lambda rs: len(rs) >= until if until else False,
        timeout=timeout,
    )  # fmt: skip
    return [{"type": header(r, "ce_type"), "raw": r.value.decode(), **json.loads(r.value)} for r in records]


def of_type(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == f"ogp.consultation.{name}.v1"]


# --- rounds and timers -------------------------------------------------------------------------


async def test_rounds_open_and_close_by_timers_across_a_restart(env: Env) -> None:
    cfg = settings(env)
    async with running(SPEC, cfg) as rt, client(rt) as http:
        plan_id, _ = await seed_plan(env, rt)
        first = await open_round(http, plan_id, **window(-1, 5))
        assert first["short_notice"] is True and first["notice_days"] == 0
        r = await http.post(
            f"/v1/rounds/{first['id']}/submissions", headers=person(1), json={"body": "Open data"}
        )
        assert r.status_code == 201, r.text
        # A second round whose whole window passes while the service is down.
        r = await http.post(f"/v1/plans/{plan_id}/rounds", headers=GOV,
                            json={"kind": "draft_plan", "title": "Draft plan", **window(2, 2)})  # fmt: skip
        second = r.json()
        assert second["state"] == "scheduled"
    # Deliberate: the first round's closing time must pass while the service is down.
    await asyncio.sleep(
        max(0.0, (datetime.fromisoformat(first["closes_at"]) - datetime.now(UTC)).total_seconds()) + 0.5
    )

    async with running(SPEC, cfg) as rt, client(rt) as http:

        async def all_closed() -> bool:
            states = [(await http.get(f"/v1/rounds/{r['id']}")).json() for r in (first, second)]
            return all(s["state"] == "closed" and s["close_reason"] == "closed_on_schedule" for s in states)

        await eventually(all_closed, timeout=10)
        r = await http.post(
            f"/v1/rounds/{first['id']}/comments", headers=person(2), json={"body": "Too late?"}
        )
        assert r.status_code == 409 and r.json()["rule"] == "round_not_open"

    events = await consultation_events(env, until=10)
    # The first round closed within two days of opening: announced as closing soon, once. The
    # second one's whole window passed while the service was down: closed, never announced.
    for rnd, announced in ((first, ["consultation_closing_soon"]), (second, [])):
        mine = [e for e in events if e.get("round_id") == rnd["id"]]
        assert [e["type"].split(".")[2] for e in mine if "consultation_" in e["type"]] == [
            "consultation_scheduled", "consultation_opened", *announced, "consultation_closed",
        ]  # fmt: skip
    closed = next(e for e in of_type(events, "consultation_closed") if e["round_id"] == first["id"])
    assert closed["submissions"] == 1 and closed["comments"] == 0
    report = next(e for e in of_type(events, "participation_reported") if e["round_id"] == first["id"])
    assert report["scope"] == "round" and report["submissions"] == 1 and report["unique_participants"] == 1
    assert of_type(events, "co_creation_opened")[0]["plan_id"] == str(plan_id)


async def test_scheduling_rules_and_refusals(env: Env, svc: Runtime) -> None:
    plan_id, (commitment,) = await seed_plan(env, svc)
    async with client(svc) as http:
        url = f"/v1/plans/{plan_id}/rounds"
        body = {"kind": "ideas", "title": "Call for ideas", **window(15 * 86400)}
        assert (await http.post(f"/v1/plans/{uuid4()}/rounds", headers=STAFF, json=body)).status_code == 404
        assert (await http.post(url, json=body)).status_code == 401
        assert (await http.post(url, headers=OTHER_GOV, json=body)).status_code == 403
        assert (await http.post(url, headers=person(1), json=body)).status_code == 403

        async def refused(change: dict[str, Any], field: str) -> None:
            r = await http.post(url, headers=GOV, json=body | change)
            assert r.status_code == 422, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert field in [e["field"] for e in r.json()["errors"]], r.json()

        await refused({"closes_at": body["opens_at"]}, "closes_at")
        await refused({"kind": "commitment_draft"}, "commitment_id")
        await refused({"kind": "commitment_draft", "commitment_id": str(uuid4())}, "commitment_id")
        await refused({"commitment_id": str(commitment)}, "commitment_id")
        await refused({"opens_at": "tomorrow"}, "opens_at")
        await refused({"opens_at": "2026-01-01T10:00:00"}, "opens_at")  # no time zone

        r = await http.post(url, headers=GOV, json=body)
        assert r.status_code == 201 and r.json()["short_notice"] is False and r.json()["notice_days"] >= 14
        draft = await http.post(
            url, headers=STAFF, json=body | {"kind": "commitment_draft", "commitment_id": str(commitment)}
        )
        assert draft.status_code == 201, draft.text
        rid = r.json()["id"]
        assert_problem(
            await http.post(f"/v1/rounds/{rid}/submissions", headers=person(1), json={"body": "x"}),
            409,
            rule="round_not_open",
        )
        cancelled = await http.post(f"/v1/rounds/{rid}/cancel", headers=GOV)
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        again = await http.post(f"/v1/rounds/{rid}/cancel", headers=GOV)
        assert again.status_code == 409 and again.json()["rule"] == "round_transition"
        rounds = (await http.get(f"/v1/plans/{plan_id}/rounds")).json()
        assert sorted(x["state"] for x in rounds) == ["cancelled", "scheduled"]


# --- inputs --------------------------------------------------------------------------------


async def test_inputs_and_every_refusal(env: Env) -> None:
    cfg = settings(env, rate_limit_inputs=3, input_max_chars=500, http_max_body_bytes=20_000)
    async with running(SPEC, cfg) as rt, client(rt) as http:
        plan_id, (commitment,) = await seed_plan(env, rt)
        rnd = await open_round(http, plan_id)
        rid = rnd["id"]
        sub = await http.post(f"/v1/rounds/{rid}/submissions", headers=person(1), json={
            "title": "Open contracting", "body": "Publish all contracts", "alignment": "for",
            "anchor": {"type": "commitment", "commitment_id": str(commitment)}, "language": "fr",
            "links": ["https://example.org/ocds"], "stakeholder_type": "civil_society",
        })  # fmt: skip
        assert sub.status_code == 201, sub.text
        sid = sub.json()["id"]
        reply = await http.post(f"/v1/rounds/{rid}/comments", headers=person(2),
                                json={"body": "Agreed", "parent_id": sid, "alignment": "for"})  # fmt: skip
        assert reply.status_code == 201
        item = (await http.get(f"/v1/inputs/{reply.json()['id']}")).json()
        assert item["anchor"] == {
            "type": "commitment",
            "commitment_id": str(commitment),
            "section": None,
            "quote": None,
        }
        passage = await http.post(f"/v1/rounds/{rid}/comments", headers=person(2), json={
            "body": "This sentence is vague", "anchor": {"type": "passage", "section": "2.1", "quote": "as soon as possible"},
        })  # fmt: skip
        assert passage.status_code == 201

        async def refused(
            path: str, body: dict[str, Any], status: int, field: str | None = None, who: Any = None
        ) -> Any:
            r = await http.post(f"/v1/rounds/{path}", headers=who or person(3), json=body)
            assert r.status_code == status, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "Traceback" not in r.text
            if field:
                assert field in [e["field"] for e in r.json()["errors"]], r.json()
            return r

        await refused(f"{uuid4()}/submissions", {"body": "x"}, 404)
        await refused(f"{rid}/comments", {"body": "x", "parent_id": str(uuid4())}, 422, "parent_id")
        await refused(f"{rid}/comments", {"body": "x", "anchor": {"type": "commitment", "commitment_id": str(uuid4())}},
                      422, "anchor.commitment_id")  # fmt: skip
        await refused(f"{rid}/comments", {"body": "x", "anchor": {"type": "passage"}}, 422, "anchor.quote")
        await refused(f"{rid}/comments", {"body": "x", "anchor": {"type": "moon"}}, 422, "anchor.type")
        await refused(f"{rid}/comments", {"body": "x", "alignment": "maybe"}, 422, "alignment")
        await refused(f"{rid}/comments", {"body": "   "}, 422, "body")
        await refused(f"{rid}/comments", {"body": "x", "links": ["javascript:alert(1)"]}, 422, "links.0")
        await refused(f"{rid}/comments", {"body": "x", "author_email": "a@b.org"}, 422, "author_email")
        await refused(f"{rid}/comments", {"body": "y" * 501}, 422, "body")
        await refused(f"{rid}/comments", {"body": "y" * 30_000}, 413)
        await refused(f"{rid}/comments", {"body": "x"}, 403, who=token("irm", sub="irm-1"))
        r = await http.post(f"/v1/rounds/{rid}/comments", json={"body": "x"})
        assert r.status_code == 401

        # Duplicate text from the same person (case and spacing do not matter); another person may.
        dup = await refused(
            f"{rid}/submissions",
            {"title": "open  CONTRACTING", "body": "publish all contracts "},
            409,
            who=person(1),
        )
        assert dup.json()["rule"] == "duplicate_text" and sid in dup.json()["detail"]
        assert (await http.post(f"/v1/rounds/{rid}/submissions", headers=person(4),
                                json={"title": "Open contracting", "body": "Publish all contracts"})).status_code == 201  # fmt: skip

        # Flooding: person 5 gets three inputs a window, then 429 with Retry-After.
        for n in range(3):
            assert (
                await http.post(f"/v1/rounds/{rid}/comments", headers=person(5), json={"body": f"c{n}"})
            ).status_code == 201
        flood = await refused(f"{rid}/comments", {"body": "c4"}, 429, who=person(5))
        assert 1 <= int(flood.headers["Retry-After"]) <= 60
        # Refused inputs do not count: person 3 had only refusals and may still post.
        assert (
            await http.post(f"/v1/rounds/{rid}/comments", headers=person(3), json={"body": "ok"})
        ).status_code == 201
        # Officials answering in threads are not limited.
        for n in range(5):
            r = await http.post(
                f"/v1/rounds/{rid}/comments", headers=GOV, json={"body": f"answer {n}", "parent_id": sid}
            )
            assert r.status_code == 201

        page = (await http.get(f"/v1/rounds/{rid}/inputs", params={"limit": 100})).json()
        assert page["next_after"] is None
        assert len(page["items"]) == 13 and [i["seq"] for i in page["items"]] == sorted(
            i["seq"] for i in page["items"]
        )
        assert {i["kind"] for i in page["items"]} == {"submission", "comment"}
        # The thread under the first idea: person 2's reply and five official answers, two pages.
        first = (await http.get(f"/v1/inputs/{sid}/replies", params={"limit": 4})).json()
        rest = (await http.get(f"/v1/inputs/{sid}/replies", params={"after": first["next_after"]})).json()
        assert (len(first["items"]), len(rest["items"]), rest["next_after"]) == (4, 2, None)
        assert first["items"][0]["body"] == "Agreed" and all(i["parent_id"] == sid for i in rest["items"])
        assert (await http.get(f"/v1/inputs/{uuid4()}/replies")).status_code == 404
        submissions = (await http.get(f"/v1/rounds/{rid}/inputs", params={"kind": "submission"})).json()
        assert len(submissions["items"]) == 2
        assert (await http.get(f"/v1/rounds/{uuid4()}/inputs")).status_code == 404
        bad = await http.get(f"/v1/rounds/{rid}/inputs", params={"limit": 0})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.limit"


async def test_listing_pages_through_the_whole_round(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]
        author = await svc.pool.fetchval(
            "INSERT INTO participants (id, subject, window_start, window_count) VALUES ($1, 'bulk', now(), 0) RETURNING id",
            uuid4(),
        )
        await svc.pool.execute(
            """INSERT INTO inputs (id, round_id, plan_id, kind, anchor, alignment, language, body, public_body,
                                   author_id, text_hash, created_at)
               SELECT gen_random_uuid(), $1, $2, 'comment', '{"type": "plan"}', 'neutral', 'en', 'c' || g, 'c' || g,
                      $3, sha256(('c' || g)::bytea), now() FROM generate_series(1, 250) g""",
            UUID(rid), plan_id, author,
        )  # fmt: skip
        seen: list[str] = []
        after = 0
        while True:
            page = (await http.get(f"/v1/rounds/{rid}/inputs", params={"after": after, "limit": 100})).json()
            seen += [i["body"] for i in page["items"]]
            if page["next_after"] is None:
                break
            after = page["next_after"]
        assert seen == [f"c{g}" for g in range(1, 251)]


# --- moderation ----------------------------------------------------------------------------


async def test_moderation_visibility_and_audit(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]
        text = "Call me on +216 71 123 456 or write to amel@example.tn about budgets"
        r = await http.post(f"/v1/rounds/{rid}/submissions", headers=person("amel"),
                            json={"body": text, "display_name": "Amel", "gender": "woman", "region": "TN-61"})  # fmt: skip
        iid = ok(r)["id"]
        public = (await http.get(f"/v1/inputs/{iid}")).json()
        assert public["author"] == "Amel" and public["anonymous"] is False
        assert "amel@example.tn" not in public["body"] and "123 456" not in public["body"]
        assert "[e-mail removed]" in public["body"] and "[phone removed]" in public["body"]
        assert not {"gender", "region", "author_id", "subject", "stakeholder_type"} & set(public)

        assert (await http.get(f"/v1/moderation/inputs/{iid}", headers=person(1))).status_code == 403
        mod = (await http.get(f"/v1/moderation/inputs/{iid}", headers=MODERATOR)).json()
        assert mod["body"] == text and mod["author_subject"] == "person-amel"

        f1 = await http.post(f"/v1/inputs/{iid}/flags", headers=person(1), json={"reason": "personal data"})
        f2 = await http.post(f"/v1/inputs/{iid}/flags", headers=person(1), json={"reason": "again"})
        f3 = await http.post(f"/v1/inputs/{iid}/flags", headers=person(2), json={"reason": "spam"})
        assert [ok(f)["flags"] for f in (f1, f2, f3)] == [1, 1, 2] and f2.json()["already_flagged"]
        queue = (await http.get("/v1/moderation/queue", headers=MODERATOR)).json()
        assert [q["id"] for q in queue] == [iid]

        assert (
            await http.post(f"/v1/inputs/{iid}/hide", headers=person(1), json={"public_reason": "x"})
        ).status_code == 403
        missing = await http.post(f"/v1/inputs/{iid}/hide", headers=MODERATOR, json={})
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "public_reason"
        hidden = await http.post(f"/v1/inputs/{iid}/hide", headers=MODERATOR,
                                 json={"public_reason": "Contained personal contact details", "note": "asked by author"})  # fmt: skip
        assert hidden.status_code == 200
        for item in ((await http.get(f"/v1/inputs/{iid}")).json(),
                     (await http.get(f"/v1/rounds/{rid}/inputs")).json()["items"][0]):  # fmt: skip
            assert item["hidden"] is True and item["hidden_reason"] == "Contained personal contact details"
            assert (
                item["body"] is None
                and item["title"] is None
                and item["author"] is None
                and item["links"] is None
            )
        assert (await http.get("/v1/moderation/queue", headers=MODERATOR)).json() == []
        assert_problem(
            await http.post(f"/v1/inputs/{iid}/hide", headers=MODERATOR, json={"public_reason": "x"}),
            409,
            rule="already_hidden",
        )
        assert (
            await http.post(f"/v1/inputs/{uuid4()}/hide", headers=MODERATOR, json={"public_reason": "x"})
        ).status_code == 404

        restored = await http.post(
            f"/v1/inputs/{iid}/restore", headers=STAFF, json={"note": "author consented"}
        )
        assert restored.status_code == 200 and restored.json()["hidden"] is False and restored.json()["body"]
        assert_problem(
            await http.post(f"/v1/inputs/{iid}/restore", headers=MODERATOR, json={}), 409, rule="not_hidden"
        )

        public_log = (await http.get(f"/v1/inputs/{iid}/moderation")).json()
        assert [(e["action"], e["public_reason"]) for e in public_log] == [
            ("hidden", "Contained personal contact details"), ("restored", None),
        ]  # fmt: skip
        assert all(set(e) == {"action", "public_reason", "at"} for e in public_log)
        audit = (await http.get(f"/v1/moderation/inputs/{iid}", headers=MODERATOR)).json()["log"]
        assert [(e["action"], e["actor"]) for e in audit] == [
            ("flagged", "person-1"), ("flagged", "person-2"), ("hidden", "mod-1"), ("restored", "staff-1"),
        ]  # fmt: skip

    events = await consultation_events(env, until=8)
    moderated = of_type(events, "comment_moderated")
    assert [(e["action"], e["visible"]) for e in moderated] == [
        ("flagged", True),
        ("hidden", False),
        ("restored", True),
    ]
    assert all("amel" not in e["raw"].lower() and "123 456" not in e["raw"] for e in events)


# --- responses -------------------------------------------------------------------------------


async def test_reasoned_responses_coverage_and_the_published_table(env: Env, svc: Runtime) -> None:
    plan_id, (commitment,) = await seed_plan(env, svc)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]

        async def post(kind: str, who: dict[str, str], body: str, **extra: Any) -> str:
            r = await http.post(f"/v1/rounds/{rid}/{kind}", headers=who, json={"body": body, **extra})
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

        a = await post("submissions", person(1), '=HYPERLINK("http://evil")', display_name="Ali")
        b = await post("submissions", person(2), "Beneficial ownership register")
        c = await post("comments", person(3), "Include municipalities", parent_id=a)
        d = await post("comments", person(4), "spam spam")
        e = await post("comments", GOV, "Thank you, we will look at it", parent_id=a)
        ok(await http.post(f"/v1/inputs/{d}/hide", headers=MODERATOR, json={"public_reason": "Spam"}))

        url = f"/v1/rounds/{rid}/responses"
        body = {"input_ids": [a, b], "decision": "merged", "rationale": "Merged into commitment 1",
                "merged_into_commitment_id": str(commitment)}  # fmt: skip
        assert (await http.post(url, headers=person(1), json=body)).status_code == 403
        assert (await http.post(url, headers=OTHER_GOV, json=body)).status_code == 403
        unknown = await http.post(url, headers=GOV, json=body | {"input_ids": [a, str(uuid4())]})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "input_ids"
        bad = await http.post(url, headers=GOV, json=body | {"decision": "maybe"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "decision"
        empty = await http.post(url, headers=GOV, json=body | {"input_ids": []})
        assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "input_ids"
        r = await http.post(url, headers=GOV, json=body)
        assert r.status_code == 201, r.text
        # c with a: a is answered already, so the cluster is refused whole and c stays open.
        clash = await http.post(
            url, headers=GOV, json={"input_ids": [c, a], "decision": "rejected", "rationale": "No"}
        )
        assert (
            clash.status_code == 409
            and clash.json()["rule"] == "already_answered"
            and a in clash.json()["detail"]
        )

        cov = (await http.get(f"/v1/rounds/{rid}/coverage")).json()
        # Needing an answer: a, b, c (d is hidden, e is the government's own reply).
        assert (cov["inputs_needing_response"], cov["answered"], cov["response_coverage"]) == (3, 2, 0.6667)
        assert 0 <= cov["median_response_hours"] < 1

        published = await http.post(f"/v1/rounds/{rid}/response-tables", headers=GOV, json={})
        assert published.status_code == 201, published.text
        table = published.json()
        assert (table["inputs"], table["answered"]) == (5, 2)
        assert table["csv_url"].endswith(f"/v1/response-tables/{table['table_id']}.csv")

        # A later answer changes the live table, not the published one.
        assert (
            await http.post(
                url, headers=STAFF, json={"input_ids": [c], "decision": "accepted", "rationale": "Yes"}
            )
        ).status_code == 201
        assert (await http.get(f"/v1/rounds/{rid}/coverage")).json()["response_coverage"] == 1.0
        frozen = (await http.get(f"/v1/response-tables/{table['table_id']}.json")).json()
        assert [row["decision"] for row in frozen] == ["merged", "merged", None, None, None]
        live = list(
            csv.DictReader(io.StringIO((await http.get(f"/v1/rounds/{rid}/response-table.csv")).text))
        )
        assert [row["decision"] for row in live] == ["merged", "merged", "accepted", "", ""]
        assert live[0]["text"].startswith("'=HYPERLINK")  # never a formula in a spreadsheet
        assert live[3]["text"] == "[hidden by moderation: Spam]" and live[3]["author"] == ""
        assert live[4]["input_id"] == e and live[0]["author"] == "Ali"
        frozen_csv = await http.get(f"/v1/response-tables/{table['table_id']}.csv")
        assert frozen_csv.headers["content-type"].startswith("text/csv") and "accepted" not in frozen_csv.text
        listed = (await http.get(url)).json()
        assert [(x["decision"], len(x["input_ids"])) for x in listed] == [("merged", 2), ("accepted", 1)]

    events = await consultation_events(env, until=12)
    published_events = of_type(events, "response_published")
    assert [(e["decision"], sorted(e["input_ids"])) for e in published_events] == [
        ("merged", sorted([a, b])), ("accepted", [c]),
    ]  # fmt: skip
    (announced,) = of_type(events, "response_table_published")
    assert announced["plan_id"] == str(plan_id) and announced["answered"] == 2


# --- the participation report ----------------------------------------------------------------


async def test_participation_report_per_round_and_per_cycle(env: Env) -> None:
    async with running(SPEC, settings(env, participation_min_cell=1)) as svc:
        await _participation_report(env, svc)


async def _participation_report(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    async with client(svc) as http:
        first = (await open_round(http, plan_id, **window(-1, 3)))["id"]
        profiles = [
            ("1", {"stakeholder_type": "civil_society", "region": "TN-11", "gender": "woman"}),
            ("2", {"stakeholder_type": "academia", "region": "TN-61", "gender": "man"}),
            ("3", {}),
        ]
        for who, profile in profiles:
            r = await http.post(
                f"/v1/rounds/{first}/submissions",
                headers=person(who),
                json={"body": f"idea {who}", **profile},
            )
            assert r.status_code == 201
        # Person 1 comments again, declaring another region: counted once, with the latest answer.
        ok(await http.post(f"/v1/rounds/{first}/comments", headers=person(1), json={"body": "more", "region": "TN-51",
                        "stakeholder_type": "civil_society", "gender": "woman"}))  # fmt: skip
        ok(await http.post(f"/v1/rounds/{first}/comments", headers=GOV, json={"body": "thanks"}))
        r = await http.post(f"/v1/rounds/{first}/offline-events", headers=GOV, json={
            "format": "workshop", "held_on": datetime.now(UTC).date().isoformat(), "participants": 40,
            "by_sector": {"civil_society": 25, "government": 15},
        })  # fmt: skip
        assert r.status_code == 201
        over = await http.post(f"/v1/rounds/{first}/offline-events", headers=GOV, json={
            "format": "workshop", "held_on": "2026-01-01", "participants": 1, "by_sector": {"civil_society": 2},
        })  # fmt: skip
        assert over.status_code == 422 and over.json()["errors"][0]["field"] == "by_sector"
        second = await http.post(f"/v1/plans/{plan_id}/rounds", headers=GOV,
                                 json={"kind": "draft_plan", "title": "Draft", **window(30 * 86400)})  # fmt: skip
        assert second.status_code == 201, second.text

        live = (await http.get(f"/v1/rounds/{first}/participation")).json()
        assert (live["submissions"], live["comments"], live["unique_participants"]) == (3, 2, 3)
        assert live["by"] == {
            "stakeholder_type": {"academia": 1, "civil_society": 1, "not_declared": 1},
            "region": {"TN-61": 1, "TN-51": 1, "not_declared": 1},
            "gender": {"man": 1, "not_declared": 1, "woman": 1},
        }
        assert (live["offline_events"], live["offline_participants"]) == (1, 40)
        assert (live["inputs_needing_response"], live["answered"], live["response_coverage"]) == (4, 0, 0.0)

        async def round_report() -> list[Any]:
            return (await http.get(f"/v1/plans/{plan_id}/participation-reports")).json()  # type: ignore[no-any-return]

        (report,) = await eventually(round_report, until=lambda rs: len(rs) >= 1, timeout=10)
        assert report["scope"] == "round" and report["round_id"] == first and report["by"] == live["by"]

    # The plan is submitted: the scheduled round is cancelled and the cycle's report published.
    now = datetime.now(UTC)
    await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(PlanSubmitted(
        plan_id=plan_id, member_id=MEMBER, title="Plan 2026-2028", start_date=now.date(), end_date=now.date(),
        commitment_count=1, point_of_contact_id=uuid4(), submitted_at=now))])  # fmt: skip

    async def cycle() -> list[Any]:
        reports = await svc.pool.fetch(
            "SELECT report FROM participation_reports WHERE scope = 'cycle' AND plan_id = $1", plan_id
        )
        return [r["report"] for r in reports]

    (cycle_report,) = await eventually(cycle, until=lambda reports: len(reports) >= 1)
    assert cycle_report["rounds"] == 1 and cycle_report["short_notice_rounds"] == 1
    assert cycle_report["unique_participants"] == 3 and cycle_report["offline_participants"] == 40
    async with client(svc) as http:
        assert (await http.get(f"/v1/rounds/{second.json()['id']}")).json()["state"] == "cancelled"
        space = (await http.get(f"/v1/plans/{plan_id}/co-creation")).json()
        assert space["state"] == "closed"
        late = await http.post(
            f"/v1/plans/{plan_id}/rounds", headers=GOV, json={"kind": "ideas", "title": "Late", **window()}
        )
        assert late.status_code == 409 and late.json()["rule"] == "co_creation_closed"
        assert (
            await http.post(f"/v1/plans/{plan_id}/participation-reports", headers=OTHER_GOV)
        ).status_code == 403
        again = await http.post(f"/v1/plans/{plan_id}/participation-reports", headers=GOV)
        assert again.status_code == 201 and again.json()["scope"] == "cycle"


# --- privacy ---------------------------------------------------------------------------------

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"\+?\d[\d\s().-]{7,}\d")
# Ids and timestamps are long digit runs too; they are not what the check looks for.
NOT_PHONES = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d\d-\d\d[T ][\d:.+]+"
)


async def test_no_personal_data_in_events_or_public_answers(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    secret_sub = "oidc|salma.benali@example.tn"
    writer = token("participant", sub=secret_sub)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]
        text = "Reach me: salma@example.tn, 0021671123456, (216) 71-123-456"
        sid = ok(await http.post(f"/v1/rounds/{rid}/submissions", headers=writer, json={
            "title": "Contact salma@example.tn", "body": text, "gender": "woman", "region": "TN-23",
            "stakeholder_type": "civil_society",
        }))["id"]  # fmt: skip
        cid = ok(
            await http.post(
                f"/v1/rounds/{rid}/comments",
                headers=writer,
                json={"body": "me too +33 6 12 34 56 78", "parent_id": sid},
            )
        )["id"]
        ok(await http.post(f"/v1/inputs/{cid}/flags", headers=person(9), json={"reason": "phone number"}))
        ok(
            await http.post(
                f"/v1/inputs/{cid}/hide", headers=MODERATOR, json={"public_reason": "Personal data"}
            )
        )
        ok(
            await http.post(
                f"/v1/rounds/{rid}/responses",
                headers=GOV,
                json={"input_ids": [sid], "decision": "accepted", "rationale": "Yes"},
            )
        )
        ok(await http.post(f"/v1/rounds/{rid}/response-tables", headers=GOV, json={}))
        answers = [
            (await http.get(f"/v1/rounds/{rid}/inputs")).text,
            (await http.get(f"/v1/inputs/{sid}")).text,
            (await http.get(f"/v1/inputs/{sid}/replies")).text,
            (await http.get(f"/v1/inputs/{cid}/moderation")).text,
            (await http.get(f"/v1/rounds/{rid}/response-table.csv")).text,
            (await http.get(f"/v1/rounds/{rid}/response-table.json")).text,
            (await http.get(f"/v1/rounds/{rid}/participation")).text,
            (await http.get(f"/v1/rounds/{rid}/responses")).text,
        ]
    events = await consultation_events(env, until=9)
    for text_out in answers + [e["raw"] for e in events]:
        assert not EMAIL.search(text_out), text_out
        assert not PHONE.search(NOT_PHONES.sub("", text_out)), text_out
        assert "salma" not in text_out.lower() and "person-9" not in text_out and "mod-1" not in text_out
    # Gender and region exist only as counts, never beside an input, and a lone participant's
    # are folded into "suppressed" (fewer than five people).
    assert "TN-23" not in "".join(answers) and "woman" not in "".join(answers)
    assert json.loads(answers[6])["by"]["gender"] == {"suppressed": 1}
    assert all("TN-23" not in e["raw"] and "woman" not in e["raw"] for e in events)


# --- hostile and awkward input ---------------------------------------------------------------


async def test_text_postgres_cannot_store_is_a_422_not_a_500(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]
        sid = ok(await http.post(f"/v1/rounds/{rid}/submissions", headers=person(1), json={"body": "fine"}))[
            "id"
        ]
        cases = [
            (f"/v1/rounds/{rid}/comments", {"body": "nul \u0000 inside"}, "body"),
            (f"/v1/rounds/{rid}/comments", {"body": "lone \ud800 surrogate"}, "body"),
            (f"/v1/rounds/{rid}/comments", {"body": "ok", "title": "bell \u0007"}, "title"),
            (f"/v1/rounds/{rid}/comments", {"body": "ok", "display_name": "x\u0000"}, "display_name"),
            (f"/v1/rounds/{rid}/comments", {"body": "ok", "anchor": {"type": "passage", "quote": "\u0000"}}, "anchor.quote"),
            (f"/v1/rounds/{rid}/comments", {"body": "ok", "display_name": "me@example.org"}, "display_name"),
            (f"/v1/rounds/{rid}/comments", {"body": "ok", "display_name": "   "}, "display_name"),
            (f"/v1/rounds/{rid}/comments", {"body": "ok", "region": "call +44 20 7946 0958"}, "region"),
            (f"/v1/inputs/{sid}/flags", {"reason": "\u0000"}, "reason"),
            (f"/v1/rounds/{rid}/responses", {"input_ids": [sid], "decision": "accepted", "rationale": "\ud800"}, "rationale"),
            (f"/v1/plans/{plan_id}/rounds", {"kind": "ideas", "title": "t\u0000", **window()}, "title"),
            (f"/v1/plans/{plan_id}/rounds", {"kind": "ideas", "title": "t", "opens_at": "0001-01-01T00:00:00+05:00",
                                            "closes_at": "2030-01-01T00:00:00Z"}, "opens_at"),
            (f"/v1/plans/{plan_id}/rounds", {"kind": "ideas", "title": "t", "opens_at": "2030-01-01T00:00:00Z",
                                            "closes_at": "9999-12-31T23:00:00-05:00"}, "closes_at"),
        ]  # fmt: skip
        for path, body, field in cases:
            who = GOV if "responses" in path or "plans/" in path else person(2)
            # json.dumps escapes a lone surrogate as \ud800, as a hostile client would send it.
            r = await http.post(
                path, headers=who | {"content-type": "application/json"}, content=json.dumps(body)
            )
            assert r.status_code == 422, (path, body, r.status_code, r.text)
            assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
        huge = await http.get(f"/v1/rounds/{rid}/inputs", params={"after": 2**63})
        assert huge.status_code == 422


async def test_overlapping_clusters_never_deadlock(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]
        statuses: list[int] = []
        for attempt in range(8):
            ids = [ok(await http.post(f"/v1/rounds/{rid}/comments", headers=person(f"{attempt}-{n}"),
                                    json={"body": f"c{attempt}-{n}"}))["id"] for n in range(4)]  # fmt: skip
            pair = await asyncio.gather(*(
                http.post(f"/v1/rounds/{rid}/responses", headers=GOV,
                          json={"input_ids": order, "decision": "rejected", "rationale": "No"})
                for order in (ids, ids[::-1])
            ))  # fmt: skip
            statuses += sorted(r.status_code for r in pair)
        assert set(statuses) == {201, 409} and statuses.count(201) == 8


async def test_a_government_of_another_member_is_a_participant_here(env: Env) -> None:
    async with running(SPEC, settings(env, rate_limit_inputs=2)) as svc, client(svc) as http:
        plan_id, _ = await seed_plan(env, svc)
        rid = (await open_round(http, plan_id))["id"]
        codes = [
            (
                await http.post(f"/v1/rounds/{rid}/comments", headers=OTHER_GOV, json={"body": f"c{n}"})
            ).status_code
            for n in range(3)
        ]
        assert codes == [201, 201, 429]
        cov = (await http.get(f"/v1/rounds/{rid}/coverage")).json()
        assert cov["inputs_needing_response"] == 2  # their comments need an answer like anyone's


async def test_hiding_after_publication_also_hides_in_the_published_table(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]
        iid = ok(await http.post(f"/v1/rounds/{rid}/comments", headers=person(1),
                               json={"body": "my neighbour Jane Roe is corrupt", "display_name": "Bob"}))["id"]  # fmt: skip
        table = ok(await http.post(f"/v1/rounds/{rid}/response-tables", headers=GOV, json={}))
        ok(await http.post(f"/v1/inputs/{iid}/hide", headers=MODERATOR, json={"public_reason": "Defamatory"}))
        for fmt in ("json", "csv"):
            text = (await http.get(f"/v1/response-tables/{table['table_id']}.{fmt}")).text
            assert "Jane Roe" not in text and "Bob" not in text and "Defamatory" in text


async def test_restored_inputs_leave_the_moderation_queue(env: Env, svc: Runtime) -> None:
    plan_id, _ = await seed_plan(env, svc)
    async with client(svc) as http:
        rid = (await open_round(http, plan_id))["id"]
        iid = ok(
            await http.post(f"/v1/rounds/{rid}/comments", headers=person(1), json={"body": "edgy but fine"})
        )["id"]
        ok(await http.post(f"/v1/inputs/{iid}/flags", headers=person(2), json={"reason": "rude"}))
        ok(await http.post(f"/v1/inputs/{iid}/hide", headers=MODERATOR, json={"public_reason": "Checking"}))
        ok(await http.post(f"/v1/inputs/{iid}/restore", headers=MODERATOR, json={"note": "fine after all"}))
        assert (await http.get("/v1/moderation/queue", headers=MODERATOR)).json() == []
        again = await http.post(f"/v1/inputs/{iid}/flags", headers=person(3), json={"reason": "still rude"})
        assert ok(again)["flags"] == 1
        assert [q["id"] for q in (await http.get("/v1/moderation/queue", headers=MODERATOR)).json()] == [iid]


async def test_a_round_past_its_closing_time_refuses_input_even_before_the_timer_closes_it(env: Env) -> None:
    async with running(SPEC, settings(env)) as svc, client(svc) as http:
        plan_id, _ = await seed_plan(env, svc)
        rnd = await open_round(http, plan_id, **window(-1, 3))
        async with svc.pool.acquire() as conn, conn.transaction():
            # An input transaction in flight holds the round's row; the closer must wait for it.
            await conn.execute("SELECT 1 FROM rounds WHERE id = $1 FOR KEY SHARE", UUID(rnd["id"]))
            await asyncio.sleep(3.5)  # deliberate: the round's closing time passes while it is held
            late = await http.post(
                f"/v1/rounds/{rnd['id']}/comments", headers=person(1), json={"body": "late"}
            )
            assert late.status_code == 409 and late.json()["rule"] == "round_not_open"

        async def closed() -> bool:
            return (await http.get(f"/v1/rounds/{rnd['id']}")).json()["state"] == "closed"

        await eventually(closed, timeout=5)


async def test_the_timers_wake_for_a_round_scheduled_while_they_sleep(env: Env) -> None:
    """With a 60 s interval, only the NOTIFY sent by scheduling (and the runner's sleep until the
    next due round) can open and close a round within seconds."""
    before = leader_passes("consultation-timers")
    async with running(SPEC, settings(env, timers_interval_s=60)) as svc, client(svc) as http:
        plan_id, _ = await seed_plan(env, svc)

        async def first_pass_over() -> bool:  # then it sleeps for 60 s, nothing being due
            return leader_passes("consultation-timers") > before

        await eventually(first_pass_over)
        r = await http.post(f"/v1/plans/{plan_id}/rounds", headers=GOV,
                            json={"kind": "ideas", "title": "Soon", **window(1, 2)})  # fmt: skip
        rid = ok(r)["id"]

        async def state() -> str:
            return str((await http.get(f"/v1/rounds/{rid}")).json()["state"])

        await eventually(lambda: _is(state, "open"), timeout=5)
        await eventually(lambda: _is(state, "closed"), timeout=6)


async def _is(get: Any, expected: str) -> bool:
    return bool(await get() == expected)
