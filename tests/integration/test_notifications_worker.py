"""The delivery worker against the real database and real SMTP servers: no transaction (nor row
lock) is held while the SMTP server is talking, each outcome is recorded once, replicas share the
queue without sending anything twice, a dead worker's lease runs out for another to take, and a
stopping worker gives back what it has not tried."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from devstack.mail import MailCatcher
from devstack.ports import HOST, free_port
from devstack.postgres import PostgresCluster
from services.notifications.domain.deliveries import RetryPolicy
from services.notifications.domain.recipients import PlanContact, Recipient
from services.notifications.domain.triggers import ScopeType, Trigger
from services.notifications.mailer import Mailer
from services.notifications.service import SPEC as NOTIFICATIONS
from services.notifications.settings import NotificationsSettings
from services.notifications.store import NotificationsUnitOfWork, PgNotificationsUnitOfWork
from services.notifications.use_cases import fan_out, learning, sending
from services.notifications.worker import DeliveryWorker
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate
from shared.events import topics
from shared.events.plans import ContactRegistered, PlanSubmitted
from shared.uow import unit_of_work
from tests.conftest import Env, running
from tests.helpers import as_record, eventually, fetchval, produce


class _Observer:
    """An SMTP server that, while it receives a message (before it answers 250), looks at the
    sender's database from outside: open transactions, locks on ``deliveries``, the row itself."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.messages: list[EmailMessage] = []
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        delivery_id = UUID(str(message["X-Sharaka-Delivery"]))
        first = await self._look(delivery_id)
        await asyncio.sleep(0.5)  # a slow server: still nothing may be held meanwhile
        second = await self._look(delivery_id)
        with self._lock:
            self.seen += [first, second]
            self.messages.append(message)
        return "250 Message accepted for delivery"

    async def _look(self, delivery_id: UUID) -> dict[str, Any]:
        conn = await asyncpg.connect(self.dsn)
        try:
            in_transaction = await conn.fetch(
                """SELECT pid, state, query FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()
                     AND state LIKE 'idle in transaction%'"""
            )
            # A statement running right now (this test polling the table, say) holds an
            # AccessShareLock until it ends: not a lock held across the send. Anything else is,
            # and so is any lock of a session idle in a transaction.
            locks = await conn.fetch(
                """SELECT l.pid, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                   LEFT JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE c.relname = 'deliveries' AND l.pid <> pg_backend_pid()
                     AND NOT (l.mode = 'AccessShareLock' AND a.state = 'active')"""
            )
            row: dict[str, Any] | str | None = "locked"
            # NOWAIT: fails at once if anyone holds the row (FOR UPDATE, an open UPDATE...).
            with contextlib.suppress(asyncpg.LockNotAvailableError):
                async with conn.transaction():
                    found = await conn.fetchrow(
                        "SELECT status, attempts, claimed_until IS NOT NULL AS claimed FROM deliveries "
                        "WHERE id = $1 FOR UPDATE NOWAIT",
                        delivery_id,
                    )
                    row = dict(found) if found is not None else None
            return {
                "in_transaction": [dict(r) for r in in_transaction],
                "locks": [dict(r) for r in locks],
                "row": row,
            }
        finally:
            await conn.close()


def _events(email_address: str) -> tuple[ContactRegistered, PlanSubmitted]:
    contact = ContactRegistered(contact_id=uuid4(), name="Nadia", email=email_address, language="en")
    plan = PlanSubmitted(
        plan_id=uuid4(), member_id=uuid4(), title="Open justice plan", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=2, point_of_contact_id=contact.contact_id,
        submitted_at=datetime.now(UTC),
    )  # fmt: skip
    return contact, plan


