"""What the plans service learns from other services' events.

* From the IRM: assessments shown on each commitment, and findings that change a member's
  standing.
* From consultation: the documents it produces for a plan (the "comments and responses" table of
  a round, the minutes of a forum meeting) join the plan's public repository, so OGP co-creation
  standard 2 (a repository updated at least twice a year) is met without anyone filing them twice
  by hand, and the repository timers count them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from uuid import UUID

from services.plans import domain, handlers
from shared.consumer import Handler
from shared.events.base import Event
from shared.events.consultation import ForumMeetingHeld, ResponseTablePublished
from shared.events.envelope import Received
from shared.events.irm import (
    ActedContraryToProcess,
    CommitmentAssessed,
    ProceduralReviewLifted,
    ProceduralReviewStarted,
)
from shared.events.plans import DocumentPublished, DocumentType, Language, MemberStatus
from shared.logging import get_logger
from shared.uow import UnitOfWork

log = get_logger(__name__)

#: ``documents.created_by`` of what the consultation service files: the repository shows which
#: documents came in automatically, and no person's identity is needed (or stored) for them.
CONSULTATION = "consultation"


async def on_commitment_assessed(uow: UnitOfWork, received: Received) -> None:
    """The IRM block of the commitment, one entry per IRM product (APR, results report...)."""
    e = received.event
    assert isinstance(e, CommitmentAssessed)
    block = e.model_dump(mode="json", exclude={"plan_id", "commitment_id", "member_id"})
    await uow.conn.execute(
        """UPDATE commitments SET irm = irm || jsonb_build_object($2::text, $3::jsonb), updated_at = now()
           WHERE id = $1""",
        e.commitment_id,
        e.product.value,
        block,
    )


async def on_acted_contrary(uow: UnitOfWork, received: Received) -> None:
    """A second consecutive finding puts the member under procedural review (OGP's rule)."""
    e = received.event
    assert isinstance(e, ActedContraryToProcess)
    row = await uow.conn.fetchrow("SELECT status FROM members WHERE id = $1", e.member_id)
    if row is None:
        return  # a member this deployment does not know
    previous = await uow.conn.fetch(
        """SELECT to_status FROM member_status_history WHERE member_id = $1
           ORDER BY changed_at DESC, id DESC LIMIT 1""",
        e.member_id,
    )
    consecutive = 2 if previous and previous[0]["to_status"] == MemberStatus.ACTED_CONTRARY_TO_PROCESS else 1
    target = domain.status_after_contrary_finding(MemberStatus(row["status"]), consecutive)
    if target is MemberStatus(row["status"]) and target is MemberStatus.UNDER_PROCEDURAL_REVIEW:
        return
    await handlers.change_member_status(
        uow,
        e.member_id,
        target,
        reason=e.reason,
        source=received.type,
        by="irm",
        plan_id=e.plan_id,
        now=e.found_at,
    )


async def on_review_started(uow: UnitOfWork, received: Received) -> None:
    e = received.event
    assert isinstance(e, ProceduralReviewStarted)
    row = await uow.conn.fetchrow("SELECT status FROM members WHERE id = $1", e.member_id)
    if row is None or row["status"] == MemberStatus.UNDER_PROCEDURAL_REVIEW:
        return
    await handlers.change_member_status(
        uow,
        e.member_id,
        MemberStatus.UNDER_PROCEDURAL_REVIEW,
        reason=e.reason,
        source=received.type,
        by="irm",
        now=e.started_at,
    )


async def on_review_lifted(uow: UnitOfWork, received: Received) -> None:
    e = received.event
    assert isinstance(e, ProceduralReviewLifted)
    row = await uow.conn.fetchrow("SELECT status FROM members WHERE id = $1", e.member_id)
    if row is None or row["status"] != MemberStatus.UNDER_PROCEDURAL_REVIEW:
        return
    await handlers.change_member_status(
        uow,
        e.member_id,
        MemberStatus.PARTICIPATING,
        reason="procedural review lifted",
        source=received.type,
        by="irm",
        now=e.lifted_at,
    )


# --- documents from consultation --------------------------------------------------------------


async def _add_document(
    uow: UnitOfWork,
    received: Received,
    *,
    document_id: UUID,
    plan_id: UUID,
    member_id: UUID,
    kind: DocumentType,
    title: str,
    url: str,
    published_on: date,
    published_at: datetime,
) -> None:
    """File one consultation document in the plan's repository and announce it, once.

    The document id is the consultation-side id (table id, meeting id), not a fresh one: the
    inbox only recognises the *same event id* again, but a replay that re-wraps the event (e.g.
    out of the dead-letter topic) or a re-publication by consultation carries a new event id for
    the same document. With a
    deterministic id, ``ON CONFLICT (id) DO NOTHING RETURNING`` tells the first filing from a
    repeat, and ``DocumentPublished`` is only queued for the first, in the same transaction.

    A plan the service does not know (another deployment's, or one never created here) is not an
    error: retrying cannot make it appear and dead-lettering would only page someone, so the
    event is consumed and logged. A plan of another member than the event's is skipped the same
    way, louder, because filing it would put one member's document in another's repository.
    """
    plan = await uow.conn.fetchrow("SELECT member_id FROM plans WHERE id = $1", plan_id)
    if plan is None:
        log.info(
            "consultation document for an unknown plan ignored",
            event_type=received.type,
            event_id=str(received.id),
            plan_id=str(plan_id),
            document_id=str(document_id),
        )
        return
    if plan["member_id"] != member_id:
        log.warning(
            "consultation document names another member than its plan's; ignored",
            event_type=received.type,
            event_id=str(received.id),
            plan_id=str(plan_id),
            document_id=str(document_id),
        )
        return
    inserted = await uow.conn.fetchval(
        """INSERT INTO documents (id, plan_id, member_id, type, title, url, language, published_on,
                                  created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO NOTHING
           RETURNING id""",
        document_id,
        plan_id,
        member_id,
        kind.value,
        title,
        url,
        Language.EN.value,
        published_on,
        CONSULTATION,
    )
    if inserted is None:
        return  # filed before, from another event id: nothing new to announce
    uow.publish(
        DocumentPublished(
            document_id=document_id,
            plan_id=plan_id,
            member_id=member_id,
            type=kind,
            title=title,
            url=url,
            language=Language.EN,
            published_on=published_on,
            published_at=published_at,
        )
    )


def _utc(moment: datetime) -> datetime:
    """Contracts use plain ``datetime``; a naive one is UTC by the platform's convention, and
    ``astimezone`` would wrongly read it as the consumer's local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def on_response_table_published(uow: UnitOfWork, received: Received) -> None:
    """The consolidated comments-and-responses table of a round is the government's reasoned
    response (OGP co-creation standard 4); the CSV is the document, dated by its UTC day of
    publication so the date does not depend on the consumer's time zone."""
    e = received.event
    assert isinstance(e, ResponseTablePublished)
    published_at = _utc(e.published_at)
    await _add_document(
        uow,
        received,
        document_id=e.table_id,
        plan_id=e.plan_id,
        member_id=e.member_id,
        kind=DocumentType.REASONED_RESPONSE,
        title=e.title,
        url=e.csv_url,
        published_on=published_at.date(),
        published_at=published_at,
    )


async def on_forum_meeting_held(uow: UnitOfWork, received: Received) -> None:
    """A forum meeting about a plan, with published minutes, adds the minutes to that plan's
    repository. A meeting about no particular plan, or without minutes yet, has nothing to file:
    the repository is per plan and holds documents, not meetings. The title carries only the
    date, because the agenda is free text and attendance is counted by sector, never by name."""
    e = received.event
    assert isinstance(e, ForumMeetingHeld)
    if e.plan_id is None or not e.minutes_url:
        return
    await _add_document(
        uow,
        received,
        document_id=e.meeting_id,
        plan_id=e.plan_id,
        member_id=e.member_id,
        kind=DocumentType.MINUTES,
        title=f"Forum meeting minutes, {e.held_on.isoformat()}",
        url=e.minutes_url,
        published_on=e.held_on,
        published_at=_utc(received.time) if received.time else datetime.now(UTC),
    )


HANDLERS: Mapping[type[Event], Handler] = {
    CommitmentAssessed: on_commitment_assessed,
    ActedContraryToProcess: on_acted_contrary,
    ProceduralReviewStarted: on_review_started,
    ProceduralReviewLifted: on_review_lifted,
    ResponseTablePublished: on_response_table_published,
    ForumMeetingHeld: on_forum_meeting_held,
}
