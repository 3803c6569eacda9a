"""The idempotent consumer against the real broker and database: duplicates, poison messages,
a handler that always fails, and the partition moving on after each."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from services.irm.service import SPEC as IRM
from services.irm.settings import IrmSettings
from shared.events import topics
from shared.events.plans import PlanSubmitted
from tests.conftest import Env, running
from tests.helpers import (
    applies,
    as_record,
    caught_up,
    committed_offsets,
    consumed,
    eventually,
    fetchval,
    header,
    install_apply_probe,
    produce,
    read_topic,
    topic_size,
)


def submitted(plan_id: UUID | None = None, title: str = "Beneficial ownership") -> PlanSubmitted:
    return PlanSubmitted(
        plan_id=plan_id or uuid4(), member_id=uuid4(), title=title,
        start_date=date(2025, 9, 1), end_date=date(2027, 8, 31), commitment_count=4,
        point_of_contact_id=uuid4(), submitted_at=datetime(2025, 10, 31, 12, tzinfo=UTC),
    )  # fmt: skip


async def reviews_of(dsn: str, plan_id: UUID) -> int:
    return int(await fetchval(dsn, "SELECT count(*) FROM reviews WHERE plan_id = $1", plan_id))


def group(env: Env) -> str:
    return f"{env.prefix}sharaka-irm"


async def settled(env: Env) -> None:
    """Until the IRM's group has acknowledged everything on the plans topic: whatever was going
    to happen to those records (an apply, a retry, a dead letter) has happened."""
    await eventually(
        lambda: caught_up(env.kafka.bootstrap, group(env), [env.topic(topics.PLANS)]), timeout=30
    )


async def test_the_same_event_twice_in_one_batch_has_one_effect(env: Env) -> None:
    settings = env.settings(IrmSettings, "irm")
    ev = submitted()
    rec = as_record(ev)
    marker = submitted()
    async with running(IRM, settings):
        await install_apply_probe(settings.database_url)
        duplicates = consumed("duplicate")
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [rec, rec, as_record(marker)])
        await eventually(lambda: reviews_of(settings.database_url, marker.plan_id))
        await settled(env)
        assert consumed("duplicate") - duplicates == 1
    assert await applies(settings.database_url) == {ev.plan_id: 1, marker.plan_id: 1}
    assert await reviews_of(settings.database_url, ev.plan_id) == 1
    assert await fetchval(settings.database_url, "SELECT count(*) FROM inbox") == 2
    assert await topic_size(env.kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 0
    due = await fetchval(settings.database_url, "SELECT due_date FROM reviews WHERE plan_id=$1", ev.plan_id)
    assert due == date(2026, 2, 28)  # 31 Oct + 4 months, clamped


async def test_a_duplicate_in_a_later_batch_is_stopped_by_the_inbox(env: Env) -> None:
    """What a crash produces: the same event again after the first was applied and acknowledged,
    in a batch of its own, so no in-memory de-duplication of a batch can catch it; only the inbox
    table can. The effect counted (see ``APPLY_PROBE``) has no unique constraint to hide behind."""
    settings = env.settings(IrmSettings, "irm")
    ev = submitted()
    rec = as_record(ev)
    async with running(IRM, settings):
        await install_apply_probe(settings.database_url)
        duplicates, applied = consumed("duplicate"), consumed("applied")
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [rec])
        await settled(env)
        assert await applies(settings.database_url) == {ev.plan_id: 1}
        assert consumed("applied") - applied == 1
        assert await committed_offsets(env.kafka.bootstrap, group(env), env.topic(topics.PLANS)) == 1

        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [rec])  # a batch of its own
        await settled(env)
        assert await committed_offsets(env.kafka.bootstrap, group(env), env.topic(topics.PLANS)) == 2
        assert await applies(settings.database_url) == {ev.plan_id: 1}  # the effect, first
        assert consumed("duplicate") - duplicates == 1
        assert consumed("applied") - applied == 1
    assert await fetchval(settings.database_url, "SELECT count(*) FROM inbox") == 1
    assert await topic_size(env.kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 0


async def test_poison_goes_to_the_dead_letter_topic_and_the_partition_moves_on(env: Env) -> None:
    settings = env.settings(IrmSettings, "irm", consumer_max_attempts=3)
    key = str(uuid4()).encode()  # one key: every message below lands on the same partition
    _, good_value, good_headers = as_record(submitted())
    ce = dict(good_headers)

    def hdrs(**over: bytes) -> list[tuple[str, bytes]]:
        h = {**ce, "ce_id": str(uuid4()).encode(), **over}
        return list(h.items())

    schema_invalid = json.loads(good_value)
    schema_invalid["commitment_count"] = "lots"
    first = submitted()
    # Valid by its contract, but Postgres cannot store a NUL character: the handler always fails.
    duplicate_plan = submitted(title="Beneficial\x00ownership")
    last = submitted()
    poison = [
        (key, b"{this is not json", hdrs()),
        (key, good_value, hdrs(ce_type=b"ogp.plans.never_heard_of.v1")),
        (key, json.dumps(schema_invalid).encode(), hdrs()),
        (key, good_value, [("content-type", b"application/json")]),  # not a CloudEvent
    ]
    fr, dr, lr = as_record(first), as_record(duplicate_plan), as_record(last)
    async with running(IRM, settings):
        await produce(
            env.kafka.bootstrap,
            env.topic(topics.PLANS),
            [*poison, (key, fr[1], fr[2]), (key, dr[1], dr[2]), (key, lr[1], lr[2])],
        )
        await eventually(lambda: reviews_of(settings.database_url, last.plan_id), timeout=30)
        await settled(env)

    assert await reviews_of(settings.database_url, first.plan_id) == 1
    assert await topic_size(env.kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 5
    dlq = await read_topic(env.kafka.bootstrap, env.topic("sharaka.irm.dlq"), until=lambda r: len(r) >= 5)
    assert [header(r, "dlq_reason") for r in dlq] == [
        "invalid_json", "unknown_type", "schema_invalid", "missing_attribute", "handler_failed",
    ]  # fmt: skip
    source_offsets = [int(header(r, "dlq_source_offset") or -1) for r in dlq]
    assert source_offsets == sorted(source_offsets)
    assert all(header(r, "dlq_source_topic") == env.topic(topics.PLANS) for r in dlq)
    assert dlq[0].value == b"{this is not json"  # the original bytes, untouched
    assert "commitment_count" in (header(dlq[2], "dlq_detail") or "")
    assert header(dlq[4], "dlq_attempts") == "3"
    assert "CharacterNotInRepertoireError" in (header(dlq[4], "dlq_detail") or "")
    assert header(dlq[4], "ce_id") == dict(dr[2])["ce_id"].decode()


async def test_events_this_service_does_not_handle_are_skipped_not_dead_lettered(env: Env) -> None:
    from shared.events.plans import MemberCreated, MemberKind

    settings = env.settings(IrmSettings, "irm")
    other = MemberCreated(
        member_id=uuid4(), name="Ghana", kind=MemberKind.NATIONAL, created_at=datetime.now(UTC)
    )
    marker = submitted()
    async with running(IRM, settings):
        ignored = consumed("ignored")
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(other), as_record(marker)])
        await eventually(lambda: reviews_of(settings.database_url, marker.plan_id))
        await settled(env)  # both records acknowledged: nothing more can happen to them
        assert consumed("ignored") - ignored == 1
    assert await topic_size(env.kafka.bootstrap, env.topic("sharaka.irm.dlq")) == 0


async def test_dead_letters_can_be_listed_and_replayed_once_fixed(env: Env) -> None:
    from shared import dlq

    settings = env.settings(IrmSettings, "irm", consumer_max_attempts=2)
    first = submitted(title="blocked")
    async with running(IRM, settings):
        # A cause an operator can fix: a constraint the event breaks (a bad deployment, say).
        await fetchval(
            settings.database_url,
            "ALTER TABLE plans_seen ADD CONSTRAINT test_blocked CHECK (title IS DISTINCT FROM 'blocked')",
        )
        await produce(env.kafka.bootstrap, env.topic(topics.PLANS), [as_record(first)])
        await eventually(
            lambda: dlq.list_letters(env.kafka.bootstrap, "irm", env.prefix), until=lambda ls: len(ls) >= 1
        )
        await settled(env)  # the record is acknowledged: no second letter can follow
        letters = await dlq.list_letters(env.kafka.bootstrap, "irm", env.prefix)
        assert [d.reason for d in letters] == ["handler_failed"]
        assert letters[0].event_type == "ogp.plans.plan_submitted.v1"

        # The operator fixes the cause (here: drops the constraint), then replays.
        await fetchval(settings.database_url, "ALTER TABLE plans_seen DROP CONSTRAINT test_blocked")
        assert len(await dlq.replay(env.kafka.bootstrap, "irm", env.prefix)) == 1
        await eventually(lambda: reviews_of(settings.database_url, first.plan_id))
        assert await dlq.replay(env.kafka.bootstrap, "irm", env.prefix) == []  # replayed once only
