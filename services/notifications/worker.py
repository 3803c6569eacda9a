"""The delivery worker: sends queued deliveries by e-mail or SMS, retries failures with back-off,
gives up after ``delivery_max_attempts`` and says so in an event; and makes the digests due.

Claim → send → record, and no transaction is open while a message is being sent:

1. **Claim** a batch of due deliveries in one short unit of work: each row gets a lease
   (``claimed_until``) under a fresh claim token, and the transaction commits at once. Other
   replicas skip leased rows, so the queue is shared without holding locks.
2. **Send** a chunk of the batch side by side (SMTP over a few long-lived connections, SMS through
   the gateway's rate limit), with no transaction and no pooled database connection held. A
   message is not started when the lease could run out before it finishes; it is given back.
3. **Record** the chunk's outcomes in one short unit of work (one statement, plus the events in the
   outbox), only where the claim token still holds the row.

A worker that dies mid-batch leaves leases that run out; another replica then takes the rows. A
crash after the gateway accepted a message but before its chunk was recorded re-sends it once:
at-least-once, with a stable Message-ID so mail clients show one message. The chunk bounds how
many messages one crash can repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

import asyncpg

from services.notifications import messages
from services.notifications.domain.deliveries import (
    CONFIRMATION,
    DIGEST,
    Claim,
    DeliveryStatus,
    Problem,
    RetryPolicy,
)
from services.notifications.links import Links
from services.notifications.mailer import Mailer
from services.notifications.settings import NotificationsSettings
from services.notifications.sms import SmsError, SmsGateway, SmsMessage, gateway_from
from services.notifications.store import NotificationsUnitOfWork
from services.notifications.use_cases import digests, sending
from shared import metrics
from shared.events.notifications import Channel
from shared.faults import fault_point
from shared.logging import get_logger

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = get_logger(__name__)

#: Opens one unit of work (one short transaction, committed on a clean exit).
Units = Callable[[], AbstractAsyncContextManager[NotificationsUnitOfWork]]


class EmailSender(Protocol):
    """What the worker needs of the e-mail channel (:class:`~services.notifications.mailer.Mailer`)."""

    def build(
        self,
        delivery_id: UUID,
        to_name: str,
        to_email: str,
        content: messages.Rendered,
        *,
        unsubscribe_url: str | None,
    ) -> Message: ...

    async def send(self, message: Message) -> None: ...


class DeliveryWorker:
    def __init__(
        self,
        units: Units,
        settings: NotificationsSettings,
        mailer: EmailSender,
        sms: SmsGateway | None = None,
        *,
        stopping: asyncio.Event | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._units = units
        self._s = settings
        self._mailer = mailer
        self._sms = sms
        self._stopping = stopping or asyncio.Event()
        self._clock = clock
        self.links = Links.of(settings)
        self.policy = RetryPolicy(
            max_attempts=settings.delivery_max_attempts,
            backoff_initial_s=settings.delivery_backoff_initial_s,
            backoff_max_s=settings.delivery_backoff_max_s,
        )
        #: The longest one message may take, connection to QUIT (each SMTP step has its own
        #: timeout; this bounds them together).
        self.send_budget_s = 3 * max(settings.smtp_timeout_s, settings.sms_timeout_s)

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and handle it; return how many were claimed."""
        lease = timedelta(seconds=self._s.delivery_lease_s)
        async with self._units() as uow:
            claims = await sending.claim_due(
                uow, sending.ClaimDue(now=self._clock(), limit=self._s.delivery_batch_size, lease=lease)
            )
        # The claim is committed: from here on no transaction is open while a message is sent.
        loop = asyncio.get_running_loop()
        last_start = loop.time() + lease.total_seconds() - self.send_budget_s
        chunk = self._s.delivery_chunk_size
        for i in range(0, len(claims), chunk):
            if self._stopping.is_set() or loop.time() > last_start:
                async with self._units() as uow:
                    await sending.release_claims(uow, sending.ReleaseClaims(claims[i:]))
                log.info("deliveries given back untried", count=len(claims) - i)
                break
            outcomes = await asyncio.gather(*(self._attempt(c) for c in claims[i : i + chunk]))
            fault_point("notifications.after_send")
            await self._record(outcomes)
        return len(claims)

    async def make_digests(self) -> int:
        """Queue every digest due now; how many were made."""
        made = 0
        while True:
            batch = digests.MakeDigests(now=self._clock())
            async with self._units() as uow:
                result = await digests.make_digests(uow, batch)
            made += result.digests
            if result.people < batch.limit:
                return made

    # --- one delivery ------------------------------------------------------------------------
    async def _attempt(self, claim: Claim) -> sending.Outcome:
        d, recipient = claim.delivery, claim.recipient
        now = self._clock()
        if recipient is not None:
            d.fit_to(recipient)
        problem = d.problem_with(recipient, sms_gateway=self._sms is not None)
        if problem is not None or recipient is None:
            return sending.Outcome(claim, now, problem)
        if d.channel is Channel.SMS and recipient.quiet is not None:
            until = recipient.quiet.until(now, recipient.timezone)
            if until is not None:
                return sending.Outcome(claim, now, held_until=until)
        unsubscribe = self.links.unsubscribe_url(recipient.id, d.channel)
        try:
            content = self._render(claim, unsubscribe)
        except (KeyError, ValueError) as exc:
            return sending.Outcome(
                claim, now, Problem(f"cannot render: {type(exc).__name__}: {exc}", final=True)
            )
        address = (recipient.email if d.channel is Channel.EMAIL else recipient.phone) or ""
        provider_id: str | None = None
        try:
            async with asyncio.timeout(self.send_budget_s):
                if d.channel is Channel.EMAIL:
                    header = None if d.template == CONFIRMATION else unsubscribe
                    message = self._mailer.build(
                        d.id, recipient.name, address, content, unsubscribe_url=header
                    )
                    await self._mailer.send(message)
                else:
                    assert self._sms is not None  # problem_with checked it
                    accepted = await self._sms.send(SmsMessage(d.id, address, content.sms))
                    provider_id = accepted.provider_id
                    metrics.SMS_SEGMENTS.inc(accepted.segments)
        except SmsError as exc:
            return sending.Outcome(claim, self._clock(), Problem(describe(exc, address), final=exc.final))
        except Exception as exc:  # SMTP errors, timeouts, refused connections alike
            return sending.Outcome(claim, self._clock(), Problem(describe(exc, address)))
        return sending.Outcome(claim, self._clock(), provider_id=provider_id)

    def _render(self, claim: Claim, unsubscribe_url: str) -> messages.Rendered:
        d, r = claim.delivery, claim.recipient
        assert r is not None
        links = messages.Links(
            unsubscribe_url=unsubscribe_url, preferences_url=self.links.preferences_url(r.id)
        )
        if d.template == DIGEST:
            items = [messages.DigestItem(i.template, i.params, i.at) for i in claim.items]
            return messages.render_digest(r.language, name=r.name, period=d.params.get("period", "daily"),
                                          items=items, links=links)  # fmt: skip
        if d.template == CONFIRMATION:
            sid = d.params.get("subscription_id")
            url = self.links.confirm_url(r.id, UUID(sid) if sid else None)
            return messages.render_confirmation(
                r.language, name=r.name, what=d.params.get("what", ""), confirm_url=url
            )
        return messages.render(d.template, r.language, claim.message_params(), name=r.name, links=links)

    async def _record(self, outcomes: Sequence[sending.Outcome]) -> None:
        async with self._units() as uow:
            recorded = await sending.record_outcomes(uow, sending.RecordOutcomes(outcomes, self.policy))
        for o in outcomes:
            self._report(o, o.claim.delivery.id in recorded)

    def _report(self, outcome: sending.Outcome, recorded: bool) -> None:
        d = outcome.claim.delivery
        if not recorded:
            log.warning("delivery claim ran out before its outcome was recorded", delivery_id=str(d.id))
            return
        if outcome.held_until is not None:
            metrics.DELIVERIES.labels(d.channel.value, "held").inc()
        elif d.status is DeliveryStatus.SENT:
            metrics.DELIVERIES.labels(d.channel.value, "sent").inc()
        elif d.status is DeliveryStatus.FAILED:
            metrics.DELIVERIES.labels(d.channel.value, "failed").inc()
            log.error("delivery failed", delivery_id=str(d.id), attempts=d.attempts, error=d.last_error)
        else:
            metrics.DELIVERIES.labels(d.channel.value, "retried").inc()
            log.warning("delivery will be retried", delivery_id=str(d.id), attempts=d.attempts,
                        error=d.last_error)  # fmt: skip


