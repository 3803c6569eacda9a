"""Every contract module imported (so the registry in :mod:`shared.events.base` is complete), and
who may say what: each topic has exactly one owning service, the only one that publishes on it.

The owner of an event type is the owner of the topic its contract names. That one rule covers
every case: ``ogp.plans.*`` comes from plans, an erasure request from notifications (which owns
``sharaka.privacy.erasures.v1``), a tombstone from whoever owns the compacted topic it forgets
on. Consumers accept an event only from its owner (:func:`check_sender`), and the Kafka users
(deploy/k8s and the local stack) let only the owner write the topic; together a service cannot
make another believe a fact it does not own, by mistake or on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from shared.events import consultation, irm, notifications, plans, privacy, topics
from shared.events.base import event_types
from shared.events.envelope import PoisonMessage, PoisonReason, source_uri

__all__ = [
    "OWNERS",
    "check_sender",
    "consultation",
    "irm",
    "metric_type",
    "notifications",
    "owner_of",
    "owner_of_topic",
    "plans",
    "privacy",
    "published_topics",
]

#: Topic → the one service that publishes on it (dead-letter topics aside: each consumer writes
#: its own, see :func:`shared.events.topics.dead_letter_topic`).
OWNERS: Mapping[str, str] = MappingProxyType(
    {
        topics.PLANS: "plans",
        topics.PLANS_CONTACTS: "plans",
        topics.CONSULTATION: "consultation",
        topics.CONSULTATION_CONTACTS: "consultation",
        topics.IRM: "irm",
        topics.NOTIFICATIONS: "notifications",
        topics.ERASURES: "notifications",
    }
)

#: The metric label of a tombstone (it has no CloudEvents type of its own).
TOMBSTONE_LABEL = "tombstone"
#: The metric label of any type no contract declares: the label set stays bounded whatever a
#: producer writes in ``ce_type`` (the dead-letter topic keeps the real value).
UNKNOWN_LABEL = "unknown"


def owner_of_topic(topic: str) -> str | None:
    return OWNERS.get(topic)


def owner_of(event_type: str) -> str | None:
    """The service that publishes ``event_type``; None for a type no contract declares."""
    model = event_types().get(event_type)
    return None if model is None else OWNERS.get(model.topic)


def published_topics(service: str) -> frozenset[str]:
    """The topics ``service`` writes (its dead-letter topic aside)."""
    return frozenset(topic for topic, owner in OWNERS.items() if owner == service)


def metric_type(event_type: str | None) -> str:
    """``event_type`` when a contract declares it (or a tombstone), else ``"unknown"``."""
    if event_type == TOMBSTONE_LABEL or (event_type and event_type in event_types()):
        return event_type
    return UNKNOWN_LABEL


def check_sender(event_type: str | None, source: str | None, topic: str) -> None:
    """Raise :class:`PoisonMessage` (``unexpected_source``) unless the record came from the owner.

    ``event_type`` None is a tombstone: its owner is the topic's. An event must arrive on its
    contract's topic *and* carry its owner's ``ce_source``: the broker lets only the owner write
    that topic, so a service that stamped another's source on its own topic is still caught. A
    tombstone carries no CloudEvents attributes (no value); when it names a source, it must be
    the topic owner's.
    """
    if event_type is None:
        owner = OWNERS.get(topic)
        expected = source_uri(owner) if owner else None
        if expected is None or (source is not None and source != expected):
            raise _unexpected(f"tombstone on {topic}", expected, source, topic)
        return
    model = event_types().get(event_type)
    owner = OWNERS.get(model.topic) if model is not None else None
    expected = source_uri(owner) if owner else None
    if model is None or expected is None or source != expected or topic != model.topic:
        where = model.topic if model is not None else "?"
        raise _unexpected(f"{event_type} is published on {where}", expected, source, topic)


def _unexpected(what: str, expected: str | None, actual: str | None, topic: str) -> PoisonMessage:
    return PoisonMessage(
        PoisonReason.UNEXPECTED_SOURCE,
        f"{what} by {expected or 'no service'}; got source {actual!r} on {topic}",
        headers={
            "dlq_expected_source": expected or "",
            "dlq_actual_source": actual or "",
        },
    )
