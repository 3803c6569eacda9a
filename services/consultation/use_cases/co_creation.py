"""A plan's co-creation space follows the plan: opened when the plan is created, given a space per
commitment, closed when the plan is submitted (rounds still open close, rounds not yet open are
cancelled, and the cycle's participation report is published for the IRM).

The plans service's events of one plan arrive in order; each use case is still safe to run again
for an event replayed from the dead-letter topic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.consultation.domain.rounds import CoCreationSpace, CommitmentSpace
from services.consultation.store import ConsultationUnitOfWork
from services.consultation.use_cases.reports import publish_report
from services.consultation.use_cases.rounds import close_round


@dataclass(frozen=True, slots=True)
class OpenCoCreation:
    plan_id: UUID
    member_id: UUID
    title: str
    opened_at: datetime


async def open_co_creation(uow: ConsultationUnitOfWork, cmd: OpenCoCreation) -> CoCreationSpace:
    """A new plan gets its space (announced once); a known one only takes the plan's new title."""
    space, events = CoCreationSpace.open(cmd.plan_id, cmd.member_id, cmd.title, cmd.opened_at)
    if await uow.spaces.add_or_retitle(space):
        for event in events:
            uow.publish(event)
    return space


async def add_commitment(uow: ConsultationUnitOfWork, cmd: CommitmentSpace) -> None:
    """A commitment of the plan gets a space to comment on."""
    await uow.commitments.add(cmd)


@dataclass(frozen=True, slots=True)
class CloseCoCreation:
    plan_id: UUID
    member_id: UUID
    title: str
    submitted_at: datetime
    min_cell: int


async def close_co_creation(uow: ConsultationUnitOfWork, cmd: CloseCoCreation) -> CoCreationSpace:
    """Submission closes co-creation: no more input on this plan's drafts."""
    known = await uow.spaces.get(cmd.plan_id, lock="update")
    space = known or CoCreationSpace(cmd.plan_id, cmd.member_id, cmd.title, "open")
    events = space.close(closed_at=datetime.now(UTC), submitted_at=cmd.submitted_at)
    if not events:
        return space  # a plan resubmitted after a refresh, or a replay: closed already
    await uow.spaces.save_closed(space)
    for rnd in await uow.rounds.to_close_for_plan(cmd.plan_id):
        await close_round(uow, rnd, reason="plan_submitted", min_cell=cmd.min_cell)
    for event in events:
        uow.publish(event)
    await publish_report(uow, min_cell=cmd.min_cell, plan_id=cmd.plan_id)
    return space
