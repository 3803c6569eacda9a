"""Findings' repository: acting contrary to process, by member and cycle, and procedural reviews."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol
from uuid import UUID

from services.irm.domain.findings import Finding, FindingReason, KnownPlan, MemberRecord, ProceduralReview
from shared.uow import UnitOfWork

_PLAN = "plan_id, member_id, start_date, end_date, created_at, submitted_at, ended_at"
_FINDING = "id, member_id, plan_id, cycle, reason, found_at, source, previous_end_date"
_REVIEW = (
    "id, member_id, first_finding_id, second_finding_id, reason, started_at, lifted_at, lift_reason, "
    "lifted_by"
)


class Findings(Protocol):
    async def learn_plans(self, plans: Sequence[KnownPlan]) -> list[KnownPlan]:
        """Store what events say of plans, in order and in one statement, filling in only what
        was unknown (a replay changes nothing); each plan as now known, in the order given."""

    async def plan(self, plan_id: UUID) -> KnownPlan | None: ...

    async def record_of(self, member_id: UUID) -> MemberRecord:
        """The member's plans, findings and procedural reviews, locked for the rest of the unit
        of work (an empty record for a member never seen)."""

    async def lock_members_under_review(self, member_ids: Sequence[UUID]) -> set[UUID]:
        """Lock the members' findings for the rest of the unit of work (as :meth:`record_of`
        does; in id order, so two batches never wait on each other in a cycle) and say which
        have an open procedural review: cheap, where loading whole records grows with history."""

    async def member_of_review(self, review_id: UUID) -> UUID | None: ...

    async def add_finding(self, finding: Finding, *, recorded_by: str) -> None: ...
    async def add_review(self, review: ProceduralReview) -> None: ...
    async def save_review(self, review: ProceduralReview) -> None:
        """Store a review's lifting."""


class PgFindings:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def learn_plans(self, plans: Sequence[KnownPlan]) -> list[KnownPlan]:
        # The same plan twice in a run is merged first, as two upserts in a row would leave it
        # (one statement cannot update a row twice).
        merged: dict[UUID, KnownPlan] = {}
        for plan in plans:
            if plan.plan_id in merged:
                merged[plan.plan_id].learn(plan)
            else:
                merged[plan.plan_id] = replace(plan)
        ps = list(merged.values())
        rows = await self._conn.fetch(
            f"""INSERT INTO finding_plans ({_PLAN})
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::date[], $4::date[], $5::timestamptz[],
                                     $6::timestamptz[], $7::timestamptz[])
                ON CONFLICT (plan_id) DO UPDATE SET
                    start_date = COALESCE(finding_plans.start_date, EXCLUDED.start_date),
                    end_date = COALESCE(finding_plans.end_date, EXCLUDED.end_date),
                    created_at = COALESCE(finding_plans.created_at, EXCLUDED.created_at),
                    submitted_at = COALESCE(finding_plans.submitted_at, EXCLUDED.submitted_at),
                    ended_at = COALESCE(finding_plans.ended_at, EXCLUDED.ended_at)
                RETURNING {_PLAN}""",  # noqa: S608  (constant column list, values bound)
            [p.plan_id for p in ps], [p.member_id for p in ps], [p.start_date for p in ps],
            [p.end_date for p in ps], [p.created_at for p in ps], [p.submitted_at for p in ps],
            [p.ended_at for p in ps],
        )  # fmt: skip
        known = {r["plan_id"]: KnownPlan(**dict(r)) for r in rows}
        return [replace(known[p.plan_id]) for p in plans]

    async def plan(self, plan_id: UUID) -> KnownPlan | None:
        row = await self._conn.fetchrow(f"SELECT {_PLAN} FROM finding_plans WHERE plan_id = $1", plan_id)  # noqa: S608
        return KnownPlan(**dict(row)) if row else None

    async def _lock_member(self, member_id: UUID) -> None:
        # The member's lock row: every change to one member's findings is serialised.
        await self._conn.execute(
            """INSERT INTO finding_members (member_id) VALUES ($1)
               ON CONFLICT (member_id) DO UPDATE SET member_id = EXCLUDED.member_id""",
            member_id,
        )

    async def record_of(self, member_id: UUID) -> MemberRecord:
        await self._lock_member(member_id)
        plans = await self._conn.fetch(f"SELECT {_PLAN} FROM finding_plans WHERE member_id = $1", member_id)  # noqa: S608
        findings = await self._conn.fetch(
            f"SELECT {_FINDING} FROM process_findings WHERE member_id = $1 ORDER BY found_at, id",  # noqa: S608
            member_id,
        )
        reviews = await self._conn.fetch(
            f"SELECT {_REVIEW} FROM procedural_reviews WHERE member_id = $1 ORDER BY started_at, id",  # noqa: S608
            member_id,
        )
        return MemberRecord(
            member_id,
            [KnownPlan(**dict(r)) for r in plans],
            [Finding(**{**dict(r), "reason": FindingReason(r["reason"])}) for r in findings],
            [ProceduralReview(**dict(r)) for r in reviews],
        )

    async def lock_members_under_review(self, member_ids: Sequence[UUID]) -> set[UUID]:
        if not member_ids:
            return set()
        ids = sorted(set(member_ids))
        await self._conn.execute(
            """INSERT INTO finding_members (member_id) SELECT m FROM unnest($1::uuid[]) AS m ORDER BY m
               ON CONFLICT (member_id) DO UPDATE SET member_id = EXCLUDED.member_id""",
            ids,
        )
        # A statement of its own, after the locks: its snapshot sees every review committed
        # before they were granted.
        rows = await self._conn.fetch(
            """SELECT DISTINCT member_id FROM procedural_reviews
               WHERE member_id = ANY($1::uuid[]) AND lifted_at IS NULL""",
            ids,
        )
        return {r["member_id"] for r in rows}

    async def member_of_review(self, review_id: UUID) -> UUID | None:
        value = await self._conn.fetchval("SELECT member_id FROM procedural_reviews WHERE id = $1", review_id)
        return value if isinstance(value, UUID) else None

    async def add_finding(self, finding: Finding, *, recorded_by: str) -> None:
        await self._conn.execute(
            f"""INSERT INTO process_findings ({_FINDING}, recorded_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",  # noqa: S608
            finding.id, finding.member_id, finding.plan_id, finding.cycle, finding.reason.value,
            finding.found_at, finding.source, finding.previous_end_date, recorded_by,
        )  # fmt: skip

    async def add_review(self, review: ProceduralReview) -> None:
        await self._conn.execute(
            f"INSERT INTO procedural_reviews ({_REVIEW}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",  # noqa: S608
            review.id, review.member_id, review.first_finding_id, review.second_finding_id, review.reason,
            review.started_at, review.lifted_at, review.lift_reason, review.lifted_by,
        )  # fmt: skip

    async def save_review(self, review: ProceduralReview) -> None:
        await self._conn.execute(
            "UPDATE procedural_reviews SET lifted_at = $2, lift_reason = $3, lifted_by = $4 WHERE id = $1",
            review.id, review.lifted_at, review.lift_reason, review.lifted_by,
        )  # fmt: skip
