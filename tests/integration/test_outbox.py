"""The outbox relay against the real broker and database."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import date
from uuid import UUID

import asyncpg
import pytest

from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from services.plans.use_cases import commitments, members, plans
from shared.auth import Principal
from shared.db import SHARED_MIGRATIONS, create_pool, load_migrations, migrate
from shared.events import topics
from shared.events.plans import MemberKind, PlanState
from shared.kafka import make_producer
from shared.outbox import OutboxRelay
from tests.conftest import Env, running
from tests.helpers import (
    applies,
    caught_up,
    consumed,
    eventually,
    fetchval,
    header,
    install_apply_probe,
    plans_use_case,
    read_topic,
    topic_size,
)

STAFF = Principal("staff-1", frozenset({"staff"}), frozenset())


def _fields(title: str) -> dict[str, object]:
    return {"texts": {"title": {"en": title}}, "original_language": "en"}


async def _member(pool: asyncpg.Pool, name: str, kind: MemberKind, country_code: str | None) -> UUID:
    member = await plans_use_case(pool, members.create_member, members.CreateMember(name, kind, country_code))
    return member.id


async def _plan(pool: asyncpg.Pool, member_id: UUID, title: str, contact: plans.ContactDetails) -> UUID:
    plan = await plans_use_case(pool, plans.create_plan, plans.CreatePlan(
        STAFF, member_id, title, date(2025, 1, 1), date(2027, 1, 1), contact))  # fmt: skip
    return plan.id


async def _transition(pool: asyncpg.Pool, plan_id: UUID, target: PlanState) -> None:
    await plans_use_case(pool, plans.transition_plan, plans.TransitionPlan(STAFF, plan_id, target))


async def _add_commitment(pool: asyncpg.Pool, plan_id: UUID, title: str) -> None:
    await plans_use_case(
        pool, commitments.add_commitment, commitments.AddCommitment(STAFF, plan_id, _fields(title))
    )


async def _submitted_plan(pool: asyncpg.Pool) -> UUID:
    member_id = await _member(pool, "Kenya", MemberKind.NATIONAL, "KE")
    plan_id = await _plan(pool, member_id, "Open contracting",
                          plans.ContactDetails("A. Otieno", "poc@example.org", None, "en"))  # fmt: skip
    await _transition(pool, plan_id, PlanState.CO_CREATION)
    await _add_commitment(pool, plan_id, "Publish contracts")
    await _transition(pool, plan_id, PlanState.SUBMITTED)
    return plan_id


class _CrashAfterPublish(OutboxRelay):
    """A relay that dies exactly between Kafka's ack and marking the rows."""

    async def mark_published(self, ids: object) -> None:
        raise SystemExit("killed between publish and mark")


