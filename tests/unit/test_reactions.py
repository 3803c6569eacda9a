"""The reaction registry: typed reactions by event type, several per type in registration order."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast
from uuid import uuid4

from shared.events.envelope import Envelope, decode
from shared.events.plans import PlanEnded, PlanSubmitted
from shared.reactions import Reactions


def _received(event: Any) -> Any:
    record = Envelope.wrap(event, service="plans").to_record()
    return decode(record.headers, record.value)


async def test_several_parts_react_to_one_event_in_order_and_others_are_not_called() -> None:
    on = Reactions[list[str]]()
    seen: list[str] = []

    @on.on(PlanSubmitted)
    async def first(uow: list[str], event: PlanSubmitted, _: Any) -> None:
        uow.append(f"first {event.title}")

    @on.on(PlanSubmitted)
    async def second(uow: list[str], event: PlanSubmitted, _: Any) -> None:
        uow.append(f"second {event.title}")

    @on.on(PlanEnded)
    async def ended(uow: list[str], event: PlanEnded, _: Any) -> None:
        uow.append("ended")

    submitted = PlanSubmitted(
        plan_id=uuid4(), member_id=uuid4(), title="Plan 2025", start_date=date(2025, 1, 1),
        end_date=date(2027, 1, 1), commitment_count=1, point_of_contact_id=uuid4(),
        submitted_at=datetime(2025, 2, 1, tzinfo=UTC),
    )  # fmt: skip
    assert PlanSubmitted in on and PlanEnded in on
    await on.handlers[PlanSubmitted](cast(Any, seen), _received(submitted))
    assert seen == ["first Plan 2025", "second Plan 2025"]


async def test_a_batch_reaction_takes_the_run_and_per_event_ones_each_event_in_registration_order() -> None:
    on = Reactions[list[str]]()

    @on.on(PlanSubmitted)
    async def one(uow: list[str], event: PlanSubmitted, _: Any) -> None:
        uow.append(f"one {event.title}")

    @on.on_batch(PlanSubmitted)
    async def many(uow: list[str], run: Any) -> None:
        uow.append("many " + ",".join(r.event.title for r in run))

    def plan(title: str) -> PlanSubmitted:
        return PlanSubmitted(
            plan_id=uuid4(), member_id=uuid4(), title=title, start_date=date(2025, 1, 1),
            end_date=date(2027, 1, 1), commitment_count=1, point_of_contact_id=uuid4(),
            submitted_at=datetime(2025, 2, 1, tzinfo=UTC),
        )  # fmt: skip

    dispatch = on.handlers[PlanSubmitted]
    seen: list[str] = []
    await cast(Any, dispatch).many(seen, [_received(plan("A")), _received(plan("B"))])
    assert seen == ["one A", "one B", "many A,B"]
    seen.clear()
    await dispatch(cast(Any, seen), _received(plan("C")))  # one at a time: a run of one
    assert seen == ["one C", "many C"]
