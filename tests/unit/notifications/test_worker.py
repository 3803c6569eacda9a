"""The delivery worker in memory: claim → send → record, with no unit of work open while sending."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID, uuid4

import aiosmtplib
import pytest

from services.notifications import use_cases
from services.notifications.domain import DeliveryStatus, PlanContact, Recipient
from services.notifications.mailer import Mailer
from services.notifications.settings import NotificationsSettings
from services.notifications.templates import Template
from services.notifications.worker import DeliveryWorker, describe
from shared.events.notifications import DeliveryFailed, DeliverySent
from tests.fakes.notifications import FakeNotificationsDatabase

EMAIL = "nadia@example.org"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeSender:
    """Builds real messages; sending records what it saw, or raises ``fail``."""

    def __init__(self, db: FakeNotificationsDatabase, settings: NotificationsSettings) -> None:
        self._db = db
        self._mailer = Mailer(settings)
        self.sent: list[EmailMessage] = []
        self.open_units_while_sending: list[int] = []
        self.fail: Exception | None = None
        self.during_send: Any = None

    def build(self, delivery_id: UUID, to_name: str, to_email: str, content: Template) -> EmailMessage:
        return self._mailer.build(delivery_id, to_name, to_email, content)

    async def send(self, message: EmailMessage) -> None:
        self.open_units_while_sending.append(self._db.open_units)
        if self.during_send is not None:
            await self.during_send()
        if self.fail is not None:
            raise self.fail
        self.sent.append(message)


def _settings(**overrides: Any) -> NotificationsSettings:
    values: dict[str, Any] = {"delivery_max_attempts": 3, "delivery_backoff_initial_s": 1.0, "smtp_timeout_s": 1.0,
                              "delivery_lease_s": 60.0, "delivery_batch_size": 20}  # fmt: skip
    values.update(overrides)
    return NotificationsSettings(**values)


def _setup(**overrides: Any) -> tuple[FakeNotificationsDatabase, FakeSender, DeliveryWorker, Clock]:
    db = FakeNotificationsDatabase()
    settings = _settings(**overrides)
    sender = FakeSender(db, settings)
    clock = Clock()
    return db, sender, DeliveryWorker(db.uow, settings, sender, clock=clock), clock


async def _plan(db: FakeNotificationsDatabase, *, email: str | None = EMAIL, known: bool = True) -> UUID:
    """A plan with a point of contact and one delivery queued for it; returns the delivery id."""
    contact_id, plan_id = uuid4(), uuid4()
    async with db.uow() as uow:
        if known:
            await use_cases.learn_recipient(
                uow, use_cases.LearnRecipient(Recipient(contact_id, "Nadia", email=email, language="fr"))
            )
        contact = PlanContact(plan_id, uuid4(), contact_id, "Open justice plan")
        await use_cases.remember_plan_contact(uow, use_cases.RememberPlanContact(contact))
        delivery = await use_cases.queue_delivery(uow, use_cases.QueueDelivery(
            uuid4(), "plan_submitted", plan_id=plan_id, params={"submitted_on": "2025-03-01"}))  # fmt: skip
    assert delivery is not None
    return delivery.id


async def test_a_message_is_sent_with_no_unit_of_work_open_and_recorded_once() -> None:
    db, sender, worker, _ = _setup()
    delivery_id = await _plan(db)
    opened_before = db.units_opened

    assert await worker.run_once() == 1

    assert sender.open_units_while_sending == [0]
    assert db.units_opened - opened_before == 2  # one claim, one outcome
    [message] = sender.sent
    assert message["To"] == f"Nadia <{EMAIL}>"
    assert message["Subject"] == "Plan d'action soumis : Open justice plan"  # the recipient's language
    assert message["X-Sharaka-Delivery"] == str(delivery_id)
    stored = db.deliveries.by_id[delivery_id]
    assert (stored.status, stored.attempts) == (DeliveryStatus.SENT, 1)
    assert db.deliveries.claims == {}
    [event] = db.outbox
    assert isinstance(event, DeliverySent)
    assert event.delivery_id == delivery_id
    assert await worker.run_once() == 0  # nothing left, nothing sent twice
    assert len(sender.sent) == 1


async def test_the_claim_is_committed_before_sending_so_another_replica_skips_the_row() -> None:
    db, sender, worker, clock = _setup()
    await _plan(db)
    seen_by_other: list[int] = []

    async def other_replica_polls() -> None:
        async with db.uow() as uow:
            seen_by_other.append(len(await use_cases.claim_due(
                uow, use_cases.ClaimDue(now=clock(), limit=20, lease=timedelta(seconds=60)))))  # fmt: skip

    sender.during_send = other_replica_polls
    await worker.run_once()
    assert seen_by_other == [0]
    assert len(sender.sent) == 1


async def test_an_unknown_recipient_is_retried_without_sending() -> None:
    db, sender, worker, clock = _setup()
    delivery_id = await _plan(db, known=False)

    await worker.run_once()

    assert sender.sent == []
    stored = db.deliveries.by_id[delivery_id]
    assert (stored.status, stored.attempts, stored.last_error) == (
        DeliveryStatus.PENDING, 1, "recipient not known yet",
    )  # fmt: skip
    assert stored.next_attempt_at == clock.now + timedelta(seconds=1)
    assert db.outbox == []


async def test_no_email_address_fails_at_once() -> None:
    db, sender, worker, _ = _setup()
    delivery_id = await _plan(db, email=None)
    await worker.run_once()
    assert sender.sent == []
    assert db.deliveries.by_id[delivery_id].status is DeliveryStatus.FAILED
    [event] = db.outbox
    assert isinstance(event, DeliveryFailed)
    assert event.reason == "recipient has no e-mail address"


async def test_smtp_errors_are_retried_with_backoff_then_reported_without_the_address() -> None:
    db, sender, worker, clock = _setup()
    delivery_id = await _plan(db)
    sender.fail = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "mailbox unavailable", EMAIL)]
    )

    for attempt, wait in ((1, 1), (2, 2)):
        assert await worker.run_once() == 1
        stored = db.deliveries.by_id[delivery_id]
        assert (stored.status, stored.attempts) == (DeliveryStatus.PENDING, attempt)
        assert await worker.run_once() == 0  # backing off
        clock.now += timedelta(seconds=wait)
    assert await worker.run_once() == 1

    stored = db.deliveries.by_id[delivery_id]
    assert (stored.status, stored.attempts) == (DeliveryStatus.FAILED, 3)
    [event] = db.outbox
    assert isinstance(event, DeliveryFailed)
    assert event.attempts == 3
    assert event.reason.startswith("SMTPRecipientsRefused")
    assert EMAIL not in event.reason and EMAIL not in (stored.last_error or "")
    assert sender.open_units_while_sending == [0, 0, 0]


async def test_a_hanging_smtp_server_is_cut_off_by_the_send_budget() -> None:
    db, sender, worker, _ = _setup(smtp_timeout_s=0.01, delivery_lease_s=1)

    async def hang() -> None:
        await asyncio.sleep(10)

    sender.during_send = hang
    delivery_id = await _plan(db)
    await worker.run_once()
    stored = db.deliveries.by_id[delivery_id]
    assert (stored.status, stored.attempts) == (DeliveryStatus.PENDING, 1)
    assert (stored.last_error or "").startswith("TimeoutError")


async def test_a_stopping_worker_gives_back_what_it_has_not_tried() -> None:
    db = FakeNotificationsDatabase()
    settings = _settings()
    sender = FakeSender(db, settings)
    stopping = asyncio.Event()
    worker = DeliveryWorker(db.uow, settings, sender, stopping=stopping, clock=Clock())
    ids = [await _plan(db) for _ in range(3)]

    async def stop_after_first() -> None:
        stopping.set()

    sender.during_send = stop_after_first
    assert await worker.run_once() == 3

    assert len(sender.sent) == 1
    assert db.deliveries.claims == {}  # the two untried ones are due again at once
    assert sorted(d.status for d in db.deliveries.by_id.values() if d.id in ids) == [
        DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.SENT,
    ]  # fmt: skip


async def test_an_outcome_after_the_lease_ran_out_is_left_to_the_new_claimant() -> None:
    db, sender, worker, clock = _setup()
    delivery_id = await _plan(db)

    async def lease_runs_out_and_another_replica_claims() -> None:
        async with db.uow() as uow:
            later = clock.now + timedelta(seconds=61)
            await use_cases.claim_due(
                uow, use_cases.ClaimDue(now=later, limit=20, lease=timedelta(seconds=60))
            )

    sender.during_send = lease_runs_out_and_another_replica_claims
    await worker.run_once()

    assert len(sender.sent) == 1  # sent (the other replica will send again: at-least-once)
    assert db.outbox == []  # but neither recorded nor announced by the worker that lost the row
    assert db.deliveries.by_id[delivery_id].status is DeliveryStatus.PENDING


def test_the_lease_must_outlast_a_send() -> None:
    with pytest.raises(ValueError, match="delivery_lease_s"):
        _settings(smtp_timeout_s=10, delivery_lease_s=30)


def test_describe_hides_the_address_and_is_bounded() -> None:
    assert describe(OSError(f"refused {EMAIL}"), EMAIL) == "OSError: refused <recipient>"
    assert len(describe(OSError("x" * 1000), EMAIL)) == 500
