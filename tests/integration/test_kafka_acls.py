"""The local stack's secured broker (what `make run` starts): SASL/PLAIN, the StandardAuthorizer
and the ACLs of the Strimzi KafkaUsers (devstack.acls). The owning service is the only one
that may write its topic: consultation's user is refused on the plans topic by the broker
itself, plans' user is not, and the IRM service, run whole on its own user through its
ordinary Kafka settings, consumes with its own group, applies the genuine event and writes its
own topic. A client without a login, or with another's group, gets nothing.

The session's shared broker stays open (PLAINTEXT) for speed; this test starts its own node.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError

from devstack import acls
from devstack.kafka import KafkaNode
from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from shared.events import topics
from shared.events.envelope import Envelope
from shared.events.plans import PlanSubmitted
from tests.conftest import Env, running
from tests.helpers import eventually


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaNode]:
    node = KafkaNode(tmp_path_factory.mktemp("kafka-secured"), heap="384m", users=acls.users())
    node.install()
    node.start(timeout=120)
    try:
        yield node
    finally:
        node.stop()


def submitted(plan_id: UUID) -> PlanSubmitted:
    return PlanSubmitted(
        plan_id=plan_id, member_id=uuid4(), title="A plan", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=2, point_of_contact_id=uuid4(),
        submitted_at=datetime(2025, 1, 10, 9, tzinfo=UTC),
    )  # fmt: skip


async def send_as(node: KafkaNode, user: str, topic: str, event: PlanSubmitted, service: str) -> None:
    record = Envelope.wrap(event, service=service).to_record()
    producer = AIOKafkaProducer(
        **node.client_options(user), bootstrap_servers=node.bootstrap, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=record.value, key=record.key, headers=record.headers)
    finally:
        await producer.stop()


async def first_record(node: KafkaNode, user: str, topic: str, group: str) -> Any:
    consumer = AIOKafkaConsumer(
        topic,
        **node.client_options(user),
        bootstrap_servers=node.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    try:
        await consumer.start()
        record = await consumer.getone()
        await consumer.commit()
        return record
    finally:
        await consumer.stop()


async def test_only_the_owner_may_write_its_topic(secured: KafkaNode, env: Env) -> None:
    await acls.provision(secured)
    forged, genuine = uuid4(), uuid4()

    # The broker refuses consultation on the plans topic, whatever ce_source it would stamp.
    with pytest.raises(TopicAuthorizationFailedError):
        await send_as(secured, "sharaka-consultation", topics.PLANS, submitted(forged), "plans")
    await send_as(secured, "sharaka-plans", topics.PLANS, submitted(genuine), "plans")

    # A reader outside its own group is refused; in its own group it reads.
    with pytest.raises(GroupAuthorizationFailedError):
        await first_record(secured, "sharaka-consultation", topics.PLANS, "sharaka-irm")
    record = await first_record(secured, "sharaka-consultation", topics.PLANS, "sharaka-consultation")
    assert record.key == str(genuine).encode()

    # The IRM service itself, on its user through its ordinary settings (no topic creation).
    creds = {k.lower(): v for k, v in secured.service_env("sharaka-irm").items()}
    settings = env.settings(
        IrmSettings, "irm", kafka_bootstrap=secured.bootstrap, kafka_topic_prefix="", **creds
    )
    assert settings.kafka_create_topics is False
    async with running(IRM, settings) as irm:

        async def scheduled() -> bool:
            got = await irm.pool.fetchval("SELECT count(*) FROM reviews WHERE plan_id = $1", genuine)
            return bool(got == 1)

        await eventually(scheduled, timeout=40)
        # ...and what it published (through its outbox) is on its own topic.
        published = await first_record(secured, "sharaka-plans", topics.IRM, "sharaka-plans")
        assert published.key == str(genuine).encode()
        assert dict(published.headers)["ce_source"] == b"/sharaka/irm"
        assert await irm.pool.fetchval("SELECT count(*) FROM reviews WHERE plan_id = $1", forged) == 0


async def test_no_login_no_access(secured: KafkaNode) -> None:
    anonymous = AIOKafkaProducer(bootstrap_servers=secured.bootstrap, request_timeout_ms=3000)
    with pytest.raises(KafkaError):
        await anonymous.start()
    await anonymous.stop()
    wrong = dict(secured.client_options("sharaka-plans"), sasl_plain_password="guessed")
    impostor = AIOKafkaProducer(**wrong, bootstrap_servers=secured.bootstrap, request_timeout_ms=3000)
    with pytest.raises(KafkaError):
        await impostor.start()
    await impostor.stop()


def test_passwords_are_kept_private_and_stable(secured: KafkaNode) -> None:
    again = KafkaNode(secured.home, users=acls.users())
    assert again.password("sharaka-plans") == secured.password("sharaka-plans")
    assert secured.password("sharaka-plans") != secured.password("sharaka-consultation")
    assert (Path(secured.home) / "credentials.json").stat().st_mode & 0o077 == 0
