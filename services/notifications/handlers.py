"""Reactions of the notifications service: learn recipients and plan contacts, and queue a
delivery for each event someone must hear about."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import uuid4

from shared.consumer import Handler
from shared.events.base import Event
from shared.events.consultation import ConsultationClosed, ConsultationScheduled
from shared.events.envelope import Received
from shared.events.irm import ReviewScheduled
from shared.events.notifications import Channel
from shared.events.plans import ContactRegistered, PlanCreated, PlanSubmitted
from shared.uow import UnitOfWork


async def on_contact_registered(uow: UnitOfWork, received: Received) -> None:
    event = received.event
    assert isinstance(event, ContactRegistered)
    await uow.conn.execute(
        """INSERT INTO recipients (id, name, email, phone, language) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
               phone = EXCLUDED.phone, language = EXCLUDED.language, updated_at = now()""",
        event.contact_id, event.name, event.email, event.phone, event.language,
    )  # fmt: skip


async def _remember_plan_contact(uow: UnitOfWork, event: PlanCreated | PlanSubmitted) -> None:
    await uow.conn.execute(
        """INSERT INTO plan_contacts (plan_id, member_id, contact_id, title) VALUES ($1, $2, $3, $4)
           ON CONFLICT (plan_id) DO UPDATE SET contact_id = EXCLUDED.contact_id,
               title = EXCLUDED.title""",
        event.plan_id, event.member_id, event.point_of_contact_id, event.title,
    )  # fmt: skip


async def _queue(
    uow: UnitOfWork, received: Received, template: str, *, plan_id: object, params: dict[str, str]
) -> None:
    await uow.conn.execute(
        """INSERT INTO deliveries (id, cause_event_id, template, channel, plan_id, params)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        uuid4(), received.id, template, Channel.EMAIL.value, plan_id, params,
    )  # fmt: skip


async def on_plan_created(uow: UnitOfWork, received: Received) -> None:
    event = received.event
    assert isinstance(event, PlanCreated)
    await _remember_plan_contact(uow, event)


async def on_plan_submitted(uow: UnitOfWork, received: Received) -> None:
    event = received.event
    assert isinstance(event, PlanSubmitted)
    await _remember_plan_contact(uow, event)
    await _queue(
        uow, received, "plan_submitted", plan_id=event.plan_id,
        params={"submitted_on": event.submitted_at.date().isoformat()},
    )  # fmt: skip


async def on_review_scheduled(uow: UnitOfWork, received: Received) -> None:
    event = received.event
    assert isinstance(event, ReviewScheduled)
    await _queue(
        uow, received, "review_scheduled", plan_id=event.plan_id,
        params={"due_date": event.due_date.isoformat(), "review_kind": event.kind.value.replace("_", " ")},
    )  # fmt: skip


async def on_consultation_scheduled(uow: UnitOfWork, received: Received) -> None:
    """Short notice is allowed, but the point of contact should know the IRM will see it."""
    event = received.event
    assert isinstance(event, ConsultationScheduled)
    if not event.short_notice:
        return
    await _queue(
        uow, received, "consultation_short_notice", plan_id=event.plan_id,
        params={"round_title": event.title, "opens_on": event.opens_at.date().isoformat(),
                "notice_days": f"{event.notice_days:g}", "required_days": str(event.notice_days_required)},
    )  # fmt: skip


async def on_consultation_closed(uow: UnitOfWork, received: Received) -> None:
    """A round that ran to its end now needs a reasoned response to each input (standard 4)."""
    event = received.event
    assert isinstance(event, ConsultationClosed)
    if event.reason != "closed_on_schedule":
        return  # cancelled, or closed by the submission the contact made themselves
    await _queue(
        uow, received, "consultation_closed", plan_id=event.plan_id,
        params={"closed_on": event.closed_at.date().isoformat(), "submissions": str(event.submissions),
                "comments": str(event.comments)},
    )  # fmt: skip


HANDLERS: Mapping[type[Event], Handler] = {
    ConsultationScheduled: on_consultation_scheduled,
    ConsultationClosed: on_consultation_closed,
    ContactRegistered: on_contact_registered,
    PlanCreated: on_plan_created,
    PlanSubmitted: on_plan_submitted,
    ReviewScheduled: on_review_scheduled,
}
