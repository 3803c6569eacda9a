"""The action plan: its state machine, its length, and what each state allows (writing
commitments, reporting progress, self-assessing). The :class:`Plan` aggregate applies them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID, uuid4

from dateutil.relativedelta import relativedelta

from shared.errors import Forbidden, RuleViolation
from shared.events.base import Event
from shared.events.plans import (
    CommitmentState,
    ContactRegistered,
    MemberKind,
    PlanCreated,
    PlanEnded,
    PlanImplementationStarted,
    PlanState,
    PlanStateChanged,
    PlanSubmitted,
    Strand,
)

#: The only moves a plan may make. ``submitted`` means published: the IRM clock starts then.
#: ``refreshing`` is the midway window of a 4-year plan (checked in :func:`check_transition`).
TRANSITIONS: dict[PlanState, frozenset[PlanState]] = {
    PlanState.DRAFT: frozenset({PlanState.CO_CREATION}),
    PlanState.CO_CREATION: frozenset({PlanState.SUBMITTED}),
    PlanState.SUBMITTED: frozenset({PlanState.IMPLEMENTING}),
    PlanState.IMPLEMENTING: frozenset({PlanState.REFRESHING, PlanState.ENDED}),
    PlanState.REFRESHING: frozenset({PlanState.IMPLEMENTING}),
    PlanState.ENDED: frozenset({PlanState.CLOSED}),
    PlanState.CLOSED: frozenset(),
}


def check_transition(
    current: PlanState,
    target: PlanState,
    *,
    commitment_count: int,
    length_years: int = 2,
    refreshed: bool = False,
) -> None:
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise RuleViolation(
            "plan.transition_not_allowed",
            f"a plan in state {current.value} cannot move to {target.value} (allowed: {allowed})",
        )
    if target is PlanState.SUBMITTED and commitment_count == 0:
        raise RuleViolation(
            "plan.submit_without_commitments", "a plan needs at least one commitment to be submitted"
        )
    if target is PlanState.REFRESHING:
        if length_years != 4:
            raise RuleViolation("plan.refresh_needs_four_years", "only 4-year plans may be refreshed")
        if refreshed:
            raise RuleViolation("plan.refresh_once", "a plan is refreshed once, midway")


#: Commitment states that follow from a plan transition (the commitments move with the plan).
CASCADE: dict[PlanState, tuple[frozenset[CommitmentState], CommitmentState]] = {
    PlanState.SUBMITTED: (
        frozenset({CommitmentState.DRAFTED, CommitmentState.IN_CONSULTATION}),
        CommitmentState.ADOPTED,
    ),
    PlanState.IMPLEMENTING: (frozenset({CommitmentState.ADOPTED}), CommitmentState.IMPLEMENTING),
    PlanState.ENDED: (frozenset({CommitmentState.IMPLEMENTING}), CommitmentState.ENDED),
}


def plan_length_years(kind: MemberKind, start: date, end: date, *, historic: bool = False) -> int:
    """National and parliamentary plans last 2 or 4 years (4 since 2022), give or take a quarter;
    local plans vary, so only the order of the dates is checked for them. A ``historic`` plan
    (imported from OGP's database) may last 1 to 4 years: OGP's early plans had 1 and 3."""
    if end <= start:
        raise RuleViolation("plan.dates_inverted", "end_date must be after start_date", "end_date")
    delta = relativedelta(end, start)
    months = delta.years * 12 + delta.months + (1 if delta.days >= 15 else 0)
    if kind is MemberKind.LOCAL:
        return max(1, round(months / 12))
    for years in (1, 2, 3, 4) if historic else (2, 4):
        if abs(months - years * 12) <= 3:
            return years
    raise RuleViolation(
        "plan.length", f"a {kind.value} plan lasts 2 or 4 years, not {months} months", "end_date"
    )


def editable_commitments(state: PlanState) -> bool:
    """Commitments are written during co-creation and revised in a 4-year plan's refresh."""
    return state in (PlanState.DRAFT, PlanState.CO_CREATION, PlanState.REFRESHING)


def progress_reportable(state: PlanState) -> bool:
    return state in (PlanState.SUBMITTED, PlanState.IMPLEMENTING, PlanState.REFRESHING, PlanState.ENDED)


#: The end-of-term self-assessment is open from implementation on.
SELF_ASSESSMENT_STATES = frozenset({PlanState.IMPLEMENTING, PlanState.REFRESHING, PlanState.ENDED})

#: The strand a plan gets when none is given, by the kind of its member.
DEFAULT_STRAND = {MemberKind.PARLIAMENT: Strand.OPEN_PARLIAMENT, MemberKind.LOCAL: Strand.LOCAL}


@dataclass(frozen=True, slots=True)
class Contact:
    """A plan's point of contact: personal data, kept by this service, never on a public topic."""

    id: UUID
    name: str
    email: str | None
    phone: str | None
    language: str = "en"

    def registered(self) -> ContactRegistered:
        return ContactRegistered(
            contact_id=self.id, name=self.name, email=self.email, phone=self.phone, language=self.language
        )


@dataclass(slots=True)
class Plan:
    """An action plan. ``commitment_count`` and ``progress`` are read with it (commitments that
    are not withdrawn); ``action_plan_number`` is given by the store when the plan is added."""

    id: UUID
    member_id: UUID
    title: str
    start_date: date
    end_date: date
    state: PlanState
    point_of_contact_id: UUID
    created_at: datetime
    updated_at: datetime
    length_years: int
    strands: list[Strand]
    action_plan_number: int | None = None
    submitted_at: datetime | None = None
    implementation_started_at: datetime | None = None
    refreshed_at: datetime | None = None
    ended_at: datetime | None = None
    closed_at: datetime | None = None
    commitment_count: int = 0
    progress: float = 0.0
    source_key: str | None = field(default=None, compare=False)

    @classmethod
    def create(
        cls,
        *,
        member_id: UUID,
        member_kind: MemberKind,
        title: str,
        start_date: date,
        end_date: date,
        contact: Contact,
        strands: list[Strand] | None,
        now: datetime,
        source_key: str | None = None,
        historic: bool = False,
    ) -> tuple[Plan, list[Event]]:
        """A new draft plan; its length follows from the dates and the member's kind."""
        length = plan_length_years(member_kind, start_date, end_date, historic=historic)
        plan = cls(
            id=uuid4(),
            member_id=member_id,
            title=title,
            start_date=start_date,
            end_date=end_date,
            state=PlanState.DRAFT,
            point_of_contact_id=contact.id,
            created_at=now,
            updated_at=now,
            length_years=length,
            strands=list(strands or [DEFAULT_STRAND.get(member_kind, Strand.OPEN_GOVERNMENT)]),
            source_key=source_key,
        )
        created = PlanCreated(
            plan_id=plan.id,
            member_id=member_id,
            title=title,
            start_date=start_date,
            end_date=end_date,
            point_of_contact_id=contact.id,
            created_at=now,
        )
        return plan, [contact.registered(), created]

    # --- what the state allows ------------------------------------------------------------

    def check_editor(self, acts_for_member: bool) -> None:
        if not acts_for_member:
            raise Forbidden(f"you may not edit the plans of member {self.member_id}")

    def check_commitments_open(self, what: str = "commitments") -> None:
        """New commitments (and milestones) are written while the plan's commitments are open."""
        if not editable_commitments(self.state):
            raise RuleViolation(
                "plan.commitments_frozen", f"{what} cannot be added to a plan in state {self.state.value}"
            )

    def check_progress_open(self) -> None:
        if not progress_reportable(self.state):
            raise RuleViolation(
                "plan.progress_not_open",
                f"progress is reported once the plan is submitted, not in {self.state.value}",
            )

    def check_self_assessment_open(self) -> None:
        if self.state not in SELF_ASSESSMENT_STATES:
            raise RuleViolation(
                "self_assessment.not_open", "the self-assessment is made at the end of the term"
            )

    # --- moves ----------------------------------------------------------------------------

    def transition(self, target: PlanState, *, by: str, now: datetime) -> list[Event]:
        """Move along the state machine. The first event is ``PlanStateChanged``; the others
        (``PlanSubmitted``, ``PlanImplementationStarted``, ``PlanEnded``) follow the commitments'
        own moves (:meth:`cascade`), in that order in the outbox."""
        check_transition(
            self.state,
            target,
            commitment_count=self.commitment_count,
            length_years=self.length_years,
            refreshed=self.refreshed_at is not None,
        )
        current = self.state
        self.state = target
        self.updated_at = now
        if target is PlanState.SUBMITTED:
            self.submitted_at = now
        elif target is PlanState.IMPLEMENTING:
            self.implementation_started_at = self.implementation_started_at or now
        elif target is PlanState.REFRESHING:
            self.refreshed_at = now
        elif target is PlanState.ENDED:
            self.ended_at = now
        elif target is PlanState.CLOSED:
            self.closed_at = now
        events: list[Event] = [
            PlanStateChanged(
                plan_id=self.id,
                member_id=self.member_id,
                from_state=current,
                to_state=target,
                changed_at=now,
                changed_by=by,
            )
        ]
        if target is PlanState.SUBMITTED:
            events.append(
                PlanSubmitted(
                    plan_id=self.id,
                    member_id=self.member_id,
                    title=self.title,
                    start_date=self.start_date,
                    end_date=self.end_date,
                    commitment_count=self.commitment_count,
                    point_of_contact_id=self.point_of_contact_id,
                    submitted_at=now,
                )
            )
        elif target is PlanState.IMPLEMENTING and current is PlanState.SUBMITTED:
            events.append(
                PlanImplementationStarted(plan_id=self.id, member_id=self.member_id, started_at=now)
            )
        elif target is PlanState.ENDED:
            events.append(
                PlanEnded(plan_id=self.id, member_id=self.member_id, end_date=self.end_date, ended_at=now)
            )
        return events

    def cascade(self) -> tuple[frozenset[CommitmentState], CommitmentState] | None:
        """The commitment states that follow the plan's current state: (from, to), or None."""
        return CASCADE.get(self.state)
