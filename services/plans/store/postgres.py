"""The plans repositories on Postgres: the only write-side SQL of the service."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

from services.plans.domain.commitments import WRITABLE, Changes, Commitment
from services.plans.domain.documents import Document
from services.plans.domain.eligibility import EligibilityInput, EligibilityResult, result_json
from services.plans.domain.members import Member, StatusChange
from services.plans.domain.milestones import Milestone, ProgressReport
from services.plans.domain.plans import Contact, Plan
from services.plans.store.columns import COMMITMENT_COLUMNS, MEMBER_COLUMNS, MILESTONE_COLUMNS, PLAN_COLUMNS
from services.plans.store.imports import PgImportLookups
from services.plans.store.protocols import Aggregate
from services.plans.store.timers import PgTimerScans
from shared.events.plans import CommitmentState, MemberKind, MemberStatus, MilestoneStatus, PlanState, Strand
from shared.uow import UnitOfWork

#: A connection, or the pool for a single read.
Conn: TypeAlias = "asyncpg.Pool | asyncpg.Connection | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"


def _member(r: asyncpg.Record) -> Member:
    return Member(
        id=r["id"],
        name=r["name"],
        kind=MemberKind(r["kind"]),
        country_code=r["country_code"],
        created_at=r["created_at"],
        region=r["region"],
        status=MemberStatus(r["status"]),
        status_reason=r["status_reason"],
        status_changed_at=r["status_changed_at"],
    )


def _plan(r: asyncpg.Record) -> Plan:
    return Plan(
        id=r["id"],
        member_id=r["member_id"],
        title=r["title"],
        start_date=r["start_date"],
        end_date=r["end_date"],
        state=PlanState(r["state"]),
        point_of_contact_id=r["point_of_contact_id"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        length_years=r["length_years"],
        strands=[Strand(s) for s in r["strands"]],
        action_plan_number=r["action_plan_number"],
        submitted_at=r["submitted_at"],
        implementation_started_at=r["implementation_started_at"],
        refreshed_at=r["refreshed_at"],
        ended_at=r["ended_at"],
        closed_at=r["closed_at"],
        commitment_count=r["commitment_count"],
        progress=float(r["progress"]),
    )


def _commitment(r: asyncpg.Record) -> Commitment:
    values = dict(r)
    values["state"] = CommitmentState(values["state"])
    values["progress"] = float(values["progress"])
    if values["budget_amount"] is not None:
        values["budget_amount"] = float(values["budget_amount"])
    values["irm"] = values["irm"] or {}
    values["source_data"] = values["source_data"] or {}
    return Commitment(**values)


def _milestone(r: asyncpg.Record) -> Milestone:
    values = dict(r)
    values["status"] = MilestoneStatus(values["status"])
    values["weight"] = float(values["weight"])
    return Milestone(**values)


_HISTORY = """INSERT INTO commitment_history (commitment_id, plan_id, by, action, changes, version)
              VALUES ($1, $2, $3, $4, $5, $6)"""


class PgMembers:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def get(self, member_id: UUID, *, for_update: bool = False) -> Member | None:
        lock = " FOR UPDATE" if for_update else ""
        r = await self._conn.fetchrow(f"SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1{lock}", member_id)  # noqa: S608
        return _member(r) if r else None

    async def add(self, member: Member) -> None:
        await self._conn.execute(
            """INSERT INTO members (id, name, kind, country_code, created_at, region, source_key)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            member.id, member.name, member.kind.value, member.country_code, member.created_at,
            member.region, member.source_key,
        )  # fmt: skip

    async def save_status(self, member: Member, change: StatusChange) -> None:
        # One round trip: the member's row and its history row.
        await self._conn.execute(
            """WITH m AS (UPDATE members SET status = $3, status_reason = $4, status_changed_at = $7
                          WHERE id = $1 RETURNING id)
               INSERT INTO member_status_history
                   (member_id, from_status, to_status, reason, plan_id, source, changed_at, changed_by)
               SELECT m.id, $2::text, $3::text, $4::text, $5::uuid, $6::text, $7::timestamptz, $8::text
               FROM m""",
            member.id, change.from_status.value, change.to_status.value, change.reason, change.plan_id,
            change.source, change.changed_at, change.changed_by,
        )  # fmt: skip

    async def save_eligibility(
        self, member_id: UUID, inputs: EligibilityInput, result: EligibilityResult, *, at: datetime, by: str
    ) -> None:
        await self._conn.execute(
            """INSERT INTO eligibility_scores (member_id, year, inputs, result, status, percentage,
                                               rules_version, computed_at, computed_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (member_id, year) DO UPDATE SET inputs = EXCLUDED.inputs,
                   result = EXCLUDED.result, status = EXCLUDED.status,
                   percentage = EXCLUDED.percentage, rules_version = EXCLUDED.rules_version,
                   computed_at = EXCLUDED.computed_at, computed_by = EXCLUDED.computed_by""",
            member_id, inputs.year, inputs.model_dump(mode="json"), result_json(result),
            result.status.value, result.percentage, result.rules_version, at, by,
        )  # fmt: skip


