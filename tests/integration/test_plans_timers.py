"""The plans timers against the real Postgres and Kafka: who is overdue on a given day, each
occurrence emitted exactly once (again, concurrently, after a crash before or after the commit,
after a SIGKILL and a restart), one active runner among replicas, and the configuration."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from devstack.services import ServiceProcess
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from services.plans.timers import (
    TIMERS_LOCK,
    TimerRunner,
    next_plan_due,
    run_timers,
)
from services.plans.use_cases import commitments, documents, members, plans
from services.plans.use_cases import milestones as milestone_cases
from shared.auth import Principal
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate
from shared.events import topics
from shared.events.plans import (
    CommitmentState,
    DocumentType,
    Language,
    MemberKind,
    MemberStatus,
    MilestoneStatus,
    PlanState,
)
from shared.uow import UnitOfWork
from tests.conftest import Env, running
from tests.helpers import eventually, header, plans_use_case, read_topic

STAFF = Principal(subject="tester", roles=frozenset({"staff"}), member_ids=frozenset())
OVERDUE = "ogp.plans.milestone_overdue.v1"
NEXT_PLAN = "ogp.plans.next_plan_overdue.v1"
STALE = "ogp.plans.repository_stale.v1"
TIMER_TYPES = [OVERDUE, NEXT_PLAN, STALE]
NOTHING = {"milestone_overdue": 0, "next_plan_overdue": 0, "repository_stale": 0}
#: Plan states in the order a plan reaches them (refreshing is a side trip of 4-year plans).
PATH = [PlanState.CO_CREATION, PlanState.SUBMITTED, PlanState.IMPLEMENTING, PlanState.ENDED, PlanState.CLOSED]


# --- building an OGP record through the service's own use cases -------------------------------


@pytest.fixture
async def pool(env: Env) -> AsyncIterator[asyncpg.Pool]:
    """The plans database, migrated exactly as the service does at start-up."""
    p = await create_pool(env.database("plans"))
    await migrate(p, load_migrations(("shared", SHARED_MIGRATIONS), ("plans", PLANS.migrations)))
    yield p
    await p.close()


@dataclass
class Plan:
    id: UUID
    member_id: UUID
    commitments: list[UUID]
    milestones: list[list[UUID]]


async def member(pool: asyncpg.Pool, name: str = "Jordan", status: MemberStatus | None = None) -> UUID:
    created = await plans_use_case(
        pool, members.create_member, members.CreateMember(name, MemberKind.NATIONAL, "JO")
    )
    if status is not None:
        await pool.execute("UPDATE members SET status = $2 WHERE id = $1", created.id, status.value)
    return created.id


async def plan(
    pool: asyncpg.Pool,
    member_id: UUID,
    *,
    start: date,
    end: date,
    state: PlanState = PlanState.IMPLEMENTING,
    created: datetime | date | None = None,
    milestones: Sequence[Sequence[date | None]] = ((),),
) -> Plan:
    """A plan taken through its real transitions; one commitment per entry of ``milestones``, with
    milestones ending on those dates. Created (by default) six months before it starts."""
    p = await plans_use_case(pool, plans.create_plan, plans.CreatePlan(
        STAFF, member_id, "National action plan", start, end,
        plans.ContactDetails("Lina Haddad", "lina@example.org", None, "ar"),
    ))  # fmt: skip
    cids, mids = [], []
    for i, ends in enumerate(milestones):
        c = await plans_use_case(pool, commitments.add_commitment, commitments.AddCommitment(
            STAFF, p.id, {"texts": {"title": {"en": f"Commitment {i}"}}, "original_language": "en"}
        ))  # fmt: skip
        cids.append(c.id)
        mids.append([
            (await plans_use_case(pool, milestone_cases.add_milestone, milestone_cases.AddMilestone(
                STAFF, c.id, milestone_cases.MilestoneText({"en": f"Step {j}"}), end_date=d, weight=1.0,
            ))).id
            for j, d in enumerate(ends)
        ])  # fmt: skip
    for target in PATH[: PATH.index(state) + 1] if state in PATH else []:
        await plans_use_case(pool, plans.transition_plan, plans.TransitionPlan(STAFF, p.id, target))
    if created is None:
        created = start - timedelta(days=180)
    if not isinstance(created, datetime):
        created = datetime.combine(created, time(12), tzinfo=UTC)
    await pool.execute("UPDATE plans SET created_at = $2 WHERE id = $1", p.id, created)
    return Plan(p.id, member_id, cids, mids)


async def report(
    pool: asyncpg.Pool, milestone_id: UUID, status: MilestoneStatus, end_date: date | None = None
) -> None:
    progress = 100 if status is MilestoneStatus.COMPLETED else 10
    await plans_use_case(pool, milestone_cases.report_progress, milestone_cases.ReportProgress(
        STAFF, milestone_id, status, progress, note=None, evidence=[], end_date=end_date,
    ))  # fmt: skip


async def document(pool: asyncpg.Pool, plan_id: UUID, published_on: date) -> None:
    await plans_use_case(pool, documents.publish_document, documents.PublishDocument(
        STAFF, plan_id, DocumentType("minutes"), "Forum minutes", "https://example.org/minutes.pdf",
        Language("en"), published_on,
    ))  # fmt: skip


# --- reading what was emitted -------------------------------------------------------------------


@dataclass(frozen=True)
class Emitted:
    event_id: UUID
    type: str
    key: str
    topic: str
    data: dict[str, Any]

    @property
    def occurrence(self) -> tuple[str, str, str]:
        """(type, subject, occurrence), as in timer_emissions."""
        d = self.data
        if self.type == OVERDUE:
            return (self.type, d["milestone_id"], d["end_date"])
        if self.type == NEXT_PLAN:
            return (self.type, d["member_id"], d["previous_plan_id"])
        return (self.type, d["plan_id"], d["period_start"])


async def emitted(pool: asyncpg.Pool, event_type: str | None = None) -> list[Emitted]:
    rows = await pool.fetch(
        "SELECT event_id, event_type, key, topic, payload FROM outbox WHERE event_type = ANY($1::text[]) ORDER BY id",
        [event_type] if event_type else TIMER_TYPES,
    )
    return [
        Emitted(r["event_id"], r["event_type"], r["key"], r["topic"], json.loads(r["payload"])) for r in rows
    ]


async def assert_exactly_once(pool: asyncpg.Pool) -> list[Emitted]:
    """One outbox row per occurrence, and one timer_emissions row per outbox row."""
    events = await emitted(pool)
    dup = {k: n for k, n in Counter(e.occurrence for e in events).items() if n > 1}
    assert not dup, f"emitted more than once: {dup}"
    assert await pool.fetchval("SELECT count(*) FROM timer_emissions") == len(events)
    return events


async def lock_holders(pool: asyncpg.Pool) -> list[int]:
    """Server pids holding the timers' advisory lock in this database (bigint key: classid is the
    high half, objid the low half, objsubid 1)."""
    rows = await pool.fetch(
        """SELECT pid FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND objsubid = 1
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND (classid::bigint << 32) + objid::bigint = $1""",
        TIMERS_LOCK,
    )
    return [r["pid"] for r in rows]


# --- the rules ------------------------------------------------------------------------------------


async def test_each_kind_is_emitted_once_with_its_payload(pool: asyncpg.Pool) -> None:
    jordan = await member(pool, "Jordan")
    p1 = await plan(
        pool, jordan, start=date(2025, 1, 1), end=date(2027, 1, 1), created=date(2025, 1, 1),
        milestones=[
            [date(2026, 6, 30), date(2026, 12, 31), date(2031, 1, 1), None, date(2026, 5, 1)],
            [date(2026, 3, 1)],
        ],
    )  # fmt: skip
    overdue, done, _future, _undated, cancelled = p1.milestones[0]
    await report(pool, done, MilestoneStatus.COMPLETED)
    await report(pool, cancelled, MilestoneStatus.CANCELLED)
    await plans_use_case(pool, commitments.transition_commitment, commitments.TransitionCommitment(
        STAFF, p1.commitments[1], CommitmentState.WITHDRAWN, "merged into commitment 1"
    ))  # fmt: skip
    for day in (date(2025, 3, 1), date(2025, 9, 1), date(2026, 5, 5)):  # 2 in 2025, 1 in 2026, 0 in 2027
        await document(pool, p1.id, day)
    # Kenya: the previous plan is closed and a newer draft exists: nothing to say.
    kenya = await member(pool, "Kenya")
    await plan(pool, kenya, start=date(2022, 1, 1), end=date(2024, 1, 1), state=PlanState.CLOSED,
               milestones=[[date(2023, 1, 1)]])  # fmt: skip
    await plan(pool, kenya, start=date(2024, 3, 1), end=date(2026, 3, 1), state=PlanState.DRAFT)
    # Chile: a draft only (never an action plan), with a milestone long past.
    chile = await member(pool, "Chile")
    await plan(pool, chile, start=date(2020, 1, 1), end=date(2022, 1, 1), state=PlanState.DRAFT,
               milestones=[[date(2021, 1, 1)]])  # fmt: skip
    # Peru: withdrawn from OGP, owes no plan.
    peru = await member(pool, "Peru", MemberStatus.WITHDRAWN)
    await plan(pool, peru, start=date(2020, 1, 1), end=date(2022, 1, 1), state=PlanState.CLOSED)

    today = date(2028, 1, 2)
    counts = await run_timers(pool, today)
    assert counts == {"milestone_overdue": 1, "next_plan_overdue": 1, "repository_stale": 2}

    events = await assert_exactly_once(pool)
    assert {e.topic for e in events} == {topics.PLANS}
    by_type = {t: [e for e in events if e.type == t] for t in TIMER_TYPES}
    [m] = by_type[OVERDUE]
    assert m.key == str(p1.id)
    assert m.data | {"detected_at": None} == {
        "plan_id": str(p1.id), "commitment_id": str(p1.commitments[0]), "milestone_id": str(overdue),
        "member_id": str(jordan), "number": 1, "end_date": "2026-06-30", "detected_at": None,
    }  # fmt: skip
    [n] = by_type[NEXT_PLAN]
    assert n.key == str(jordan)
    assert n.data | {"detected_at": None} == {
        "member_id": str(jordan), "previous_plan_id": str(p1.id), "previous_end_date": "2027-01-01",
        "due_date": "2028-01-01", "detected_at": None,
    }  # fmt: skip
    assert {e.key for e in by_type[STALE]} == {str(p1.id)}
    assert sorted((e.data["period_start"], e.data["period_end"], e.data["updates_in_period"])
                  for e in by_type[STALE]) == [
        ("2026-01-01", "2027-01-01", 1), ("2027-01-01", "2028-01-01", 0),
    ]  # fmt: skip
    rows = await pool.fetch("SELECT kind, subject, occurrence FROM timer_emissions ORDER BY kind, occurrence")
    assert [(r["kind"], r["subject"], r["occurrence"]) for r in rows] == [
        ("milestone_overdue", overdue, "2026-06-30"),
        ("next_plan_overdue", jordan, str(p1.id)),
        ("repository_stale", p1.id, "2026-01-01"),
        ("repository_stale", p1.id, "2027-01-01"),
    ]

    # Again, the same day and later days: nothing new.
    assert await run_timers(pool, today) == NOTHING
    assert await run_timers(pool, today + timedelta(days=1)) == NOTHING
    assert len(await assert_exactly_once(pool)) == 4


async def test_a_milestone_moved_later_is_overdue_again_and_a_completed_one_never(pool: asyncpg.Pool) -> None:
    jordan = await member(pool)
    p = await plan(pool, jordan, start=date(2025, 1, 1), end=date(2027, 1, 1),
                   milestones=[[date(2026, 6, 30), date(2026, 9, 1)]])  # fmt: skip
    m, on_time = p.milestones[0]

    async def overdue_on(day: date) -> int:
        return (await run_timers(pool, day))["milestone_overdue"]

    assert await overdue_on(date(2026, 6, 30)) == 0  # due today is not overdue yet
    await report(pool, on_time, MilestoneStatus.COMPLETED)  # completed before its end date
    assert await overdue_on(date(2026, 7, 1)) == 1
    await report(pool, m, MilestoneStatus.DELAYED, end_date=date(2026, 9, 30))
    assert await overdue_on(date(2026, 8, 1)) == 0  # the new end date has not passed
    assert await overdue_on(date(2026, 10, 1)) == 1  # a new occurrence
    await report(pool, m, MilestoneStatus.DELAYED, end_date=date(2026, 6, 30))
    assert await overdue_on(date(2026, 10, 2)) == 0  # back to a date already reported
    await report(pool, m, MilestoneStatus.COMPLETED)
    assert await overdue_on(date(2027, 6, 1)) == 0
    events = await emitted(pool, OVERDUE)
    assert [(e.data["milestone_id"], e.data["end_date"]) for e in events] == [
        (str(m), "2026-06-30"), (str(m), "2026-09-30"),
    ]  # fmt: skip
    await assert_exactly_once(pool)


async def test_a_milestone_is_overdue_only_while_its_plan_is_being_implemented(pool: asyncpg.Pool) -> None:
    jordan = await member(pool)
    ended = await plan(pool, jordan, start=date(2023, 1, 1), end=date(2025, 1, 1), state=PlanState.ENDED,
                       milestones=[[date(2024, 6, 1)]])  # fmt: skip
    co_creating = await plan(pool, jordan, start=date(2025, 3, 1), end=date(2027, 3, 1),
                             state=PlanState.CO_CREATION, milestones=[[date(2024, 6, 1)]])  # fmt: skip
    submitted = await plan(pool, jordan, start=date(2025, 3, 1), end=date(2027, 3, 1),
                           state=PlanState.SUBMITTED, milestones=[[date(2024, 6, 1)]])  # fmt: skip
    assert (await run_timers(pool, date(2025, 6, 1)))["milestone_overdue"] == 1
    [e] = await emitted(pool, OVERDUE)
    assert e.data["milestone_id"] == str(submitted.milestones[0][0])
    assert {ended.id, co_creating.id}.isdisjoint({UUID(e.data["plan_id"])})


async def test_next_plan_overdue_only_without_a_newer_plan(pool: asyncpg.Pool) -> None:
    # Jordan: two action plans; the latest ended on 1 January 2025, nothing since.
    jordan = await member(pool, "Jordan")
    await plan(pool, jordan, start=date(2020, 1, 1), end=date(2022, 1, 1), state=PlanState.CLOSED)
    previous = await plan(pool, jordan, start=date(2023, 1, 1), end=date(2025, 1, 1), state=PlanState.ENDED)
    # Kenya: a newer plan starting after the previous one's end (a draft is enough).
    kenya = await member(pool, "Kenya")
    await plan(pool, kenya, start=date(2023, 1, 1), end=date(2025, 1, 1), state=PlanState.ENDED)
    await plan(pool, kenya, start=date(2025, 3, 1), end=date(2027, 3, 1), state=PlanState.DRAFT,
               created=date(2024, 12, 1))  # fmt: skip
    # Chile: a newer plan that starts early but was created after the previous one's end.
    chile = await member(pool, "Chile")
    await plan(pool, chile, start=date(2023, 1, 1), end=date(2025, 1, 1), state=PlanState.ENDED)
    await plan(pool, chile, start=date(2024, 11, 1), end=date(2026, 11, 1), state=PlanState.CO_CREATION,
               created=date(2025, 2, 1))  # fmt: skip
    # Peru: never got past co-creation, so it has no previous action plan.
    peru = await member(pool, "Peru")
    await plan(pool, peru, start=date(2020, 1, 1), end=date(2022, 1, 1), state=PlanState.CO_CREATION)
    # Ghana: withdrawn.
    ghana = await member(pool, "Ghana", MemberStatus.WITHDRAWN)
    await plan(pool, ghana, start=date(2020, 1, 1), end=date(2022, 1, 1), state=PlanState.ENDED)

    assert (await run_timers(pool, date(2026, 1, 1)))["next_plan_overdue"] == 0  # due that day
    assert (await run_timers(pool, date(2026, 1, 2)))["next_plan_overdue"] == 1
    assert (await run_timers(pool, date(2030, 1, 2)))["next_plan_overdue"] == 0
    [e] = await emitted(pool, NEXT_PLAN)
    assert e.key == str(jordan)
    assert e.data["previous_plan_id"] == str(previous.id)
    assert (e.data["previous_end_date"], e.data["due_date"]) == ("2025-01-01", "2026-01-01")


async def test_next_plan_after_a_new_plan_ends_is_a_new_occurrence(pool: asyncpg.Pool) -> None:
    jordan = await member(pool)
    await plan(pool, jordan, start=date(2020, 1, 1), end=date(2022, 1, 1), state=PlanState.ENDED)
    assert (await run_timers(pool, date(2023, 6, 1)))["next_plan_overdue"] == 1
    # The member comes back, its new plan ends, and again nothing follows.
    newer = await plan(pool, jordan, start=date(2023, 9, 1), end=date(2025, 9, 1), state=PlanState.ENDED)
    assert (await run_timers(pool, date(2026, 9, 1)))["next_plan_overdue"] == 0
    assert (await run_timers(pool, date(2026, 9, 2)))["next_plan_overdue"] == 1
    assert [e.data["previous_plan_id"] for e in await emitted(pool, NEXT_PLAN)][-1] == str(newer.id)
    await assert_exactly_once(pool)


async def test_repository_stale_counts_documents_by_publication_day(pool: asyncpg.Pool) -> None:
    jordan = await member(pool)
    await plan(pool, jordan, start=date(2020, 1, 1), end=date(2022, 1, 1), state=PlanState.CLOSED,
               created=date(2019, 9, 1))  # closed: its repository is no longer watched  # fmt: skip
    await plan(pool, jordan, start=date(2024, 1, 1), end=date(2026, 1, 1), state=PlanState.DRAFT,
               created=date(2019, 9, 1))  # a draft has no public repository yet  # fmt: skip
    # Created late on 9 March in New York, which is 10 March in UTC: periods start on 10 March.
    created = datetime(2025, 3, 10, 4, 30, tzinfo=UTC)
    p = await plan(pool, jordan, start=date(2025, 6, 1), end=date(2027, 6, 1), state=PlanState.CO_CREATION,
                   created=created)  # fmt: skip
    # 9 March 2025 is before the plan existed; 10 March and 9 March 2026 open and close the first
    # year; 10 March 2026 belongs to the second year.
    for day in (date(2025, 3, 9), date(2025, 3, 10), date(2026, 3, 9), date(2026, 3, 10)):
        await document(pool, p.id, day)

    async def stale_on(day: date, **settings: Any) -> int:
        return (await run_timers(pool, day, PlansSettings(**settings)))["repository_stale"]

    assert await stale_on(date(2026, 3, 10)) == 0  # the first year had its two documents
    assert await stale_on(date(2027, 3, 9)) == 0  # the second year is not over yet
    assert await stale_on(date(2027, 3, 10), repository_min_updates_per_year=1) == 0
    assert await stale_on(date(2027, 3, 10)) == 1
    assert await stale_on(date(2027, 3, 11)) == 0
    [e] = await emitted(pool, STALE)
    assert e.key == str(p.id)
    assert (e.data["period_start"], e.data["period_end"], e.data["updates_in_period"]) == (
        "2026-03-10", "2027-03-10", 1,
    )  # fmt: skip


async def test_sql_calendar_matches_the_python_rules_whatever_the_session_time_zone(
    env: Env, pool: asyncpg.Pool
) -> None:
    """29 February creations and month-end due dates, computed by Postgres in a session far from
    UTC (+14h), are the calendar's: a plan created on 29 February 2024 has its yearly periods
    start on 28 February in common years and on 29 February again in 2028, each judged on the
    day it ends; six months after 31 August is the end of February (:func:`next_plan_due`)."""
    leap = await plan(pool, await member(pool, "Jordan"), start=date(2024, 6, 1), end=date(2026, 6, 1),
                      state=PlanState.CO_CREATION, created=datetime(2024, 2, 29, 12, tzinfo=UTC))  # fmt: skip
    month_end = await plan(pool, await member(pool, "Kenya"), start=date(2025, 8, 31), end=date(2027, 8, 31),
                           state=PlanState.ENDED)  # fmt: skip
    far = await asyncpg.create_pool(env.database("plans"), server_settings={"TimeZone": "Pacific/Kiritimati"})
    assert far is not None

    years = [
        (date(2024, 2, 29), date(2025, 2, 28)),
        (date(2025, 2, 28), date(2026, 2, 28)),
        (date(2026, 2, 28), date(2027, 2, 28)),
        (date(2027, 2, 28), date(2028, 2, 29)),  # back on 29 February in a leap year
    ]

    async def periods_match(today: date, over: list[tuple[date, date]]) -> None:
        await run_timers(far, today)
        periods = [
            (date.fromisoformat(e.data["period_start"]), date.fromisoformat(e.data["period_end"]))
            for e in await emitted(pool, STALE)
            if e.key == str(leap.id)
        ]
        assert sorted(periods) == over, today

    try:
        await periods_match(date(2025, 2, 27), [])  # the first year ends on 28 February 2025
        await periods_match(date(2025, 2, 28), years[:1])
        await periods_match(date(2026, 2, 28), years[:2])
        six = PlansSettings(next_plan_grace_months=6)
        assert (await run_timers(far, date(2028, 2, 29), six))["next_plan_overdue"] == 0
        assert (await run_timers(far, date(2028, 3, 1), six))["next_plan_overdue"] == 1
        [e] = await emitted(pool, NEXT_PLAN)
        assert e.data["previous_plan_id"] == str(month_end.id)
        assert (
            date.fromisoformat(e.data["due_date"]) == next_plan_due(date(2027, 8, 31), 6) == date(2028, 2, 29)
        )
        await periods_match(date(2029, 1, 1), years)  # the fifth year ends on 28 February 2029
    finally:
        await far.close()


# --- exactly once ---------------------------------------------------------------------------------


async def overdue_world(pool: asyncpg.Pool, members: int = 3) -> int:
    """Members with an implementing plan, overdue milestones, a stale repository and no next plan;
    returns how many occurrences are due on 1 January 2030."""
    for i in range(members):
        mid = await member(pool, f"Member {i}")
        await plan(pool, mid, start=date(2025, 1, 1), end=date(2027, 1, 1), created=date(2025, 1, 1),
                   milestones=[[date(2026, 1, 1), date(2026, 2, 1)], [date(2026, 3, 1)]])  # fmt: skip
    # per member: 3 milestones, 1 next plan, 5 stale years (2025..2029)
    return members * (3 + 1 + 5)


async def test_concurrent_passes_emit_each_occurrence_once(env: Env, pool: asyncpg.Pool) -> None:
    due = await overdue_world(pool, members=4)
    small = PlansSettings(timers_batch_size=2)  # many batches, many chances to collide
    pools = [await create_pool(env.database("plans"), min_size=1, max_size=2) for _ in range(3)]
    try:
        results = await asyncio.gather(*(run_timers(p, date(2030, 1, 1), small) for p in pools * 2))
    finally:
        for p in pools:
            await p.close()
    assert sum(sum(r.values()) for r in results) == due
    assert len(await assert_exactly_once(pool)) == due


async def test_a_crash_before_the_commit_is_done_again(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = await overdue_world(pool, members=1)
    flush = UnitOfWork.flush

    async def crash(self: UnitOfWork) -> None:
        if self._pending:
            raise ConnectionError("the process died before the commit")
        await flush(self)

    monkeypatch.setattr(UnitOfWork, "flush", crash)
    with pytest.raises(ConnectionError):
        await run_timers(pool, date(2030, 1, 1))
    assert await pool.fetchval("SELECT count(*) FROM timer_emissions") == 0
    assert await emitted(pool) == []
    monkeypatch.undo()
    assert sum((await run_timers(pool, date(2030, 1, 1))).values()) == due
    assert len(await assert_exactly_once(pool)) == due


async def passes_went_by(pool: asyncpg.Pool, count: int, dates: tuple[date, date]) -> int:
    """Not a sleep standing for "several passes went by and emitted nothing more": two canaries,
    one after the other. Each is an overdue milestone pushed back to a past date (a new
    occurrence); the runner emits the second in a pass that began after the first was emitted,
    so at least one whole pass ran over everything else in between. Returns the new count."""
    milestones = list(dict.fromkeys(UUID(e.data["milestone_id"]) for e in await emitted(pool, OVERDUE)))
    for n, (milestone_id, new_end) in enumerate(zip(milestones[-2:], dates, strict=True), start=1):
        await report(pool, milestone_id, MilestoneStatus.DELAYED, new_end)

        async def canary(expected: int = count + n) -> bool:
            return len(await emitted(pool)) >= expected

        await eventually(canary, timeout=30)
    assert len(await emitted(pool)) == count + 2
    return count + 2


# --- one active runner ----------------------------------------------------------------------------


def fast(env: Env, **over: Any) -> PlansSettings:
    values: dict[str, Any] = {
        "timers_interval_s": 0.2,
        "timers_lock_retry_s": 0.2,
        "timers_today": date(2030, 1, 1),
    }
    settings: PlansSettings = env.settings(PlansSettings, "plans", **(values | over))
    return settings


async def test_one_leader_and_a_failover_when_its_connection_drops(env: Env, pool: asyncpg.Pool) -> None:
    due = await overdue_world(pool, members=2)
    settings = fast(env)
    runners = [TimerRunner(dsn=settings.database_url, pool=pool, settings=settings) for _ in range(2)]
    tasks = [asyncio.create_task(r.run()) for r in runners]
    try:

        async def passes() -> bool:
            return any(r.passes >= 3 for r in runners)

        await eventually(passes)
        for _ in range(10):  # the invariant holds over time, not just once: the sleep is deliberate
            assert [r.is_leader for r in runners].count(True) == 1
            await asyncio.sleep(0.05)
        leader = next(r for r in runners if r.is_leader)
        standby = next(r for r in runners if not r.is_leader)
        assert standby.passes == 0
        assert len(await assert_exactly_once(pool)) == due

        # The leader's lock session dies (failover, network cut): it stops, the standby takes over.
        [pid] = await lock_holders(pool)
        assert await pool.fetchval("SELECT pg_terminate_backend($1)", pid)

        async def took_over() -> bool:
            return standby.is_leader and standby.passes > 0

        await eventually(took_over, timeout=10)
        overdue = (await emitted(pool, OVERDUE))[0]
        await report(pool, UUID(overdue.data["milestone_id"]), MilestoneStatus.DELAYED, date(2029, 6, 30))

        async def new_occurrence() -> bool:
            return len(await emitted(pool)) == due + 1

        await eventually(new_occurrence, timeout=10)
        # The old leader is back as a standby, and passes go on: three more of the new leader's.
        seen = standby.passes

        async def more_passes() -> bool:
            return standby.passes >= seen + 3

        await eventually(more_passes, timeout=10)
        assert not leader.is_leader and standby.is_leader
        assert len(await lock_holders(pool)) == 1
        assert len(await assert_exactly_once(pool)) == due + 1
    finally:
        for r in runners:
            await r.stop()
        await asyncio.gather(*tasks)
    assert await lock_holders(pool) == []  # stopping lets go of the lock


async def test_two_service_instances_emit_once(env: Env, pool: asyncpg.Pool) -> None:
    due = await overdue_world(pool, members=2)
    async with running(PLANS, fast(env)), running(PLANS, fast(env)):

        async def all_published() -> bool:
            n = await pool.fetchval(
                "SELECT count(*) FROM outbox WHERE event_type = ANY($1::text[]) AND published_at IS NOT NULL",
                TIMER_TYPES,
            )
            return bool(n == due)

        await eventually(all_published)
        # Whole passes of whichever instance leads go by, and none emits anything twice.
        now_due = await passes_went_by(pool, due, (date(2029, 7, 31), date(2029, 8, 31)))
        assert len(await lock_holders(pool)) == 1
        assert len(await assert_exactly_once(pool)) == now_due
    assert await lock_holders(pool) == []


async def test_timers_can_be_turned_off(env: Env, pool: asyncpg.Pool) -> None:
    await overdue_world(pool, members=1)
    async with running(PLANS, fast(env, timers_enabled=False, relay_poll_interval_s=0.2)) as rt:
        # Not a sleep: the service's own periodic loop (the relay, at the timers' interval) has
        # made five passes, so five timer intervals went by in a process that was running.
        relay = rt.relay._runner

        async def five_intervals() -> bool:
            return relay.passes >= 5

        await eventually(five_intervals)
        assert await lock_holders(pool) == []
    assert await emitted(pool) == []


# --- a real process, killed and restarted ---------------------------------------------------------


async def test_sigkill_and_restart_never_emit_twice(env: Env, pool: asyncpg.Pool, tmp_path: Path) -> None:
    due = await overdue_world(pool, members=3)
    proc = ServiceProcess(
        "plans", env.env_vars("PLANS_", "plans", TIMERS_INTERVAL_S=0.5, TIMERS_TODAY="2030-01-01"), tmp_path
    )

    async def count() -> int:
        return len(await emitted(pool))

    # The runner is made busy when the kill comes: this transaction holds one plan's row, which
    # the runner's first batch locks before it claims and emits anything, so the runner waits
    # inside its transaction, occurrences found and not yet emitted.
    blocker = await pool.acquire()
    holding = blocker.transaction()
    await holding.start()
    try:
        plan_id = await blocker.fetchval("SELECT id FROM plans ORDER BY id LIMIT 1")
        await blocker.execute("SELECT 1 FROM plans WHERE id = $1 FOR UPDATE", plan_id)
        proc.start()
        await proc.wait_ready()
        await eventually(lambda: _runner_waits_on_a_lock(pool), timeout=30)
        assert await count() < due  # found, locked out, not emitted: the pass is in flight
        proc.kill()
    finally:
        await holding.rollback()
        await pool.release(blocker)
    # The killed runner's transaction rolled back with its session: nothing of that pass is left.
    assert await count() < due
    try:
        proc.start()
        await proc.wait_ready()
        await eventually(lambda: _equals(count, due), timeout=30)
        assert len(await assert_exactly_once(pool)) == due
        proc.kill()
        # While it is down, a milestone is pushed back to a date that has passed as well.
        moved = (await emitted(pool, OVERDUE))[0]
        await report(pool, UUID(moved.data["milestone_id"]), MilestoneStatus.DELAYED, date(2029, 6, 30))
        proc.start()
        await proc.wait_ready()
        await eventually(lambda: _equals(count, due + 1), timeout=30)
        # Whole passes of the new process go by, and none emits anything again.
        await passes_went_by(pool, due + 1, (date(2029, 7, 31), date(2029, 8, 31)))
        events = await assert_exactly_once(pool)
        assert len(events) == due + 3
        async with httpx.AsyncClient(base_url=proc.base_url) as http:
            metrics = (await http.get("/metrics")).text
        # The restarted process emitted the new occurrence and the two canaries, nothing else.
        assert 'sharaka_timer_events_total{kind="milestone_overdue"} 3.0' in metrics
        assert 'sharaka_timer_events_total{kind="repository_stale"} 0.0' in metrics
        assert 'sharaka_leader{job="plans-timers"} 1.0' in metrics

        # On Kafka every occurrence is there, and only ever as the one event the outbox holds (a
        # relay crash may repeat a record, never make a second event of an occurrence).
        wanted = {str(e.event_id) for e in events}
        records = await read_topic(
            env.kafka.bootstrap, env.topic(topics.PLANS), timeout=30,
            until=lambda rs: wanted <= {header(r, "ce_id") for r in rs},
        )  # fmt: skip
        seen: dict[tuple[str, str, str], set[str]] = {}
        for r in records:
            if header(r, "ce_type") in TIMER_TYPES:
                e = Emitted(UUID(header(r, "ce_id")), header(r, "ce_type") or "", r.key.decode(), "",
                            json.loads(r.value))  # fmt: skip
                seen.setdefault(e.occurrence, set()).add(str(e.event_id))
        assert set(seen) == {e.occurrence for e in events}
        assert all(len(ids) == 1 for ids in seen.values()), seen
        assert proc.terminate() == 0  # SIGTERM: the timer loop returns and the process exits cleanly
    finally:
        proc.ensure_stopped()


async def _runner_waits_on_a_lock(pool: asyncpg.Pool) -> bool:
    """A session of this database (the runner's) is waiting for a row lock."""
    waiting = await pool.fetchval(
        """SELECT count(*) FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"""
    )
    return bool(waiting >= 1)


async def _equals(count: Any, n: int) -> bool:
    return bool(await count() == n)
