"""Timers of the plans service: the OGP deadlines nobody has to remember.

* ``MilestoneOverdue`` - a milestone's end date passed (``end_date < today``) and it is neither
  completed nor cancelled, its commitment is not withdrawn, and its plan is ``submitted``,
  ``implementing`` or ``refreshing``. One occurrence per (milestone, end date): a milestone whose
  end date is moved later and passes again is overdue again; one completed in time never is.
* ``NextPlanOverdue`` - twelve calendar months (``next_plan_grace_months``) after the end of a
  member's previous plan, the member has no new plan. The previous plan is the member's plan with
  the latest end date among those that *reached* ``submitted`` (submitted, implementing,
  refreshing, ended, closed): a draft or a plan still in co-creation was never an action plan. A
  new plan is any other plan of the member, whatever its state, that starts after that end date or
  was created after it: a next cycle opened on the platform, even as a draft, is a member at work;
  judging a late delivery is the IRM's and staff's business, not a timer's. Withdrawn members owe
  no plan. One occurrence per (member, previous plan).
* ``RepositoryStale`` - OGP co-creation standard 2: the plan's document repository is updated at
  least twice a year (``repository_min_updates_per_year``). A plan in co_creation, submitted,
  implementing, refreshing or ended is looked at in yearly periods ``[created + k years,
  created + k+1 years)`` from the (UTC) day it was created; a period is judged once it is over
  (``period_end <= today``). A document counts in the period holding its ``published_on`` date,
  the date it was made public, which an import or a late upload keeps, rather than
  ``created_at``, which is only when the row was typed in. One occurrence per (plan, period start).

Exactly once, across crashes and replicas: each batch of occurrences is one transaction that
inserts ``timer_emissions`` rows (``ON CONFLICT DO NOTHING ... RETURNING``) and queues an event in
the outbox only for the rows it really inserted. A crash before the commit leaves nothing, so the
next pass does it again; after the commit the row is there and the occurrence is never emitted
again. The transaction locks the aggregates the events are about (the plans, or the members)
and checks the condition again under that lock: a milestone completed concurrently is not reported
overdue, and the event takes its place in the aggregate's order in the outbox, as a handler's would.

One active runner: replicas elect a leader with a Postgres advisory lock held on a dedicated
connection (another key than the outbox relay's and the migrator's); standbys retry every
``timers_lock_retry_s``. A leader whose lock connection drops stops at once: the lock is gone with
the session and a standby may already be acting. The election only saves work and noise: even two
runners at once could not emit an occurrence twice (see above).

The rules are computed in SQL, set-based (the scans of :mod:`services.plans.store.timers`), for
the day given as ``today`` (so tests and operators can ask what fires on another day); which plans
each looks at, the payloads' calendar arithmetic and the events are the domain's
(:mod:`services.plans.domain.deadlines`), and each batch is recorded by the
:func:`services.plans.use_cases.deadlines.record_occurrences` use case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg
from prometheus_client import Counter

from services.plans.domain import deadlines
from services.plans.domain.deadlines import (
    MILESTONE_PLAN_STATES,
    PREVIOUS_PLAN_STATES,
    REPOSITORY_PLAN_STATES,
    TimerKind,
    next_plan_due,
)
from services.plans.settings import PlansSettings
from services.plans.store import PgPlansUnitOfWork, TimerScans
from services.plans.store.protocols import Aggregate
from services.plans.use_cases.deadlines import Occurrence, record_occurrences
from shared.db import Row
from shared.events.base import Event
from shared.leader import LeaderRunner, run_as_leader
from shared.locks import PLANS_TIMERS as TIMERS_LOCK
from shared.logging import get_logger
from shared.uow import unit_of_work

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = get_logger(__name__)

SERVICE = "plans"

#: Re-exported: the names the timers' tests and readers know them by.
__all__ = [
    "MILESTONE_PLAN_STATES",
    "PREVIOUS_PLAN_STATES",
    "REPOSITORY_PLAN_STATES",
    "TIMERS_LOCK",
    "TimerKind",
    "TimerRunner",
    "next_plan_due",
    "run_timers",
    "timer_loop",
]

TIMER_EVENTS = Counter(
    "sharaka_timer_events_total", "Timer occurrences emitted (each exactly once)", ["kind"]
)


for _kind in TimerKind:
    TIMER_EVENTS.labels(kind=_kind.value)  # exported at 0 from the start, so rates work

# --- the checks ------------------------------------------------------------------------------
# A check's candidates are a scan of the store (services.plans.store.timers, set-based SQL): the
# occurrences due on ``today`` not emitted yet, with ``subject`` and ``occurrence`` (the
# timer_emissions key), ``aggregate`` (the row to lock) and the payload's columns.

#: A check's scan: (scans, today, batch size, aggregates to restrict to or None, kind, settings).
Candidates = Callable[[TimerScans, date, int, list[UUID] | None, str, PlansSettings], Awaitable[list[Row]]]


def _overdue_milestones(
    scans: TimerScans, today: date, limit: int, within: list[UUID] | None, kind: str, _s: PlansSettings
) -> Awaitable[list[Row]]:
    return scans.overdue_milestones(today, limit, within, kind, MILESTONE_PLAN_STATES)


def _next_plans_overdue(
    scans: TimerScans, today: date, limit: int, within: list[UUID] | None, kind: str, s: PlansSettings
) -> Awaitable[list[Row]]:
    return scans.next_plans_overdue(
        today, limit, within, kind, PREVIOUS_PLAN_STATES, s.next_plan_grace_months
    )


def _stale_repositories(
    scans: TimerScans, today: date, limit: int, within: list[UUID] | None, kind: str, s: PlansSettings
) -> Awaitable[list[Row]]:
    return scans.stale_repositories(
        today, limit, within, kind, REPOSITORY_PLAN_STATES, s.repository_min_updates_per_year
    )


def _milestone_event(r: Row, _s: PlansSettings, now: datetime) -> Event:
    return deadlines.milestone_overdue(
        plan_id=r["plan_id"], commitment_id=r["commitment_id"], milestone_id=r["subject"],
        member_id=r["member_id"], number=r["number"], end_date=r["end_date"], now=now,
    )  # fmt: skip


def _next_plan_event(r: Row, s: PlansSettings, now: datetime) -> Event:
    return deadlines.next_plan_overdue(
        member_id=r["member_id"], previous_plan_id=r["plan_id"], previous_end=r["end_date"],
        grace_months=s.next_plan_grace_months, now=now,
    )  # fmt: skip


def _repository_event(r: Row, _s: PlansSettings, now: datetime) -> Event:
    return deadlines.repository_stale(
        plan_id=r["plan_id"], member_id=r["member_id"], period_start=r["period_start"],
        period_end=r["period_end"], updates=r["updates"], now=now,
    )  # fmt: skip


@dataclass(frozen=True)
class _Check:
    kind: TimerKind
    candidates: Candidates
    lock: Aggregate
    event: Callable[[Row, PlansSettings, datetime], Event]


CHECKS: tuple[_Check, ...] = (
    _Check(TimerKind.MILESTONE_OVERDUE, _overdue_milestones, "plans", _milestone_event),
    _Check(TimerKind.NEXT_PLAN_OVERDUE, _next_plans_overdue, "members", _next_plan_event),
    _Check(TimerKind.REPOSITORY_STALE, _stale_repositories, "plans", _repository_event),
)


async def _emit_batch(
    pool: asyncpg.Pool, check: _Check, today: date, settings: PlansSettings
) -> tuple[int, int]:
    """One transaction: find up to a batch of occurrences, lock their aggregates, check again under
    the lock, claim them in ``timer_emissions`` and queue an event for each claimed one.

    Returns (candidates found before locking, events emitted)."""
    limit, kind = settings.timers_batch_size, check.kind.value
    async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
        found = await check.candidates(uow.timer_scans, today, limit, None, kind, settings)
        if not found:
            return 0, 0
        aggregates = sorted({r["aggregate"] for r in found})
        await uow.timers.lock(check.lock, aggregates)
        # A new statement, a new snapshot: what committed while we waited for the locks is seen.
        rows = await check.candidates(uow.timer_scans, today, limit, aggregates, kind, settings)
        now = datetime.now(UTC)
        emitted = await record_occurrences(
            uow,
            kind,
            [Occurrence(r["subject"], r["occurrence"], check.event(r, settings, now)) for r in rows],
        )
    TIMER_EVENTS.labels(kind=kind).inc(emitted)
    return len(found), emitted


async def run_timers(
    pool: asyncpg.Pool,
    today: date,
    settings: PlansSettings | None = None,
    *,
    should_continue: Callable[[], bool] = lambda: True,
) -> dict[str, int]:
    """Emit every occurrence due on ``today`` that was not emitted before; return how many events
    each kind emitted. Safe to call concurrently and again after a crash: the ``timer_emissions``
    key makes each occurrence happen once. ``should_continue`` is asked between batches, so a
    runner that lost its leadership or is shutting down stops early."""
    settings = settings or PlansSettings()
    counts = {c.kind.value: 0 for c in CHECKS}
    for check in CHECKS:
        while should_continue():
            found, emitted = await _emit_batch(pool, check, today, settings)
            counts[check.kind.value] += emitted
            # A full batch means there may be more; a batch that emitted nothing made no progress
            # (lost races only), so the next pass will look again rather than spin now.
            if found < settings.timers_batch_size or emitted == 0:
                break
    return counts


# --- one active runner ---------------------------------------------------------------------


class TimerRunner(LeaderRunner):
    """Runs :func:`run_timers` every ``timers_interval_s`` while it holds the timers' lock."""

    def __init__(
        self,
        *,
        dsn: str,
        pool: asyncpg.Pool,
        settings: PlansSettings,
        stopping: asyncio.Event | None = None,
        clock: Callable[[], date] | None = None,
    ) -> None:
        def today() -> date:
            return settings.timers_today or datetime.now(UTC).date()

        async def work(should_continue: Callable[[], bool]) -> dict[str, int]:
            return await run_timers(pool, (clock or today)(), settings, should_continue=should_continue)

        super().__init__(
            job="plans-timers",
            dsn=dsn,
            lock_key=TIMERS_LOCK,
            work=work,
            interval_s=settings.timers_interval_s,
            lock_retry_s=settings.timers_lock_retry_s,
            stopping=stopping,
        )


async def timer_loop(runtime: Runtime) -> None:
    """Background task of the plans service; returns when ``runtime.stopping`` is set."""
    settings = PlansSettings.of(runtime.settings)
    if not settings.timers_enabled:
        await runtime.stopping.wait()
        return
    runner = TimerRunner(dsn=settings.database_url, pool=runtime.pool, settings=settings)
    await run_as_leader(runner, runtime.stopping)
