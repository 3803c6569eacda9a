"""The notifications service's reactions to other services' events, by event type: learn
recipients and plan contacts, and queue a delivery for each event someone must hear about."""

from __future__ import annotations

from services.notifications import use_cases
from services.notifications.domain import PlanContact, Recipient
from services.notifications.store import NotificationsUnitOfWork
from shared.events.consultation import ConsultationClosed, ConsultationScheduled
from shared.events.envelope import Received
from shared.events.irm import ReviewScheduled
from shared.events.plans import ContactRegistered, PlanCreated, PlanSubmitted
from shared.reactions import Reactions


def reactions() -> Reactions[NotificationsUnitOfWork]:
    on = Reactions[NotificationsUnitOfWork]()

    @on.on(ContactRegistered)
    async def on_contact_registered(
        uow: NotificationsUnitOfWork, event: ContactRegistered, _: Received
    ) -> None:
        recipient = Recipient(
            id=event.contact_id,
            name=event.name,
            email=event.email,
            phone=event.phone,
            language=event.language,
        )
        await use_cases.learn_recipient(uow, use_cases.LearnRecipient(recipient))

    @on.on(PlanCreated)
    async def on_plan_created(uow: NotificationsUnitOfWork, event: PlanCreated, _: Received) -> None:
        await use_cases.remember_plan_contact(uow, use_cases.RememberPlanContact(_contact(event)))

    @on.on(PlanSubmitted)
    async def on_plan_submitted(uow: NotificationsUnitOfWork, event: PlanSubmitted, meta: Received) -> None:
        await use_cases.remember_plan_contact(uow, use_cases.RememberPlanContact(_contact(event)))
        await use_cases.queue_delivery(uow, use_cases.QueueDelivery(
            meta.id, "plan_submitted", plan_id=event.plan_id,
            params={"submitted_on": event.submitted_at.date().isoformat()},
        ))  # fmt: skip

    @on.on(ReviewScheduled)
    async def on_review_scheduled(
        uow: NotificationsUnitOfWork, event: ReviewScheduled, meta: Received
    ) -> None:
        params = {"due_date": event.due_date.isoformat(), "review_kind": event.kind.value.replace("_", " ")}
        await use_cases.queue_delivery(
            uow, use_cases.QueueDelivery(meta.id, "review_scheduled", plan_id=event.plan_id, params=params)
        )

    @on.on(ConsultationScheduled)
    async def on_consultation_scheduled(
        uow: NotificationsUnitOfWork, event: ConsultationScheduled, meta: Received
    ) -> None:
        """Short notice is allowed, but the point of contact should know the IRM will see it."""
        if not event.short_notice:
            return
        params = {
            "round_title": event.title,
            "opens_on": event.opens_at.date().isoformat(),
            "notice_days": f"{event.notice_days:g}",
            "required_days": str(event.notice_days_required),
        }
        await use_cases.queue_delivery(
            uow,
            use_cases.QueueDelivery(
                meta.id, "consultation_short_notice", plan_id=event.plan_id, params=params
            ),
        )

    @on.on(ConsultationClosed)
    async def on_consultation_closed(
        uow: NotificationsUnitOfWork, event: ConsultationClosed, meta: Received
    ) -> None:
        """A round that ran to its end now needs a reasoned response to each input (standard 4)."""
        if event.reason != "closed_on_schedule":
            return  # cancelled, or closed by the submission the contact made themselves
        await use_cases.queue_delivery(uow, use_cases.QueueDelivery(
            meta.id, "consultation_closed", plan_id=event.plan_id,
            params={"closed_on": event.closed_at.date().isoformat(), "submissions": str(event.submissions),
                    "comments": str(event.comments)},
        ))  # fmt: skip

    return on


def _contact(event: PlanCreated | PlanSubmitted) -> PlanContact:
    return PlanContact(
        plan_id=event.plan_id,
        member_id=event.member_id,
        contact_id=event.point_of_contact_id,
        title=event.title,
    )
