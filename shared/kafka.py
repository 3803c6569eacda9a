"""Kafka plumbing: the producer, topic creation and the FastStream broker factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

from shared.logging import get_logger

log = get_logger(__name__)


def make_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    """Idempotent, ``acks=all``: a retried send is written once and per-partition order holds."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
    )


def make_broker(bootstrap: str, client_id: str, graceful_timeout_s: float) -> KafkaBroker:
    """The broker that runs this service's subscribers.

    ``graceful_timeout`` lets in-flight batches finish (and commit) on shutdown. The ack policy
    is set per subscriber (see :mod:`shared.consumer`), explicitly, never FastStream's default
    ACK_FIRST, which commits before handling (at-most-once).
    """
    return KafkaBroker(
        bootstrap,
        client_id=client_id,
        # Through the root handler, so FastStream's lines are JSON like ours; its per-message
        # "Received/Processed" lines only at DEBUG.
        logger=logging.getLogger("sharaka.faststream"),
        log_level=logging.DEBUG,
        graceful_timeout=graceful_timeout_s,
        enable_idempotence=True,
        acks="all",
    )


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int = 3
    compacted: bool = False


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec]) -> list[str]:
    """Create missing topics (dev and tests; production declares them as KafkaTopic resources).

    Creating them up front, rather than relying on auto-creation, avoids a consumer subscribing
    before the topic exists and missing the first events with ``auto_offset_reset=latest``.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="sharaka-admin")
    await admin.start()
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=1,
                topic_configs={"cleanup.policy": "compact"} if s.compacted else {},
            )
            for s in specs
            if s.name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
            created = [t.name for t in new]
            log.info("topics created", topics=created)
    finally:
        await admin.close()
    return created
