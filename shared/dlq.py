"""Operator command for dead letters: list what failed and why, and replay once fixed.

``python -m shared.dlq list --service irm``
``python -m shared.dlq replay --service irm``  (everything not replayed yet)

Replaying sends each dead letter back to its source topic with its original key and headers
(minus the ``dlq_*`` ones). Consumers are idempotent, so replaying an event that was in fact
applied is harmless. Progress is kept in the consumer group ``sharaka-<service>-dlq-replay``:
a letter is replayed once, even if the command is run again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from shared.consumer import DeadLetterHeaders
from shared.events.envelope import headers_dict
from shared.events.topics import dead_letter_topic


@dataclass(frozen=True)
class DeadLetter:
    offset: int
    partition: int
    reason: str
    detail: str
    attempts: str
    source: str
    event_type: str
    event_id: str
    record: ConsumerRecord[bytes, bytes]


def _letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    h = headers_dict(record.headers or ())
    return DeadLetter(
        offset=record.offset,
        partition=record.partition,
        reason=h.get(DeadLetterHeaders.REASON, "?"),
        detail=h.get(DeadLetterHeaders.DETAIL, ""),
        attempts=h.get(DeadLetterHeaders.ATTEMPTS, "?"),
        source=f"{h.get(DeadLetterHeaders.TOPIC)}[{h.get(DeadLetterHeaders.PARTITION)}]"
        f"@{h.get(DeadLetterHeaders.OFFSET)}",
        event_type=h.get("ce_type", "?"),
        event_id=h.get("ce_id", "?"),
        record=record,
    )


async def _read(
    bootstrap: str, topic: str, group: str | None, idle_ms: int = 1500
) -> tuple[AIOKafkaConsumer, list[DeadLetter]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    letters: list[DeadLetter] = []
    while True:
        batch = await consumer.getmany(timeout_ms=idle_ms)
        if not batch:
            break
        for records in batch.values():
            letters.extend(_letter(r) for r in records)
    return consumer, letters


async def list_letters(bootstrap: str, service: str, prefix: str = "") -> list[DeadLetter]:
    consumer, letters = await _read(bootstrap, prefix + dead_letter_topic(service), None)
    await consumer.stop()
    return letters


async def replay(bootstrap: str, service: str, prefix: str = "") -> list[DeadLetter]:
    """Send every dead letter not replayed before back to its source topic."""
    group = f"{prefix}sharaka-{service}-dlq-replay"
    consumer, letters = await _read(bootstrap, prefix + dead_letter_topic(service), group)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for letter in letters:
            h = headers_dict(letter.record.headers or ())
            source = h.get(DeadLetterHeaders.TOPIC)
            if not source:
                continue
            headers = [(k, v) for k, v in (letter.record.headers or ()) if k not in DeadLetterHeaders.ALL]
            await producer.send_and_wait(
                source, value=letter.record.value, key=letter.record.key, headers=headers
            )
        if letters:
            await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    return letters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.dlq", description=__doc__)
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--service", required=True, choices=["consultation", "irm", "notifications", "plans"])
    parser.add_argument("--bootstrap", default=os.environ.get("SHARAKA_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--topic-prefix", default=os.environ.get("SHARAKA_KAFKA_TOPIC_PREFIX", ""))
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    run = list_letters if args.command == "list" else replay
    letters = asyncio.run(run(args.bootstrap, args.service, args.topic_prefix))
    for d in letters:
        row = {
            "partition": d.partition, "offset": d.offset, "reason": d.reason,
            "attempts": d.attempts, "source": d.source, "type": d.event_type,
            "event_id": d.event_id, "detail": d.detail,
        }  # fmt: skip
        print(json.dumps(row) if args.json else "  ".join(f"{k}={v}" for k, v in row.items()))
    verb = "dead letters" if args.command == "list" else "dead letters replayed"
    print(f"{len(letters)} {verb}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
