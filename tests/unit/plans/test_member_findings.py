"""IRM findings about a member that is inactive or has withdrawn: its state machine refuses any
move but back to participating, yet the finding must be recorded, not dead-lettered (a reaction
that raises is retried, then parked on the dead-letter topic)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast
from uuid import uuid4

import pytest

from services.plans.reactions import reactions
from services.plans.use_cases import members
from services.plans.use_cases.members import IrmFinding
from shared.events.envelope import Envelope, decode
from shared.events.irm import ActedContraryToProcess, ProceduralReviewStarted
from shared.events.plans import MemberStatus
from shared.uow import UnitOfWork
from tests.fakes.plans import FakePlansUnitOfWork
from tests.unit.plans.conftest import member

AT = datetime(2026, 2, 1, tzinfo=UTC)
ACTED = ActedContraryToProcess.event_type


@pytest.mark.parametrize("status", [MemberStatus.INACTIVE, MemberStatus.WITHDRAWN])
async def test_a_finding_for_a_member_out_of_ogp_is_recorded_and_the_status_kept(
    status: MemberStatus,
) -> None:
    uow = FakePlansUnitOfWork()
    mid = await member(uow)
    await members.change_member_status(uow, members.ChangeMemberStatus(mid, status, "letter", by="staff-1"))
    uow.events.clear()
    plan_id = uuid4()

    noted = await members.record_contrary_finding(
        uow, IrmFinding(mid, "no_new_plan", ACTED, AT, plan_id=plan_id)
    )
    assert noted is not None
    assert (noted.from_status, noted.to_status, noted.reason, noted.plan_id, noted.source, noted.changed_by) == (
        status, status, "no_new_plan", plan_id, ACTED, "irm",
    )  # fmt: skip
    started = ProceduralReviewStarted.event_type
    review = await members.start_procedural_review(uow, IrmFinding(mid, "two cycles", started, AT))
    assert review is not None and review.to_status is status

    stored = await uow.members.get(mid)
    assert stored is not None and stored.status is status
    assert [(c.to_status, c.source) for c in uow.members.history[-2:]] == [(status, ACTED), (status, started)]
    assert uow.events == []  # the standing did not change: nothing to announce


async def test_the_reaction_does_not_fail_for_a_withdrawn_member() -> None:
    uow = FakePlansUnitOfWork()
    mid = await member(uow)
    await members.change_member_status(
        uow, members.ChangeMemberStatus(mid, MemberStatus.WITHDRAWN, "x", by="s")
    )
    event = ActedContraryToProcess(
        member_id=mid, reason="no_progress", found_at=AT, finding_id=uuid4(), cycle="c"
    )
    handler = reactions().handlers[ActedContraryToProcess]
    record = Envelope.wrap(event, service="irm").to_record()
    await handler(
        cast(UnitOfWork, uow), decode(record.headers, record.value)
    )  # in memory, the same interface
    stored = await uow.members.get(mid)
    assert stored is not None and stored.status is MemberStatus.WITHDRAWN
    assert uow.members.history[-1].reason == "no_progress"


async def test_a_member_back_in_ogp_takes_findings_as_before() -> None:
    uow = FakePlansUnitOfWork()
    mid = await member(uow)
    await members.change_member_status(
        uow, members.ChangeMemberStatus(mid, MemberStatus.INACTIVE, "x", by="s")
    )
    await members.change_member_status(
        uow, members.ChangeMemberStatus(mid, MemberStatus.PARTICIPATING, "y", by="s")
    )
    change = await members.record_contrary_finding(uow, IrmFinding(mid, "no_new_plan", ACTED, AT))
    assert change is not None and change.to_status is MemberStatus.ACTED_CONTRARY_TO_PROCESS


async def test_findings_with_a_clean_cycle_between_do_not_put_the_member_under_review_in_plans() -> None:
    uow = FakePlansUnitOfWork()
    mid = await member(uow)
    await members.record_contrary_finding(uow, IrmFinding(mid, "no_new_plan", ACTED, AT, plan_id=uuid4()))
    # a clean cycle in between: the IRM publishes no ProceduralReviewStarted
    change = await members.record_contrary_finding(
        uow, IrmFinding(mid, "no_new_plan", ACTED, AT, plan_id=uuid4())
    )
    assert change is not None and change.to_status is MemberStatus.ACTED_CONTRARY_TO_PROCESS