async def test_no_transaction_is_open_while_smtp_talks_and_the_outcome_is_recorded_once(env: Env) -> None:
    port = free_port()
    settings = env.settings(NotificationsSettings, "notifications", smtp_host=HOST, smtp_port=port)
    dsn = settings.database_url
    observer = _Observer(dsn)
    controller = Controller(observer, hostname=HOST, port=port)
    controller.start()
    try:
        contact, plan = _events(f"watched-{env.run_id}@example.org")
        async with running(NOTIFICATIONS, settings):
            await produce(env.kafka.bootstrap, env.topic(topics.PLANS_CONTACTS), [as_record(contact)])

            async def known() -> bool:  # then the first attempt sends (topics are not ordered)
                return bool(await fetchval(dsn, "SELECT count(*) = 1 FROM recipients"))

            await eventually(known, timeout=30)
            await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(plan)])

            async def sent() -> bool:
                return bool(await fetchval(dsn, "SELECT status = 'sent' FROM deliveries"))

            await eventually(sent, timeout=30)
            await asyncio.sleep(0.5)  # room for a (wrong) second send or second record
            delivery_id = await fetchval(dsn, "SELECT id FROM deliveries")
            row = await fetchval(dsn, "SELECT (attempts, claimed_until IS NULL, claim_token IS NULL)::text "
                                      "FROM deliveries")  # fmt: skip
            sent_events = await fetchval(
                dsn,
                "SELECT count(*) FROM outbox WHERE event_type = 'ogp.notifications.delivery_sent.v1' AND key = $1",
                str(delivery_id),
            )
    finally:
        controller.stop()

    assert len(observer.messages) == 1, "sent exactly once"
    assert observer.messages[0]["X-Sharaka-Delivery"] == str(delivery_id)
    assert len(observer.seen) == 2
    for look in observer.seen:
        assert look["in_transaction"] == [], "a connection sat idle in a transaction while SMTP talked"
        assert look["locks"] == [], "someone held a lock on deliveries while SMTP talked"
        # Claimed (leased) but neither locked nor recorded yet.
        assert look["row"] == {"status": "pending", "attempts": 0, "claimed": True}
    assert row == "(1,t,t)"  # one attempt, recorded, the claim ended
    assert sent_events == 1


# --- replicas and leases, with the worker alone (no broker needed) ------------------------------
@pytest.fixture
async def notifications_db(pg: PostgresCluster) -> AsyncIterator[asyncpg.Pool]:
    name = f"notifications_worker_{uuid.uuid4().hex[:10]}"
    pg.create_database(name)
    pool = await create_pool(pg.dsn(name), min_size=1, max_size=6)
    try:
        await migrate(
            pool, load_migrations(("shared", SHARED_MIGRATIONS), ("notifications", NOTIFICATIONS.migrations))
        )
        yield pool
    finally:
        await pool.close()
        pg.drop_database(name)


def _units(pool: asyncpg.Pool) -> Any:
    def open_unit() -> AbstractAsyncContextManager[NotificationsUnitOfWork]:
        return unit_of_work(pool, "notifications", PgNotificationsUnitOfWork)

    return open_unit


async def _queue(pool: asyncpg.Pool, count: int) -> list[UUID]:
    """A point of contact of ``count`` plans, each submitted: one e-mail queued per plan, through
    the fan-out the reactions use."""
    async with unit_of_work(pool, "notifications", PgNotificationsUnitOfWork) as uow:
        contact = Recipient(uuid4(), "Nadia", email=f"worker-{uuid4().hex[:8]}@example.org")
        await learning.learn_recipient(uow, learning.LearnRecipient(contact))
        for _ in range(count):
            plan = PlanContact(uuid4(), uuid4(), contact.id, "Open justice plan")
            await learning.remember_plan_contact(uow, learning.RememberPlanContact(plan))
            trigger = Trigger("plan_submitted", uuid4(), datetime.now(UTC), {ScopeType.PLAN: plan.plan_id},
                              {"submitted_on": "2025-03-01"})  # fmt: skip
            assert await fan_out.notify(uow, trigger) == fan_out.FannedOut(1, 0)
    return [r["id"] for r in await pool.fetch("SELECT id FROM deliveries ORDER BY created_at")]


async def test_replicas_share_the_queue_and_a_dead_workers_lease_runs_out(
    notifications_db: asyncpg.Pool, mail: MailCatcher
) -> None:
    pool = notifications_db
    settings = NotificationsSettings(
        database_url="unused", smtp_host=mail.host, smtp_port=mail.port, delivery_batch_size=3,
        delivery_lease_s=60, smtp_timeout_s=5, sms_timeout_s=5, delivery_chunk_size=2,
    )  # fmt: skip
    queued = await _queue(pool, 10)
    dead_workers, busy_workers = queued[:2], queued[2:3]
    await pool.execute(  # a worker died holding these: its lease ran out a second ago
        "UPDATE deliveries SET claimed_until = now() - interval '1 second', claim_token = $2 WHERE id = ANY($1)",
        dead_workers, uuid4(),
    )  # fmt: skip
    await pool.execute(  # a live worker holds this one for a while yet
        "UPDATE deliveries SET claimed_until = now() + interval '1 hour', claim_token = $2 WHERE id = ANY($1)",
        busy_workers, uuid4(),
    )  # fmt: skip

    replicas = [DeliveryWorker(_units(pool), settings, Mailer(settings)) for _ in range(2)]
    for _ in range(10):
        claimed = await asyncio.gather(*(w.run_once() for w in replicas))
        if sum(claimed) == 0:
            break

    expected = set(queued) - set(busy_workers)
    rows = {r["id"]: r for r in await pool.fetch("SELECT id, status, attempts FROM deliveries")}
    assert {i for i, r in rows.items() if r["status"] == "sent"} == expected
    assert all(rows[i]["attempts"] == 1 for i in expected)
    assert rows[busy_workers[0]]["status"] == "pending"
    assert rows[busy_workers[0]]["attempts"] == 0

    mailed = [str(m["X-Sharaka-Delivery"]) for m in list(mail.messages)]
    assert sorted(i for i in mailed if UUID(i) in set(queued)) == sorted(str(i) for i in expected)
    outbox = await pool.fetch(
        "SELECT key FROM outbox WHERE event_type = 'ogp.notifications.delivery_sent.v1'"
    )
    assert sorted(r["key"] for r in outbox) == sorted(str(i) for i in expected)


