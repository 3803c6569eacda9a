"""The delivery worker: sends queued deliveries, retries failures with back-off, gives up after
``delivery_max_attempts`` and says so in an event.

Order between deliveries does not matter, so several replicas share the queue with
``FOR UPDATE SKIP LOCKED``. A crash after the SMTP server accepted a message but before the row
was marked re-sends it once: at-least-once, with a stable Message-ID so clients de-duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from services.notifications.mailer import Mailer
from services.notifications.settings import NotificationsSettings
from services.notifications.templates import render
from shared import metrics
from shared.events.notifications import Channel, DeliveryFailed, DeliverySent
from shared.logging import get_logger
from shared.uow import UnitOfWork

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = get_logger(__name__)

_DUE = """
SELECT d.id, d.cause_event_id, d.template, d.channel, d.params, d.attempts,
       coalesce(d.recipient_id, pc.contact_id) AS recipient_id,
       pc.title AS plan_title, r.name, r.email, r.language
FROM deliveries d
LEFT JOIN plan_contacts pc ON pc.plan_id = d.plan_id
LEFT JOIN recipients r ON r.id = coalesce(d.recipient_id, pc.contact_id)
WHERE d.status = 'pending' AND d.next_attempt_at <= now()
ORDER BY d.next_attempt_at
LIMIT $1
FOR UPDATE OF d SKIP LOCKED
"""


class DeliveryWorker:
    def __init__(self, pool: asyncpg.Pool, settings: NotificationsSettings, mailer: Mailer) -> None:
        self._pool = pool
        self._s = settings
        self._mailer = mailer

    def backoff(self, attempts: int) -> timedelta:
        seconds = self._s.delivery_backoff_initial_s * 2 ** (attempts - 1)
        return timedelta(seconds=min(seconds, self._s.delivery_backoff_max_s))

    async def run_once(self) -> int:
        """Handle one batch of due deliveries; return how many were handled."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_DUE, self._s.delivery_batch_size)
            uow = UnitOfWork(conn, "notifications")
            for row in rows:
                await self._deliver(uow, dict(row))
            await uow.flush()
        return len(rows)

    async def _deliver(self, uow: UnitOfWork, d: dict[str, Any]) -> None:
        attempts = d["attempts"] + 1
        now = datetime.now(UTC)
        error: str | None = None
        if d["recipient_id"] is None or d["name"] is None:
            error = "recipient not known yet"
        elif not d["email"]:
            error = "recipient has no e-mail address"
        else:
            params = {**d["params"], "name": d["name"], "plan_title": d["plan_title"] or ""}
            content = render(d["template"], d["language"], params)
            try:
                await self._mailer.send(self._mailer.build(d["id"], d["name"], d["email"], content))
            except Exception as exc:  # SMTP errors, timeouts, refused connections alike
                error = f"{type(exc).__name__}: {exc}"[:500]
        base = {
            "delivery_id": d["id"],
            "channel": Channel(d["channel"]),
            "template": d["template"],
            "cause_event_id": d["cause_event_id"],
            "attempts": attempts,
        }
        if error is None:
            await uow.conn.execute(
                "UPDATE deliveries SET status='sent', attempts=$2, sent_at=$3, last_error=NULL "
                "WHERE id=$1",
                d["id"], attempts, now,
            )  # fmt: skip
            uow.publish(DeliverySent(recipient_id=d["recipient_id"], sent_at=now, **base))
            metrics.DELIVERIES.labels(d["channel"], "sent").inc()
            log.info("delivery sent", delivery_id=str(d["id"]), template=d["template"])
        elif attempts >= self._s.delivery_max_attempts or error.startswith("recipient has no"):
            await uow.conn.execute(
                "UPDATE deliveries SET status='failed', attempts=$2, last_error=$3 WHERE id=$1",
                d["id"], attempts, error,
            )  # fmt: skip
            if d["recipient_id"] is not None:
                uow.publish(
                    DeliveryFailed(recipient_id=d["recipient_id"], failed_at=now, reason=error, **base)
                )
            metrics.DELIVERIES.labels(d["channel"], "failed").inc()
            log.error("delivery failed", delivery_id=str(d["id"]), attempts=attempts, error=error)
        else:
            await uow.conn.execute(
                "UPDATE deliveries SET attempts=$2, last_error=$3, next_attempt_at=$4 WHERE id=$1",
                d["id"], attempts, error, now + self.backoff(attempts),
            )  # fmt: skip
            metrics.DELIVERIES.labels(d["channel"], "retried").inc()
            log.warning("delivery will be retried", delivery_id=str(d["id"]), attempts=attempts,
                        error=error)  # fmt: skip


async def delivery_loop(runtime: Runtime) -> None:
    """Background task: wake on NOTIFY from new deliveries, poll as a fallback."""
    settings = NotificationsSettings.of(runtime.settings)
    worker = DeliveryWorker(runtime.pool, settings, Mailer(settings))
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
