"""The local stack's Kafka users and ACLs: the same as the cluster's Strimzi KafkaUsers
(deploy/k8s/base/kafka/users.yaml), derived from the code the same way
tests/unit/test_deploy_acls.py holds those to it.

Each service's user ``sharaka-<service>`` writes only the topics it owns
(:data:`shared.events.catalog.OWNERS`) and its dead-letter topic, reads only what its reactions
consume and uses only its own consumer group; ``sharaka-ops`` reads the dead letters, replays
them to the topics they came from (never a private contacts topic) and moves the services'
groups. So locally too the owning service is the only service that can write its topic, and a
service that tried would hear it from the broker, not from production.

:func:`provision` creates the topics (services hold no Create right, as in the cluster) and the
ACLs with the node's ``admin`` user.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code
from aiokafka.protocol.admin import CreateAclsRequest_v1, DescribeAclsRequest
from aiokafka.protocol.api import Request

from devstack.kafka import ADMIN, KafkaNode
from shared.events import topics
from shared.events.catalog import OWNERS, published_topics
from shared.events.topics import dead_letter_topic

SERVICES = ("plans", "consultation", "irm", "notifications")
OPS = "sharaka-ops"
#: Compacted, private, keyed by contact: never replayed by the operators.
PRIVATE_CONTACTS = frozenset({topics.PLANS_CONTACTS, topics.CONSULTATION_CONTACTS})

# Kafka's wire codes (org.apache.kafka.common.resource / acl).
_RESOURCE = {"topic": 2, "group": 3}
_OPERATION = {"Read": 3, "Write": 4, "Describe": 8}
_LITERAL = 3
_ALLOW = 3
_ANY = 1


@dataclass(frozen=True, slots=True)
class Acl:
    """Allow ``operation`` on a literal ``resource`` (``topic`` or ``group``) from any host."""

    resource: str
    name: str
    operation: str


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]
    """Many ACLs in one CreateAcls v1 request (aiokafka's own sends one, and has no public API);
    one request is one metadata commit instead of sixty."""

    API_KEY = 30

    def __init__(self, creations: list[tuple[int, str, int, str, str, int, int]]) -> None:
        self._creations = creations

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self._creations)


def user(service: str) -> str:
    return f"sharaka-{service}"


def consumed_topics() -> dict[str, frozenset[str]]:
    """What each service's reactions consume (tombstones add no topic of their own)."""
    from services.consultation.service import SPEC as CONSULTATION
    from services.consultation.settings import ConsultationSettings
    from services.irm.service import SPEC as IRM
    from services.irm.settings import IrmSettings
    from services.notifications.service import SPEC as NOTIFICATIONS
    from services.notifications.settings import NotificationsSettings
    from services.plans.service import SPEC as PLANS
    from services.plans.settings import PlansSettings

    class _Rt:  # all a reactions factory reads of the runtime
        def __init__(self, settings: Any) -> None:
            self.settings = settings

    out: dict[str, frozenset[str]] = {}
    for spec, settings in (
        (PLANS, PlansSettings()),
        (CONSULTATION, ConsultationSettings()),
        (IRM, IrmSettings()),
        (NOTIFICATIONS, NotificationsSettings()),
    ):
        made: Any = spec.reactions(_Rt(settings)) if spec.reactions else {}  # type: ignore[arg-type]
        handlers = getattr(made, "handlers", made)
        out[spec.name] = frozenset(model.topic for model in handlers if model.topic)
    return out


def _allow(resource: str, name: str, *operations: str) -> set[Acl]:
    return {Acl(resource, name, op) for op in ("Describe", *operations)}


def service_acls(service: str, consumed: frozenset[str]) -> set[Acl]:
    acls: set[Acl] = set()
    for topic in {*published_topics(service), dead_letter_topic(service)}:
        acls |= _allow("topic", topic, "Write")
    for topic in consumed:
        acls |= _allow("topic", topic, "Read")
    if consumed:
        acls |= _allow("group", user(service), "Read")
    return acls


def ops_acls(consumed: Mapping[str, frozenset[str]]) -> set[Acl]:
    acls: set[Acl] = set()
    consumers = [s for s in SERVICES if consumed.get(s)]
    replayed = set().union(*(consumed[s] for s in consumers), topics.PUBLIC) - PRIVATE_CONTACTS
    for service in consumers:
        acls |= _allow("topic", dead_letter_topic(service), "Read")
        acls |= _allow("group", user(service), "Read")
        acls |= _allow("group", f"{user(service)}-dlq-replay", "Read")
    for topic in replayed:
        acls |= _allow("topic", topic, "Read", "Write")
    return acls


def all_acls(consumed: Mapping[str, frozenset[str]] | None = None) -> dict[str, set[Acl]]:
    """Principal name → its ACLs, for every service and the operators."""
    consumed = consumed_topics() if consumed is None else consumed
    acls = {user(s): service_acls(s, consumed.get(s, frozenset())) for s in SERVICES}
    acls[OPS] = ops_acls(consumed)
    return acls


def users() -> tuple[str, ...]:
    """The principals a secured local node needs (besides ``admin``)."""
    return (*(user(s) for s in SERVICES), OPS)


def topic_names() -> dict[str, bool]:
    """Every topic the stack uses → compacted or not."""
    names = {topic: topic in PRIVATE_CONTACTS for topic in OWNERS}
    names |= {dead_letter_topic(s): False for s in SERVICES}
    return names


async def provision(node: KafkaNode, *, partitions: int = 3) -> None:
    """Create the topics and the ACLs on a secured ``node`` as its admin (idempotent: Kafka keeps
    one copy of an ACL created twice, and existing topics are left as they are)."""
    admin = AIOKafkaAdminClient(**node.client_options(ADMIN), bootstrap_servers=node.bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(name, partitions, 1, topic_configs={"cleanup.policy": "compact"} if compacted else {})
            for name, compacted in topic_names().items()
            if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        wanted = [
            (principal, acl)
            for principal, acls in sorted(all_acls().items())
            for acl in sorted(acls, key=lambda a: (a.resource, a.name, a.operation))
        ]
        request = _CreateAcls(
            [
                (_RESOURCE[a.resource], a.name, _LITERAL, f"User:{p}", "*", _OPERATION[a.operation], _ALLOW)
                for p, a in wanted
            ]
        )
        response: Any = await admin._send_request(request)
        for (principal, acl), (error_code, message) in zip(wanted, response.creation_responses, strict=True):
            if error_code:
                raise for_code(error_code)(f"ACL {acl} for {principal}: {message}")
        await _until_enforced(admin, {(f"User:{p}", a) for p, a in wanted})
    finally:
        await admin.close()


async def _until_enforced(
    admin: AIOKafkaAdminClient, wanted: set[tuple[str, Acl]], timeout: float = 15
) -> None:
    """Wait until the broker's authorizer lists every ACL: the controller has committed them when
    CreateAcls answers, the broker applies its metadata a moment later, and a client that
    connects in between is refused (an idempotent producer with ClusterAuthorizationFailed)."""
    names = {code: name for name, code in _RESOURCE.items()}
    operations = {code: name for name, code in _OPERATION.items()}
    deadline = time.monotonic() + timeout
    while True:
        request = DescribeAclsRequest(_ANY, None, _ANY, None, None, _ANY, _ANY)
        response: Any = await admin._send_request(request)
        seen = {
            (principal, Acl(names.get(rtype, "?"), name, operations.get(op, "?")))
            for rtype, name, _pattern, entries in response.resources
            for principal, _host, op, _permission in entries
        }
        if wanted <= seen:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"ACLs not enforced after {timeout}s: {sorted(map(str, wanted - seen))[:5]}")
        await asyncio.sleep(0.1)
