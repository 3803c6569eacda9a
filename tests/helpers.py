"""Small helpers for tests: HTTP problem answers, and Kafka and Postgres looked at directly."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from services.plans.store import PgPlansUnitOfWork
from shared.events.base import Event
from shared.events.envelope import Envelope
from shared.uow import unit_of_work

T = TypeVar("T")
C = TypeVar("C")


def assert_problem(
    r: httpx.Response, status: int, field: str | None = None, rule: str | None = None
) -> dict[str, Any]:
    """``r`` is an RFC 9457 problem answer with ``status``: the status code, the content type, the
    body's own ``status``, no traceback leaked, ``field`` among the ``errors`` and the ``rule``
    when given. Returns the body, for the test's own further checks."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["status"] == status, body
    assert "Traceback" not in r.text
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    if rule is not None:
        assert body.get("rule") == rule, body
    return body


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord[bytes, bytes]]], bool] = lambda _: False,
    timeout: float = 10.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Everything on ``topic`` from the beginning, without a consumer group; stops when ``until``
    holds or after ``timeout`` seconds."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for tp_records in batch.values():
                records.extend(tp_records)
            if until(records):
                break
    finally:
        await consumer.stop()
    return records


async def eventually(
    check: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], object] | None = None,
    timeout: float = 20.0,
    every: float = 0.1,
) -> T:
    """Poll ``check`` until ``until(value)`` holds (by default: until the value is truthy); fail
    with the last value otherwise.

    A check that returns a collection is truthy at its *first* element: a test that then asserts
    "exactly these" would miss whatever arrives later. Such a check must say what it waits for
    (``until=lambda rows: len(rows) == 2``), so :func:`eventually` refuses a collection without
    ``until`` rather than return at the first element."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        value = await check()
        if until is None and isinstance(value, list | tuple | set | frozenset):
            raise TypeError(
                "eventually(): the check returns a collection; pass until= to say how many "
                "elements (or which) it waits for"
            )
        if until(value) if until is not None else value:
            return value
        last = value
        await asyncio.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


async def produce(
    bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]
) -> None:
    """Send raw (key, value, headers) records in order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        # Enqueue everything, then wait once: the idempotent producer keeps the order.
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for key, value, headers in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def as_record(event: Event, *, service: str = "plans") -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    rec = Envelope.wrap(event, service=service).to_record()
    return rec.key, rec.value, rec.headers


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for k, v in record.headers or ():
        if k == name:
            return bytes(v).decode()
    return None


