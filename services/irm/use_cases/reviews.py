"""Use cases of reviews: scheduling, researchers, drafts, comments, publication, and the timers'
steps. Who may act on a review depends on the review (its assigned researcher, its member's
government), so it is checked here and refused with ``Forbidden``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from uuid import UUID, uuid4

from services.irm.domain.reviews import Comment, Researcher, Review, SubmittedPlan
from services.irm.store import IrmUnitOfWork
from services.irm.use_cases import compliance
from services.irm.use_cases._common import check_irm_or_assigned, review_of
from shared.auth import Principal, Role, person_id
from shared.errors import Forbidden, Invalid, NotFound
from shared.events.base import Event
from shared.events.envelope import Received
from shared.events.irm import ReviewCommentReceived, ReviewState

ReportKind = Literal["review_due_soon", "review_overdue"]
DUE_SOON: ReportKind = "review_due_soon"
OVERDUE: ReportKind = "review_overdue"


def _publish(uow: IrmUnitOfWork, events: list[Event]) -> None:
    for event in events:
        uow.publish(event)


# --- scheduling (reactions) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduleActionPlanReview:
    plan: SubmittedPlan
    due_months: int = 4


async def schedule_action_plan_review(uow: IrmUnitOfWork, cmd: ScheduleActionPlanReview) -> Review | None:
    """The APR of a submitted plan (the review and the plan in one statement). A plan that has
    one already (a replayed event) gets nothing new and nothing is published."""
    review, events = Review.action_plan_review(cmd.plan, due_months=cmd.due_months, now=datetime.now(UTC))
    if not await uow.reviews.add_many_with_plans([review], [cmd.plan]):
        return None
    _publish(uow, events)
    return review


@dataclass(frozen=True, slots=True)
class ScheduleOnSubmission:
    plan: SubmittedPlan
    apr_due_months: int = 4
    midterm_due_months: int = 4
    #: The consumed event that asked for it: what the reviews' events follow from.
    cause: Received | None = None


async def schedule_on_submission(uow: IrmUnitOfWork, cmd: ScheduleOnSubmission) -> list[Review]:
    """Submission opens the APR and, for a four-year plan, the midterm review at its midpoint."""
    return await schedule_on_submissions(uow, [cmd])


async def schedule_on_submissions(uow: IrmUnitOfWork, cmds: Sequence[ScheduleOnSubmission]) -> list[Review]:
    """:func:`schedule_on_submission` for a run of submitted plans, in order, with one statement
    for them all (the consumer's hot path). A plan that has a review of a kind already (a
    replayed event) gets nothing new of that kind and nothing is published for it."""
    now = datetime.now(UTC)
    planned: list[tuple[Review, list[Event], Received | None]] = []
    for cmd in cmds:
        apr, events = Review.action_plan_review(cmd.plan, due_months=cmd.apr_due_months, now=now)
        planned.append((apr, events, cmd.cause))
        midterm = Review.midterm_review(cmd.plan, due_months=cmd.midterm_due_months, now=now)
        if midterm is not None:
            planned.append((*midterm, cmd.cause))
    added = await uow.reviews.add_many_with_plans([r for r, _, _ in planned], [c.plan for c in cmds])
    scheduled: list[Review] = []
    for review, events, cause in planned:
        if review.id in added:
            for event in events:
                uow.publish(event, cause=cause)
            scheduled.append(review)
    return scheduled


@dataclass(frozen=True, slots=True)
class ScheduleResultsReport:
    plan_id: UUID
    member_id: UUID
    end_date: date
    due_months: int = 4


async def schedule_results_report(uow: IrmUnitOfWork, cmd: ScheduleResultsReport) -> Review | None:
    """The plan ended: its results report is due ``due_months`` after the end date. A plan the
    IRM has not seen submitted is remembered from the event's own fields."""
    await uow.reviews.remember_plan(cmd.plan_id, cmd.member_id, cmd.end_date)
    review, events = Review.results_report(
        cmd.plan_id, cmd.member_id, cmd.end_date, due_months=cmd.due_months, now=datetime.now(UTC)
    )
    if not await uow.reviews.add(review):
        return None
    _publish(uow, events)
    return review


@dataclass(frozen=True, slots=True)
class ScheduleCoCreationBrief:
    plan_id: UUID
    member_id: UUID
    started_on: date
    due_days: int = 60


async def schedule_co_creation_brief(uow: IrmUnitOfWork, cmd: ScheduleCoCreationBrief) -> Review | None:
    await uow.reviews.remember_plan(cmd.plan_id, cmd.member_id, None)
    review, events = Review.co_creation_brief(
        cmd.plan_id, cmd.member_id, cmd.started_on, due_days=cmd.due_days, now=datetime.now(UTC)
    )
    if not await uow.reviews.add(review):
        return None
    _publish(uow, events)
    return review


