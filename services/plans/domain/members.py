"""Members of OGP (national and local governments, parliaments) and their standing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from shared.errors import RuleViolation
from shared.events.plans import MemberCreated, MemberKind, MemberStatus, MemberStatusChanged

MEMBER_TRANSITIONS: dict[MemberStatus, frozenset[MemberStatus]] = {
    MemberStatus.PARTICIPATING: frozenset(
        {
            MemberStatus.ACTED_CONTRARY_TO_PROCESS,
            MemberStatus.UNDER_PROCEDURAL_REVIEW,
            MemberStatus.INACTIVE,
            MemberStatus.WITHDRAWN,
        }
    ),
    MemberStatus.ACTED_CONTRARY_TO_PROCESS: frozenset(
        {
            MemberStatus.PARTICIPATING,
            MemberStatus.ACTED_CONTRARY_TO_PROCESS,
            MemberStatus.UNDER_PROCEDURAL_REVIEW,
            MemberStatus.INACTIVE,
            MemberStatus.WITHDRAWN,
        }
    ),
    MemberStatus.UNDER_PROCEDURAL_REVIEW: frozenset(
        {MemberStatus.PARTICIPATING, MemberStatus.INACTIVE, MemberStatus.WITHDRAWN}
    ),
    MemberStatus.INACTIVE: frozenset({MemberStatus.PARTICIPATING, MemberStatus.WITHDRAWN}),
    MemberStatus.WITHDRAWN: frozenset({MemberStatus.PARTICIPATING}),  # a member may rejoin
}


def check_member_transition(current: MemberStatus, target: MemberStatus) -> None:
    if target not in MEMBER_TRANSITIONS[current]:
        raise RuleViolation(
            "member.transition_not_allowed",
            f"a member {current.value} cannot become {target.value}",
        )  # a conflict with the member's standing (409), not a bad value


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One move of a member's standing, as its history keeps it."""

    member_id: UUID
    from_status: MemberStatus
    to_status: MemberStatus
    reason: str
    plan_id: UUID | None
    source: str
    changed_at: datetime
    changed_by: str

    def event(self) -> MemberStatusChanged:
        return MemberStatusChanged(
            member_id=self.member_id,
            from_status=self.from_status,
            to_status=self.to_status,
            reason=self.reason,
            plan_id=self.plan_id,
            changed_at=self.changed_at,
            source=self.source,
        )


@dataclass(slots=True)
class Member:
    id: UUID
    name: str
    kind: MemberKind
    country_code: str | None
    created_at: datetime
    region: str | None = None
    status: MemberStatus = MemberStatus.PARTICIPATING
    status_reason: str | None = None
    status_changed_at: datetime | None = None
    source_key: str | None = None

    @classmethod
    def create(
        cls,
        *,
        name: str,
        kind: MemberKind,
        country_code: str | None,
        region: str | None,
        now: datetime,
        source_key: str | None = None,
        id: UUID | None = None,
    ) -> tuple[Member, list[MemberCreated]]:
        member = cls(
            id=id or uuid4(),
            name=name,
            kind=kind,
            country_code=country_code,
            created_at=now,
            region=region,
            source_key=source_key,
        )
        created = MemberCreated(
            member_id=member.id, name=name, kind=kind, country_code=country_code, created_at=now
        )
        return member, [created]

    def change_status(
        self,
        target: MemberStatus,
        *,
        reason: str,
        source: str,
        by: str,
        now: datetime,
        plan_id: UUID | None = None,
    ) -> StatusChange:
        """Move the member's standing; the change is what the history keeps and the event says."""
        check_member_transition(self.status, target)
        change = StatusChange(self.id, self.status, target, reason, plan_id, source, now, by)
        self.status, self.status_reason, self.status_changed_at = target, reason, now
        return change

    def after_contrary_finding(self) -> MemberStatus | None:
        """The standing a finding of acting contrary to process leads to; None when nothing is to
        change (already under procedural review: the finding does not undo it)."""
        if self.status is MemberStatus.UNDER_PROCEDURAL_REVIEW:
            return None
        return MemberStatus.ACTED_CONTRARY_TO_PROCESS
