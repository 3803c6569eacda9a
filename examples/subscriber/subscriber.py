"""Read a Sharaka topic from the start and check every record against the published schemas.

What a subscriber has to do, in order, for each record:

1. Read ``ce_type`` from the headers (CloudEvents binary mode). No ``ce_type``: not a Sharaka
   event; count it as invalid and go on.
2. Look the type up among the schemas you know. An unknown type, or a version you do not know
   (``.v2`` of a type whose ``.v1`` you read), is skipped with a log line: Sharaka publishes a new
   version beside the old one, so the version you know keeps coming.
3. Deduplicate on ``ce_id``: delivery is at least once, a redelivered event has the same id.
4. Parse the value as JSON and validate it against the schema. A record that fails is logged and
   counted, never fatal: one bad record must not stop the partition behind it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from examples.subscriber.jsonschema_lite import SchemaError, validator

log = logging.getLogger("examples.subscriber")

#: The published schemas of this repository; ``--schemas`` points elsewhere (e.g. an installed
#: ``sharaka_events/schemas`` folder).
DEFAULT_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "events"


@dataclass
class Summary:
    """What one run saw."""

    records: int = 0
    valid: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "valid": dict(self.valid),
            "skipped": dict(self.skipped),
            "invalid": dict(self.invalid),
            "duplicates": self.duplicates,
        }

    def table(self) -> str:
        rows = [f"{'type':<60} {'count':>7}"]
        rows += [f"{name:<60} {n:>7}" for name, n in sorted(self.valid.items())]
        rows += [f"{'skipped ' + name:<60} {n:>7}" for name, n in sorted(self.skipped.items())]
        rows += [f"{'invalid ' + name:<60} {n:>7}" for name, n in sorted(self.invalid.items())]
        rows.append(f"{'duplicates (same ce_id)':<60} {self.duplicates:>7}")
        rows.append(f"{'records read':<60} {self.records:>7}")
        return "\n".join(rows)


@dataclass(frozen=True)
class Security:
    """How to reach the production cluster: TLS with the cluster CA and SCRAM-SHA-512."""

    protocol: str = "PLAINTEXT"  # or SASL_SSL
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None

    def client_options(self) -> dict[str, Any]:
        if self.protocol == "PLAINTEXT":
            return {}
        context = ssl.create_default_context(cafile=self.ca_file)
        return {
            "security_protocol": self.protocol,
            "ssl_context": context,
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }


def load_schemas(folder: Path) -> dict[str, Callable[[Any], None]]:
    """One validator per event type, from ``<type>.json`` files."""
    return {path.stem: validator(json.loads(path.read_text())) for path in sorted(folder.glob("*.json"))}


def _family(event_type: str) -> str:
    return event_type.rsplit(".v", 1)[0]


class Checker:
    """The per-record logic, apart from Kafka so it can be read (and reused) on its own."""

    def __init__(self, schemas: dict[str, Callable[[Any], None]], *, remember: int = 100_000) -> None:
        self.schemas = schemas
        self.families = {_family(name) for name in schemas}
        self.summary = Summary()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._remember = remember

    def handle(self, headers: dict[str, str], value: bytes | None, where: str) -> None:
        self.summary.records += 1
        event_type = headers.get("ce_type")
        if event_type is None:
            log.warning("%s: no ce_type header, not a CloudEvent; skipped", where)
            self.summary.invalid["<no ce_type>"] += 1
            return
        check = self.schemas.get(event_type)
        if check is None:
            known = _family(event_type) in self.families
            log.info("%s: %s %s; skipped", where, "unknown version" if known else "unknown type", event_type)
            self.summary.skipped[event_type] += 1
            return
        event_id = headers.get("ce_id")
        if event_id is not None and event_id in self._seen:
            log.info("%s: %s %s already handled; skipped", where, event_type, event_id)
            self.summary.duplicates += 1
            return
        try:
            check(json.loads(value or b""))
        except (ValueError, UnicodeDecodeError) as exc:  # SchemaError is a ValueError too
            kind = "does not match its schema" if isinstance(exc, SchemaError) else "is not JSON"
            log.warning("%s: %s %s: %s", where, event_type, kind, exc)
            self.summary.invalid[event_type] += 1
            return
        if event_id is not None:
            self._seen[event_id] = None
            if len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        self.summary.valid[event_type] += 1
        # A real subscriber handles the event here, in the same transaction that records ce_id.


async def run(
    *,
    bootstrap: str,
    topic: str,
    group: str,
    schemas: Path = DEFAULT_SCHEMAS,
    max_records: int | None = None,
    idle_seconds: float = 10.0,
    security: Security | None = None,
) -> Summary:
    """Read ``topic`` from the start (for a new ``group``), committing what was handled, until
    ``max_records`` were read or nothing arrived for ``idle_seconds``."""
    checker = Checker(load_schemas(schemas))
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **(security or Security()).client_options(),
    )
    await consumer.start()
    try:
        last_record = time.monotonic()
        while max_records is None or checker.summary.records < max_records:
            batch = await consumer.getmany(timeout_ms=200)
            if not batch:
                if time.monotonic() - last_record >= idle_seconds:
                    log.info("nothing for %.1f s; stopping", idle_seconds)
                    break
                continue
            last_record = time.monotonic()
            done: dict[TopicPartition, int] = {}
            for tp, records in batch.items():
                for record in records:
                    if max_records is not None and checker.summary.records >= max_records:
                        break
                    headers = {k: bytes(v).decode("utf-8", "replace") for k, v in record.headers or () if v}
                    checker.handle(headers, record.value, f"{tp.topic}[{tp.partition}]@{record.offset}")
                    done[tp] = record.offset + 1
            if done:
                await consumer.commit(done)
    finally:
        await consumer.stop()
    return checker.summary


def run_sync(**kwargs: Any) -> Summary:
    return asyncio.run(run(**kwargs))
