"""The IRM applies a run of ``PlanSubmitted`` with one statement per table (a batch reaction), and
leaves the store as one event at a time would have: a plan submitted twice in one batch keeps its
last title and gets one review of each kind, a four-year plan also gets its midterm, a repeated
event id is a duplicate, and every ``ReviewScheduled`` continues the trace of the submission that
caused it (not the batch's).

All records go out in one produce call, on one partition (one key would be too few to make the
runs; one partition keeps them in one poll), so the consumer reads them as one batch.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import asyncpg

from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from shared.events import topics
from shared.events.envelope import Envelope
from shared.events.plans import PlanSubmitted
from tests.conftest import Env, running
from tests.helpers import caught_up, eventually, header, produce, read_topic, topic_size

SCHEDULED = "ogp.irm.review_scheduled.v1"


def submitted(plan_id: UUID, title: str, years: int) -> PlanSubmitted:
    return PlanSubmitted(
        plan_id=plan_id, member_id=UUID(int=7), title=title, start_date=date(2025, 9, 1),
        end_date=date(2025 + years, 8, 31), commitment_count=3, point_of_contact_id=uuid4(),
        submitted_at=datetime(2025, 10, 1, tzinfo=UTC),
    )  # fmt: skip


def record(event: PlanSubmitted, trace_id: str, event_id: UUID | None = None) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:  # fmt: skip
    rec = Envelope.wrap(event, service="plans", event_id=event_id).to_record(
        {"traceparent": f"00-{trace_id}-{'1' * 16}-01"}
    )
    return b"one-partition", rec.value, rec.headers


async def test_a_run_of_submissions_is_applied_as_one_at_a_time_would(env: Env) -> None:
    two, four = uuid4(), uuid4()
    traces = [f"{i:032x}" for i in range(1, 5)]
    first = record(submitted(two, "Plan 2025 (draft title)", 2), traces[0], event_id=UUID(int=1))
    batch = [
        first,
        record(submitted(four, "Four-year plan", 4), traces[1]),
        record(submitted(two, "Plan 2025-2027", 2), traces[2]),  # resubmitted: new title, no new review
        first,  # the same event again, in the same batch
    ]
    settings = env.settings(IrmSettings, "irm")
    topic, group = env.topic(topics.PLANS), f"{env.prefix}sharaka-irm"
    async with running(IRM, settings):
        await produce(env.kafka.bootstrap, topic, batch)
        await eventually(lambda: caught_up(env.kafka.bootstrap, group, [topic]), timeout=30)
        conn = await asyncpg.connect(settings.database_url)
        try:
            reviews = await conn.fetch("SELECT plan_id, kind FROM reviews ORDER BY plan_id, kind")
            titles = dict(await conn.fetch("SELECT plan_id, title FROM plans_seen"))
            applied = await conn.fetchval("SELECT count(*) FROM inbox")
        finally:
            await conn.close()
        events = await read_topic(env.kafka.bootstrap, env.topic(topics.IRM),
                                  until=lambda rs: len([r for r in rs if header(r, "ce_type") == SCHEDULED]) >= 3)  # fmt: skip

    assert sorted((r["plan_id"], r["kind"]) for r in reviews) == sorted(
        [(two, "action_plan_review"), (four, "action_plan_review"), (four, "midterm_review")]
    )
    assert titles[two] == "Plan 2025-2027"  # the last submission's
    assert applied == 3  # the repeated event id was claimed once
    scheduled = [r for r in events if header(r, "ce_type") == SCHEDULED]
    assert len(scheduled) == 3
    # Each review's event continues the trace of the submission that caused it.
    by_plan = {}
    for r in scheduled:
        assert r.value is not None
        by_plan.setdefault(r.key, []).append((header(r, "traceparent") or "").split("-")[1])
    assert by_plan[str(two).encode()] == [traces[0]]
    assert by_plan[str(four).encode()] == [traces[1], traces[1]]
    assert await topic_size(env.kafka.bootstrap, env.topic(topics.dead_letter_topic("irm"))) == 0