class _StopsAfterOneSend:
    """The real mailer, with the service told to stop while its first message is on the wire."""

    def __init__(self, settings: NotificationsSettings, stopping: asyncio.Event) -> None:
        self._mailer = Mailer(settings)
        self._stopping = stopping
        self.build = self._mailer.build

    async def send(self, message: Any) -> None:
        self._stopping.set()
        await self._mailer.send(message)


async def test_a_stopping_worker_gives_its_untried_claims_back(
    notifications_db: asyncpg.Pool, mail: MailCatcher
) -> None:
    pool = notifications_db
    settings = NotificationsSettings(
        database_url="unused", smtp_host=mail.host, smtp_port=mail.port, delivery_lease_s=60, smtp_timeout_s=5,
        sms_timeout_s=5, delivery_chunk_size=1,
    )  # fmt: skip
    queued = await _queue(pool, 3)
    stopping = asyncio.Event()
    worker = DeliveryWorker(_units(pool), settings, _StopsAfterOneSend(settings, stopping), stopping=stopping)

    assert await worker.run_once() == 3

    rows = await pool.fetch(
        "SELECT status, attempts, claimed_until IS NULL AND claim_token IS NULL AS free FROM deliveries "
        "WHERE id = ANY($1) ORDER BY status",
        queued,
    )
    assert [(r["status"], r["attempts"], r["free"]) for r in rows] == [
        ("pending", 0, True), ("pending", 0, True), ("sent", 1, True),
    ]  # fmt: skip
    # Given back, not leased for a minute: a replica (or this one, restarted) takes them at once.
    assert await DeliveryWorker(_units(pool), settings, Mailer(settings)).run_once() == 2


@pytest.mark.parametrize("first", ["send recorded", "report"])
async def test_a_gateway_report_racing_the_record_of_its_send_is_applied_not_held_for_ever(
    notifications_db: asyncpg.Pool, first: str
) -> None:
    """The gateway may report on a message while the worker is still recording that it sent it.
    Each transaction is held open here while the other runs: without one lock on the message id,
    the report finds no delivery and is held, the record finds no held report, and both commit."""
    pool = notifications_db
    await _queue(pool, 1)
    now = datetime.now(UTC)
    async with unit_of_work(pool, "notifications", PgNotificationsUnitOfWork) as uow:
        (claim,) = await sending.claim_due(
            uow, sending.ClaimDue(now=now, lease=timedelta(minutes=1), limit=1)
        )
    record = sending.RecordOutcomes([sending.Outcome(claim, now, provider_id="SM-race")], RetryPolicy())
    report = sending.RecordGatewayStatus("SM-race", "delivered", None, now)
    other_done = asyncio.Event()

    async def in_transaction(write: Callable[[Any], Awaitable[Any]], hold: bool) -> None:
        async with unit_of_work(pool, "notifications", PgNotificationsUnitOfWork) as uow:
            await write(uow)
            if hold:  # keep the transaction open while the other one runs
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(other_done.wait(), 1.0)

    async def send_recorded(hold: bool) -> None:
        await in_transaction(lambda uow: sending.record_outcomes(uow, record), hold)

    async def reported(hold: bool) -> None:
        await in_transaction(lambda uow: sending.record_gateway_status(uow, report), hold)

    async def then(step: Any) -> None:
        await asyncio.sleep(0.2)  # the first one is inside its transaction by now
        await step(False)
        other_done.set()

    if first == "report":
        await asyncio.gather(reported(True), then(send_recorded))
    else:
        await asyncio.gather(send_recorded(True), then(reported))
    row = await pool.fetchrow(
        "SELECT status, provider_status FROM deliveries WHERE id = $1", claim.delivery.id
    )
    assert (row["status"], row["provider_status"]) == ("sent", "delivered")
    assert await pool.fetchval("SELECT count(*) FROM gateway_reports") == 0