async def fetchval(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def plans_use_case(
    pool: asyncpg.Pool, use_case: Callable[[PgPlansUnitOfWork, C], Awaitable[T]], cmd: C
) -> T:
    """Run one plans use case in a unit of work of its own (one transaction with its outbox):
    set-up through the service's own rules and events, as a request would do it."""
    async with unit_of_work(pool, "plans", PgPlansUnitOfWork) as uow:
        return await use_case(uow, cmd)


# --- proofs that can fail: outcomes, offsets, dead letters and effects counted directly ----------


def consumed(outcome: str, metrics_text: str | None = None, *, event_type: str | None = None) -> float:
    """``sharaka_events_consumed_total`` for ``outcome`` (applied, duplicate, ignored,
    dead_lettered), summed over event types (or of ``event_type`` only): from a process's
    ``/metrics`` text when given, otherwise from this process's registry (a service run
    in-process; read it before and after, the registry lives as long as the test session)."""
    if metrics_text is None:
        from shared import metrics

        families = list(metrics.EVENTS_CONSUMED.collect())
    else:
        families = [f for f in text_string_to_metric_families(metrics_text)
                    if f.name == "sharaka_events_consumed"]  # fmt: skip
    return sum(
        s.value
        for f in families
        for s in f.samples
        if s.name.endswith("_total")
        and s.labels.get("outcome") == outcome
        and (event_type is None or s.labels.get("event_type") == event_type)
    )


async def caught_up(bootstrap: str, group: str, topics: list[str]) -> bool:
    """Whether ``group`` has committed every partition of ``topics`` up to its end: everything
    produced so far was handled *and* acknowledged, so nothing more will happen to it. The
    condition to wait on before asserting that something did not happen (instead of a sleep)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = await _partitions(admin, topics)
        if not partitions:
            return False
        ends = await consumer.end_offsets(partitions)
        return all((committed[tp].offset if tp in committed else 0) >= end for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


async def committed_offsets(bootstrap: str, group: str, topic: str) -> int:
    """The sum of ``group``'s committed offsets on ``topic`` (records acknowledged so far)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return sum(max(0, meta.offset) for tp, meta in committed.items() if tp.topic == topic)


async def topic_size(bootstrap: str, topic: str) -> int:
    """How many records ``topic`` holds (0 when it does not exist): read from the partitions'
    offsets, so "the dead-letter topic is empty" is a fact, not a read that timed out."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        parts = await _partitions(admin, [topic])
        if not parts:
            return 0
        ends = await consumer.end_offsets(parts)
        starts = await consumer.beginning_offsets(parts)
        return sum(ends[tp] - starts[tp] for tp in parts)
    finally:
        await consumer.stop()
        await admin.close()


async def _partitions(admin: AIOKafkaAdminClient, topics: list[str]) -> list[TopicPartition]:
    """The partitions of those of ``topics`` that exist."""
    found = []
    for t in await admin.describe_topics(topics):
        if t["error_code"] == 0:
            found += [TopicPartition(t["topic"], p["partition"]) for p in t["partitions"]]
    return sorted(found)


#: An effect of the IRM's ``PlanSubmitted`` reaction that no unique constraint can absorb: every
#: apply upserts the plan's ``plans_seen`` row (inserted the first time, updated on a repeat), and
#: this trigger appends one row per upsert to a table without any key. A second apply of the same
#: event, which the reviews' ``UNIQUE (plan_id, kind)`` would silently absorb, shows up here as a
#: second row: the inbox is the only thing that keeps it at one.
APPLY_PROBE = """
CREATE TABLE IF NOT EXISTS probe_applies (plan_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE OR REPLACE FUNCTION probe_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO probe_applies (plan_id) VALUES (NEW.plan_id);
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS probe_apply ON plans_seen;
CREATE TRIGGER probe_apply AFTER INSERT OR UPDATE ON plans_seen
    FOR EACH ROW EXECUTE FUNCTION probe_apply();
"""


async def install_apply_probe(dsn: str) -> None:
    """Count every committed apply of ``PlanSubmitted`` in an IRM database (see APPLY_PROBE);
    the database must be migrated (the service started, or :func:`migrate` run) first."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(APPLY_PROBE)
    finally:
        await conn.close()


async def applies(dsn: str) -> dict[UUID, int]:
    """Committed applies per plan, as :data:`APPLY_PROBE` counted them."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT plan_id, count(*) AS n FROM probe_applies GROUP BY plan_id")
    finally:
        await conn.close()
    return {r["plan_id"]: int(r["n"]) for r in rows}


def log_records(text: str, *, allowed: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every line of a service's log as JSON. A line that is not JSON fails the test (it would
    escape every check made on the parsed lines) unless it starts with one of ``allowed``."""
    out: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            assert line.startswith(allowed), f"log line {number} is not JSON: {line[:300]!r}"
            continue
        assert isinstance(record, dict), f"log line {number} is not a JSON object: {line[:300]!r}"
        out.append(record)
    return out


async def submitted_plan(pool: asyncpg.Pool, *, title: str = "Open contracting") -> UUID:
    """A member and a plan taken to ``submitted`` through plans' own use cases (every event of
    it in the outbox, as requests would leave them); returns the plan's id."""
    from datetime import date

    from services.plans.use_cases import commitments, members, plans
    from shared.auth import Principal
    from shared.events.plans import MemberKind, PlanState

    staff = Principal("staff-1", frozenset({"staff"}), frozenset())
    member = await plans_use_case(
        pool, members.create_member, members.CreateMember("Kenya", MemberKind.NATIONAL, "KE")
    )
    plan = await plans_use_case(pool, plans.create_plan, plans.CreatePlan(
        staff, member.id, title, date(2025, 1, 1), date(2027, 1, 1),
        plans.ContactDetails("A. Otieno", None, None, "en"),
    ))  # fmt: skip
    await plans_use_case(
        pool, plans.transition_plan, plans.TransitionPlan(staff, plan.id, PlanState.CO_CREATION)
    )
    await plans_use_case(pool, commitments.add_commitment, commitments.AddCommitment(
        staff, plan.id, {"texts": {"title": {"en": "Publish contracts"}}, "original_language": "en"}
    ))  # fmt: skip
    await plans_use_case(
        pool, plans.transition_plan, plans.TransitionPlan(staff, plan.id, PlanState.SUBMITTED)
    )
    return plan.id


def ok(r: httpx.Response) -> Any:
    """A set-up call's answer, checked: a 2xx, or the test fails here with the body, instead of
    going on with whatever a refusal left (a flag that was never raised, a row never written).
    Returns the JSON body (None for an empty one)."""
    assert 200 <= r.status_code < 300, f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}"
    return r.json() if r.content else None


def leader_passes(job: str) -> float:
    """Passes of a periodic job finished in this process (``sharaka_leader_passes_total``)."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("sharaka_leader_passes_total", {"job": job}) or 0.0


async def more_passes(job: str, n: int = 3, timeout: float = 20.0) -> None:
    """Wait until ``job`` (running in this process) has finished ``n`` more whole passes: the
    proof that it looked again and found nothing, where a sleep would only hope it did."""
    start = leader_passes(job)

    async def done() -> bool:
        return leader_passes(job) >= start + n

    await eventually(done, timeout=timeout)


@asynccontextmanager
async def processes_running(procs: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """Service processes (``devstack.services.ServiceProcess``) started side by side, each ready
    before the block runs, and every one stopped after it, whatever happened."""
    try:
        for p in procs.values():
            p.start()
        for p in procs.values():
            await p.wait_ready()
        yield procs
    finally:
        for p in procs.values():
            p.ensure_stopped()
