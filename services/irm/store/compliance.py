"""Compliance's repository: the facts other services' events gave (per plan and per member's
forum), the researcher's decisions per review and requirement, and the compliance a published
review fixed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from services.irm.domain.compliance import FORUM_KINDS, Compliance, Decision, Fact, FactKind, Requirement
from shared.events.irm import ComplianceStatus
from shared.uow import UnitOfWork

_FACT = "event_id, kind, subject_id, on_date, member_id, plan_id, figures"
_DECISION = "review_id, requirement, status, prefilled, reason, decided_by, decided_at"


class ComplianceStore(Protocol):
    async def keep(self, fact: Fact) -> bool:
        """Keep a fact; False when its event, or the same thing told before (same kind and
        subject), is kept already: a replay changes nothing."""

    async def facts(self, plan_id: UUID, member_id: UUID) -> list[Fact]:
        """The plan's facts and its member's forum's."""

    async def decisions(self, review_id: UUID) -> dict[Requirement, Decision]: ...

    async def decide(self, decision: Decision) -> None:
        """Store the decision, replacing the review's previous one for that requirement."""

    async def freeze(self, compliance: Compliance, *, assessed_at: datetime) -> None:
        """Keep the compliance a published review fixed (what the public reads from then on)."""

    async def completions(self, review_id: UUID) -> list[str | None]:
        """The completion the review coded for each commitment it assessed."""


def _fact(row: Any) -> Fact:
    figures = row["figures"]
    return Fact(
        event_id=row["event_id"],
        kind=FactKind(row["kind"]),
        subject_id=row["subject_id"],
        on=row["on_date"],
        member_id=row["member_id"],
        plan_id=row["plan_id"],
        figures=dict(figures or {}),
    )


def _decision(row: Any) -> Decision:
    return Decision(
        row["review_id"], Requirement(row["requirement"]), ComplianceStatus(row["status"]),
        ComplianceStatus(row["prefilled"]), row["reason"], row["decided_by"], row["decided_at"],
    )  # fmt: skip


class PgComplianceStore:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def keep(self, fact: Fact) -> bool:
        status = await self._conn.execute(
            f"""INSERT INTO compliance_facts ({_FACT}) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
                ON CONFLICT DO NOTHING""",  # noqa: S608  (constant column list, values bound)
            fact.event_id, fact.kind.value, fact.subject_id, fact.on, fact.member_id, fact.plan_id,
            json.loads(json.dumps(dict(fact.figures), default=str)),
        )  # fmt: skip
        return bool(status == "INSERT 0 1")

    async def facts(self, plan_id: UUID, member_id: UUID) -> list[Fact]:
        rows = await self._conn.fetch(
            f"""SELECT {_FACT} FROM compliance_facts
                WHERE plan_id = $1 OR (member_id = $2 AND kind = ANY($3::text[]))
                ORDER BY on_date, event_id""",  # noqa: S608
            plan_id, member_id, [k.value for k in FORUM_KINDS],
        )  # fmt: skip
        return [_fact(r) for r in rows]

    async def decisions(self, review_id: UUID) -> dict[Requirement, Decision]:
        rows = await self._conn.fetch(
            f"SELECT {_DECISION} FROM compliance_decisions WHERE review_id = $1",  # noqa: S608
            review_id,
        )
        return {d.requirement: d for d in map(_decision, rows)}

    async def decide(self, d: Decision) -> None:
        await self._conn.execute(
            f"""INSERT INTO compliance_decisions ({_DECISION}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (review_id, requirement) DO UPDATE SET
                    status = EXCLUDED.status, prefilled = EXCLUDED.prefilled, reason = EXCLUDED.reason,
                    decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at""",  # noqa: S608
            d.review_id, d.requirement.value, d.status.value, d.prefilled.value, d.reason, d.by, d.at,
        )  # fmt: skip

    async def freeze(self, compliance: Compliance, *, assessed_at: datetime) -> None:
        body = compliance.as_json()
        await self._conn.execute(
            """INSERT INTO compliance_assessments
                   (review_id, plan_id, member_id, product, as_of, minimum_met, requirements, assessed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
               ON CONFLICT (review_id) DO NOTHING""",
            compliance.review_id, compliance.plan_id, compliance.member_id, compliance.product.value,
            compliance.as_of, compliance.minimum_met, body["requirements"], assessed_at,
        )  # fmt: skip

    async def completions(self, review_id: UUID) -> list[str | None]:
        rows = await self._conn.fetch("SELECT completion FROM assessments WHERE review_id = $1", review_id)
        return [r["completion"] for r in rows]
