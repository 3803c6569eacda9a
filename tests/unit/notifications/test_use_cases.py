"""Notifications use cases against the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from services.notifications import use_cases
from services.notifications.domain import (
    NO_EMAIL_ADDRESS,
    Delivery,
    DeliveryStatus,
    PlanContact,
    Problem,
    Recipient,
    RetryPolicy,
)
from shared.events.notifications import DeliveryFailed, DeliverySent
from tests.fakes.notifications import FakeNotificationsUnitOfWork

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
POLICY = RetryPolicy(max_attempts=3, backoff_initial_s=1.0)


def _claim_due(now: datetime = NOW, limit: int = 20) -> use_cases.ClaimDue:
    return use_cases.ClaimDue(now=now, limit=limit, lease=LEASE)


async def _queued(uow: FakeNotificationsUnitOfWork, plan_id: UUID | None = None) -> Delivery:
    delivery = await use_cases.queue_delivery(
        uow,
        use_cases.QueueDelivery(
            uuid4(), "plan_submitted", plan_id=plan_id or uuid4(), params={"submitted_on": "2025-03-01"}
        ),
    )
    assert delivery is not None
    return delivery


async def _plan_with_contact(
    uow: FakeNotificationsUnitOfWork, email: str | None = "n@example.org"
) -> PlanContact:
    recipient = Recipient(uuid4(), "Nadia", email=email, language="fr")
    await use_cases.learn_recipient(uow, use_cases.LearnRecipient(recipient))
    contact = PlanContact(
        plan_id=uuid4(), member_id=uuid4(), contact_id=recipient.id, title="Open justice plan"
    )
    await use_cases.remember_plan_contact(uow, use_cases.RememberPlanContact(contact))
    return contact


# --- learning ------------------------------------------------------------------------------------
async def test_a_recipient_is_learned_and_relearned() -> None:
    uow = FakeNotificationsUnitOfWork()
    rid = uuid4()
    await use_cases.learn_recipient(
        uow, use_cases.LearnRecipient(Recipient(rid, "Nadia", email="a@example.org"))
    )
    await use_cases.learn_recipient(
        uow, use_cases.LearnRecipient(Recipient(rid, "Nadia B.", email=None, language="ar"))
    )
    assert uow.recipients.by_id == {rid: Recipient(rid, "Nadia B.", email=None, language="ar")}
    assert uow.events == []


async def test_the_latest_plan_contact_wins() -> None:
    uow = FakeNotificationsUnitOfWork()
    plan_id, member_id = uuid4(), uuid4()
    first = PlanContact(plan_id, member_id, uuid4(), "Draft title")
    second = PlanContact(plan_id, member_id, uuid4(), "Final title")
    await use_cases.remember_plan_contact(uow, use_cases.RememberPlanContact(first))
    await use_cases.remember_plan_contact(uow, use_cases.RememberPlanContact(second))
    assert uow.plan_contacts.by_plan == {plan_id: second}


# --- queueing ------------------------------------------------------------------------------------
async def test_queueing_stores_a_pending_delivery_once_per_event_and_template() -> None:
    uow = FakeNotificationsUnitOfWork()
    cmd = use_cases.QueueDelivery(
        uuid4(), "review_scheduled", plan_id=uuid4(), params={"due_date": "2025-07-01"}
    )

    delivery = await use_cases.queue_delivery(uow, cmd)

    assert delivery is not None
    assert delivery.status is DeliveryStatus.PENDING
    assert (delivery.template, delivery.plan_id, delivery.params) == (
        "review_scheduled", cmd.plan_id, {"due_date": "2025-07-01"},
    )  # fmt: skip
    assert list(uow.deliveries.by_id) == [delivery.id]
    assert await use_cases.queue_delivery(uow, cmd) is None  # the same event again
    assert len(uow.deliveries.by_id) == 1
    assert uow.events == []  # only outcomes are announced


# --- claiming ------------------------------------------------------------------------------------
async def test_a_claim_resolves_the_plans_point_of_contact() -> None:
    uow = FakeNotificationsUnitOfWork()
    contact = await _plan_with_contact(uow)
    delivery = await _queued(uow, contact.plan_id)

    [claim] = await use_cases.claim_due(uow, _claim_due())

    assert claim.delivery.id == delivery.id
    assert claim.recipient_id == contact.contact_id
    assert claim.recipient is not None
    assert (claim.recipient.name, claim.recipient.language) == ("Nadia", "fr")
    assert claim.plan_title == "Open justice plan"
    assert uow.deliveries.claims[delivery.id] == (claim.token, NOW + LEASE)


async def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_runs_out() -> None:
    uow = FakeNotificationsUnitOfWork()
    delivery = await _queued(uow)
    [first] = await use_cases.claim_due(uow, _claim_due())

    assert await use_cases.claim_due(uow, _claim_due()) == []  # another replica, same moment
    assert await use_cases.claim_due(uow, _claim_due(NOW + LEASE - timedelta(seconds=1))) == []

    [second] = await use_cases.claim_due(uow, _claim_due(NOW + LEASE))  # the first worker died
    assert second.delivery.id == delivery.id
    assert second.token != first.token
    assert second.recipient is None and second.recipient_id is None  # no contact learned yet


async def test_claims_take_due_pending_deliveries_oldest_first_up_to_the_limit() -> None:
    uow = FakeNotificationsUnitOfWork()
    old, new, later, sent = [await _queued(uow) for _ in range(4)]
    uow.deliveries.by_id[old.id].next_attempt_at = NOW - timedelta(minutes=2)
    uow.deliveries.by_id[new.id].next_attempt_at = NOW - timedelta(minutes=1)
    uow.deliveries.by_id[later.id].next_attempt_at = NOW + timedelta(seconds=1)  # backing off
    uow.deliveries.by_id[sent.id].status = DeliveryStatus.SENT

    assert [c.delivery.id for c in await use_cases.claim_due(uow, _claim_due(limit=1))] == [old.id]
    assert [c.delivery.id for c in await use_cases.claim_due(uow, _claim_due(limit=5))] == [new.id]


# --- recording -----------------------------------------------------------------------------------
async def test_recording_a_sent_message_settles_the_delivery_and_announces_it() -> None:
    uow = FakeNotificationsUnitOfWork()
    contact = await _plan_with_contact(uow)
    delivery = await _queued(uow, contact.plan_id)
    [claim] = await use_cases.claim_due(uow, _claim_due())
    at = NOW + timedelta(seconds=2)

    assert await use_cases.record_sent(uow, use_cases.RecordSent(claim, at))

    stored = uow.deliveries.by_id[delivery.id]
    assert (stored.status, stored.attempts, stored.sent_at) == (DeliveryStatus.SENT, 1, at)
    assert delivery.id not in uow.deliveries.claims
    [event] = uow.events
    assert isinstance(event, DeliverySent)
    assert (event.delivery_id, event.recipient_id, event.attempts, event.sent_at) == (
        delivery.id, contact.contact_id, 1, at,
    )  # fmt: skip


async def test_a_passing_failure_is_recorded_for_a_retry_after_the_backoff() -> None:
    uow = FakeNotificationsUnitOfWork()
    delivery = await _queued(uow)
    [claim] = await use_cases.claim_due(uow, _claim_due())

    problem = Problem("SMTPServerDisconnected: Connection lost")
    assert await use_cases.record_failure(uow, use_cases.RecordFailure(claim, problem, NOW, POLICY))

    stored = uow.deliveries.by_id[delivery.id]
    assert (stored.status, stored.attempts, stored.last_error, stored.next_attempt_at) == (
        DeliveryStatus.PENDING, 1, problem.reason, NOW + timedelta(seconds=1),
    )  # fmt: skip
    assert uow.events == []
    assert await use_cases.claim_due(uow, _claim_due(NOW + timedelta(milliseconds=999))) == []
    [again] = await use_cases.claim_due(uow, _claim_due(NOW + timedelta(seconds=1)))
    assert again.delivery.attempts == 1


async def test_a_final_failure_is_recorded_and_announced() -> None:
    uow = FakeNotificationsUnitOfWork()
    contact = await _plan_with_contact(uow, email=None)
    delivery = await _queued(uow, contact.plan_id)
    [claim] = await use_cases.claim_due(uow, _claim_due())

    assert await use_cases.record_failure(uow, use_cases.RecordFailure(claim, NO_EMAIL_ADDRESS, NOW, POLICY))

    assert uow.deliveries.by_id[delivery.id].status is DeliveryStatus.FAILED
    [event] = uow.events
    assert isinstance(event, DeliveryFailed)
    assert (event.recipient_id, event.reason) == (contact.contact_id, "recipient has no e-mail address")


async def test_an_outcome_under_a_lost_claim_is_not_recorded_nor_announced() -> None:
    uow = FakeNotificationsUnitOfWork()
    contact = await _plan_with_contact(uow)
    delivery = await _queued(uow, contact.plan_id)
    [slow] = await use_cases.claim_due(uow, _claim_due())
    [fresh] = await use_cases.claim_due(uow, _claim_due(NOW + LEASE))  # slow's lease ran out

    assert not await use_cases.record_sent(uow, use_cases.RecordSent(slow, NOW + LEASE))
    assert uow.events == []
    assert uow.deliveries.by_id[delivery.id].status is DeliveryStatus.PENDING

    assert await use_cases.record_sent(uow, use_cases.RecordSent(fresh, NOW + LEASE))
    assert len(uow.of_type(DeliverySent)) == 1


async def test_released_claims_are_due_again_at_once() -> None:
    uow = FakeNotificationsUnitOfWork()
    a, b = await _queued(uow), await _queued(uow)
    claims = await use_cases.claim_due(uow, _claim_due())
    assert len(claims) == 2

    await use_cases.release_claims(uow, use_cases.ReleaseClaims(claims))

    assert {c.delivery.id for c in await use_cases.claim_due(uow, _claim_due())} == {a.id, b.id}
