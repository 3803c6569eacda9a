"""Dead letters: list them, inspect one, replay them to their source topic once the cause is fixed.

Replaying sends each dead letter back to its source topic with its original key and headers
(minus the ``dlq_*`` ones). Consumers are idempotent, so replaying an event that was in fact
applied is harmless. Progress is kept in the group ``sharaka-<service>-dlq-replay``: a letter is
replayed once, even if the command is run again. The service's own KafkaUser may neither read
its dead-letter topic nor write the topics it consumes: these commands run as ``sharaka-ops``.

Personal data: a dead letter from a private topic (the contacts topics, the erasure requests)
is shown without its payload's values nor its detail (a validation error quotes the input);
only the payload's keys are printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.consumer import DeadLetterHeaders
from shared.events import topics
from shared.events.envelope import headers_dict
from shared.events.topics import dead_letter_topic
from shared.ops.context import OpsContext
from shared.ops.kafka_io import open_consumer, partitions, read_to_end

#: Topics whose records carry personal data (or digests of it): never printed.
PRIVATE_TOPICS = frozenset({topics.PLANS_CONTACTS, topics.CONSULTATION_CONTACTS, topics.ERASURES})

WITHHELD = "(withheld: private topic)"

CONTACTS_SUFFIXES = (topics.PLANS_CONTACTS, topics.CONSULTATION_CONTACTS)


@dataclass(frozen=True)
class DeadLetter:
    offset: int
    partition: int
    reason: str
    detail: str
    attempts: str
    source_topic: str
    source: str
    event_type: str
    event_id: str
    private: bool
    record: ConsumerRecord[bytes, bytes]

    @property
    def unreplayable(self) -> bool:
        """Nobody but its owner may write a private contacts topic: such a letter is passed over
        (the owner re-publishes the contact, see the runbook)."""
        return self.private and self.source_topic.endswith(CONTACTS_SUFFIXES)

    def row(self) -> dict[str, Any]:
        return {
            "partition": self.partition, "offset": self.offset, "reason": self.reason,
            "attempts": self.attempts, "source": self.source, "type": self.event_type,
            "event_id": self.event_id, "detail": WITHHELD if self.private else self.detail,
        }  # fmt: skip


def letter(record: ConsumerRecord[bytes, bytes], prefix: str = "") -> DeadLetter:
    h = headers_dict(record.headers or ())
    source_topic = h.get(DeadLetterHeaders.TOPIC, "")
    bare = source_topic[len(prefix) :] if prefix and source_topic.startswith(prefix) else source_topic
    return DeadLetter(
        offset=record.offset,
        partition=record.partition,
        reason=h.get(DeadLetterHeaders.REASON, "?"),
        detail=h.get(DeadLetterHeaders.DETAIL, ""),
        attempts=h.get(DeadLetterHeaders.ATTEMPTS, "?"),
        source_topic=source_topic,
        source=f"{source_topic}[{h.get(DeadLetterHeaders.PARTITION)}]@{h.get(DeadLetterHeaders.OFFSET)}",
        event_type=h.get("ce_type", "?"),
        event_id=h.get("ce_id", "?"),
        private=bare in PRIVATE_TOPICS,
        record=record,
    )


def render(d: DeadLetter) -> str:
    """One dead letter in full, for ``inspect``: headers, reason, detail and the payload."""
    lines = [
        f"dead letter {d.record.topic}[{d.partition}]@{d.offset}",
        f"reason:   {d.reason}",
        f"attempts: {d.attempts}",
        f"source:   {d.source}",
        f"detail:   {WITHHELD if d.private else d.detail}",
        f"key:      {_text(d.record.key)}",
        "headers:",
    ]
    for k, v in d.record.headers or ():
        withheld = d.private and k == DeadLetterHeaders.DETAIL
        lines.append(f"  {k}: {WITHHELD if withheld else _text(v)}")
    lines.append("payload:")
    lines.append(_payload(d.record.value, private=d.private))
    return "\n".join(lines)


def _text(raw: bytes | None) -> str:
    if raw is None:
        return "(none)"
    return bytes(raw).decode("utf-8", errors="replace")


def _payload(raw: bytes | None, *, private: bool) -> str:
    if raw is None:
        return "  (none: a tombstone)"
    try:
        doc = json.loads(raw)
    except ValueError:
        if private:
            return f"  {WITHHELD}: not JSON, {len(raw)} bytes"
        return "  " + bytes(raw).decode("utf-8", errors="replace")
    if private:
        keys = sorted(doc) if isinstance(doc, dict) else []
        return f"  {WITHHELD}; keys: {', '.join(keys) if keys else '(not an object)'}"
    return "\n".join("  " + line for line in json.dumps(doc, indent=2, ensure_ascii=False).splitlines())


async def list_letters(ctx: OpsContext) -> list[DeadLetter]:
    consumer = await open_consumer(ctx, None)
    try:
        records = await read_to_end(consumer, ctx.topic(dead_letter_topic(ctx.service)), from_committed=False)
    finally:
        await consumer.stop()
    return [letter(r, ctx.prefix) for r in records]


async def inspect(ctx: OpsContext, partition: int, offset: int) -> DeadLetter | None:
    topic = ctx.topic(dead_letter_topic(ctx.service))
    consumer = await open_consumer(ctx, None)
    try:
        tp = TopicPartition(topic, partition)
        if tp not in await partitions(consumer, topic):
            return None
        consumer.assign([tp])
        if offset >= (await consumer.end_offsets([tp]))[tp]:
            return None
        consumer.seek(tp, offset)
        batch = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
        found = [r for r in batch.get(tp, []) if r.offset == offset]
    finally:
        await consumer.stop()
    return letter(found[0], ctx.prefix) if found else None


async def replay(ctx: OpsContext, *, dry_run: bool = False, limit: int | None = None) -> list[DeadLetter]:
    """Send the dead letters not replayed before back to their source topic (at most ``limit``);
    with ``dry_run``, only say which: nothing is sent and no progress is recorded."""
    consumer = await open_consumer(ctx, ctx.replay_group)
    try:
        records = await read_to_end(consumer, ctx.topic(dead_letter_topic(ctx.service)), from_committed=True)
        # Records come in offset order per partition, so any prefix of the list is a prefix of
        # each partition's letters: committing the last one taken per partition is exact.
        letters = [letter(r, ctx.prefix) for r in records][: limit if limit is not None else None]
        if dry_run or not letters:
            return letters
        producer = AIOKafkaProducer(
            **ctx.kafka(enable_idempotence=True, acks="all", client_id=f"sharaka-ops-{ctx.service}")
        )
        await producer.start()
        try:
            for d in letters:
                if not d.source_topic or d.unreplayable:
                    continue
                headers = [(k, v) for k, v in (d.record.headers or ()) if k not in DeadLetterHeaders.ALL]
                await producer.send_and_wait(
                    d.source_topic, value=d.record.value, key=d.record.key, headers=headers
                )
        finally:
            await producer.stop()
        done: dict[TopicPartition, int] = {}
        for d in letters:
            tp = TopicPartition(d.record.topic, d.partition)
            done[tp] = max(done.get(tp, 0), d.offset + 1)
        await consumer.commit(done)
        return letters
    finally:
        await consumer.stop()
