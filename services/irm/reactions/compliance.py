"""Reactions of compliance: the facts the co-creation standards need, from consultation's forum,
round, response-table, participation and co-creation events and from plans' repository.

Each fact is kept with the id of the event it came from and its date; the same event, or the same
thing told again (a meeting, a round's scheduling, a document...), changes nothing. Facts about
plans the IRM has not seen are kept: the review that comes later finds them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.irm.domain.compliance import Fact, FactKind
from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from services.irm.use_cases import compliance as use_cases
from shared.events.consultation import (
    CoCreationClosed,
    CoCreationOpened,
    ConsultationClosed,
    ConsultationOpened,
    ConsultationScheduled,
    ForumEstablished,
    ForumMeetingHeld,
    ParticipationReported,
    ResponseTablePublished,
)
from shared.events.envelope import Received
from shared.events.plans import DocumentPublished
from shared.reactions import Reactions


def day(at: datetime) -> date:
    """The UTC day of an event's time (a naive time is taken as UTC)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()


def register(on: Reactions[IrmUnitOfWork], settings: IrmSettings) -> None:
    # --- the forum (standards 1 and 5), keyed by member -----------------------------------------

    @on.on(ForumEstablished)
    async def on_forum(uow: IrmUnitOfWork, e: ForumEstablished, r: Received) -> None:
        await use_cases.learn_fact(uow, Fact(
            r.id, FactKind.FORUM_ESTABLISHED, e.forum_id, e.established_on, e.member_id, None,
            {"forum_id": str(e.forum_id), "name": e.name, "rules_url": e.rules_url},
        ))  # fmt: skip

    @on.on(ForumMeetingHeld)
    async def on_meeting(uow: IrmUnitOfWork, e: ForumMeetingHeld, r: Received) -> None:
        await use_cases.learn_fact(uow, Fact(
            r.id, FactKind.FORUM_MEETING, e.meeting_id, e.held_on, e.member_id, e.plan_id,
            {"forum_id": str(e.forum_id), "phase": e.phase.value, "minutes_url": e.minutes_url,
             "attendance": {s.value: n for s, n in e.attendance.items()}},
        ))  # fmt: skip

    # --- co-creation and rounds (standard 3) ----------------------------------------------------

    @on.on(CoCreationOpened)
    async def on_opened(uow: IrmUnitOfWork, e: CoCreationOpened, r: Received) -> None:
        await use_cases.learn_fact(
            uow, Fact(r.id, FactKind.CO_CREATION_OPENED, e.plan_id, day(e.opened_at), e.member_id, e.plan_id)
        )

    @on.on(CoCreationClosed)
    async def on_closed(uow: IrmUnitOfWork, e: CoCreationClosed, r: Received) -> None:
        await use_cases.learn_fact(
            uow, Fact(r.id, FactKind.CO_CREATION_CLOSED, e.plan_id, day(e.closed_at), e.member_id, e.plan_id)
        )

    @on.on(ConsultationScheduled)
    async def on_scheduled(uow: IrmUnitOfWork, e: ConsultationScheduled, r: Received) -> None:
        await use_cases.learn_fact(uow, Fact(
            r.id, FactKind.ROUND_SCHEDULED, e.round_id, day(e.scheduled_at), e.member_id, e.plan_id,
            {"kind": e.kind.value, "opens_at": e.opens_at.isoformat(), "notice_days": e.notice_days,
             "notice_days_required": e.notice_days_required, "short_notice": e.short_notice},
        ))  # fmt: skip

    @on.on(ConsultationOpened)
    async def on_round_opened(uow: IrmUnitOfWork, e: ConsultationOpened, r: Received) -> None:
        await use_cases.learn_fact(uow, Fact(
            r.id, FactKind.ROUND_OPENED, e.round_id, day(e.opened_at), e.member_id, e.plan_id,
            {"kind": e.kind.value, "closes_at": e.closes_at.isoformat()},
        ))  # fmt: skip

    @on.on(ConsultationClosed)
    async def on_round_closed(uow: IrmUnitOfWork, e: ConsultationClosed, r: Received) -> None:
        await use_cases.learn_fact(uow, Fact(
            r.id, FactKind.ROUND_CLOSED, e.round_id, day(e.closed_at), e.member_id, e.plan_id,
            {"reason": e.reason, "submissions": e.submissions, "comments": e.comments},
        ))  # fmt: skip

    # --- reasoned response (standard 4) and participation ---------------------------------------

    @on.on(ResponseTablePublished)
    async def on_table(uow: IrmUnitOfWork, e: ResponseTablePublished, r: Received) -> None:
        await use_cases.learn_fact(uow, Fact(
            r.id, FactKind.RESPONSE_TABLE, e.table_id, day(e.published_at), e.member_id, e.plan_id,
            {"round_id": str(e.round_id), "inputs": e.inputs, "answered": e.answered, "csv_url": e.csv_url},
        ))  # fmt: skip

    @on.on(ParticipationReported)
    async def on_participation(uow: IrmUnitOfWork, e: ParticipationReported, r: Received) -> None:
        await use_cases.learn_fact(uow, Fact(
            r.id, FactKind.PARTICIPATION, e.report_id, day(e.reported_at), e.member_id, e.plan_id,
            {"scope": e.scope, "round_id": str(e.round_id) if e.round_id else None, "rounds": e.rounds,
             "short_notice_rounds": e.short_notice_rounds, "unique_participants": e.unique_participants,
             "response_coverage": e.response_coverage, "forum_meetings": e.forum_meetings,
             "implementation_meetings": e.implementation_meetings},
        ))  # fmt: skip

    # --- the plan's repository (standard 2), from plans -----------------------------------------

    @on.on(DocumentPublished)
    async def on_document(uow: IrmUnitOfWork, e: DocumentPublished, r: Received) -> None:
        await use_cases.learn_fact(uow, Fact(
            r.id, FactKind.DOCUMENT, e.document_id, e.published_on, e.member_id, e.plan_id,
            {"type": e.type.value, "title": e.title},
        ))  # fmt: skip
