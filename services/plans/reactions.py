"""What the plans service learns from other services' events.

* From the IRM: assessments shown on each commitment, findings that change a member's standing,
  and its published reports, filed in the plan's repository.
* From consultation: the documents it produces for a plan (the "comments and responses" table of
  a round, the minutes of a forum meeting) join the plan's public repository, so OGP co-creation
  standard 2 (a repository updated at least twice a year) is met without anyone filing them twice
  by hand, and the repository timers count them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.plans.store import PlansUnitOfWork
from services.plans.use_cases import commitments, documents, members
from services.plans.use_cases.documents import FileDocument, Filing
from services.plans.use_cases.members import IrmFinding
from shared.events.consultation import ForumMeetingHeld, ResponseTablePublished
from shared.events.envelope import Received
from shared.events.irm import (
    ActedContraryToProcess,
    CommitmentAssessed,
    ProceduralReviewLifted,
    ProceduralReviewStarted,
    ReviewPublished,
)
from shared.events.plans import DocumentType
from shared.logging import get_logger
from shared.reactions import Reactions

log = get_logger(__name__)

#: ``documents.created_by`` of what the consultation service files: the repository shows which
#: documents came in automatically, and no person's identity is needed (or stored) for them.
CONSULTATION = "consultation"
#: ``documents.created_by`` of the IRM's published reports.
IRM = "irm"


def _utc(moment: datetime) -> datetime:
    """Contracts use plain ``datetime``; a naive one is UTC by the platform's convention, and
    ``astimezone`` would wrongly read it as the consumer's local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def _file(uow: PlansUnitOfWork, received: Received, cmd: FileDocument) -> None:
    """File one document from another service (consultation, the IRM) in the plan's repository
    and announce it, once.

    The document id is the other service's id (table id, meeting id, review id), not a fresh
    one: the inbox only recognises the *same event id* again, but a replay that re-wraps the event
    (e.g. out of the dead-letter topic) or a re-publication by its service carries a new event id for
    the same document; with a deterministic id the repeat is recognised and not announced again.

    A plan the service does not know (another deployment's, or one never created here) is not an
    error: retrying cannot make it appear and dead-lettering would only page someone, so the
    event is consumed and logged. A plan of another member than the event's is skipped the same
    way, louder, because filing it would put one member's document in another's repository.
    """
    outcome = await documents.file_document(uow, cmd)
    ids = dict(
        event_type=received.type,
        event_id=str(received.id),
        plan_id=str(cmd.plan_id),
        document_id=str(cmd.document_id),
    )
    if outcome is Filing.UNKNOWN_PLAN:
        log.info("document for an unknown plan ignored", **ids)
    elif outcome is Filing.OTHER_MEMBER:
        log.warning("document names another member than its plan's; ignored", **ids)


def reactions() -> Reactions[PlansUnitOfWork]:
    on = Reactions[PlansUnitOfWork]()

    # --- from the IRM ---------------------------------------------------------------------

    @on.on(CommitmentAssessed)
    async def on_commitment_assessed(uow: PlansUnitOfWork, e: CommitmentAssessed, _: Received) -> None:
        """The IRM block of the commitment, one entry per IRM product (APR, results report...)."""
        block = e.model_dump(mode="json", exclude={"plan_id", "commitment_id", "member_id"})
        await commitments.record_irm_assessment(
            uow, commitments.RecordIrmAssessment(e.commitment_id, e.product.value, block)
        )

    @on.on(ActedContraryToProcess)
    async def on_acted_contrary(uow: PlansUnitOfWork, e: ActedContraryToProcess, meta: Received) -> None:
        """A second consecutive finding puts the member under procedural review (OGP's rule)."""
        await members.record_contrary_finding(
            uow, IrmFinding(e.member_id, e.reason, meta.type, e.found_at, plan_id=e.plan_id)
        )

    @on.on(ProceduralReviewStarted)
    async def on_review_started(uow: PlansUnitOfWork, e: ProceduralReviewStarted, meta: Received) -> None:
        await members.start_procedural_review(uow, IrmFinding(e.member_id, e.reason, meta.type, e.started_at))

    @on.on(ProceduralReviewLifted)
    async def on_review_lifted(uow: PlansUnitOfWork, e: ProceduralReviewLifted, meta: Received) -> None:
        await members.lift_procedural_review(
            uow, IrmFinding(e.member_id, "procedural review lifted", meta.type, e.lifted_at)
        )

    @on.on(ReviewPublished)
    async def on_review_published(uow: PlansUnitOfWork, e: ReviewPublished, meta: Received) -> None:
        """A published IRM report joins the plan's public repository, under the review's id (the
        document id is deterministic: a replay, even under a new event id, files it once)."""
        await _file(uow, meta, FileDocument(
            e.review_id, e.plan_id, e.member_id, DocumentType.IRM_REPORT, e.title, e.url, e.published_on,
            _utc(e.published_at), by=IRM,
        ))  # fmt: skip

    # --- documents from consultation ------------------------------------------------------

    @on.on(ResponseTablePublished)
    async def on_response_table_published(
        uow: PlansUnitOfWork, e: ResponseTablePublished, meta: Received
    ) -> None:
        """The consolidated comments-and-responses table of a round is the government's reasoned
        response (OGP co-creation standard 4); the CSV is the document, dated by its UTC day of
        publication so the date does not depend on the consumer's time zone."""
        published_at = _utc(e.published_at)
        await _file(uow, meta, FileDocument(
            e.table_id, e.plan_id, e.member_id, DocumentType.REASONED_RESPONSE, e.title, e.csv_url,
            published_at.date(), published_at, by=CONSULTATION,
        ))  # fmt: skip

    @on.on(ForumMeetingHeld)
    async def on_forum_meeting_held(uow: PlansUnitOfWork, e: ForumMeetingHeld, meta: Received) -> None:
        """A forum meeting about a plan, with published minutes, adds the minutes to that plan's
        repository. A meeting about no particular plan, or without minutes yet, has nothing to
        file: the repository is per plan and holds documents, not meetings. The title carries
        only the date, because the agenda is free text and attendance is counted by sector,
        never by name."""
        if e.plan_id is None or not e.minutes_url:
            return
        await _file(uow, meta, FileDocument(
            e.meeting_id, e.plan_id, e.member_id, DocumentType.MINUTES,
            f"Forum meeting minutes, {e.held_on.isoformat()}", e.minutes_url, e.held_on,
            _utc(meta.time) if meta.time else datetime.now(UTC), by=CONSULTATION,
        ))  # fmt: skip

    return on