def describe(exc: BaseException, address: str) -> str:
    """The error as stored, logged and published: without the address some SMTP errors quote
    (a refused recipient names it), and bounded."""
    text = f"{type(exc).__name__}: {exc}"
    if address:
        text = text.replace(address, "<recipient>")
    return text[:500]


async def delivery_loop(runtime: Runtime) -> None:
    """Background task: wake on NOTIFY from new deliveries, poll as a fallback; make the digests
    due every ``digest_poll_interval_s``."""
    settings = NotificationsSettings.of(runtime.settings)
    mailer = Mailer(settings)
    sms = gateway_from(settings)
    worker = DeliveryWorker(runtime.uow, settings, mailer, sms, stopping=runtime.stopping)
    wake = asyncio.Event()
    listener: asyncpg.Connection | None = None
    loop = asyncio.get_running_loop()
    next_digests = loop.time()
    while not runtime.stopping.is_set():
        try:
            if listener is None or listener.is_closed():
                listener = await asyncpg.connect(settings.database_url)
                await listener.add_listener("deliveries", lambda *_: wake.set())
            wake.clear()
            if loop.time() >= next_digests:
                next_digests = loop.time() + settings.digest_poll_interval_s
                if made := await worker.make_digests():
                    log.info("digests made", count=made)
            if await worker.run_once() >= settings.delivery_batch_size:
                continue
        except Exception as exc:
            log.warning("delivery loop error", error=repr(exc))
        waiters = {asyncio.ensure_future(wake.wait()), asyncio.ensure_future(runtime.stopping.wait())}
        _, pending = await asyncio.wait(
            waiters, timeout=settings.delivery_poll_interval_s, return_when=asyncio.FIRST_COMPLETED
        )
        for p in pending:
            p.cancel()
    with contextlib.suppress(Exception):
        await mailer.aclose()
    if sms is not None:
        with contextlib.suppress(Exception):
            await sms.aclose()
    if listener is not None:
        with contextlib.suppress(Exception):
            await listener.close()
