"""Other services' events → what the notifications service learns and queues."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from services.notifications.domain import PlanContact, Recipient
from services.notifications.reactions import reactions
from shared.events.base import Event
from shared.events.consultation import ConsultationClosed, ConsultationScheduled, RoundKind
from shared.events.envelope import Received
from shared.events.irm import ReviewKind, ReviewScheduled
from shared.events.plans import ContactRegistered, PlanCreated, PlanSubmitted
from tests.fakes.notifications import FakeNotificationsUnitOfWork

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PLAN_ID, MEMBER_ID, CONTACT_ID = uuid4(), uuid4(), uuid4()


async def _react(uow: FakeNotificationsUnitOfWork, event: Event) -> Received:
    received = Received(
        id=uuid4(), type=event.event_type, source="test", subject=None, time=NOW, event=event, headers={}
    )
    handler = reactions().handlers[type(event)]
    await handler(uow, received)  # type: ignore[arg-type]  # the fake stands in for the Pg unit of work
    return received


def _submitted() -> PlanSubmitted:
    return PlanSubmitted(
        plan_id=PLAN_ID, member_id=MEMBER_ID, title="Open justice plan", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=2, point_of_contact_id=CONTACT_ID, submitted_at=NOW,
    )  # fmt: skip


def _scheduled(notice_days: float) -> ConsultationScheduled:
    return ConsultationScheduled(
        round_id=uuid4(), plan_id=PLAN_ID, member_id=MEMBER_ID, kind=RoundKind.IDEAS, title="Ideas",
        opens_at=NOW + timedelta(days=notice_days), closes_at=NOW + timedelta(days=40), scheduled_at=NOW,
        notice_days=notice_days, notice_days_required=14, short_notice=notice_days < 14,
    )  # fmt: skip


def _closed(reason: str) -> ConsultationClosed:
    return ConsultationClosed(round_id=uuid4(), plan_id=PLAN_ID, member_id=MEMBER_ID, closed_at=NOW,
                              reason=reason, submissions=4, comments=11)  # fmt: skip


async def test_a_registered_contact_becomes_a_recipient() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _react(
        uow, ContactRegistered(contact_id=CONTACT_ID, name="Nadia", email="n@example.org", language="es")
    )
    assert uow.recipients.by_id == {CONTACT_ID: Recipient(CONTACT_ID, "Nadia", "n@example.org", None, "es")}
    assert uow.deliveries.by_id == {}


async def test_a_created_plan_names_its_contact_and_queues_nothing() -> None:
    uow = FakeNotificationsUnitOfWork()
    event = PlanCreated(plan_id=PLAN_ID, member_id=MEMBER_ID, title="Draft", start_date=date(2025, 1, 1),
                        end_date=date(2027, 1, 1), point_of_contact_id=CONTACT_ID, created_at=NOW)  # fmt: skip
    await _react(uow, event)
    assert uow.plan_contacts.by_plan == {PLAN_ID: PlanContact(PLAN_ID, MEMBER_ID, CONTACT_ID, "Draft")}
    assert uow.deliveries.by_id == {}


async def test_a_submitted_plan_is_remembered_and_its_contact_told() -> None:
    uow = FakeNotificationsUnitOfWork()
    received = await _react(uow, _submitted())
    assert uow.plan_contacts.by_plan[PLAN_ID].title == "Open justice plan"
    [delivery] = uow.deliveries.by_id.values()
    assert (delivery.cause_event_id, delivery.template, delivery.plan_id, delivery.recipient_id) == (
        received.id, "plan_submitted", PLAN_ID, None,
    )  # fmt: skip
    assert delivery.params == {"submitted_on": "2025-03-01"}


async def test_a_scheduled_review_is_announced_to_the_plans_contact() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _react(uow, ReviewScheduled(review_id=uuid4(), plan_id=PLAN_ID, member_id=MEMBER_ID,
                                      kind=ReviewKind.ACTION_PLAN_REVIEW, due_date=date(2025, 7, 1),
                                      scheduled_at=NOW))  # fmt: skip
    [delivery] = uow.deliveries.by_id.values()
    assert delivery.template == "review_scheduled"
    assert delivery.params == {"due_date": "2025-07-01", "review_kind": "action plan review"}


@pytest.mark.parametrize(("notice_days", "queued"), [(3, True), (13.5, True), (14, False), (20, False)])
async def test_only_short_notice_consultations_are_mailed(notice_days: float, queued: bool) -> None:
    uow = FakeNotificationsUnitOfWork()
    await _react(uow, _scheduled(notice_days))
    deliveries = list(uow.deliveries.by_id.values())
    assert len(deliveries) == int(queued)
    if queued:
        assert deliveries[0].template == "consultation_short_notice"
        assert deliveries[0].params == {
            "round_title": "Ideas", "opens_on": (NOW + timedelta(days=notice_days)).date().isoformat(),
            "notice_days": f"{notice_days:g}", "required_days": "14",
        }  # fmt: skip


@pytest.mark.parametrize(("reason", "queued"), [("closed_on_schedule", True), ("plan_submitted", False),
                                                ("cancelled", False)])  # fmt: skip
async def test_only_rounds_closed_on_schedule_are_mailed(reason: str, queued: bool) -> None:
    uow = FakeNotificationsUnitOfWork()
    await _react(uow, _closed(reason))
    deliveries = list(uow.deliveries.by_id.values())
    assert len(deliveries) == int(queued)
    if queued:
        assert deliveries[0].params == {"closed_on": "2025-03-01", "submissions": "4", "comments": "11"}


def test_every_consumed_event_has_one_reaction() -> None:
    assert set(reactions().handlers) == {
        ContactRegistered, PlanCreated, PlanSubmitted, ReviewScheduled, ConsultationScheduled, ConsultationClosed,
    }  # fmt: skip
