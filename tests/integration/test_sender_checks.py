"""Sender checks against the real broker: a consumer accepts an event type only from its owning
service's ``ce_source`` and on its contract's topic. A forged ``plan_submitted`` (from
consultation, from "/evil", or with the plans source on the consultation topic) is dead-lettered
with reason ``unexpected_source`` and both sources in its headers; the IRM schedules no review
and consultation closes no co-creation space for the made-up plan; and the genuine event that
follows the forgeries on the same partition is applied. A tombstone is accepted only from the
owner of its compacted topic (the relay stamps its ``ce_source``). An unknown ``ce_type`` adds
no metric series of its own."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from aiokafka import AIOKafkaProducer, ConsumerRecord
from prometheus_client import REGISTRY

from services.consultation.service import SPEC as CONSULTATION
from services.consultation.settings import ConsultationSettings
from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from services.notifications.service import SPEC as NOTIFICATIONS
from services.notifications.settings import NotificationsSettings
from shared.events import topics
from shared.events.consultation import AuthorContactRegistered
from shared.events.plans import PlanSubmitted
from tests.conftest import Env, running
from tests.helpers import as_record, eventually, header, read_topic

Record = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


def submitted(plan_id: UUID) -> PlanSubmitted:
    return PlanSubmitted(
        plan_id=plan_id, member_id=uuid4(), title="A plan", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=2, point_of_contact_id=uuid4(),
        submitted_at=datetime(2025, 1, 10, 9, tzinfo=UTC),
    )  # fmt: skip


def with_header(record: Record, name: str, value: str) -> Record:
    key, body, headers = record
    return key, body, [(k, v) for k, v in headers if k != name] + [(name, value.encode())]


async def produce_in_order(bootstrap: str, sends: list[tuple[str, Record]]) -> None:
    """Every record on partition 0 of its topic, in this order: what comes last on the plans topic
    is read after everything before it."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for topic, (key, value, headers) in sends:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers, partition=0)
    finally:
        await producer.stop()


