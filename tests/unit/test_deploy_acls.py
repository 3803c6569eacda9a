"""The cluster's KafkaUsers let each service read exactly the topics its reactions consume (a
reaction added in code without its ACL would be refused by the broker only in the cluster), and
write exactly the topics it owns (:data:`shared.events.catalog.OWNERS`) and its own dead-letter
topic: the owning service is the only service that may write its topic, which is what makes the
consumers' ``ce_source`` check mean something. The operators' user writes only where a dead
letter is replayed to, never a private contacts topic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.consultation.service import SPEC as CONSULTATION
from services.consultation.settings import ConsultationSettings
from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from services.notifications.service import SPEC as NOTIFICATIONS
from services.notifications.settings import NotificationsSettings
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from shared.events import topics
from shared.events.catalog import OWNERS, published_topics
from shared.events.topics import dead_letter_topic
from shared.runtime import ServiceSpec
from shared.settings import ServiceSettings

USERS = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base" / "kafka" / "users.yaml"


class _Rt:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings


def _consumed(spec: ServiceSpec, settings: ServiceSettings) -> set[str]:
    reactions: Any = spec.reactions(_Rt(settings))  # type: ignore[arg-type]
    return {model.topic for model in reactions.handlers if model.topic}


def _users() -> dict[str, Any]:
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(USERS.read_text()) if d}


def _topics_with(user: str, operation: str) -> set[str]:
    return {
        acl["resource"]["name"]
        for acl in _users()[user]["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "topic" and operation in acl["operations"]
    }


def _readable(user: str) -> set[str]:
    return _topics_with(user, "Read")


@pytest.mark.parametrize(
    ("spec", "settings"),
    [
        (PLANS, PlansSettings()),
        (CONSULTATION, ConsultationSettings()),
        (IRM, IrmSettings()),
        (NOTIFICATIONS, NotificationsSettings()),
    ],
    ids=lambda v: getattr(v, "name", ""),
)
def test_each_service_may_read_exactly_what_it_consumes(spec: ServiceSpec, settings: ServiceSettings) -> None:
    assert _readable(f"sharaka-{spec.name}") == _consumed(spec, settings)


SERVICES = ("plans", "consultation", "irm", "notifications")


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_may_write_exactly_its_own_topics(service: str) -> None:
    assert _topics_with(f"sharaka-{service}", "Write") == {
        *published_topics(service),
        dead_letter_topic(service),
    }


def test_only_the_owner_writes_a_topic_apart_from_the_operators_replays() -> None:
    writers: dict[str, set[str]] = {}
    for user in _users():
        for topic in _topics_with(user, "Write"):
            writers.setdefault(topic, set()).add(user)
    # Replay puts a dead letter back where it came from; private contacts are never replayed.
    replayed = set(OWNERS) - {topics.PLANS_CONTACTS, topics.CONSULTATION_CONTACTS}
    expected = {topic: {f"sharaka-{owner}"} | ({"sharaka-ops"} if topic in replayed else set())
                for topic, owner in OWNERS.items()}  # fmt: skip
    expected |= {dead_letter_topic(s): {f"sharaka-{s}"} for s in SERVICES}
    assert writers == expected


def test_no_user_may_write_by_prefix_or_wildcard() -> None:
    for name, doc in _users().items():
        for acl in doc["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            assert resource.get("patternType", "literal") == "literal", (name, resource)
            assert resource.get("name") != "*", (name, resource)
            assert "All" not in acl["operations"], (name, acl)


def test_the_local_stack_grants_exactly_the_cluster_acls() -> None:
    """`make run`'s secured broker (devstack.acls) and the Strimzi KafkaUsers agree, ACL by ACL."""
    from devstack.acls import all_acls

    cluster = {
        name: {
            (acl["resource"]["type"], acl["resource"]["name"], op)
            for acl in doc["spec"]["authorization"]["acls"]
            for op in acl["operations"]
        }
        for name, doc in _users().items()
    }
    local = {name: {(a.resource, a.name, a.operation) for a in acls} for name, acls in all_acls().items()}
    assert local == cluster
