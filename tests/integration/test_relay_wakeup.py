"""The outbox relay is woken by the insert trigger's NOTIFY, and polls in case a notification is
lost: both paths, each on its own.

* Woken: with a poll interval of an hour, a commit still reaches Kafka in a moment; only the
  notification can have started that pass.
* Polling: a row written with the notify trigger switched off for its transaction
  (``session_replication_role = replica`` skips ordinary triggers: the notification is lost, as
  in a connection blip or a failover) still reaches Kafka within a few poll intervals.
"""

from __future__ import annotations

import time
from uuid import uuid4

import asyncpg

from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from services.plans.use_cases import members
from shared import locks
from shared.events import topics
from shared.events.plans import MemberKind
from tests.conftest import Env, running
from tests.helpers import eventually, header, plans_use_case, read_topic

CREATED = "ogp.plans.member_created.v1"


async def _relay_idle(rt: object) -> bool:
    relay = rt.relay  # type: ignore[attr-defined]
    # Leader, and its first pass (what was there at start) done: from now on it sleeps.
    return bool(relay.is_leader and relay._runner.passes >= 1)


async def test_a_commit_wakes_the_relay_long_before_its_poll_interval(env: Env) -> None:
    settings = env.settings(PlansSettings, "plans", relay_poll_interval_s=3600.0, timers_enabled=False)
    async with running(PLANS, settings) as rt:
        await eventually(lambda: _relay_idle(rt))
        started = time.monotonic()
        member = await plans_use_case(
            rt.pool, members.create_member, members.CreateMember("Wake", MemberKind.LOCAL, None)
        )
        records = await read_topic(
            env.kafka.bootstrap,
            env.topic(topics.PLANS),
            until=lambda rs: any(r.key == str(member.id).encode() for r in rs),
            timeout=10,
        )
        took = time.monotonic() - started
    assert [header(r, "ce_type") for r in records if r.key == str(member.id).encode()] == [CREATED]
    assert took < 10  # an hour's poll interval: only the NOTIFY can have started the pass


async def test_a_lost_notification_is_made_up_for_by_polling(env: Env) -> None:
    interval = 1.0
    settings = env.settings(PlansSettings, "plans", relay_poll_interval_s=interval, timers_enabled=False)
    async with running(PLANS, settings) as rt:
        await eventually(lambda: _relay_idle(rt))
        key = f"lost-{uuid4()}"
        conn: asyncpg.Connection = await asyncpg.connect(settings.database_url)
        try:
            async with conn.transaction():
                # Ordinary triggers (the outbox's NOTIFY among them) do not fire in this session.
                await conn.execute("SET LOCAL session_replication_role = replica")
                await conn.execute(
                    """INSERT INTO outbox (event_id, topic, key, event_type, source, event_time, payload)
                       VALUES ($1, $2, $3, $4, '/plans', now(), '{}')""",
                    uuid4(),
                    topics.PLANS,
                    key,
                    CREATED,
                )
        finally:
            await conn.close()

        async def published() -> bool:
            return bool(
                await rt.pool.fetchval("SELECT published_at IS NOT NULL FROM outbox WHERE key = $1", key)
            )

        started = time.monotonic()
        await eventually(published, timeout=interval * 5)
        took = time.monotonic() - started
    records = await read_topic(
        env.kafka.bootstrap, env.topic(topics.PLANS), until=lambda rs: any(r.key == key.encode() for r in rs)
    )
    assert [r.key for r in records if r.key == key.encode()] == [key.encode()]
    assert took <= interval * 5


async def test_a_terminated_listener_connection_loses_nothing(env: Env) -> None:
    """The listener's session is killed (``pg_terminate_backend``, as a failover or a pooler
    does): notifications sent meanwhile reach no one. The relay notices the loss, takes the lock
    again on a new session and publishes what was committed in between."""
    interval = 0.5
    settings = env.settings(PlansSettings, "plans", relay_poll_interval_s=interval, timers_enabled=False)
    async with running(PLANS, settings) as rt:
        await eventually(lambda: _relay_idle(rt))
        listener = await _relay_session(rt.pool)  # the lock's session is the one that listens
        assert listener is not None
        assert await rt.pool.fetchval("SELECT pg_terminate_backend($1)", listener)
        member = await plans_use_case(
            rt.pool, members.create_member, members.CreateMember("Failover", MemberKind.LOCAL, None)
        )
        records = await read_topic(
            env.kafka.bootstrap,
            env.topic(topics.PLANS),
            until=lambda rs: any(r.key == str(member.id).encode() for r in rs),
            timeout=interval * 5 + 10,  # the standby's lock retry (5 intervals), then one pass
        )
        assert [header(r, "ce_type") for r in records if r.key == str(member.id).encode()] == [CREATED]

        async def leads_on_a_new_session() -> bool:
            pid = await _relay_session(rt.pool)
            return bool(rt.relay.is_leader and pid is not None and pid != listener)

        await eventually(leads_on_a_new_session)


async def _relay_session(pool: asyncpg.Pool) -> int | None:
    """The server pid of the session holding the relay's advisory lock (bigint key: classid is
    the high half, objid the low half, objsubid 1)."""
    pid: int | None = await pool.fetchval(
        """SELECT pid FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND objsubid = 1
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND (classid::bigint << 32) + objid::bigint = $1""",
        locks.OUTBOX_RELAY,
    )
    return pid
