"""A review's whole life with the services as separate processes over the real Kafka and Postgres.

Plans and the IRM run as ``python -m services.<name>``: a plan with a commitment is submitted
through the plans API → the IRM schedules the Action Plan Review (due four months later) →
researchers registered (one declaring a tie with the member is refused, 409) and one assigned →
the commitment coded through the IRM's API → draft → pre-publication comment by the member's
government → public comment → a participant's comment → publishing refused until every comment
is considered (409 naming the rule) → considered → published → plans shows the coding in the
commitment's IRM block and files the report in the plan's repository (``irm_report``).

Then the timers across restarts: a second plan's review is left unpublished; the IRM is killed
and restarted with its clock override (``IRM_TIMERS_TODAY``) past that review's due date: one
``ReviewOverdue``; SIGKILL and restart on the same day: still one, in the outbox and on the topic.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.services import ServiceProcess
from services.irm.domain.reviews import action_plan_review_due
from shared.events import topics
from shared.events.irm import (
    CommitmentAssessed,
    ResearcherAssigned,
    ReviewCommentReceived,
    ReviewDraftPublished,
    ReviewDueSoon,
    ReviewOverdue,
    ReviewPublished,
    ReviewScheduled,
    ReviewStateChanged,
    ReviewWithdrawn,
)
from tests.conftest import Env, token
from tests.helpers import assert_problem, eventually, fetchval, header, read_topic

STAFF = token("staff", sub="ogp-staff")
IRM_STAFF = token("irm", sub="irm-staff")
RESEARCHER = token("researcher", sub="res-amina")
TIED = token("researcher", sub="res-tied")
PARTICIPANT = token("participant", sub="citizen-1")


@pytest.fixture
async def services(env: Env, tmp_path: Path) -> AsyncIterator[dict[str, ServiceProcess]]:
    procs = {
        "plans": ServiceProcess("plans", env.env_vars("PLANS_", "plans", timers_enabled="false"), tmp_path),
        "irm": ServiceProcess(
            "irm", env.env_vars("IRM_", "irm", timers_interval_s=0.2, timers_lock_retry_s=0.2), tmp_path
        ),
    }
    try:
        for p in procs.values():
            p.start()
        await asyncio.gather(*(p.wait_ready() for p in procs.values()))
        yield procs
    finally:
        for p in procs.values():
            p.ensure_stopped()


async def _submitted_plan(plans: httpx.AsyncClient, member_id: str, title: str) -> tuple[str, str, date]:
    """A two-year plan (no midterm review) with one commitment, submitted: (plan, commitment, day)."""
    r = await plans.post("/v1/plans", headers=STAFF, json={
        "member_id": member_id, "title": title, "start_date": "2026-01-01", "end_date": "2028-01-01",
        "point_of_contact": {"name": "Lina Haddad", "email": "lina@example.org", "language": "en"},
    })  # fmt: skip
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = await plans.post(f"/v1/plans/{pid}/transitions", headers=STAFF, json={"to": "co_creation"})
    assert r.status_code == 200, r.text
    r = await plans.post(f"/v1/plans/{pid}/commitments", headers=STAFF, json={"title": "Open budgets"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    r = await plans.post(f"/v1/plans/{pid}/transitions", headers=STAFF, json={"to": "submitted"})
    assert r.status_code == 200, r.text
    return pid, cid, datetime.fromisoformat(r.json()["submitted_at"]).astimezone(UTC).date()


async def _review(irm: httpx.AsyncClient, plan_id: str) -> dict[str, Any] | None:
    rows: list[dict[str, Any]] = (await irm.get("/v1/reviews", params={"plan_id": plan_id})).json()
    return next((r for r in rows if r["kind"] == "action_plan_review"), None)


async def _outbox(dsn: str, event_type: str) -> list[dict[str, Any]]:
    rows = await fetchval(
        dsn,
        "SELECT coalesce(json_agg(json_build_object('payload', payload, 'published', published_at"
        " IS NOT NULL) ORDER BY id), '[]') FROM outbox WHERE event_type = $1",
        event_type,
    )
    return [{**json.loads(r["payload"]), "_published": r["published"]} for r in json.loads(rows)]


async def test_a_review_from_submission_to_the_plans_repository_and_its_clock_across_restarts(
    env: Env, services: dict[str, ServiceProcess]
) -> None:
    irm_proc = services["irm"]
    irm_db = irm_proc.env["IRM_DATABASE_URL"]
    async with (
        httpx.AsyncClient(base_url=services["plans"].base_url, timeout=10) as plans,
        httpx.AsyncClient(base_url=irm_proc.base_url, timeout=10) as irm,
    ):
        member = await plans.post("/v1/members", headers=STAFF,
                                  json={"name": "Jordan", "kind": "national", "country_code": "JO"})  # fmt: skip
        assert member.status_code == 201, member.text
        member_id = member.json()["id"]
        gov = token("government", sub="gov-jo", member_ids=[member_id])
        pid, cid, submitted_on = await _submitted_plan(plans, member_id, "Sixth national action plan")

        # --- the Action Plan Review, scheduled from plans' PlanSubmitted ----------------------
        apr = await eventually(lambda: _review(irm, pid))
        assert (apr["state"], apr["due_date"]) == (
            "scheduled",
            action_plan_review_due(submitted_on).isoformat(),
        )
        rid = apr["id"]

        # --- researchers: the one with a declared tie to the member is refused ---------------
        r = await irm.post(
            "/v1/researchers", headers=IRM_STAFF, json={"subject": "res-amina", "name": "Amina"}
        )
        assert r.status_code == 201, r.text
        researcher_id = r.json()["id"]
        r = await irm.post("/v1/researchers", headers=IRM_STAFF,
                           json={"subject": "res-tied", "name": "Tied", "ties": [member_id]})  # fmt: skip
        assert r.status_code == 201, r.text
        assign = f"/v1/reviews/{rid}/assignment"
        assert_problem(
            await irm.post(assign, headers=IRM_STAFF, json={"researcher_id": r.json()["id"]}),
            409,
            rule="review.researcher_not_independent",
        )
        r = await irm.post(assign, headers=IRM_STAFF, json={"researcher_id": researcher_id})
        assert (r.status_code, r.json()["state"]) == (200, "researching"), r.text

        # --- the commitment coded by the assigned researcher -----------------------------------
        coding = f"/v1/reviews/{rid}/assessments/{cid}"
        codes = {
            "verifiable": True,
            "relevance": {"access_to_information": True, "civic_participation": True},
            "potential_for_results": "substantial",
            "promising": True,
        }
        assert_problem(await irm.put(coding, headers=TIED, json=codes), 403)

        async def coded() -> dict[str, Any] | None:
            # 404 until the IRM has consumed plans' CommitmentAdded.
            r = await irm.put(coding, headers=RESEARCHER, json=codes)
            return r.json() if r.status_code == 200 else None

        assessed = await eventually(coded)
        assert (assessed["potential_for_results"], assessed["promising"]) == ("substantial", True)

        # --- draft → pre-publication: the member's government comments ------------------------
        draft = {"draft_url": "https://irm.example.org/drafts/jordan-apr.pdf"}
        r = await irm.post(f"/v1/reviews/{rid}/draft", headers=RESEARCHER, json=draft)
        assert (r.status_code, r.json()["state"]) == (200, "draft"), r.text
        steps = f"/v1/reviews/{rid}/steps"
        r = await irm.post(steps, headers=RESEARCHER, json={"to": "pre_publication"})
        assert (r.status_code, r.json()["state"]) == (200, "pre_publication"), r.text
        comments = f"/v1/reviews/{rid}/comments"
        assert_problem(await irm.post(comments, headers=PARTICIPANT, json={"text": "Too early"}), 403)
        r = await irm.post(comments, headers=gov, json={"text": "Commitment 1 has started."})
        assert (r.status_code, r.json()["phase"], r.json()["author_role"]) == (
            201,
            "pre_publication",
            "government",
        )
        gov_comment = r.json()["id"]

        # --- public comment: anyone signed in ------------------------------------------------
        r = await irm.post(steps, headers=RESEARCHER, json={"to": "public_comment"})
        assert (r.status_code, r.json()["state"]) == (200, "public_comment"), r.text
        public = (await irm.get(f"/v1/reviews/{rid}")).json()
        assert public["draft_url"] == draft["draft_url"]
        r = await irm.post(comments, headers=PARTICIPANT, json={"text": "Please publish the budget data."})
        assert (r.status_code, r.json()["phase"]) == (201, "public_comment"), r.text
        public_comment = r.json()["id"]
        assert [c["text"] for c in (await irm.get(comments)).json()] == ["Please publish the budget data."]

        # --- publishing waits for every comment to be considered, with a note -----------------
        report = {"title": "Jordan Action Plan Review 2026", "url": "https://irm.example.org/jordan-apr.pdf"}
        publish = f"/v1/reviews/{rid}/publish"
        assert_problem(
            await irm.post(publish, headers=RESEARCHER, json=report),
            409,
            rule="review.comments_not_considered",
        )
        for comment_id in (gov_comment, public_comment):
            r = await irm.post(f"{comments}/{comment_id}/considered", headers=RESEARCHER,
                               json={"note": "Addressed in section 2"})  # fmt: skip
            assert r.status_code == 200, r.text
        r = await irm.post(publish, headers=RESEARCHER, json=report)
        assert (r.status_code, r.json()["state"]) == (200, "published"), r.text

        # --- back in plans: the IRM block of the commitment and the report in the repository ---
        async def irm_block() -> dict[str, Any] | None:
            body = (await plans.get(f"/v1/commitments/{cid}")).json()
            block: dict[str, Any] | None = (body.get("irm") or {}).get("action_plan_review")
            return block

        block = await eventually(irm_block)
        assert (block["review_id"], block["scale_version"], block["verifiable"]) == (rid, "irm-2021", True)
        assert (block["potential_for_results"], block["promising"]) == ("substantial", True)

        async def filed() -> list[dict[str, Any]]:
            docs: list[dict[str, Any]] = (await plans.get(f"/v1/plans/{pid}/documents")).json()
            return [d for d in docs if d["type"] == "irm_report"]

        [doc] = await eventually(filed, until=lambda ds: len(ds) >= 1)
        assert (doc["id"], doc["title"], doc["url"]) == (rid, report["title"], report["url"])
        published = (await irm.get("/v1/assessments", params={"plan_id": pid})).json()
        assert [(a["commitment_id"], a["review_state"]) for a in published] == [(cid, "published")]

        # --- the clock: a second plan's review stays unpublished --------------------------------
        late_pid, _, late_submitted = await _submitted_plan(plans, member_id, "Seventh national action plan")
        late = await eventually(lambda: _review(irm, late_pid))
        due = date.fromisoformat(late["due_date"])
        assert due == action_plan_review_due(late_submitted)

        # SIGKILL, then restart on a day past the due date: one overdue report, none for the
        # published review, and no reminder (a reminder is for reviews not yet due).
        irm_proc.kill()
        irm_proc.env["IRM_TIMERS_TODAY"] = (due + timedelta(days=1)).isoformat()
        irm_proc.start()
        await irm_proc.wait_ready()

        async def overdue_published() -> list[dict[str, Any]]:
            return await _outbox(irm_db, ReviewOverdue.event_type)

        [overdue] = await eventually(
            overdue_published, until=lambda rows: len(rows) >= 1 and all(r["_published"] for r in rows)
        )
        assert (overdue["review_id"], overdue["due_date"], overdue["state"]) == (
            late["id"],
            due.isoformat(),
            "scheduled",
        )

        # SIGKILL again and restart on the same day: the timers run again and report nothing new.
        irm_proc.kill()
        irm_proc.start()
        await irm_proc.wait_ready()

        async def leading() -> bool:
            return 'sharaka_leader{job="irm-timers"} 1.0' in (await irm.get("/metrics")).text

        await eventually(leading)

        async def three_passes() -> bool:  # whole passes of the restarted leader, each finding nothing
            text = (await irm.get("/metrics")).text
            found = re.search(r'^sharaka_leader_passes_total\{job="irm-timers"\} (\S+)$', text, re.M)
            return found is not None and float(found.group(1)) >= 3

        await eventually(three_passes)
        assert len(await _outbox(irm_db, ReviewOverdue.event_type)) == 1
        assert await _outbox(irm_db, ReviewDueSoon.event_type) == []

        # IRM staff withdraw the overdue review, with a reason.
        r = await irm.post(f"/v1/reviews/{overdue['review_id']}/withdraw", headers=IRM_STAFF,
                           json={"reason": "the plan was replaced before its review"})  # fmt: skip
        assert r.status_code == 200 and r.json()["state"] == "withdrawn", r.text

        async def withdrawn_published() -> bool:
            return bool(await fetchval(irm_db, "SELECT count(*) FROM outbox WHERE event_type = $1 AND "
                                       "published_at IS NOT NULL", ReviewWithdrawn.event_type))  # fmt: skip

        await eventually(withdrawn_published)

    # Everything was published before the kills: the topic holds each event once.
    types = [
        header(x, "ce_type") for x in await read_topic(env.kafka.bootstrap, env.topic(topics.IRM), timeout=3)
    ]
    assert types.count(ReviewOverdue.event_type) == 1, types
    assert types.count(ReviewPublished.event_type) == 1, types
    assert ReviewDueSoon.event_type not in types
    # Every event of a review's life, published by the IRM service in this run (compliance,
    # findings and procedural reviews need consultation's events: tests/integration/test_irm_*.py).
    walked = (
        ReviewScheduled, ResearcherAssigned, ReviewStateChanged, ReviewDraftPublished, ReviewCommentReceived,
        CommitmentAssessed, ReviewPublished, ReviewOverdue,
        ReviewWithdrawn,
    )  # fmt: skip
    assert {e.event_type for e in walked} <= set(types), sorted(set(types))