# --- who may act --------------------------------------------------------------------------------


def _check_irm(who: Principal, action: str) -> None:
    if not who.has(Role.IRM):
        raise Forbidden(f"only IRM staff may {action}")


async def _check_drafter(uow: IrmUnitOfWork, who: Principal, review: Review, action: str) -> None:
    await check_irm_or_assigned(
        uow, review, who, f"only the researcher assigned to this review or IRM staff may {action}"
    )


# --- researchers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterResearcher:
    who: Principal
    subject: str
    name: str
    ties: frozenset[UUID] = frozenset()


async def register_researcher(uow: IrmUnitOfWork, cmd: RegisterResearcher) -> Researcher:
    """Register a researcher (their token's subject) with the members they declared ties with;
    registering the same subject again updates the name and the declared ties."""
    _check_irm(cmd.who, "register researchers")
    if not cmd.subject.strip():
        raise Invalid("subject", "must not be empty")
    if not cmd.name.strip():
        raise Invalid("name", "must not be empty")
    researcher = Researcher(
        person_id(cmd.subject.strip()), cmd.subject.strip(), cmd.name.strip(), cmd.ties, datetime.now(UTC)
    )
    return await uow.reviews.save_researcher(researcher)


@dataclass(frozen=True, slots=True)
class AssignResearcher:
    who: Principal
    review_id: UUID
    researcher_id: UUID


async def assign_researcher(uow: IrmUnitOfWork, cmd: AssignResearcher) -> Review:
    _check_irm(cmd.who, "assign researchers")
    review = await review_of(uow, cmd.review_id)
    researcher = await uow.reviews.researcher(cmd.researcher_id)
    if researcher is None:
        raise Invalid("researcher_id", f"no researcher {cmd.researcher_id} is registered")
    events = review.assign(researcher, datetime.now(UTC))
    await uow.reviews.save(review)
    _publish(uow, events)
    return review


# --- the draft and its steps ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubmitDraft:
    who: Principal
    review_id: UUID
    draft_url: str


async def submit_draft(uow: IrmUnitOfWork, cmd: SubmitDraft) -> Review:
    review = await review_of(uow, cmd.review_id)
    await _check_drafter(uow, cmd.who, review, "submit the draft")
    events = review.submit_draft(cmd.draft_url, datetime.now(UTC))
    await uow.reviews.save(review)
    _publish(uow, events)
    return review


Step = Literal["pre_publication", "public_comment"]


@dataclass(frozen=True, slots=True)
class MoveStep:
    who: Principal
    review_id: UUID
    to: Step
    today: date
    pre_publication_days: int = 21
    public_comment_days: int = 14


async def move_step(uow: IrmUnitOfWork, cmd: MoveStep) -> Review:
    """Send the draft to pre-publication review, or to public comment before its window ends
    (the timer does it when the window ends)."""
    review = await review_of(uow, cmd.review_id)
    await _check_drafter(uow, cmd.who, review, "move the review on")
    now = datetime.now(UTC)
    if cmd.to == "pre_publication":
        events = review.open_pre_publication(cmd.today, cmd.pre_publication_days, now)
    else:
        events = review.open_public_comment(cmd.today, cmd.public_comment_days, now)
    await uow.reviews.save(review)
    _publish(uow, events)
    return review


# --- comments -------------------------------------------------------------------------------------

#: The role a comment is recorded under, the most specific first.
_ROLES = (Role.GOVERNMENT, Role.IRM, Role.STAFF, Role.RESEARCHER, Role.PARTICIPANT)


def _role_of(who: Principal, review: Review) -> str:
    if who.has(Role.GOVERNMENT) and review.member_id in who.member_ids:
        return Role.GOVERNMENT.value
    for role in _ROLES[1:]:
        if who.has(role):
            return role.value
    return "signed_in"


@dataclass(frozen=True, slots=True)
class CommentOnDraft:
    who: Principal
    review_id: UUID
    text: str
    today: date
    max_chars: int = 10_000


async def comment_on_draft(uow: IrmUnitOfWork, cmd: CommentOnDraft) -> Comment:
    """Pre-publication: the member's government and IRM/OGP staff; public comment: anyone signed
    in. Outside both windows: ``review.comment_window_closed``."""
    text = cmd.text.strip()
    if not text:
        raise Invalid("text", "must not be empty")
    if len(text) > cmd.max_chars:
        raise Invalid("text", f"must be at most {cmd.max_chars} characters")
    # Locked: a comment and the publication (which counts the comments not considered) never
    # interleave, so no comment lands unconsidered in a published review.
    review = await review_of(uow, cmd.review_id)
    phase = review.check_comment_window(cmd.today)
    if phase is ReviewState.PRE_PUBLICATION and not (
        cmd.who.acts_for(review.member_id) or cmd.who.has(Role.IRM)
    ):
        raise Forbidden("in pre-publication review only the member's government and IRM or OGP staff comment")
    now = datetime.now(UTC)
    comment = Comment(uuid4(), review.id, phase, cmd.who.subject, _role_of(cmd.who, review), text, now)
    await uow.reviews.add_comment(comment)
    uow.publish(ReviewCommentReceived(
        review_id=review.id, plan_id=review.plan_id, member_id=review.member_id, kind=review.kind,
        comment_id=comment.id, phase=phase, received_at=now,
    ))  # fmt: skip
    return comment