async def test_relay_dying_between_publish_and_mark_duplicates_but_applies_once(env: Env) -> None:
    plans_settings = env.settings(PlansSettings, "plans")
    irm_settings = env.settings(IrmSettings, "irm")
    pool = await create_pool(plans_settings.database_url)
    await migrate(pool, load_migrations(("shared", SHARED_MIGRATIONS), ("plans", PLANS.migrations)))
    producer = make_producer(env.kafka.bootstrap, "test-relay")
    await producer.start()
    try:
        plan_id = await _submitted_plan(pool)
        crashing = _CrashAfterPublish(
            dsn=plans_settings.database_url, pool=pool, producer=producer, topic_prefix=env.prefix
        )
        with pytest.raises(SystemExit):
            await crashing.publish_once()
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") > 0

        healthy = OutboxRelay(
            dsn=plans_settings.database_url, pool=pool, producer=producer, topic_prefix=env.prefix
        )
        assert await healthy.drain() > 0
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0

        submitted_type = "ogp.plans.plan_submitted.v1"
        on_topic = await read_topic(
            env.kafka.bootstrap, env.topic(topics.PLANS),
            until=lambda rs: sum(header(r, "ce_type") == submitted_type for r in rs) >= 2,
        )  # fmt: skip
        submissions = [r for r in on_topic if header(r, "ce_type") == submitted_type]
        assert len(submissions) == 2  # the duplicate is on the topic...
        assert header(submissions[0], "ce_id") == header(submissions[1], "ce_id")

        # The IRM's database is ready (and its applies counted) before its consumer reads a record.
        irm_pool = await create_pool(irm_settings.database_url)
        await migrate(irm_pool, load_migrations(("shared", SHARED_MIGRATIONS), ("irm", IRM.migrations)))
        await irm_pool.close()
        await install_apply_probe(irm_settings.database_url)
        duplicates = consumed("duplicate")
        async with running(IRM, irm_settings):
            group, plans_topic = f"{env.prefix}sharaka-irm", env.topic(topics.PLANS)
            await eventually(lambda: caught_up(env.kafka.bootstrap, group, [plans_topic]), timeout=30)
            # ...read twice, and the second copy recognised by the inbox (in a later batch or the
            # same one), not applied and not dead-lettered...
            assert consumed("duplicate") - duplicates >= 1
        assert await applies(irm_settings.database_url) == {plan_id: 1}  # ...one effect downstream
        reviews = await fetchval(irm_settings.database_url,
                                 "SELECT count(*) FROM reviews WHERE plan_id = $1", plan_id)  # fmt: skip
        assert reviews == 1
        assert await topic_size(env.kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 0
    finally:
        await producer.stop()
        await pool.close()


async def test_events_of_one_plan_keep_their_order_under_concurrent_writes(env: Env) -> None:
    settings = env.settings(PlansSettings, "plans")
    per_plan = 15
    async with running(PLANS, settings) as rt:
        member_id = await _member(rt.pool, "Chile", MemberKind.NATIONAL, "CL")
        plan_ids = []
        for i in range(4):
            plan_id = await _plan(
                rt.pool, member_id, f"Plan {i}", plans.ContactDetails("C", None, None, "es")
            )
            plan_ids.append(plan_id)
        # Every commitment of every plan at once: the writers race for the plan rows.
        await asyncio.gather(*(
            _add_commitment(rt.pool, pid, f"c{n}")
            for n in range(per_plan) for pid in plan_ids
        ))  # fmt: skip
        records = await read_topic(
            env.kafka.bootstrap, env.topic(topics.PLANS),
            until=lambda rs: sum(header(r, "ce_type") == "ogp.plans.commitment_added.v1"
                                 for r in rs) >= per_plan * len(plan_ids),
        )  # fmt: skip
    numbers: dict[str, list[int]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        if header(r, "ce_type") == "ogp.plans.commitment_added.v1":
            numbers[r.key.decode()].append(json.loads(r.value)["number"])
            partitions[r.key.decode()].add(r.partition)
    assert len(numbers) == len(plan_ids)
    for key, seen in numbers.items():
        assert seen == list(range(1, per_plan + 1)), key
        assert len(partitions[key]) == 1


async def test_a_row_that_commits_late_is_not_skipped(env: Env) -> None:
    settings = env.settings(PlansSettings, "plans")
    async with running(PLANS, settings) as rt:
        slow = await rt.pool.acquire()
        tx = slow.transaction()
        await tx.start()
        # The slow transaction takes the lower id but commits after a faster one.
        await slow.execute(
            """INSERT INTO outbox (event_id, topic, key, event_type, source, event_time, payload)
               VALUES (gen_random_uuid(), $1, 'late', 'ogp.plans.member_created.v1', '/t', now(), '{}')""",
            topics.PLANS,
        )
        await _member(rt.pool, "Fast", MemberKind.LOCAL, None)
        await eventually(lambda: rt.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"))  # fmt: skip
        await tx.commit()
        await rt.pool.release(slow)
        await eventually(lambda: rt.pool.fetchval(
            "SELECT published_at IS NOT NULL FROM outbox WHERE key = 'late'"))  # fmt: skip


async def test_only_one_relay_is_active(env: Env) -> None:
    settings = env.settings(PlansSettings, "plans", timers_enabled=False)
    async with running(PLANS, settings) as first, running(PLANS, settings) as second:
        await eventually(lambda: _one_leader(first.relay.is_leader, second.relay.is_leader))
        # Not a sleep: until the standby has asked for the lock (its session's last statement is
        # the try, and it holds no advisory lock) while the leader holds it.
        await eventually(lambda: _standby_refused(first.pool), timeout=30)
        assert [first.relay.is_leader, second.relay.is_leader].count(True) == 1
        holders = await first.pool.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert holders == 1


async def _standby_refused(pool: asyncpg.Pool) -> bool:
    tried = await pool.fetchval(
        """SELECT count(*) FROM pg_stat_activity a
           WHERE a.datname = current_database() AND a.query LIKE 'SELECT pg_try_advisory_lock%'
             AND a.state = 'idle'
             AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory')"""
    )
    return bool(tried >= 1)


async def _one_leader(*flags: bool) -> bool:
    return list(flags).count(True) == 1
