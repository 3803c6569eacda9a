"""The notifications service's reactions to other services' events, by event type: learn who people
are and what things are called, and turn each event someone must hear of into a
:class:`~services.notifications.domain.triggers.Trigger` for the fan-out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar, cast
from uuid import UUID

from services.notifications.domain.recipients import PlanContact, Recipient, RecipientKind
from services.notifications.domain.triggers import ScopeType, Trigger
from services.notifications.settings import NotificationsSettings
from services.notifications.store import NotificationsUnitOfWork
from services.notifications.use_cases import fan_out, learning
from shared.events import topics
from shared.events.base import Event, Tombstone
from shared.events.consultation import (
    AuthorContactRegistered,
    CommentModerated,
    ConsultationClosed,
    ConsultationClosingSoon,
    ConsultationOpened,
    ConsultationScheduled,
    ForumMeetingOverdue,
    ModerationAction,
    ResponsePublished,
)
from shared.events.envelope import Received
from shared.events.irm import (
    ResearcherAssigned,
    ReviewDraftPublished,
    ReviewDueSoon,
    ReviewOverdue,
    ReviewPublished,
    ReviewScheduled,
)
from shared.events.notifications import Channel, DeliveryFailed
from shared.events.plans import (
    ContactRegistered,
    MemberCreated,
    MilestoneOverdue,
    NextPlanOverdue,
    PlanCreated,
    PlanSubmitted,
    RepositoryStale,
)
from shared.reactions import Reactions

U = NotificationsUnitOfWork
E = TypeVar("E", bound=Event)
Reaction = Callable[[U, E, Received], Awaitable[None]]
M, P, C, R, V = ScopeType.MEMBER, ScopeType.PLAN, ScopeType.COMMITMENT, ScopeType.ROUND, ScopeType.REVIEW


def _day(at: datetime) -> str:
    return at.date().isoformat()


def reactions(settings: NotificationsSettings | None = None) -> Reactions[U]:
    consultation_url = (settings.consultation_url if settings else "http://127.0.0.1:8002").rstrip("/")
    reactions = Reactions[U]()

    def each(event_type: type[E]) -> Callable[[Reaction[E]], Reaction[E]]:
        """Register a reaction to one event as a reaction to a run of them: the run's fan-outs
        are queued together at its end (:func:`fan_out.collected`)."""

        def register(reaction: Reaction[E]) -> Reaction[E]:
            @reactions.on_batch(event_type)
            async def run(uow: U, events: Sequence[Received]) -> None:
                async with fan_out.collected(uow):
                    for received in events:
                        await reaction(uow, cast(E, received.event), received)

            return reaction

        return register

    async def tell(
        uow: U, meta: Received, kind: str, scopes: dict[ScopeType, UUID], **params: object
    ) -> None:
        at = meta.time or datetime.now().astimezone()
        trigger = Trigger(kind, meta.id, at, scopes, {k: str(v) for k, v in params.items()})
        await fan_out.notify(uow, trigger)

    # --- who people are ------------------------------------------------------------------------
    @each(ContactRegistered)
    async def on_contact(uow: U, e: ContactRegistered, _: Received) -> None:
        person = Recipient(id=e.contact_id, name=e.name, email=e.email, phone=e.phone, language=e.language)
        await learning.learn_recipient(uow, learning.LearnRecipient(person))

    @each(AuthorContactRegistered)
    async def on_author(uow: U, e: AuthorContactRegistered, _: Received) -> None:
        channels = frozenset(c for c, has in ((Channel.EMAIL, e.email), (Channel.SMS, e.phone)) if has)
        person = Recipient(id=e.input_id, name=e.name, email=e.email, phone=e.phone, language=e.language,
                           kind=RecipientKind.AUTHOR, channels=channels)  # fmt: skip
        await learning.learn_recipient(uow, learning.LearnRecipient(person))

    @each(Tombstone)
    async def on_tombstone(uow: U, e: Tombstone, _: Received) -> None:
        """The service that holds a person's details was told to forget them: so do we."""
        kind = {
            topics.PLANS_CONTACTS: RecipientKind.CONTACT,
            topics.CONSULTATION_CONTACTS: RecipientKind.AUTHOR,
        }
        if e.source_topic in kind:
            try:
                recipient_id = UUID(e.record_key)
            except ValueError:
                return  # not a key this service ever stored
            await learning.forget_recipient(uow, learning.ForgetRecipient(recipient_id, kind[e.source_topic]))

    # --- what things are called ----------------------------------------------------------------
    @each(MemberCreated)
    async def on_member(uow: U, e: MemberCreated, _: Received) -> None:
        await uow.lookups.save_member(e.member_id, e.name)

    @each(PlanCreated)
    async def on_plan_created(uow: U, e: PlanCreated, _: Received) -> None:
        await learning.remember_plan_contact(uow, learning.RememberPlanContact(_contact(e)))

    # --- plans ---------------------------------------------------------------------------------
    @each(PlanSubmitted)
    async def on_plan_submitted(uow: U, e: PlanSubmitted, meta: Received) -> None:
        await learning.remember_plan_contact(uow, learning.RememberPlanContact(_contact(e)))
        await tell(
            uow, meta, "plan_submitted", {M: e.member_id, P: e.plan_id}, submitted_on=_day(e.submitted_at)
        )

    @each(MilestoneOverdue)
    async def on_milestone_overdue(uow: U, e: MilestoneOverdue, meta: Received) -> None:
        await tell(uow, meta, "milestone_overdue", {M: e.member_id, P: e.plan_id, C: e.commitment_id},
                   milestone_number=e.number, end_date=e.end_date.isoformat())  # fmt: skip

    @each(NextPlanOverdue)
    async def on_next_plan_overdue(uow: U, e: NextPlanOverdue, meta: Received) -> None:
        # The previous plan's point of contact is the member's voice here.
        await tell(uow, meta, "next_plan_overdue", {M: e.member_id, P: e.previous_plan_id},
                   due_date=e.due_date.isoformat())  # fmt: skip

    @each(RepositoryStale)
    async def on_repository_stale(uow: U, e: RepositoryStale, meta: Received) -> None:
        await tell(uow, meta, "repository_stale", {M: e.member_id, P: e.plan_id},
                   period_end=e.period_end.isoformat(), updates_in_period=e.updates_in_period)  # fmt: skip

    # --- IRM -----------------------------------------------------------------------------------
    @each(ReviewScheduled)
    async def on_review_scheduled(uow: U, e: ReviewScheduled, meta: Received) -> None:
        await uow.lookups.save_review(e.review_id, e.plan_id, e.kind.value, due_date=e.due_date)
        await tell(uow, meta, "review_scheduled", {M: e.member_id, P: e.plan_id, V: e.review_id},
                   due_date=e.due_date.isoformat(), review_kind=e.kind.value)  # fmt: skip

    @each(ResearcherAssigned)
    async def on_researcher_assigned(uow: U, e: ResearcherAssigned, meta: Received) -> None:
        await uow.lookups.save_review(e.review_id, e.plan_id, e.kind.value, researcher_id=e.researcher_id)
        await tell(uow, meta, "review_assigned", {M: e.member_id, P: e.plan_id, V: e.review_id},
                   review_kind=e.kind.value)  # fmt: skip

    @each(ReviewDraftPublished)
    async def on_draft(uow: U, e: ReviewDraftPublished, meta: Received) -> None:
        await tell(uow, meta, "review_draft_open", {M: e.member_id, P: e.plan_id, V: e.review_id},
                   review_kind=e.kind.value, comments_until=e.comments_until.isoformat(),
                   url=e.draft_url or "")  # fmt: skip

    @each(ReviewPublished)
    async def on_review_published(uow: U, e: ReviewPublished, meta: Received) -> None:
        await tell(uow, meta, "review_published", {M: e.member_id, P: e.plan_id, V: e.review_id},
                   review_kind=e.kind.value, url=e.url)  # fmt: skip

    @each(ReviewDueSoon)
    async def on_review_due_soon(uow: U, e: ReviewDueSoon, meta: Received) -> None:
        await tell(uow, meta, "review_due_soon", {M: e.member_id, P: e.plan_id, V: e.review_id},
                   review_kind=e.kind.value, due_date=e.due_date.isoformat(),
                   days_left=e.days_left)  # fmt: skip

    @each(ReviewOverdue)
    async def on_review_overdue(uow: U, e: ReviewOverdue, meta: Received) -> None:
        await tell(uow, meta, "review_overdue", {M: e.member_id, P: e.plan_id, V: e.review_id},
                   review_kind=e.kind.value, due_date=e.due_date.isoformat())  # fmt: skip

    # --- consultation --------------------------------------------------------------------------
    @each(ConsultationScheduled)
    async def on_scheduled(uow: U, e: ConsultationScheduled, meta: Received) -> None:
        await uow.lookups.save_round(e.round_id, e.plan_id, e.title)
        scopes = {M: e.member_id, P: e.plan_id, R: e.round_id}
        await tell(uow, meta, "consultation_scheduled", scopes, round_title=e.title,
                   opens_on=_day(e.opens_at), closes_on=_day(e.closes_at))  # fmt: skip
        if e.short_notice:  # allowed, but the point of contact should know the IRM will see it
            await tell(uow, meta, "consultation_short_notice", scopes, round_title=e.title,
                       opens_on=_day(e.opens_at), notice_days=f"{e.notice_days:g}",
                       required_days=e.notice_days_required)  # fmt: skip

    @each(ConsultationOpened)
    async def on_opened(uow: U, e: ConsultationOpened, meta: Received) -> None:
        await tell(uow, meta, "consultation_opened", {M: e.member_id, P: e.plan_id, R: e.round_id},
                   closes_on=_day(e.closes_at))  # fmt: skip

    @each(ConsultationClosingSoon)
    async def on_closing_soon(uow: U, e: ConsultationClosingSoon, meta: Received) -> None:
        await uow.lookups.save_round(e.round_id, e.plan_id, e.title)
        await tell(uow, meta, "consultation_closing_soon", {M: e.member_id, P: e.plan_id, R: e.round_id},
                   round_title=e.title, closes_on=_day(e.closes_at))  # fmt: skip

    @each(ConsultationClosed)
    async def on_closed(uow: U, e: ConsultationClosed, meta: Received) -> None:
        """A round that ran needs a reasoned response to each input (standard 4)."""
        if e.reason == "cancelled":
            return
        await tell(uow, meta, "consultation_closed", {M: e.member_id, P: e.plan_id, R: e.round_id},
                   closed_on=_day(e.closed_at), submissions=e.submissions, comments=e.comments)  # fmt: skip

    @each(ResponsePublished)
    async def on_response(uow: U, e: ResponsePublished, meta: Received) -> None:
        """Each input's author who asked to hear of the answer (their recipient id is the input's)."""
        at = meta.time or e.published_at
        params = {"decision": e.decision.value, "url": f"{consultation_url}/v1/rounds/{e.round_id}/responses"}
        trigger = Trigger("response_received", meta.id, at, {P: e.plan_id, R: e.round_id}, params,
                          recipient_ids=tuple(e.input_ids))  # fmt: skip
        await fan_out.notify(uow, trigger)

    @each(CommentModerated)
    async def on_moderated(uow: U, e: CommentModerated, meta: Received) -> None:
        if e.action is ModerationAction.FLAGGED:
            await tell(
                uow, meta, "input_flagged", {P: e.plan_id, R: e.round_id}, input_kind=e.input_kind.value
            )

    @each(ForumMeetingOverdue)
    async def on_forum_overdue(uow: U, e: ForumMeetingOverdue, meta: Received) -> None:
        await tell(uow, meta, "forum_meeting_overdue", {M: e.member_id},
                   since=e.since.isoformat(), due_on=e.due_on.isoformat())  # fmt: skip

    # --- our own ---------------------------------------------------------------------------------
    @each(DeliveryFailed)
    async def on_delivery_failed(uow: U, e: DeliveryFailed, meta: Received) -> None:
        """Staff hear of failed deliveries (but not of a failed alert about one: no loop)."""
        if e.template == "delivery_failed":
            return
        await tell(uow, meta, "delivery_failed", {}, failed_template=e.template, channel=e.channel.value,
                   attempts=e.attempts)  # fmt: skip

    return reactions


def _contact(event: PlanCreated | PlanSubmitted) -> PlanContact:
    return PlanContact(
        plan_id=event.plan_id,
        member_id=event.member_id,
        contact_id=event.point_of_contact_id,
        title=event.title,
    )
