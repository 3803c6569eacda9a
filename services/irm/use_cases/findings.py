"""Use cases of process findings and procedural reviews (rules in :mod:`services.irm.domain.findings`).

Reactions call :func:`learn_plan` (plans' plan events) and :func:`record_overdue` (plans'
``NextPlanOverdue``); IRM staff call :func:`record_finding` and :func:`lift_procedural_review`
through the API; the reviews part calls :func:`record_finding` when a published review finds the
co-creation minimum not met or no progress (``source=FindingSource.REVIEW``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from services.irm.domain.findings import (
    Finding,
    FindingReason,
    FindingSource,
    KnownPlan,
    MemberRecord,
    ProceduralReview,
)
from services.irm.store import IrmUnitOfWork
from shared.errors import NotFound
from shared.events.base import Event
from shared.events.irm import ProceduralReviewLifted, ProceduralReviewStarted


@dataclass(frozen=True, slots=True)
class Recorded:
    """A finding and whether this call recorded it (False: it was recorded before)."""

    finding: Finding
    created: bool


async def _apply(uow: IrmUnitOfWork, record: MemberRecord, events: list[Event]) -> None:
    """Store what the record's moves changed, as their events say, and publish the events."""
    for event in events:
        review: ProceduralReview | None = None
        if isinstance(event, ProceduralReviewStarted | ProceduralReviewLifted):
            review = next(r for r in record.reviews if r.id == event.procedural_review_id)
        if isinstance(event, ProceduralReviewStarted) and review is not None:
            await uow.findings.add_review(review)
        elif isinstance(event, ProceduralReviewLifted) and review is not None:
            await uow.findings.save_review(review)
        uow.publish(event)


# --- plans' events ------------------------------------------------------------------------


async def learn_plan(uow: IrmUnitOfWork, plan: KnownPlan, *, now: datetime | None = None) -> KnownPlan:
    """What an event says of a plan (created, submitted, ended). A submission may remedy the
    member's procedural review (a new plan after a ``no_new_plan`` finding)."""
    return (await learn_plans(uow, [plan], now=now))[0]


async def learn_plans(
    uow: IrmUnitOfWork, plans: Sequence[KnownPlan], *, now: datetime | None = None
) -> list[KnownPlan]:
    """:func:`learn_plan` for a run of events in order (the consumer's hot path): one statement
    stores them all, one locks their members; only a member under procedural review (rare)
    costs more."""
    known = await uow.findings.learn_plans(plans)
    # Only an open procedural review can be remedied by a submission; the member's lock first, so
    # a review started meanwhile sees this plan (its start lifts it at once) or is seen here.
    members = [k.member_id for k, p in zip(known, plans, strict=True) if p.submitted_at is not None]
    under = await uow.findings.lock_members_under_review(members) if members else set()
    for k, p in zip(known, plans, strict=True):
        if p.submitted_at is not None and k.member_id in under:
            record = await uow.findings.record_of(k.member_id)
            mine = next((x for x in record.plans if x.plan_id == k.plan_id), k)
            await _apply(uow, record, record.plan_submitted(mine, now=now or datetime.now(UTC)))
    return known


@dataclass(frozen=True, slots=True)
class RecordOverdue:
    member_id: UUID
    previous_plan_id: UUID
    previous_end_date: date
    detected_at: datetime


async def record_overdue(uow: IrmUnitOfWork, cmd: RecordOverdue) -> Recorded:
    """Plans' timer: no new plan twelve months after the previous plan's end."""
    await uow.findings.learn_plans(
        [KnownPlan(cmd.previous_plan_id, cmd.member_id, end_date=cmd.previous_end_date)]
    )
    finding = Finding.no_new_plan(
        member_id=cmd.member_id,
        previous_plan_id=cmd.previous_plan_id,
        previous_end_date=cmd.previous_end_date,
        found_at=cmd.detected_at,
    )
    return await _record(uow, finding, by="plans")


# --- the IRM's own findings ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordFinding:
    """The IRM found the member of ``plan_id`` acted contrary to process in that plan's cycle.

    ``source`` says how: ``FindingSource.IRM_STAFF`` (the API) or ``FindingSource.REVIEW`` (a
    published review); ``by`` who recorded it (kept, never public)."""

    plan_id: UUID
    reason: FindingReason
    source: str
    by: str
    found_at: datetime | None = None


async def record_finding(uow: IrmUnitOfWork, cmd: RecordFinding) -> Recorded:
    plan = await uow.findings.plan(cmd.plan_id)
    if plan is None:
        raise NotFound(f"plan {cmd.plan_id}")
    finding = Finding.about_plan(
        plan, cmd.reason, found_at=cmd.found_at or datetime.now(UTC), source=cmd.source
    )
    return await _record(uow, finding, by=cmd.by)


async def _record(uow: IrmUnitOfWork, finding: Finding, *, by: str) -> Recorded:
    record = await uow.findings.record_of(finding.member_id)
    kept, events = record.record(finding, now=datetime.now(UTC))
    if kept is not finding:
        return Recorded(kept, created=False)
    await uow.findings.add_finding(finding, recorded_by=by)
    await _apply(uow, record, events)
    return Recorded(finding, created=True)


@dataclass(frozen=True, slots=True)
class LiftProceduralReview:
    review_id: UUID
    reason: str
    by: str


async def lift_procedural_review(uow: IrmUnitOfWork, cmd: LiftProceduralReview) -> ProceduralReview:
    """IRM staff: the cause of the second finding (co-creation minimum, no progress) is remedied."""
    member_id = await uow.findings.member_of_review(cmd.review_id)
    if member_id is None:
        raise NotFound(f"procedural review {cmd.review_id}")
    record = await uow.findings.record_of(member_id)
    event = record.lift(cmd.review_id, cmd.reason, by=cmd.by, now=datetime.now(UTC))
    await _apply(uow, record, [event])
    return next(r for r in record.reviews if r.id == cmd.review_id)


__all__ = [
    "FindingReason",
    "FindingSource",
    "LiftProceduralReview",
    "RecordFinding",
    "RecordOverdue",
    "Recorded",
    "learn_plan",
    "lift_procedural_review",
    "record_finding",
    "record_overdue",
]
