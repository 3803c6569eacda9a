"""``ConsultationClosingSoon``: once per open round, when it closes within the set days, with a
written-out clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from services.consultation.domain.rounds import days_left
from services.consultation.settings import ConsultationSettings
from services.consultation.use_cases import rounds
from shared.events.consultation import ConsultationClosingSoon, RoundState
from tests.fakes.consultation import FakeConsultationUnitOfWork
from tests.unit.consultation.helpers import scheduled_round, with_plan

CLOSES = datetime(2030, 3, 10, 12, 0, tzinfo=UTC)


async def round_closing_at(
    uow: FakeConsultationUnitOfWork, plan_id: UUID, closes_at: datetime, state: RoundState = RoundState.OPEN
) -> UUID:
    """A round in ``state`` with the given closing time (the clock is what the test says)."""
    rnd = await scheduled_round(uow, plan_id)
    stored = uow.tables.rounds[rnd.id]
    stored.opens_at, stored.closes_at, stored.state = closes_at - timedelta(days=20), closes_at, state
    return rnd.id


def at(now: datetime, days: int = 2, limit: int = 10) -> rounds.AnnounceClosingSoon:
    return rounds.AnnounceClosingSoon(limit, days, now)


async def test_announced_once_when_two_days_are_left() -> None:
    uow, plan_id, _ = with_plan()
    rid = await round_closing_at(uow, plan_id, CLOSES)

    assert await rounds.announce_closing_soon(uow, at(datetime(2030, 3, 8, 11, 59, tzinfo=UTC))) == 0
    assert uow.events == []
    now = datetime(2030, 3, 8, 12, 0, tzinfo=UTC)  # exactly two days before
    assert await rounds.announce_closing_soon(uow, at(now)) == 1
    [event] = uow.events
    assert isinstance(event, ConsultationClosingSoon)
    assert (event.round_id, event.plan_id, event.title, event.closes_at, event.days_left, event.detected_at) == (
        rid, plan_id, "Ideas", CLOSES, 2, now,
    )  # fmt: skip
    assert uow.tables.rounds[rid].closing_soon_at == now
    # Later passes, however close to the end: nothing more.
    for later in (now + timedelta(hours=1), datetime(2030, 3, 10, 11, 59, tzinfo=UTC)):
        assert await rounds.announce_closing_soon(uow, at(later)) == 0
    assert len(uow.events) == 1


async def test_only_open_rounds_that_still_take_input() -> None:
    uow, plan_id, _ = with_plan()
    now = datetime(2030, 3, 9, 12, 0, tzinfo=UTC)
    await round_closing_at(uow, plan_id, CLOSES, RoundState.SCHEDULED)
    await round_closing_at(uow, plan_id, CLOSES, RoundState.CLOSED)
    await round_closing_at(uow, plan_id, CLOSES, RoundState.CANCELLED)
    # Its time is up (the closing timer has not run yet): it is closing, not closing soon.
    await round_closing_at(uow, plan_id, now)
    await round_closing_at(uow, plan_id, now - timedelta(minutes=1))
    far = await round_closing_at(uow, plan_id, now + timedelta(days=2, seconds=1))
    soon = await round_closing_at(uow, plan_id, now + timedelta(seconds=1))
    assert await rounds.announce_closing_soon(uow, at(now)) == 1
    [event] = uow.of_type(ConsultationClosingSoon)
    assert event.round_id == soon and event.days_left == 1
    # With a longer notice, the far one is announced too.
    assert await rounds.announce_closing_soon(uow, at(now, days=3)) == 1
    last = uow.of_type(ConsultationClosingSoon)[-1]
    assert last.round_id == far and last.days_left == 3


async def test_batches_soonest_first() -> None:
    uow, plan_id, _ = with_plan()
    now = datetime(2030, 3, 9, 0, 0, tzinfo=UTC)
    ids = [await round_closing_at(uow, plan_id, now + timedelta(hours=h)) for h in (30, 10, 20)]
    assert await rounds.announce_closing_soon(uow, at(now, limit=2)) == 2
    assert [e.round_id for e in uow.of_type(ConsultationClosingSoon)] == [ids[1], ids[2]]
    assert await rounds.announce_closing_soon(uow, at(now, limit=2)) == 1
    assert await rounds.announce_closing_soon(uow, at(now, limit=2)) == 0
    assert [e.days_left for e in uow.of_type(ConsultationClosingSoon)] == [1, 1, 2]


@pytest.mark.parametrize(
    ("left", "days"),
    [
        (timedelta(seconds=1), 1),
        (timedelta(hours=24), 1),
        (timedelta(hours=24, seconds=1), 2),
        (timedelta(hours=47), 2),
        (timedelta(days=2), 2),
    ],
)
def test_days_left_count_up(left: timedelta, days: int) -> None:
    assert days_left(left) == days


def test_the_setting_and_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ConsultationSettings.model_fields["closing_soon_days"].default == 2
    monkeypatch.setenv("CONSULTATION_CLOSING_SOON_DAYS", "5")
    assert ConsultationSettings().closing_soon_days == 5
    monkeypatch.setenv("CONSULTATION_CLOSING_SOON_DAYS", "0")
    with pytest.raises(ValueError, match="closing_soon_days"):
        ConsultationSettings()
