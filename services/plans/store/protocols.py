"""The repositories the plans use cases see, and the service's unit of work. Postgres implements
them in :mod:`services.plans.store.postgres`; unit tests use the in-memory ones."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from services.plans.domain.commitments import Changes, Commitment, Milestone, ProgressReport
from services.plans.domain.documents import Document
from services.plans.domain.eligibility import EligibilityInput, EligibilityResult
from services.plans.domain.members import Member, StatusChange
from services.plans.domain.plans import Contact, Plan
from shared.events.plans import CommitmentState, MemberStatus
from shared.uow import EventSink


class Members(Protocol):
    async def get(self, member_id: UUID, *, for_update: bool = False) -> Member | None: ...
    async def add(self, member: Member) -> None: ...
    async def save_status(self, member: Member, change: StatusChange) -> None:
        """Store the member's new standing and the history row of the change."""

    async def last_status(self, member_id: UUID) -> MemberStatus | None:
        """The status the member's latest recorded change led to (None: never changed)."""

    async def save_eligibility(
        self, member_id: UUID, inputs: EligibilityInput, result: EligibilityResult, *, at: datetime, by: str
    ) -> None:
        """Store a year's score, replacing an earlier score of the same year."""


class Plans(Protocol):
    async def get(self, plan_id: UUID, *, for_update: bool = False) -> Plan | None:
        """With ``for_update`` the plan row is locked: every change to one plan (and so its
        events in the outbox) is serialised, which keeps a plan's events in order on Kafka."""

    async def add(self, plan: Plan, contact: Contact) -> None:
        """Store a new plan and its contact; sets ``plan.action_plan_number`` (the member's
        plans counted) and ``plan.updated_at``."""

    async def save_state(self, plan: Plan) -> None: ...
    async def member_of(self, plan_id: UUID) -> UUID | None: ...
    async def progress(self, plan_id: UUID) -> float:
        """Mean progress of the plan's commitments that count (withdrawn ones do not)."""


class Commitments(Protocol):
    async def get(self, commitment_id: UUID, *, for_update: bool = False) -> Commitment | None: ...
    async def of_plan(self, plan_id: UUID, states: Collection[CommitmentState]) -> list[Commitment]: ...
    async def add(self, commitment: Commitment, *, by: str) -> None:
        """Store a new commitment with the next number of its plan (set on ``commitment``, with
        what the database fills in) and its ``created`` history row."""

    async def save_changes(self, commitment: Commitment, changes: Changes, *, by: str, action: str) -> None:
        """Store the changed columns (``changes``' keys), the new version and the history row."""

    async def save_state(self, commitment: Commitment, history: Changes, *, by: str) -> None: ...
    async def set_progress(self, commitment_id: UUID, progress: float) -> None: ...
    async def save_self_assessment(
        self, commitment: Commitment, value: dict[str, Any], *, by: str
    ) -> None: ...
    async def add_irm_assessment(self, commitment_id: UUID, product: str, block: dict[str, Any]) -> None:
        """Set the commitment's IRM block for one IRM product (a commitment not here: nothing)."""


class Milestones(Protocol):
    async def get(self, milestone_id: UUID) -> Milestone | None: ...
    async def add(self, milestone: Milestone) -> None:
        """Store with the next number of its commitment (set on ``milestone``)."""

    async def of_commitment(self, commitment_id: UUID) -> list[Milestone]: ...
    async def save_report(self, milestone: Milestone, report: ProgressReport) -> None: ...


class Documents(Protocol):
    async def add(self, document: Document, *, once: bool = False) -> bool:
        """Store a document; with ``once`` a document whose id is already there is left as it
        is. True when it was stored now."""


#: Which aggregate a timer occurrence is about (the rows its batch locks).
Aggregate = Literal["plans", "members"]


class TimerEmissions(Protocol):
    async def lock(self, aggregate: Aggregate, ids: Sequence[UUID]) -> None:
        """Lock the aggregates' rows, in id order (two batches cannot deadlock)."""

    async def claim(self, kind: str, keys: Sequence[tuple[UUID, str]]) -> set[tuple[UUID, str]]:
        """Record occurrences as emitted; the (subject, occurrence) keys not recorded before."""


class PlansUnitOfWork(EventSink, Protocol):
    @property
    def members(self) -> Members: ...
    @property
    def plans(self) -> Plans: ...
    @property
    def commitments(self) -> Commitments: ...
    @property
    def milestones(self) -> Milestones: ...
    @property
    def documents(self) -> Documents: ...
    @property
    def timers(self) -> TimerEmissions: ...
