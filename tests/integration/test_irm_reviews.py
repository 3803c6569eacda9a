"""A review's whole life over the real broker and database, the IRM service in this process: a
plan submitted (a plans event on the plans topic) → the Action Plan Review scheduled → researchers
registered (a tied one refused) and one assigned → draft → pre-publication comment by the member's
government → the timer opens public comment → a public comment → publishing refused until every
comment is considered → published, on the IRM topic. A plan ended that the IRM never saw gets its
results report (end + 4 months); the reminder and the overdue report are published once however
many times the service restarts (the clock is the ``timers_today`` override)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx

from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from shared.events import topics
from shared.events.irm import ReviewDraftPublished, ReviewDueSoon, ReviewOverdue, ReviewPublished
from shared.events.plans import PlanEnded, PlanSubmitted
from shared.runtime import Runtime
from tests.conftest import Env, client, running, token
from tests.helpers import as_record, assert_problem, eventually, header, more_passes, produce, read_topic

IRM_STAFF = token("irm", sub="irm-staff")
RESEARCHER = token("researcher", sub="res-1")
TIED = token("researcher", sub="res-tied")
PARTICIPANT = token("participant", sub="citizen-1")


@asynccontextmanager
async def irm(env: Env, today: date) -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    settings = env.settings(
        IrmSettings, "irm", timers_today=today, timers_interval_s=0.2, timers_lock_retry_s=0.2
    )
    async with running(IRM, settings) as rt, client(rt) as api:
        yield rt, api


async def outbox(pool: asyncpg.Pool, event_type: str) -> list[dict[str, Any]]:
    rows = await pool.fetch("SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
    return [json.loads(r["payload"]) for r in rows]


async def review_of(api: httpx.AsyncClient, plan_id: UUID, kind: str) -> dict[str, Any] | None:
    r = await api.get("/v1/reviews", params={"plan_id": str(plan_id)})
    assert r.status_code == 200, r.text
    return next((x for x in r.json() if x["kind"] == kind), None)


async def test_a_review_from_submission_to_publication(env: Env) -> None:
    plan_id, member_id = uuid4(), uuid4()
    gov = token("government", sub="gov-1", member_ids=[str(member_id)])
    submitted = PlanSubmitted(
        plan_id=plan_id, member_id=member_id, title="Fifth national action plan", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=3, point_of_contact_id=uuid4(),
        submitted_at=datetime(2025, 1, 10, 9, tzinfo=UTC),
    )  # fmt: skip

    async with irm(env, date(2025, 2, 1)) as (_rt, api):
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(submitted)])

        async def apr() -> dict[str, Any] | None:
            return await review_of(api, plan_id, "action_plan_review")

        review = await eventually(apr)
        assert (review["state"], review["due_date"]) == ("scheduled", "2025-05-10")
        rid = review["id"]

        # Researchers: the one with a declared tie to the member is refused.
        r = await api.post("/v1/researchers", json={"subject": "res-1", "name": "R. One"}, headers=IRM_STAFF)
        assert r.status_code == 201, r.text
        researcher_id = r.json()["id"]
        tied = await api.post(
            "/v1/researchers",
            json={"subject": "res-tied", "name": "R. Tied", "ties": [str(member_id)]},
            headers=IRM_STAFF,
        )
        assert tied.status_code == 201, tied.text
        assert_problem(
            await api.post("/v1/researchers", json={"subject": "x", "name": "X"}, headers=RESEARCHER), 403
        )
        assign = f"/v1/reviews/{rid}/assignment"
        assert_problem(
            await api.post(assign, json={"researcher_id": tied.json()["id"]}, headers=IRM_STAFF),
            409,
            rule="review.researcher_not_independent",
        )
        r = await api.post(assign, json={"researcher_id": researcher_id}, headers=IRM_STAFF)
        assert (r.status_code, r.json()["state"]) == (200, "researching"), r.text

        # Only the assigned researcher drafts.
        draft = {"draft_url": "https://irm.example.org/drafts/apr.pdf"}
        assert_problem(await api.post(f"/v1/reviews/{rid}/draft", json=draft, headers=TIED), 403)
        r = await api.post(f"/v1/reviews/{rid}/draft", json=draft, headers=RESEARCHER)
        assert (r.status_code, r.json()["state"]) == (200, "draft"), r.text
        r = await api.post(f"/v1/reviews/{rid}/steps", json={"to": "pre_publication"}, headers=RESEARCHER)
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["comments_until"]) == ("pre_publication", "2025-02-22")

        # Pre-publication: the public sees no draft; only the member's government comments.
        public = (await api.get(f"/v1/reviews/{rid}")).json()
        assert (public["draft_url"], public["researcher_id"]) == (None, None)
        staff = (await api.get(f"/v1/reviews/{rid}", headers=IRM_STAFF)).json()
        assert (staff["draft_url"], staff["researcher_id"]) == (draft["draft_url"], researcher_id)
        comments = f"/v1/reviews/{rid}/comments"
        assert_problem(await api.post(comments, json={"text": "Fine"}, headers=PARTICIPANT), 403)
        r = await api.post(comments, json={"text": "Commitment 2 is under way."}, headers=gov)
        assert (r.status_code, r.json()["phase"]) == (201, "pre_publication"), r.text
        gov_comment = r.json()["id"]
        assert_problem(await api.get(comments), 404)

    # The window ends while the service is down: the timer opens public comment at the next start.
    async with irm(env, date(2025, 2, 23)) as (_rt, api):

        async def public_comment() -> dict[str, Any] | None:
            body: dict[str, Any] = (await api.get(f"/v1/reviews/{rid}")).json()
            return body if body["state"] == "public_comment" else None

        public = await eventually(public_comment)
        assert (public["comments_until"], public["draft_url"]) == ("2025-03-09", draft["draft_url"])
        r = await api.post(comments, json={"text": "Please add the budget."}, headers=PARTICIPANT)
        assert (r.status_code, r.json()["phase"]) == (201, "public_comment"), r.text
        public_comment_id = r.json()["id"]
        seen = (await api.get(comments)).json()
        assert [c["text"] for c in seen] == ["Please add the budget."]
        assert "author" not in seen[0] or seen[0]["author"] is None
        assert len((await api.get(comments, headers=IRM_STAFF)).json()) == 2

        report = {"title": "Action Plan Review 2025", "url": "https://irm.example.org/apr-2025.pdf"}
        publish = f"/v1/reviews/{rid}/publish"
        assert_problem(
            await api.post(publish, json=report, headers=RESEARCHER),
            409,
            rule="review.comments_not_considered",
        )
        for cid in (gov_comment, public_comment_id):
            r = await api.post(
                f"{comments}/{cid}/considered", json={"note": "Addressed in section 3"}, headers=RESEARCHER
            )
            assert r.status_code == 200, r.text
        assert_problem(
            await api.post(publish, json={**report, "url": "http://x.example/r"}, headers=RESEARCHER),
            422,
            field="url",
        )
        r = await api.post(publish, json=report, headers=RESEARCHER)
        assert (r.status_code, r.json()["state"], r.json()["published_on"]) == (
            200,
            "published",
            "2025-02-23",
        ), r.text
        assert_problem(
            await api.post(comments, json={"text": "Late"}, headers=PARTICIPANT),
            409,
            rule="review.comment_window_closed",
        )

        records = await read_topic(
            env.kafka.bootstrap, env.topic(topics.IRM),
            until=lambda rs: any(header(x, "ce_type") == ReviewPublished.event_type for x in rs), timeout=20,
        )  # fmt: skip
        types = [header(x, "ce_type") for x in records]
        assert ReviewDraftPublished.event_type in types
        published = [
            json.loads(x.value) for x in records if header(x, "ce_type") == ReviewPublished.event_type
        ]
        assert len(published) == 1
        body = published[0].get("data", published[0])
        assert (body["review_id"], body["url"], body["comments_received"]) == (rid, report["url"], 2)


async def test_results_report_and_the_clocks_across_restarts(env: Env) -> None:
    plan_id, member_id = uuid4(), uuid4()
    ended = PlanEnded(
        plan_id=plan_id, member_id=member_id, end_date=date(2025, 10, 31), ended_at=datetime.now(UTC)
    )

    # A plan the IRM never saw submitted: the event alone is enough.
    async with irm(env, date(2025, 11, 1)) as (rt, api):
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(ended), as_record(ended)])

        async def results() -> dict[str, Any] | None:
            return await review_of(api, plan_id, "results_report")

        review = await eventually(results)
        assert (review["state"], review["due_date"]) == ("scheduled", "2026-02-28")
        assert len((await api.get("/v1/reviews", params={"plan_id": str(plan_id)})).json()) == 1
        assert await outbox(rt.pool, ReviewDueSoon.event_type) == []

    # Each start runs the timers at once; a restart on the same or a later day reports nothing again.
    steps = [
        (date(2026, 2, 20), 1, 0),  # 8 days left: the reminder
        (date(2026, 2, 21), 1, 0),  # still due soon: not again
        (date(2026, 3, 5), 1, 1),  # past the due date: overdue
        (date(2026, 3, 6), 1, 1),  # and not again
    ]
    for today, want_soon, want_late in steps:
        async with irm(env, today) as (rt, _api):

            async def counted(rt: Runtime = rt, s: int = want_soon, o: int = want_late) -> bool:
                soon = await outbox(rt.pool, ReviewDueSoon.event_type)
                late = await outbox(rt.pool, ReviewOverdue.event_type)
                return (len(soon), len(late)) == (s, o)

            await eventually(counted)
            await more_passes("irm-timers", 3)  # whole passes that find nothing more to report
            assert await counted()
            soon = await outbox(rt.pool, ReviewDueSoon.event_type)
            late = await outbox(rt.pool, ReviewOverdue.event_type)
    assert [(e["review_id"], e["days_left"]) for e in soon] == [(review["id"], 8)]
    assert [(e["review_id"], e["due_date"], e["state"]) for e in late] == [
        (review["id"], "2026-02-28", "scheduled")
    ]
