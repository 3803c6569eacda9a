"""Kafka plumbing: the producer, topic creation and the FastStream broker factory."""

from __future__ import annotations

import contextlib
import functools
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from aiokafka.partitioner import DefaultPartitioner, murmur2
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from shared.logging import get_logger
from shared.settings import ServiceSettings

log = get_logger(__name__)


def ssl_context(cafile: str | None) -> ssl.SSLContext:
    """Trust the CA file and every other ``*.crt`` beside it. Strimzi renews its cluster CA by
    adding the new certificate to the secret next to the old one (``ca.crt`` and
    ``ca-<date>.crt``) while brokers move over: a client that trusts only one of them loses its
    connections halfway. The pod mounts the whole secret; a renewal restarts the pod (see
    deploy/README.md), which builds this context again."""
    context: ssl.SSLContext = create_ssl_context(cafile=cafile)
    if cafile:
        for extra in sorted(Path(cafile).parent.glob("*.crt")):
            if extra != Path(cafile):
                context.load_verify_locations(cafile=str(extra))
    return context


def client_options(settings: ServiceSettings | None) -> dict[str, Any]:
    """aiokafka connection options (TLS, SASL) from the settings; empty for plain local use."""
    if settings is None or settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    opts: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        opts["ssl_context"] = ssl_context(settings.kafka_ssl_cafile)
    if settings.kafka_security_protocol.startswith("SASL"):
        opts["sasl_mechanism"] = settings.kafka_sasl_mechanism
        opts["sasl_plain_username"] = settings.kafka_sasl_username
        opts["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    return opts


def broker_security(settings: ServiceSettings | None) -> BaseSecurity | None:
    """The same options in FastStream's terms."""
    opts = client_options(settings)
    if not opts:
        return None
    ssl_context = opts.get("ssl_context")
    if "sasl_mechanism" not in opts:
        return BaseSecurity(ssl_context=ssl_context)
    kind = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    return kind[opts["sasl_mechanism"]](
        opts["sasl_plain_username"] or "",
        opts["sasl_plain_password"] or "",
        ssl_context=ssl_context,
        use_ssl=ssl_context is not None,
    )


@functools.lru_cache(maxsize=65_536)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def partition_for(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """Kafka's default partitioner (murmur2 of the key, as the Java client and aiokafka compute
    it), with the hash of a key remembered: an aggregate's events share their key, and murmur2 in
    pure Python was a few per cent of the relay's time."""
    if key is None:
        return int(DefaultPartitioner()(key, all_partitions, available))
    return all_partitions[_key_hash(key) % len(all_partitions)]


#: The default of ``kafka_linger_ms``, for producers made without settings (benchmark baselines).
_DEFAULT_LINGER_MS: int = ServiceSettings.model_fields["kafka_linger_ms"].default


def make_producer(
    bootstrap: str, client_id: str, settings: ServiceSettings | None = None
) -> AIOKafkaProducer:
    """Idempotent, ``acks=all``: a retried send is written once and per-partition order holds."""
    return AIOKafkaProducer(
        **client_options(settings),
        bootstrap_servers=bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        partitioner=partition_for,
        linger_ms=settings.kafka_linger_ms if settings is not None else _DEFAULT_LINGER_MS,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
    )


def make_broker(
    bootstrap: str, client_id: str, graceful_timeout_s: float, settings: ServiceSettings | None = None
) -> KafkaBroker:
    """The broker that runs this service's subscribers.

    ``graceful_timeout`` lets in-flight batches finish (and commit) on shutdown. The ack policy
    is set per subscriber (see :mod:`shared.consumer`), explicitly, never FastStream's default
    ACK_FIRST, which commits before handling (at-most-once).
    """
    return KafkaBroker(
        bootstrap,
        security=broker_security(settings),
        client_id=client_id,
        # Through the root handler, so FastStream's lines are JSON like ours; its per-message
        # "Received/Processed" lines only at DEBUG.
        logger=logging.getLogger("sharaka.faststream"),
        log_level=logging.DEBUG,
        graceful_timeout=graceful_timeout_s,
        enable_idempotence=True,
        acks="all",
        # Topics are created by whoever owns them (ensure_topics here in development, KafkaTopic
        # resources in a cluster); a subscriber asking the admin API for them only logs refusals
        # where ACLs forbid it.
        allow_auto_create_topics=settings.kafka_create_topics if settings is not None else True,
    )


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int = 3
    compacted: bool = False


async def ensure_topics(
    bootstrap: str, specs: Iterable[TopicSpec], settings: ServiceSettings | None = None
) -> list[str]:
    """Create missing topics (dev and tests; production declares them as KafkaTopic resources).

    Creating them up front, rather than relying on auto-creation, avoids a consumer subscribing
    before the topic exists and missing the first events with ``auto_offset_reset=latest``.
    """
    admin = AIOKafkaAdminClient(
        **client_options(settings), bootstrap_servers=bootstrap, client_id="sharaka-admin"
    )
    created: list[str] = []
    try:
        await admin.start()  # inside the try: a broker that never answered leaves no client open
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
