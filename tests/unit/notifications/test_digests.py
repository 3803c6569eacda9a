"""One digest per person and period, carrying what was held, against the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from services.notifications.domain.deliveries import DIGEST
from services.notifications.domain.recipients import DigestMode, Recipient
from services.notifications.domain.triggers import DigestItem
from services.notifications.use_cases import digests, sending
from shared.events.notifications import Channel
from tests.fakes.notifications import FakeNotificationsUnitOfWork

DUE = datetime(2025, 3, 2, 7, 0, tzinfo=UTC)  # 08:00 in Tunis
TUNIS = "Africa/Tunis"


async def _reader(uow: FakeNotificationsUnitOfWork, held: int, **kw: object) -> Recipient:
    values: dict[str, object] = {"email": "d@example.org", "digest": DigestMode.DAILY, "timezone": TUNIS,
                                 "confirmed_at": DUE, "next_digest_at": DUE} | kw  # fmt: skip
    r = Recipient(uuid4(), "Dina", **values)  # type: ignore[arg-type]
    await uow.recipients.save(r)
    await _hold(uow, r, held)
    return r


async def _hold(uow: FakeNotificationsUnitOfWork, r: Recipient, count: int) -> None:
    items = [
        DigestItem(
            r.id,
            uuid4(),
            "plan_submitted",
            {"plan_title": f"Plan {i}", "submitted_on": "2025-03-01"},
            DUE - timedelta(hours=i),
        )  # fmt: skip
        for i in range(count)
    ]
    assert await uow.deliveries.add_digest_items(items) == count


async def _make(uow: FakeNotificationsUnitOfWork, now: datetime = DUE) -> digests.DigestsMade:
    return await digests.make_digests(uow, digests.MakeDigests(now=now))


async def test_a_due_digest_carries_what_was_held_and_the_next_one_is_set() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _reader(uow, held=3)

    assert await _make(uow) == digests.DigestsMade(people=1, digests=1)

    [d] = uow.tables.deliveries.values()
    assert (d.template, d.channel, d.recipient_id, d.params) == (
        DIGEST, Channel.EMAIL, r.id, {"period": "daily", "period_name": "2025-03-02"},
    )  # fmt: skip
    assert all(h.delivery_id == d.id for h in uow.tables.held_for(r.id))
    assert uow.tables.recipients[r.id].next_digest_at == DUE + timedelta(days=1)
    [claim] = await sending.claim_due(uow, sending.ClaimDue(DUE, 10, timedelta(minutes=5)))
    assert [i.params["plan_title"] for i in claim.items] == ["Plan 2", "Plan 1", "Plan 0"]  # oldest first


async def test_a_period_has_one_digest_even_when_made_twice() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _reader(uow, held=2)
    await _make(uow)
    uow.tables.recipients[r.id].next_digest_at = DUE  # a restart, a second replica: the same morning
    await _hold(uow, r, 1)

    assert await _make(uow, DUE + timedelta(minutes=1)) == digests.DigestsMade(people=1, digests=0)

    assert len(uow.tables.deliveries) == 1
    assert [h.delivery_id is None for h in uow.tables.held_for(r.id)].count(True) == 1  # for the next one


async def test_nothing_held_makes_no_digest_but_moves_to_the_next_morning() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _reader(uow, held=0)
    assert await _make(uow) == digests.DigestsMade(people=1, digests=0)
    assert uow.tables.deliveries == {}
    assert uow.tables.recipients[r.id].next_digest_at == DUE + timedelta(days=1)


async def test_only_people_whose_digest_is_due_are_taken() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _reader(uow, held=1, next_digest_at=DUE + timedelta(seconds=1))
    await _reader(uow, held=1, next_digest_at=None, digest=DigestMode.IMMEDIATE)
    assert await _make(uow) == digests.DigestsMade(people=0, digests=0)


async def test_a_weekly_digest_is_named_by_its_iso_week_and_due_next_monday() -> None:
    uow = FakeNotificationsUnitOfWork()
    monday = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
    r = await _reader(uow, held=1, digest=DigestMode.WEEKLY, next_digest_at=monday)
    await _make(uow, monday)
    [d] = uow.tables.deliveries.values()
    assert d.params == {"period": "weekly", "period_name": "2025-W10"}
    assert uow.tables.recipients[r.id].next_digest_at == monday + timedelta(days=7)


async def test_going_back_to_immediate_flushes_what_was_held_once() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _reader(uow, held=2, digest=DigestMode.IMMEDIATE)  # choose_digest set next_digest_at to now
    assert await _make(uow) == digests.DigestsMade(people=1, digests=1)
    assert uow.tables.recipients[r.id].next_digest_at is None


async def test_a_phone_only_reader_gets_the_digest_by_sms() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _reader(uow, held=1, email=None, phone="+21620123456")
    await _make(uow)
    [d] = uow.tables.deliveries.values()
    assert d.channel is Channel.SMS


async def test_going_back_to_immediate_after_the_morning_digest_still_flushes() -> None:
    uow = FakeNotificationsUnitOfWork()
    r = await _reader(uow, held=1)
    await _make(uow)  # this morning's digest
    await _hold(uow, r, 1)  # something new before noon…
    noon = DUE + timedelta(hours=4)
    person = uow.tables.recipients[r.id]
    person.choose_digest(DigestMode.IMMEDIATE, noon)  # …then back to immediate messages
    await _make(uow, noon)
    assert all(h.delivery_id is not None for h in uow.tables.held_for(r.id)), "an item is held forever"


async def test_a_digest_goes_on_a_channel_the_reader_chose() -> None:
    uow = FakeNotificationsUnitOfWork()
    await _reader(uow, held=1, phone="+21620123456", channels=frozenset({Channel.SMS}))
    await _make(uow)
    [d] = uow.tables.deliveries.values()
    assert d.channel is Channel.SMS