async def dead_letters(env: Env, service: str, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    return await read_topic(
        env.kafka.bootstrap, env.topic(f"sharaka.{service}.dlq"), until=lambda r: len(r) >= count
    )


def sources(letters: list[ConsumerRecord[bytes, bytes]]) -> list[tuple[str | None, ...]]:
    return sorted(
        (
            header(r, "dlq_reason"),
            header(r, "dlq_expected_source"),
            header(r, "dlq_actual_source"),
            header(r, "dlq_source_topic"),
        )
        for r in letters
    )


async def test_only_the_owner_may_submit_a_plan(env: Env) -> None:
    from_consultation, from_evil, wrong_topic, genuine = uuid4(), uuid4(), uuid4(), uuid4()
    plans_topic, consultation_topic = env.topic(topics.PLANS), env.topic(topics.CONSULTATION)
    irm_settings = env.settings(IrmSettings, "irm")
    consultation_settings = env.settings(ConsultationSettings, "consultation")

    async with running(IRM, irm_settings) as irm, running(CONSULTATION, consultation_settings) as cons:
        await produce_in_order(
            env.kafka.bootstrap,
            [
                (plans_topic, as_record(submitted(from_consultation), service="consultation")),
                (plans_topic, with_header(as_record(submitted(from_evil)), "ce_source", "/evil")),
                # The plans source, but on a topic plans does not write (consultation's own).
                (consultation_topic, as_record(submitted(wrong_topic), service="plans")),
                (plans_topic, as_record(submitted(genuine), service="plans")),
            ],
        )

        async def applied() -> bool:
            review = await irm.pool.fetchval("SELECT count(*) FROM reviews WHERE plan_id = $1", genuine)
            space = await cons.pool.fetchval(
                "SELECT count(*) FROM co_creation_spaces WHERE plan_id = $1", genuine
            )
            return bool(review == 1 and space == 1)

        await eventually(applied, timeout=40)
        irm_letters = await dead_letters(env, "irm", 3)
        consultation_letters = await dead_letters(env, "consultation", 2)

        forged = [from_consultation, from_evil, wrong_topic]
        assert await irm.pool.fetchval("SELECT count(*) FROM reviews WHERE plan_id = ANY($1)", forged) == 0
        assert (
            await cons.pool.fetchval(
                "SELECT count(*) FROM co_creation_spaces WHERE plan_id = ANY($1)", forged
            )
            == 0
        )

    plans = "/sharaka/plans"
    assert sources(irm_letters) == sorted(
        [
            ("unexpected_source", plans, "/sharaka/consultation", plans_topic),
            ("unexpected_source", plans, "/evil", plans_topic),
            ("unexpected_source", plans, plans, consultation_topic),
        ]
    )
    # Consultation does not read its own topic: only the two forgeries on the plans topic.
    assert sources(consultation_letters) == sorted(
        [
            ("unexpected_source", plans, "/sharaka/consultation", plans_topic),
            ("unexpected_source", plans, "/evil", plans_topic),
        ]
    )
    # The dead letters keep the original record: its forged source and its payload.
    assert sorted(header(r, "ce_source") or "" for r in irm_letters) == sorted(
        ["/sharaka/consultation", "/evil", plans]
    )


def _consumed(event_type: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "sharaka_events_consumed_total", {"event_type": event_type, "outcome": outcome}
    )
    return value or 0.0


async def test_an_unknown_type_adds_no_metric_series(env: Env) -> None:
    invented = f"ogp.plans.invented_{uuid4().hex}.v1"
    plans_topic = env.topic(topics.PLANS)
    before = _consumed("unknown", "dead_lettered")
    async with running(IRM, env.settings(IrmSettings, "irm")) as irm:
        marker = uuid4()
        await produce_in_order(
            env.kafka.bootstrap,
            [
                (plans_topic, with_header(as_record(submitted(uuid4())), "ce_type", invented)),
                (plans_topic, as_record(submitted(marker))),
            ],
        )

        async def marker_applied() -> bool:
            got = await irm.pool.fetchval("SELECT count(*) FROM reviews WHERE plan_id = $1", marker)
            return bool(got == 1)

        await eventually(marker_applied, timeout=30)
        # The marker came after the forgery on one partition: its metric was counted already.
        [letter] = await dead_letters(env, "irm", 1)

    assert header(letter, "dlq_reason") == "unknown_type"
    assert header(letter, "ce_type") == invented  # the dead letter keeps the real value
    assert _consumed("unknown", "dead_lettered") == before + 1
    labels = {
        s.labels["event_type"]
        for metric in REGISTRY.collect()
        if metric.name == "sharaka_events_consumed"
        for s in metric.samples
    }
    assert invented not in labels


async def test_a_tombstone_only_from_the_owner_of_its_topic(env: Env) -> None:
    """Consultation owns its contacts topic: a tombstone there stamped by plans is dead-lettered
    and the author stays known; the one consultation's own relay sends (``uow.forget``) erases."""
    contacts = env.topic(topics.CONSULTATION_CONTACTS)
    author = AuthorContactRegistered(
        input_id=uuid4(), round_id=uuid4(), plan_id=uuid4(), name="An author", email="author@example.org"
    )
    key = str(author.input_id).encode()
    notifications_settings = env.settings(NotificationsSettings, "notifications")
    consultation_settings = env.settings(ConsultationSettings, "consultation")
    async with (
        running(NOTIFICATIONS, notifications_settings) as notif,
        running(CONSULTATION, consultation_settings) as cons,
    ):

        async def known() -> int:
            got = await notif.pool.fetchval("SELECT count(*) FROM recipients WHERE id = $1", author.input_id)
            return int(got)

        await produce_in_order(env.kafka.bootstrap, [(contacts, as_record(author, service="consultation"))])
        await eventually(known, until=lambda n: n == 1, timeout=30)

        await produce_in_order(
            env.kafka.bootstrap, [(contacts, (key, None, [("ce_source", b"/sharaka/plans")]))]
        )
        [letter] = await dead_letters(env, "notifications", 1)
        assert await known() == 1

        async with cons.uow() as uow:
            uow.forget(topics.CONSULTATION_CONTACTS, str(author.input_id))
        await eventually(known, until=lambda n: n == 0, timeout=30)

    assert sources([letter]) == [("unexpected_source", "/sharaka/consultation", "/sharaka/plans", contacts)]
    stamped = await read_topic(
        env.kafka.bootstrap, contacts, until=lambda rs: sum(r.value is None for r in rs) >= 2
    )
    # The forged one and the relay's, which carries its owner's source.
    assert sorted(header(r, "ce_source") or "" for r in stamped if r.value is None) == [
        "/sharaka/consultation",
        "/sharaka/plans",
    ]