class PgPlans:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def get(self, plan_id: UUID, *, for_update: bool = False) -> Plan | None:
        lock = " FOR UPDATE OF p" if for_update else ""
        r = await self._conn.fetchrow(f"SELECT {PLAN_COLUMNS} FROM plans p WHERE p.id = $1{lock}", plan_id)  # noqa: S608
        return _plan(r) if r else None

    async def add(self, plan: Plan, contact: Contact) -> None:
        # One round trip: the contact, and the plan numbered among its member's plans.
        r = await self._conn.fetchrow(
            """WITH c AS (INSERT INTO contacts (id, name, email, phone, language)
                          VALUES ($7, $8, $9, $10, $11) RETURNING id)
               INSERT INTO plans (id, member_id, title, start_date, end_date, state, point_of_contact_id,
                                  created_at, length_years, strands, source_key, action_plan_number)
               VALUES ($1, $2, $3, $4, $5, 'draft', (SELECT id FROM c), $6, $12, $13, $14,
                       (SELECT count(*) + 1 FROM plans WHERE member_id = $2))
               RETURNING action_plan_number, updated_at""",
            plan.id, plan.member_id, plan.title, plan.start_date, plan.end_date, plan.created_at,
            contact.id, contact.name, contact.email, contact.phone, contact.language,
            plan.length_years, [s.value for s in plan.strands], plan.source_key,
        )  # fmt: skip
        assert r is not None
        plan.action_plan_number, plan.updated_at = r["action_plan_number"], r["updated_at"]

    async def save_state(self, plan: Plan) -> None:
        await self._conn.execute(
            """UPDATE plans SET state = $2, updated_at = $3, submitted_at = $4,
                   implementation_started_at = $5, refreshed_at = $6, ended_at = $7, closed_at = $8
               WHERE id = $1""",
            plan.id, plan.state.value, plan.updated_at, plan.submitted_at, plan.implementation_started_at,
            plan.refreshed_at, plan.ended_at, plan.closed_at,
        )  # fmt: skip

    async def member_of(self, plan_id: UUID) -> UUID | None:
        member_id: UUID | None = await self._conn.fetchval(
            "SELECT member_id FROM plans WHERE id = $1", plan_id
        )
        return member_id

    async def progress(self, plan_id: UUID) -> float:
        value = await self._conn.fetchval(
            "SELECT round(avg(progress), 1) FROM commitments WHERE plan_id = $1 AND state <> 'withdrawn'",
            plan_id,
        )
        return float(value or 0)


