"""What the chaos run looks at once the platform is quiet: stores, topics, consumer lag, catchers.

Each helper reads the real thing (a service's database, the broker, the catchers' memory) and
returns plain numbers, so the test states the expected values as literals next to them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from tests.helpers import header
from tests.privacy import partitions_of


async def rows(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def value(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def unpublished(dsn: str) -> int:
    return int(await value(dsn, "SELECT count(*) FROM outbox WHERE published_at IS NULL"))


async def outbox_by_type(dsn: str) -> Counter[str]:
    found = await rows(dsn, "SELECT event_type, count(*) AS n FROM outbox GROUP BY event_type")
    return Counter({r["event_type"]: int(r["n"]) for r in found})


async def uneven_per_plan(dsn: str, plan_ids: set[str]) -> dict[str, Counter[int]]:
    """Event types whose outbox rows are not the same number for every plan: the trace of an
    event applied twice (an effect with no unique constraint to hide behind) or lost. Returned
    as {type: {rows per plan: how many plans}}; empty when every plan has the same history."""
    found = await rows(dsn, "SELECT event_type, key, count(*) AS n FROM outbox GROUP BY event_type, key")
    per_type: dict[str, dict[str, int]] = {}
    for r in found:
        if r["key"] in plan_ids:
            per_type.setdefault(r["event_type"], {})[r["key"]] = int(r["n"])
    uneven: dict[str, Counter[int]] = {}
    for event_type, per_plan in per_type.items():
        counts = Counter(per_plan.get(p, 0) for p in plan_ids)
        if len(counts) != 1:
            uneven[event_type] = counts
    return uneven


async def read_all(bootstrap: str, topics: Sequence[str], timeout_ms: int = 500) -> dict[str, list[Any]]:
    """Every record of ``topics`` up to their current end (missing topics: none)."""
    tps = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    out: dict[str, list[Any]] = {t: [] for t in topics}
    try:
        if not tps:
            return out
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=timeout_ms)
            for tp, records in batch.items():
                out[tp.topic].extend(records)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    return out


def ce_ids(records: Sequence[Any]) -> list[str]:
    return [header(r, "ce_id") or f"{r.topic}/{r.partition}/{r.offset}" for r in records]


async def lag(bootstrap: str, group: str, topics: Sequence[str]) -> dict[str, int]:
    """Records not yet committed by ``group`` on each of ``topics`` (0 everywhere when caught up)."""
    tps = await partitions_of(bootstrap, topics)
    assert tps, f"no partitions for {topics}: a lag of 0 would prove nothing"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        ends = await consumer.end_offsets(tps) if tps else {}
        behind: dict[str, int] = {t: 0 for t in topics}
        for tp in tps:
            meta = committed.get(tp)
            behind[tp.topic] += ends[tp] - (meta.offset if meta is not None and meta.offset >= 0 else 0)
        return behind
    finally:
        await consumer.stop()
        await admin.close()