@dataclass(frozen=True, slots=True)
class ConsiderComment:
    who: Principal
    review_id: UUID
    comment_id: UUID
    note: str


async def consider_comment(uow: IrmUnitOfWork, cmd: ConsiderComment) -> Comment:
    """Mark a comment considered, saying how (considering it again replaces the note)."""
    review = await review_of(uow, cmd.review_id)
    await _check_drafter(uow, cmd.who, review, "consider comments")
    review.check_open()
    comment = await uow.reviews.comment(cmd.comment_id, for_update=True)
    if comment is None or comment.review_id != review.id:
        raise NotFound(f"comment {cmd.comment_id} of review {review.id}")
    comment.consider(cmd.note, cmd.who.subject, datetime.now(UTC))
    await uow.reviews.save_considered(comment)
    return comment


# --- publication and withdrawal ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishReview:
    who: Principal
    review_id: UUID
    title: str
    url: str
    today: date


async def publish_review(uow: IrmUnitOfWork, cmd: PublishReview) -> Review:
    review = await review_of(uow, cmd.review_id)
    await _check_drafter(uow, cmd.who, review, "publish the review")
    received, not_considered = await uow.reviews.comment_counts(review.id)
    events = review.publish(
        title=cmd.title, url=cmd.url, today=cmd.today, now=datetime.now(UTC),
        comments_received=received, not_considered=not_considered,
    )  # fmt: skip
    await uow.reviews.save(review)
    _publish(uow, events)
    # The publication fixes the compliance and makes its findings, in this unit of work.
    await compliance.fix_on_publish(uow, review, today=cmd.today, by=cmd.who.subject)
    return review


@dataclass(frozen=True, slots=True)
class WithdrawReview:
    who: Principal
    review_id: UUID
    reason: str


async def withdraw_review(uow: IrmUnitOfWork, cmd: WithdrawReview) -> Review:
    _check_irm(cmd.who, "withdraw a review")
    review = await review_of(uow, cmd.review_id)
    events = review.withdraw(cmd.reason, datetime.now(UTC))
    await uow.reviews.save(review)
    _publish(uow, events)
    return review


# --- the timers' steps ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EndPrePublicationWindows:
    today: date
    public_comment_days: int
    limit: int


async def end_pre_publication_windows(uow: IrmUnitOfWork, cmd: EndPrePublicationWindows) -> int:
    """Move to public comment the drafts whose pre-publication window ended; each row is locked
    and changed with its events in this transaction, so no runner moves one twice."""
    moved = 0
    now = datetime.now(UTC)
    for review in await uow.reviews.windows_ended(cmd.today, cmd.limit):
        if not review.pre_publication_ended(cmd.today):
            continue
        events = review.open_public_comment(cmd.today, cmd.public_comment_days, now)
        await uow.reviews.save(review)
        _publish(uow, events)
        moved += 1
    return moved


@dataclass(frozen=True, slots=True)
class ReportDue:
    kind: ReportKind
    today: date
    reminder_days: int
    limit: int


@dataclass(frozen=True, slots=True)
class Reported:
    found: int
    emitted: int


async def report_due(uow: IrmUnitOfWork, cmd: ReportDue) -> Reported:
    """One batch of reminders (``review_due_soon``) or overdue reports (``review_overdue``): each
    review and due date is claimed in this transaction before its event is published, so neither
    a restart nor a second runner reports it twice."""
    found = await uow.reviews.unreported(cmd.kind, cmd.today, cmd.reminder_days, cmd.limit)
    now = datetime.now(UTC)
    candidates: dict[str, Event] = {}
    for review in found:
        event: Event | None = (
            review.due_soon(cmd.today, cmd.reminder_days, now)
            if cmd.kind == DUE_SOON
            else review.overdue(cmd.today, now)
        )
        if event is not None:
            candidates[review.occurrence()] = event
    if not candidates:
        return Reported(len(found), 0)
    claimed = await uow.reviews.claim(cmd.kind, list(candidates))
    for occurrence, event in candidates.items():
        if occurrence in claimed:
            uow.publish(event)
    return Reported(len(found), len(claimed & candidates.keys()))