class PgCommitments:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def get(self, commitment_id: UUID, *, for_update: bool = False) -> Commitment | None:
        lock = " FOR UPDATE" if for_update else ""
        r = await self._conn.fetchrow(
            f"SELECT {COMMITMENT_COLUMNS} FROM commitments c WHERE c.id = $1{lock}",  # noqa: S608
            commitment_id,
        )
        return _commitment(r) if r else None

    async def of_plan(self, plan_id: UUID, states: Collection[CommitmentState]) -> list[Commitment]:
        rows = await self._conn.fetch(
            f"""SELECT {COMMITMENT_COLUMNS} FROM commitments c
                WHERE c.plan_id = $1 AND c.state = ANY($2::text[]) ORDER BY c.number""",  # noqa: S608
            plan_id,
            [s.value for s in states],
        )
        return [_commitment(r) for r in rows]

    async def add(self, commitment: Commitment, *, by: str) -> None:
        # Hot path (every commitment written): the number is allocated under the plan's lock,
        # which the use case holds; the row comes back as stored.
        c = commitment
        cols = ["id", "plan_id", "member_id", "state", *WRITABLE, "source_key"]
        placeholders = ", ".join(f"${i}" for i in range(3, len(cols) + 1))
        r = await self._conn.fetchrow(
            f"""INSERT INTO commitments (number, {", ".join(cols)})
                VALUES ((SELECT coalesce(max(number), 0) + 1 FROM commitments WHERE plan_id = $1),
                        $2, $1, {placeholders})
                RETURNING {COMMITMENT_COLUMNS.replace("c.", "")}""",  # noqa: S608  (constant columns)
            c.plan_id, c.id, c.member_id, c.state.value, *(getattr(c, k) for k in WRITABLE), c.source_key,
        )  # fmt: skip
        assert r is not None
        stored = _commitment(r)
        for name in ("number", "version", "created_at", "updated_at", "progress", "irm", "budget_amount"):
            setattr(c, name, getattr(stored, name))
        await self._conn.execute(_HISTORY, c.id, c.plan_id, by, "created", c.created_history(), c.version)

    async def save_changes(self, commitment: Commitment, changes: Changes, *, by: str, action: str) -> None:
        c = commitment
        names = list(changes)
        sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(names, start=5))
        await self._conn.execute(
            f"""WITH u AS (UPDATE commitments SET {sets}, version = version + 1, updated_at = now()
                           WHERE id = $1 RETURNING id, plan_id, version)
                INSERT INTO commitment_history (commitment_id, plan_id, by, action, changes, version)
                SELECT u.id, u.plan_id, $2::text, $3::text, $4::jsonb, u.version FROM u""",  # noqa: S608  (column names are the aggregate's)
            c.id, by, action, changes, *(getattr(c, k) for k in names),
        )  # fmt: skip

    async def save_state(self, commitment: Commitment, history: Changes, *, by: str) -> None:
        await self._conn.execute(
            """WITH u AS (UPDATE commitments SET state = $2, version = version + 1, updated_at = now()
                          WHERE id = $1 RETURNING id, plan_id, version)
               INSERT INTO commitment_history (commitment_id, plan_id, by, action, changes, version)
               SELECT u.id, u.plan_id, $3::text, 'state_changed', $4::jsonb, u.version FROM u""",
            commitment.id, commitment.state.value, by, history,
        )  # fmt: skip

    async def set_progress(self, commitment_id: UUID, progress: float) -> None:
        await self._conn.execute(
            "UPDATE commitments SET progress = $2 WHERE id = $1", commitment_id, progress
        )

    async def save_self_assessment(self, commitment: Commitment, value: dict[str, Any], *, by: str) -> None:
        c = commitment
        await self._conn.execute(
            "UPDATE commitments SET self_assessment = $2, updated_at = now() WHERE id = $1", c.id, value
        )
        await self._conn.execute(
            _HISTORY, c.id, c.plan_id, by, "self_assessed", {"self_assessment": value}, c.version
        )

    async def add_irm_assessment(self, commitment_id: UUID, product: str, block: dict[str, Any]) -> None:
        await self._conn.execute(
            """UPDATE commitments SET irm = irm || jsonb_build_object($2::text, $3::jsonb), updated_at = now()
               WHERE id = $1""",
            commitment_id,
            product,
            block,
        )


