"""The delivery worker in memory: claim → send a chunk side by side → record it, with no unit of work
open while sending; retries, quiet hours, SMS, confirmations, digests, leases and shutdown."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage, Message
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import aiosmtplib
import pytest

from services.notifications.domain.deliveries import CONFIRMATION, Delivery, DeliveryStatus
from services.notifications.domain.recipients import DigestMode, QuietHours, Recipient
from services.notifications.domain.triggers import DigestItem, ScopeType
from services.notifications.mailer import Mailer
from services.notifications.messages import Rendered
from services.notifications.settings import NotificationsSettings
from services.notifications.sms import SmsAccepted, SmsError, SmsMessage
from services.notifications.use_cases import people, sending
from services.notifications.worker import DeliveryWorker, describe
from shared.events.notifications import Channel, DeliveryFailed, DeliverySent
from tests.fakes.notifications import FakeNotificationsDatabase

EMAIL, PHONE = "nadia@example.org", "+21620123456"
Hook = Callable[[], Awaitable[None]] | None


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeMailer:
    """Builds real messages; sending records what it would have sent, or raises ``fail``."""

    def __init__(self, db: FakeNotificationsDatabase, settings: NotificationsSettings) -> None:
        self._db = db
        self._mailer = Mailer(settings)
        self.sent: list[EmailMessage] = []
        self.open_units_while_sending: list[int] = []
        self.fail: Exception | None = None
        self.during_send: Hook = None

    def build(
        self,
        delivery_id: UUID,
        to_name: str,
        to_email: str,
        content: Rendered,
        *,
        unsubscribe_url: str | None,
    ) -> Message:
        return self._mailer.build(delivery_id, to_name, to_email, content, unsubscribe_url=unsubscribe_url)

    async def send(self, message: Message) -> None:
        self.open_units_while_sending.append(self._db.open_units)
        if self.during_send is not None:
            await self.during_send()
        if self.fail is not None:
            raise self.fail
        # What an SMTP server would receive, read back as a mail client does.
        received = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
        assert isinstance(received, EmailMessage)
        self.sent.append(received)


class FakeSms:
    def __init__(self) -> None:
        self.sent: list[SmsMessage] = []
        self.fail: SmsError | None = None

    async def send(self, message: SmsMessage) -> SmsAccepted:
        if self.fail is not None:
            raise self.fail
        self.sent.append(message)
        return SmsAccepted(f"SM{len(self.sent)}", 1)

    async def aclose(self) -> None:
        pass


class Setup:
    def __init__(self, *, sms: bool = True, **overrides: Any) -> None:
        values: dict[str, Any] = {"delivery_max_attempts": 3, "delivery_backoff_initial_s": 1.0, "smtp_timeout_s": 1.0,
                                  "sms_timeout_s": 1.0, "delivery_lease_s": 60.0, "delivery_batch_size": 20}  # fmt: skip
        self.settings = NotificationsSettings(**(values | overrides))
        self.db = FakeNotificationsDatabase()
        self.mailer = FakeMailer(self.db, self.settings)
        self.sms = FakeSms()
        self.clock = Clock()
        self.stopping = asyncio.Event()
        self.worker = DeliveryWorker(self.db.uow, self.settings, self.mailer, self.sms if sms else None,
                                     stopping=self.stopping, clock=self.clock)  # fmt: skip

    async def person(self, **kw: object) -> Recipient:
        values: dict[str, object] = {"email": EMAIL, "language": "fr", "confirmed_at": self.clock.now} | kw
        r = Recipient(uuid4(), "Nadia", **values)  # type: ignore[arg-type]
        async with self.db.uow() as uow:
            await uow.recipients.save(r)
        return r

    async def queue(
        self, recipient_id: UUID | None = None, channel: Channel = Channel.EMAIL, **params: str
    ) -> UUID:
        d = Delivery.queue(cause_event_id=uuid4(), template="plan_submitted", channel=channel,
                           recipient_id=recipient_id or uuid4(),
                           params=params or {"plan_title": "Open justice plan", "submitted_on": "2025-03-01"})  # fmt: skip
        async with self.db.uow() as uow:
            await uow.deliveries.add(d)
        return d.id

    def stored(self, delivery_id: UUID) -> Delivery:
        return self.db.tables.deliveries[delivery_id]


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


# --- e-mail -------------------------------------------------------------------------------------
async def test_a_message_is_sent_with_no_unit_of_work_open_and_recorded_once() -> None:
    s = Setup()
    r = await s.person()
    delivery_id = await s.queue(r.id)
    opened_before = s.db.units_opened

    assert await s.worker.run_once() == 1

    assert s.mailer.open_units_while_sending == [0]
    assert s.db.units_opened - opened_before == 2  # one claim, one record
    [message] = s.mailer.sent
    assert message["To"] == f"Nadia <{EMAIL}>"
    subject = str(message["Subject"])
    assert subject.startswith("Plan d'action soumis") and subject.endswith("Open justice plan")  # in French
    assert (message["Content-Language"], message["X-Sharaka-Delivery"]) == ("fr", str(delivery_id))
    assert "Open justice plan" in _text(message) and message.get_body(("html",)) is not None
    [token] = parse_qs(urlsplit(message["List-Unsubscribe"].strip("<>")).query)["token"]
    claim = s.worker.links.verify(token, "unsubscribe")
    assert (claim.recipient_id, claim.channel) == (r.id, Channel.EMAIL)
    assert (s.stored(delivery_id).status, s.stored(delivery_id).attempts) == (DeliveryStatus.SENT, 1)
    assert s.db.tables.claims == {}
    [event] = s.db.outbox
    assert isinstance(event, DeliverySent) and event.delivery_id == delivery_id
    assert await s.worker.run_once() == 0  # nothing left, nothing sent twice
    assert len(s.mailer.sent) == 1


async def test_the_claim_is_committed_before_sending_so_another_replica_skips_the_row() -> None:
    s = Setup()
    await s.queue((await s.person()).id)
    seen_by_other: list[int] = []

    async def other_replica_polls() -> None:
        async with s.db.uow() as uow:
            claims = await sending.claim_due(uow, sending.ClaimDue(s.clock(), 20, timedelta(seconds=60)))
            seen_by_other.append(len(claims))

    s.mailer.during_send = other_replica_polls
    await s.worker.run_once()
    assert seen_by_other == [0]
    assert len(s.mailer.sent) == 1


@pytest.mark.parametrize(("chunk", "records"), [(4, 1), (2, 2), (1, 4)])
async def test_a_chunk_is_sent_side_by_side_and_recorded_in_one_unit(chunk: int, records: int) -> None:
    s = Setup(delivery_chunk_size=chunk)
    r = await s.person()
    for _ in range(4):
        await s.queue(r.id)
    together = asyncio.Barrier(chunk)

    async def wait_for_the_rest_of_the_chunk() -> None:
        async with asyncio.timeout(0.5):  # sequential sends would never fill the barrier
            await together.wait()

    s.mailer.during_send = wait_for_the_rest_of_the_chunk
    opened_before = s.db.units_opened
    assert await s.worker.run_once() == 4
    assert len(s.mailer.sent) == 4
    assert s.db.units_opened - opened_before == 1 + records


async def test_an_unknown_recipient_is_retried_without_sending() -> None:
    s = Setup()
    delivery_id = await s.queue()  # never learnt
    await s.worker.run_once()
    assert s.mailer.sent == []
    d = s.stored(delivery_id)
    assert (d.status, d.attempts, d.last_error) == (DeliveryStatus.PENDING, 1, "recipient not known yet")
    assert d.next_attempt_at == s.clock.now + timedelta(seconds=1)
    assert s.db.outbox == []


async def test_someone_with_no_address_at_all_fails_at_once() -> None:
    s = Setup()
    delivery_id = await s.queue((await s.person(email=None)).id)
    await s.worker.run_once()
    assert s.mailer.sent == [] and s.sms.sent == []
    assert s.stored(delivery_id).status is DeliveryStatus.FAILED
    [event] = s.db.outbox
    assert isinstance(event, DeliveryFailed) and event.reason == "recipient has no e-mail address"


async def test_smtp_errors_are_retried_with_backoff_then_reported_without_the_address() -> None:
    s = Setup()
    delivery_id = await s.queue((await s.person()).id)
    s.mailer.fail = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "mailbox unavailable", EMAIL)]
    )

    for attempt, wait in ((1, 1), (2, 2)):
        assert await s.worker.run_once() == 1
        assert (s.stored(delivery_id).status, s.stored(delivery_id).attempts) == (
            DeliveryStatus.PENDING,
            attempt,
        )
        assert await s.worker.run_once() == 0  # backing off
        s.clock.now += timedelta(seconds=wait)
    assert await s.worker.run_once() == 1

    d = s.stored(delivery_id)
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 3)
    [event] = s.db.outbox
    assert isinstance(event, DeliveryFailed)
    assert event.attempts == 3 and event.reason.startswith("SMTPRecipientsRefused")
    assert EMAIL not in event.reason and EMAIL not in (d.last_error or "")
    assert s.mailer.open_units_while_sending == [0, 0, 0]


async def test_a_hanging_smtp_server_is_cut_off_by_the_send_budget() -> None:
    s = Setup(smtp_timeout_s=0.01, sms_timeout_s=0.01, delivery_lease_s=1)

    async def hang() -> None:
        await asyncio.sleep(10)

    s.mailer.during_send = hang
    delivery_id = await s.queue((await s.person()).id)
    await s.worker.run_once()
    d = s.stored(delivery_id)
    assert (d.status, d.attempts) == (DeliveryStatus.PENDING, 1)
    assert (d.last_error or "").startswith("TimeoutError")


async def test_a_message_that_cannot_be_rendered_fails_at_once() -> None:
    s = Setup()
    delivery_id = await s.queue((await s.person()).id, plan_title="Open justice plan")  # no submitted_on
    await s.worker.run_once()
    assert s.mailer.sent == []
    d = s.stored(delivery_id)
    assert d.status is DeliveryStatus.FAILED
    assert (d.last_error or "").startswith("cannot render: ValueError") and "submitted_on" in (
        d.last_error or ""
    )


# --- SMS ----------------------------------------------------------------------------------------
async def test_a_phone_only_person_gets_the_email_by_sms() -> None:
    s = Setup()
    r = await s.person(email=None, phone=PHONE)
    delivery_id = await s.queue(r.id)
    await s.worker.run_once()
    [text] = s.sms.sent
    assert (text.delivery_id, text.to) == (delivery_id, PHONE)
    assert text.body.startswith("Sharaka") and "Open justice plan" in text.body
    d = s.stored(delivery_id)
    assert (d.status, d.channel, d.provider_id) == (DeliveryStatus.SENT, Channel.SMS, "SM1")
    [event] = s.db.outbox
    assert isinstance(event, DeliverySent) and event.channel is Channel.SMS


async def test_without_an_sms_gateway_an_sms_fails_at_once() -> None:
    s = Setup(sms=False)
    delivery_id = await s.queue((await s.person(phone=PHONE)).id, Channel.SMS)
    await s.worker.run_once()
    assert (s.stored(delivery_id).status, s.stored(delivery_id).last_error) == (
        DeliveryStatus.FAILED,
        "no SMS gateway",
    )


@pytest.mark.parametrize(
    ("final", "status"), [(True, DeliveryStatus.FAILED), (False, DeliveryStatus.PENDING)]
)
async def test_an_sms_the_gateway_refuses_is_retried_unless_final_without_the_number(
    final: bool, status: DeliveryStatus
) -> None:
    s = Setup()
    delivery_id = await s.queue((await s.person(phone=PHONE)).id, Channel.SMS)
    s.sms.fail = SmsError(f"refused {PHONE}", final=final, status=400 if final else 503)
    await s.worker.run_once()
    d = s.stored(delivery_id)
    assert (d.status, d.attempts) == (status, 1)
    assert d.last_error == "SmsError: refused <recipient>"


async def test_quiet_hours_hold_an_sms_till_they_end_and_not_the_email() -> None:
    s = Setup()
    s.clock.now = datetime(2025, 3, 1, 22, 0, tzinfo=UTC)  # 23:00 in Tunis
    r = await s.person(phone=PHONE, timezone="Africa/Tunis", quiet=QuietHours(time(22), time(7)))
    email_id, sms_id = await s.queue(r.id), await s.queue(r.id, Channel.SMS)

    assert await s.worker.run_once() == 2

    assert len(s.mailer.sent) == 1 and s.sms.sent == []
    morning = datetime(2025, 3, 2, 6, 0, tzinfo=UTC)  # 07:00 in Tunis
    held = s.stored(sms_id)
    assert (held.status, held.attempts, held.next_attempt_at) == (DeliveryStatus.PENDING, 0, morning)
    assert s.stored(email_id).status is DeliveryStatus.SENT
    assert [type(e) for e in s.db.outbox] == [DeliverySent]
    s.clock.now = morning
    assert await s.worker.run_once() == 1
    assert len(s.sms.sent) == 1 and s.stored(sms_id).attempts == 1


# --- the service's own messages -----------------------------------------------------------------
async def test_a_confirmation_is_sent_despite_an_opt_out_with_a_link_that_confirms() -> None:
    s = Setup()
    async with s.db.uow() as uow:
        pending = await people.follow_publicly(uow, people.FollowPublicly(
            "Lina", EMAIL, None, "en", ScopeType.MEMBER, uuid4(), frozenset(), s.clock.now))  # fmt: skip
    s.db.tables.recipients[pending.recipient_id].email_opt_out_at = s.clock.now  # unsubscribed before

    await s.worker.run_once()

    [message] = s.mailer.sent
    assert message["List-Unsubscribe"] is None  # nothing to unsubscribe from yet
    link = next(w for w in _text(message).split() if "/v1/confirm?token=" in w)
    [token] = parse_qs(urlsplit(link).query)["token"]
    claim = s.worker.links.verify(token, "confirm")
    assert (claim.recipient_id, claim.subscription_id) == (pending.recipient_id, pending.subscription_id)
    assert pending.confirmation is not None and s.stored(pending.confirmation.id).template == CONFIRMATION


async def test_a_digest_is_made_and_sent_with_what_was_held() -> None:
    s = Setup()
    r = await s.person(language="en", digest=DigestMode.DAILY, next_digest_at=s.clock.now)
    async with s.db.uow() as uow:
        await uow.deliveries.add_digest_items([
            DigestItem(r.id, uuid4(), "plan_submitted", {"plan_title": f"Plan {i}", "submitted_on": "2025-03-01"},
                       s.clock.now - timedelta(hours=i))
            for i in (1, 2)
        ])  # fmt: skip

    assert await s.worker.make_digests() == 1
    assert await s.worker.run_once() == 1

    [message] = s.mailer.sent
    assert message["Subject"] == "Your daily Sharaka digest (2 updates)"
    text = _text(message)
    assert text.index("Plan 2") < text.index("Plan 1")  # oldest first
    assert await s.worker.make_digests() == 0


# --- leases and shutdown ------------------------------------------------------------------------
async def test_a_stopping_worker_gives_back_what_it_has_not_tried() -> None:
    s = Setup(delivery_chunk_size=1)
    r = await s.person()
    ids = [await s.queue(r.id) for _ in range(3)]

    async def stop() -> None:
        s.stopping.set()

    s.mailer.during_send = stop
    assert await s.worker.run_once() == 3

    assert len(s.mailer.sent) == 1
    assert s.db.tables.claims == {}  # the two untried ones are due again at once
    assert sorted(s.stored(i).status for i in ids) == [
        DeliveryStatus.PENDING,
        DeliveryStatus.PENDING,
        DeliveryStatus.SENT,
    ]
    assert [s.stored(i).attempts for i in ids].count(0) == 2


async def test_no_send_is_started_that_could_outlast_the_lease() -> None:
    s = Setup(delivery_chunk_size=1, smtp_timeout_s=1, sms_timeout_s=1, delivery_lease_s=3.3)  # budget 3 s
    r = await s.person()
    first, second = await s.queue(r.id), await s.queue(r.id)

    async def slow() -> None:
        await asyncio.sleep(0.4)  # past the last moment a 3 s send could start in a 3.3 s lease

    s.mailer.during_send = slow
    await s.worker.run_once()
    assert len(s.mailer.sent) == 1
    assert (s.stored(first).status, s.stored(second).status) == (DeliveryStatus.SENT, DeliveryStatus.PENDING)
    assert s.db.tables.claims == {} and s.stored(second).attempts == 0


async def test_an_outcome_after_the_lease_ran_out_is_left_to_the_new_claimant() -> None:
    s = Setup()
    delivery_id = await s.queue((await s.person()).id)

    async def lease_runs_out_and_another_replica_claims() -> None:
        async with s.db.uow() as uow:
            later = s.clock.now + timedelta(seconds=61)
            await sending.claim_due(uow, sending.ClaimDue(later, 20, timedelta(seconds=60)))

    s.mailer.during_send = lease_runs_out_and_another_replica_claims
    await s.worker.run_once()

    assert len(s.mailer.sent) == 1  # sent (the other replica will send again: at-least-once)
    assert s.db.outbox == []  # but neither recorded nor announced by the worker that lost the row
    assert s.stored(delivery_id).status is DeliveryStatus.PENDING


@pytest.mark.parametrize(("smtp", "sms", "lease"), [(10, 1, 30), (1, 10, 5)])
def test_the_lease_must_outlast_the_longest_send(smtp: float, sms: float, lease: float) -> None:
    """The worker starts no message within ``3 * max(smtp_timeout_s, sms_timeout_s)`` of the lease's
    end: a shorter lease would give every batch back untried, for ever."""
    with pytest.raises(ValueError, match="delivery_lease_s"):
        NotificationsSettings(smtp_timeout_s=smtp, sms_timeout_s=sms, delivery_lease_s=lease)


def test_describe_hides_the_address_and_is_bounded() -> None:
    assert describe(OSError(f"refused {EMAIL}"), EMAIL) == "OSError: refused <recipient>"
    assert len(describe(OSError("x" * 1000), EMAIL)) == 500
