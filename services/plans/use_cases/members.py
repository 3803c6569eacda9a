"""Use cases on members: creation, standing (from staff or from IRM findings) and eligibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.plans.domain.eligibility import EligibilityInput, EligibilityResult, score
from services.plans.domain.members import Member, StatusChange
from services.plans.store.protocols import PlansUnitOfWork
from shared.errors import NotFound
from shared.events.plans import EligibilityScored, MemberKind, MemberStatus
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CreateMember:
    name: str
    kind: MemberKind
    country_code: str | None
    region: str | None = None
    source_key: str | None = None
    #: The importer names the member it creates (it refers to it before the batch commits).
    member_id: UUID | None = None
    now: datetime | None = None


async def create_member(uow: PlansUnitOfWork, cmd: CreateMember) -> Member:
    member, events = Member.create(
        name=cmd.name,
        kind=cmd.kind,
        country_code=cmd.country_code,
        region=cmd.region,
        now=cmd.now or datetime.now(UTC),
        source_key=cmd.source_key,
        id=cmd.member_id,
    )
    await uow.members.add(member)
    for event in events:
        uow.publish(event)
    return member


@dataclass(frozen=True, slots=True)
class ChangeMemberStatus:
    member_id: UUID
    status: MemberStatus
    reason: str
    by: str
    source: str = "staff"
    plan_id: UUID | None = None
    now: datetime | None = None


async def change_member_status(uow: PlansUnitOfWork, cmd: ChangeMemberStatus) -> StatusChange:
    """Move a member's standing, remember why, and say so. The member row is locked."""
    member = await uow.members.get(cmd.member_id, for_update=True)
    if member is None:
        raise NotFound(f"member {cmd.member_id}")
    return await _move(uow, member, cmd)


async def _move(uow: PlansUnitOfWork, member: Member, cmd: ChangeMemberStatus) -> StatusChange:
    change = member.change_status(
        cmd.status,
        reason=cmd.reason,
        source=cmd.source,
        by=cmd.by,
        now=cmd.now or datetime.now(UTC),
        plan_id=cmd.plan_id,
    )
    await uow.members.save_status(member, change)
    uow.publish(change.event())
    return change


@dataclass(frozen=True, slots=True)
class IrmFinding:
    """What the IRM found about a member, as its event says."""

    member_id: UUID
    reason: str
    source: str  # the event type
    at: datetime
    plan_id: UUID | None = None


#: A member that left OGP (or was made inactive) keeps that standing whatever the IRM finds.
_OUT = frozenset({MemberStatus.INACTIVE, MemberStatus.WITHDRAWN})


async def _note_while_out(uow: PlansUnitOfWork, member: Member, finding: IrmFinding) -> StatusChange:
    """An IRM finding about an inactive or withdrawn member: the state machine refuses the move,
    but the finding is not lost (nor dead-lettered): the member's history records it with the
    status kept, and nothing is published (the standing did not change)."""
    note = StatusChange(
        member.id, member.status, member.status, finding.reason, finding.plan_id, finding.source,
        finding.at, "irm",
    )  # fmt: skip
    await uow.members.save_status(member, note)
    log.info("IRM finding recorded for a member that is not participating", member_id=str(member.id),
             status=member.status.value, source=finding.source)  # fmt: skip
    return note


async def record_contrary_finding(uow: PlansUnitOfWork, finding: IrmFinding) -> StatusChange | None:
    """Acting contrary to process. Whether findings are in consecutive cycles (and so a
    procedural review) is the IRM's rule, counted by cycle; plans reflects its verdict from
    ``ProceduralReviewStarted`` and never infers it from the last status row. A member this
    deployment does not know is left alone (None), as is one already under review; one inactive
    or withdrawn keeps its status (:func:`_note_while_out`)."""
    member = await uow.members.get(finding.member_id, for_update=True)
    if member is None:
        return None
    if member.status in _OUT:
        return await _note_while_out(uow, member, finding)
    target = member.after_contrary_finding()
    if target is None:
        return None
    return await _move(uow, member, _by_irm(finding, target))


async def start_procedural_review(uow: PlansUnitOfWork, finding: IrmFinding) -> StatusChange | None:
    member = await uow.members.get(finding.member_id, for_update=True)
    if member is None or member.status is MemberStatus.UNDER_PROCEDURAL_REVIEW:
        return None
    if member.status in _OUT:
        return await _note_while_out(uow, member, finding)
    return await _move(uow, member, _by_irm(finding, MemberStatus.UNDER_PROCEDURAL_REVIEW))


async def lift_procedural_review(uow: PlansUnitOfWork, finding: IrmFinding) -> StatusChange | None:
    member = await uow.members.get(finding.member_id, for_update=True)
    if member is None or member.status is not MemberStatus.UNDER_PROCEDURAL_REVIEW:
        return None
    return await _move(uow, member, _by_irm(finding, MemberStatus.PARTICIPATING))


def _by_irm(finding: IrmFinding, target: MemberStatus) -> ChangeMemberStatus:
    return ChangeMemberStatus(
        finding.member_id, target, finding.reason, by="irm", source=finding.source, plan_id=finding.plan_id,
        now=finding.at,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ScoreEligibility:
    member_id: UUID
    inputs: EligibilityInput
    by: str


async def score_eligibility(uow: PlansUnitOfWork, cmd: ScoreEligibility) -> EligibilityResult:
    """Computed from the indicator values, never typed in; re-scoring a year replaces it."""
    inputs = cmd.inputs.model_copy(update={"member_id": cmd.member_id})
    result = score(inputs)
    now = datetime.now(UTC)
    if await uow.members.get(cmd.member_id) is None:
        raise NotFound(f"member {cmd.member_id}")
    await uow.members.save_eligibility(cmd.member_id, inputs, result, at=now, by=cmd.by)
    uow.publish(
        EligibilityScored(
            member_id=cmd.member_id,
            year=inputs.year,
            status=result.status.value,
            points=result.points_earned,
            possible=result.points_possible,
            percentage=result.percentage,
            values_check_applies=result.values_check.applies,
            values_check_passed=result.values_check.passed,
            rules_version=result.rules_version,
            scored_at=now,
        )
    )
    return result
