"""The repositories the plans use cases see, and the service's unit of work. Postgres implements
them in :mod:`services.plans.store.postgres`; unit tests use the in-memory ones."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from services.plans.domain.commitments import Changes, Commitment
from services.plans.domain.documents import Document
from services.plans.domain.eligibility import EligibilityInput, EligibilityResult
from services.plans.domain.members import Member, StatusChange
from services.plans.domain.milestones import Milestone, ProgressReport
from services.plans.domain.plans import Contact, Plan
from shared.db import Row
from shared.events.plans import CommitmentState, PlanState
from shared.uow import EventSink


class Members(Protocol):
    async def get(self, member_id: UUID, *, for_update: bool = False) -> Member | None: ...
    async def add(self, member: Member) -> None: ...
    async def save_status(self, member: Member, change: StatusChange) -> None:
        """Store the member's new standing and the history row of the change."""

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


#: A row as a lookup or a scan returns it: column name → value.


class ImportLookups(Protocol):
    """What the spreadsheet imports need besides the use cases: the aggregates the spreadsheet
    names by its keys (``source_key``), the few columns the use cases do not set, and the
    imports' lock within a transaction."""

    async def lock(self) -> None:
        """Wait for any other import; held until this transaction ends."""

    async def members_by_key(self, keys: Sequence[str]) -> list[Row]:
        """``id, name, kind, country_code, region, source_key`` of the members with these keys."""

    async def lock_plans_by_key(self, keys: Sequence[str]) -> list[Row]:
        """``id, member_id, state, start_date, source_key`` of the plans with these keys, locked
        in id order."""

    async def lock_commitments_by_key(self, keys: Sequence[str]) -> list[Row]:
        """The commitments with these keys (their columns), locked in id order."""

    async def lock_plan_state(self, plan_id: UUID) -> str:
        """Lock the plan's row; its state."""

    async def unkeyed_members_named(self, name: str) -> list[Row]:
        """At most two members without a key whose name is ``name`` (case aside)."""

    async def adopt_member(self, member_id: UUID, source_key: str) -> bool:
        """Give a member without a key this one; False when it has one (meanwhile) already."""

    async def set_action_plan_number(self, plan_id: UUID, number: int) -> None: ...
    async def set_irm(self, blocks: Mapping[str, Any]) -> None:
        """Set the irm column of commitments: commitment id (as text) → its irm value."""

    async def milestones_named(self, ids: Sequence[UUID], keys: Sequence[tuple[str, int]]) -> list[Row]:
        """The milestones named by id (``key`` and ``number`` NULL) or by (commitment key,
        number): ``id, key, number``, for those that exist."""


class TimerScans(Protocol):
    """The timers' candidates: the occurrences due on ``today`` not emitted yet (``kind``, the
    timer_emissions kind), at most ``limit``, of the aggregates ``within`` (None: all). Each row
    has ``subject`` and ``occurrence`` (the timer_emissions key), ``aggregate`` (the row to lock)
    and the payload's columns."""

    async def overdue_milestones(
        self, today: date, limit: int, within: Sequence[UUID] | None, kind: str,
        plan_states: Sequence[PlanState],
    ) -> list[Row]: ...  # fmt: skip
    async def next_plans_overdue(
        self, today: date, limit: int, within: Sequence[UUID] | None, kind: str,
        plan_states: Sequence[PlanState], grace_months: int,
    ) -> list[Row]: ...  # fmt: skip
    async def stale_repositories(
        self, today: date, limit: int, within: Sequence[UUID] | None, kind: str,
        plan_states: Sequence[PlanState], min_updates: int,
    ) -> list[Row]: ...  # fmt: skip


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