class PgMilestones:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def get(self, milestone_id: UUID) -> Milestone | None:
        r = await self._conn.fetchrow(
            f"SELECT {MILESTONE_COLUMNS} FROM milestones m WHERE m.id = $1",  # noqa: S608
            milestone_id,
        )
        return _milestone(r) if r else None

    async def add(self, milestone: Milestone) -> None:
        m = milestone
        r = await self._conn.fetchrow(
            f"""INSERT INTO milestones (id, commitment_id, plan_id, number, texts, start_date, end_date,
                                       responsible, weight)
                VALUES ($1, $2, $3,
                        (SELECT coalesce(max(number), 0) + 1 FROM milestones WHERE commitment_id = $2),
                        $4, $5, $6, $7, $8)
                RETURNING {MILESTONE_COLUMNS.replace("m.", "")}""",  # noqa: S608
            m.id, m.commitment_id, m.plan_id, m.texts, m.start_date, m.end_date, m.responsible, m.weight,
        )  # fmt: skip
        assert r is not None
        stored = _milestone(r)
        m.number, m.created_at, m.updated_at = stored.number, stored.created_at, stored.updated_at

    async def of_commitment(self, commitment_id: UUID) -> list[Milestone]:
        rows = await self._conn.fetch(
            f"SELECT {MILESTONE_COLUMNS} FROM milestones m WHERE m.commitment_id = $1 ORDER BY m.number",  # noqa: S608
            commitment_id,
        )
        return [_milestone(r) for r in rows]

    async def save_report(self, milestone: Milestone, report: ProgressReport) -> None:
        m = milestone
        await self._conn.execute(
            """WITH u AS (UPDATE milestones SET status = $2, progress = $3, end_date = $4, updated_at = $5,
                              completed_at = $6
                          WHERE id = $1 RETURNING id)
               INSERT INTO milestone_updates (milestone_id, by, status, progress, note, evidence)
               SELECT u.id, $7::text, $2::text, $3::integer, $8::text, $9::jsonb FROM u""",
            m.id, m.status.value, m.progress, m.end_date, report.at, m.completed_at, report.by, report.note,
            [e.model_dump() for e in report.evidence],
        )  # fmt: skip


class PgDocuments:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def add(self, document: Document, *, once: bool = False) -> bool:
        d = document
        conflict = " ON CONFLICT (id) DO NOTHING" if once else ""
        inserted = await self._conn.fetchval(
            f"""INSERT INTO documents (id, plan_id, member_id, type, title, url, language, published_on,
                                       created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9){conflict}
                RETURNING id""",  # noqa: S608
            d.id, d.plan_id, d.member_id, d.type.value, d.title, d.url, d.language.value, d.published_on,
            d.created_by,
        )  # fmt: skip
        return inserted is not None


# Locked in id order, so two transactions locking several rows cannot deadlock on each other.
# For members, FOR UPDATE (not NO KEY UPDATE) also waits for a plan being inserted for the
# member (its foreign key holds KEY SHARE on the member), so a re-check sees that new plan.
_LOCKS: dict[Aggregate, str] = {
    "plans": "SELECT id FROM plans WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
    "members": "SELECT id FROM members WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
}


class PgTimerEmissions:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def lock(self, aggregate: Aggregate, ids: Sequence[UUID]) -> None:
        await self._conn.execute(_LOCKS[aggregate], list(ids))

    async def claim(self, kind: str, keys: Sequence[tuple[UUID, str]]) -> set[tuple[UUID, str]]:
        rows = await self._conn.fetch(
            """INSERT INTO timer_emissions (kind, subject, occurrence)
               SELECT $1, s, o FROM unnest($2::uuid[], $3::text[]) AS t(s, o)
               ON CONFLICT DO NOTHING
               RETURNING subject, occurrence""",
            kind,
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        return {(r["subject"], r["occurrence"]) for r in rows}


@dataclass
class PgPlansUnitOfWork(UnitOfWork):
    """The plans service's unit of work: one transaction, its repositories and its outbox; for
    the timers and the imports, their scans and lookups too (no use case needs them)."""

    members: PgMembers = field(init=False)
    plans: PgPlans = field(init=False)
    commitments: PgCommitments = field(init=False)
    milestones: PgMilestones = field(init=False)
    documents: PgDocuments = field(init=False)
    timers: PgTimerEmissions = field(init=False)
    timer_scans: PgTimerScans = field(init=False)
    imports: PgImportLookups = field(init=False)

    def __post_init__(self) -> None:
        self.members = PgMembers(self.conn)
        self.plans = PgPlans(self.conn)
        self.commitments = PgCommitments(self.conn)
        self.milestones = PgMilestones(self.conn)
        self.documents = PgDocuments(self.conn)
        self.timers = PgTimerEmissions(self.conn)
        self.timer_scans = PgTimerScans(self.conn)
        self.imports = PgImportLookups(self.conn)
