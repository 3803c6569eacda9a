"""The delivery worker: sends queued deliveries, retries failures with back-off, gives up after
``delivery_max_attempts`` and says so in an event.

Claim → send → record, and no transaction is open while a message is being sent:

1. **Claim** a batch of due deliveries in one short unit of work: each row gets a lease
   (``claimed_until``) under a fresh claim token, and the transaction commits at once. Other
   replicas skip leased rows, so the queue is shared without holding locks.
2. **Send** each message with no transaction and no pooled connection held: a slow or hanging SMTP
   server costs this worker time, never the database a connection or a row lock. A message is not
   started when the lease could run out before it finishes; it is given back instead.
3. **Record** each outcome in its own short unit of work (the delivery's new state and its event in
   the outbox), only while the claim token still holds the row.

A worker that dies mid-batch leaves leases that run out; another replica then takes the rows. A
crash after the SMTP server accepted a message but before the outcome was recorded re-sends it
once: at-least-once, with a stable Message-ID so mail clients show one message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

import asyncpg

from services.notifications import use_cases
from services.notifications.domain import Claim, DeliveryStatus, Problem, RetryPolicy
from services.notifications.mailer import Mailer
from services.notifications.settings import NotificationsSettings
from services.notifications.store import NotificationsUnitOfWork
from services.notifications.templates import Template, render
from shared import metrics
from shared.logging import get_logger

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = get_logger(__name__)

#: Opens one unit of work (one short transaction, committed on a clean exit).
Units = Callable[[], AbstractAsyncContextManager[NotificationsUnitOfWork]]


class Sender(Protocol):
    """What the worker needs of a channel (:class:`~services.notifications.mailer.Mailer`)."""

    def build(self, delivery_id: UUID, to_name: str, to_email: str, content: Template) -> EmailMessage: ...

    async def send(self, message: EmailMessage) -> None: ...


class DeliveryWorker:
    def __init__(
        self,
        units: Units,
        settings: NotificationsSettings,
        sender: Sender,
        *,
        stopping: asyncio.Event | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._units = units
        self._s = settings
        self._sender = sender
        self._stopping = stopping or asyncio.Event()
        self._clock = clock
        self.policy = RetryPolicy(
            max_attempts=settings.delivery_max_attempts,
            backoff_initial_s=settings.delivery_backoff_initial_s,
            backoff_max_s=settings.delivery_backoff_max_s,
        )
        #: The longest one message may take, connection to QUIT (each SMTP step has its own
        #: timeout; this bounds them together).
        self.send_budget_s = 3 * settings.smtp_timeout_s

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and handle it; return how many were claimed."""
        lease = timedelta(seconds=self._s.delivery_lease_s)
        async with self._units() as uow:
            claims = await use_cases.claim_due(
                uow, use_cases.ClaimDue(now=self._clock(), limit=self._s.delivery_batch_size, lease=lease)
            )
        # The claim is committed: from here on no transaction is open while a message is sent.
        loop = asyncio.get_running_loop()
        last_start = loop.time() + lease.total_seconds() - self.send_budget_s
        for i, claim in enumerate(claims):
            if self._stopping.is_set() or loop.time() > last_start:
                async with self._units() as uow:
                    await use_cases.release_claims(uow, use_cases.ReleaseClaims(claims[i:]))
                log.info("deliveries given back untried", count=len(claims) - i)
                break
            await self._attempt(claim)
        return len(claims)

    async def _attempt(self, claim: Claim) -> None:
        problem = claim.delivery.problem_with(claim.recipient)
        if problem is None:
            problem = await self._send(claim)
        at = self._clock()
        async with self._units() as uow:
            if problem is None:
                recorded = await use_cases.record_sent(uow, use_cases.RecordSent(claim, at))
            else:
                recorded = await use_cases.record_failure(
                    uow, use_cases.RecordFailure(claim, problem, at, self.policy)
                )
        self._report(claim, recorded)

    async def _send(self, claim: Claim) -> Problem | None:
        """Hand the message to the gateway; what went wrong, if anything."""
        recipient = claim.recipient
        # Delivery.problem_with checked both.
        assert recipient is not None
        assert recipient.email
        d = claim.delivery
        content = render(d.template, recipient.language, claim.message_params())
        message = self._sender.build(d.id, recipient.name, recipient.email, content)
        try:
            async with asyncio.timeout(self.send_budget_s):
                await self._sender.send(message)
        except Exception as exc:  # SMTP errors, timeouts, refused connections alike
            return Problem(describe(exc, recipient.email))
        return None

    def _report(self, claim: Claim, recorded: bool) -> None:
        d = claim.delivery
        if not recorded:
            log.warning("delivery claim ran out before its outcome was recorded", delivery_id=str(d.id))
            return
        if d.status is DeliveryStatus.SENT:
            metrics.DELIVERIES.labels(d.channel.value, "sent").inc()
            log.info("delivery sent", delivery_id=str(d.id), template=d.template)
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
    """Background task: wake on NOTIFY from new deliveries, poll as a fallback."""
    settings = NotificationsSettings.of(runtime.settings)
    worker = DeliveryWorker(runtime.uow, settings, Mailer(settings), stopping=runtime.stopping)
    wake = asyncio.Event()
    listener: asyncpg.Connection | None = None
    while not runtime.stopping.is_set():
        try:
            if listener is None or listener.is_closed():
                listener = await asyncpg.connect(settings.database_url)
                await listener.add_listener("deliveries", lambda *_: wake.set())
            wake.clear()
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
    if listener is not None:
        with contextlib.suppress(Exception):
            await listener.close()
