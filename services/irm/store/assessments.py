"""Assessments' repository: commitments as the IRM knows them and their coding on versioned scales."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from services.irm.domain.assessments import Assessment, KnownCommitment
from shared.events.irm import Relevance, ReviewKind
from shared.scales import (
    Completion,
    DidItOpenGovernment,
    EarlyResults,
    PotentialForResults,
    PotentialImpact,
    ScaleVersion,
    Specificity,
)
from shared.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class CommitmentFacts:
    """Who a commitment is (from CommitmentAdded / CommitmentUpdated), as of ``at``."""

    commitment_id: UUID
    plan_id: UUID
    member_id: UUID
    number: int
    title: str
    at: datetime


class Assessments(Protocol):
    async def commitment(self, commitment_id: UUID) -> KnownCommitment | None: ...

    async def learn_commitment(self, facts: CommitmentFacts) -> None:
        """Keep the commitment's number and title unless newer ones are kept already."""

    async def record_withdrawal(self, facts: CommitmentFacts, reason: str) -> None: ...

    async def record_self_assessment(
        self, commitment_id: UUID, plan_id: UUID, member_id: UUID, completion: Completion, at: datetime
    ) -> None:
        """Keep the self-assessment unless a newer one is kept already."""

    async def record_progress(
        self, commitment_id: UUID, plan_id: UUID, member_id: UUID, progress: float, at: datetime
    ) -> None:
        """Keep the rolled-up progress unless a newer one is kept already."""

    async def get(
        self, review_id: UUID, commitment_id: UUID, *, for_update: bool = False
    ) -> Assessment | None: ...

    async def save(self, assessment: Assessment) -> None: ...


_ASSESSMENT = """review_id, plan_id, member_id, commitment_id, product, scale_version, verifiable,
    specificity, relevance, potential_for_results, potential_impact, promising, completion,
    completion_prefilled, completion_reason, early_results, did_it_open_government, report_year,
    assessed_at, assessed_by"""


def _enum(kind: Any, value: str | None) -> Any:
    return None if value is None else kind(value)


def assessment_of(row: Any) -> Assessment:
    return Assessment(
        review_id=row["review_id"],
        plan_id=row["plan_id"],
        member_id=row["member_id"],
        commitment_id=row["commitment_id"],
        product=ReviewKind(row["product"]),
        scale_version=ScaleVersion(row["scale_version"]),
        verifiable=row["verifiable"],
        specificity=_enum(Specificity, row["specificity"]),
        relevance=Relevance(**row["relevance"]),
        potential_for_results=_enum(PotentialForResults, row["potential_for_results"]),
        potential_impact=_enum(PotentialImpact, row["potential_impact"]),
        promising=row["promising"],
        completion=_enum(Completion, row["completion"]),
        completion_prefilled=_enum(Completion, row["completion_prefilled"]),
        completion_reason=row["completion_reason"],
        early_results=_enum(EarlyResults, row["early_results"]),
        did_it_open_government=_enum(DidItOpenGovernment, row["did_it_open_government"]),
        report_year=row["report_year"],
        assessed_at=row["assessed_at"],
        assessed_by=row["assessed_by"],
    )


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


class PgAssessments:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def commitment(self, commitment_id: UUID) -> KnownCommitment | None:
        row = await self._conn.fetchrow(
            """SELECT commitment_id, plan_id, member_id, number, title, withdrawn, self_assessed, progress
               FROM irm_commitments WHERE commitment_id = $1""",
            commitment_id,
        )
        if row is None:
            return None
        return KnownCommitment(**{**dict(row), "self_assessed": _enum(Completion, row["self_assessed"])})

    async def learn_commitment(self, facts: CommitmentFacts) -> None:
        await self._conn.execute(
            """INSERT INTO irm_commitments (commitment_id, plan_id, member_id, number, title, details_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (commitment_id) DO UPDATE
               SET number = EXCLUDED.number, title = EXCLUDED.title, details_at = EXCLUDED.details_at
               WHERE irm_commitments.details_at IS NULL
                  OR irm_commitments.details_at <= EXCLUDED.details_at""",
            facts.commitment_id, facts.plan_id, facts.member_id, facts.number, facts.title, facts.at,
        )  # fmt: skip

    async def record_withdrawal(self, facts: CommitmentFacts, reason: str) -> None:
        await self.learn_commitment(facts)
        await self._conn.execute(
            """UPDATE irm_commitments SET withdrawn = true, withdrawal_reason = $2, withdrawn_at = $3
               WHERE commitment_id = $1 AND (withdrawn_at IS NULL OR withdrawn_at <= $3)""",
            facts.commitment_id, reason, facts.at,
        )  # fmt: skip

    async def record_self_assessment(
        self, commitment_id: UUID, plan_id: UUID, member_id: UUID, completion: Completion, at: datetime
    ) -> None:
        await self._conn.execute(
            """INSERT INTO irm_commitments
                 (commitment_id, plan_id, member_id, self_assessed, self_assessed_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (commitment_id) DO UPDATE
               SET self_assessed = EXCLUDED.self_assessed, self_assessed_at = EXCLUDED.self_assessed_at
               WHERE irm_commitments.self_assessed_at IS NULL
                  OR irm_commitments.self_assessed_at <= EXCLUDED.self_assessed_at""",
            commitment_id, plan_id, member_id, completion.value, at,
        )  # fmt: skip

    async def record_progress(
        self, commitment_id: UUID, plan_id: UUID, member_id: UUID, progress: float, at: datetime
    ) -> None:
        await self._conn.execute(
            """INSERT INTO irm_commitments (commitment_id, plan_id, member_id, progress, progress_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (commitment_id) DO UPDATE
               SET progress = EXCLUDED.progress, progress_at = EXCLUDED.progress_at
               WHERE irm_commitments.progress_at IS NULL
                  OR irm_commitments.progress_at <= EXCLUDED.progress_at""",
            commitment_id, plan_id, member_id, progress, at,
        )  # fmt: skip

    async def get(
        self, review_id: UUID, commitment_id: UUID, *, for_update: bool = False
    ) -> Assessment | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(
            f"SELECT {_ASSESSMENT} FROM assessments WHERE review_id = $1 AND commitment_id = $2{lock}",  # noqa: S608
            review_id,
            commitment_id,
        )
        return None if row is None else assessment_of(row)

    async def save(self, a: Assessment) -> None:
        await self._conn.execute(
            f"""INSERT INTO assessments ({_ASSESSMENT}, star)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                        $18, $19, $20, $21)
                ON CONFLICT (review_id, commitment_id) DO UPDATE SET
                  scale_version = EXCLUDED.scale_version, verifiable = EXCLUDED.verifiable,
                  specificity = EXCLUDED.specificity, relevance = EXCLUDED.relevance,
                  potential_for_results = EXCLUDED.potential_for_results,
                  potential_impact = EXCLUDED.potential_impact, promising = EXCLUDED.promising,
                  completion = EXCLUDED.completion, completion_prefilled = EXCLUDED.completion_prefilled,
                  completion_reason = EXCLUDED.completion_reason, early_results = EXCLUDED.early_results,
                  did_it_open_government = EXCLUDED.did_it_open_government,
                  report_year = EXCLUDED.report_year, assessed_at = EXCLUDED.assessed_at,
                  assessed_by = EXCLUDED.assessed_by, star = EXCLUDED.star""",  # noqa: S608  (constant columns)
            a.review_id, a.plan_id, a.member_id, a.commitment_id, a.product.value, a.scale_version.value,
            a.verifiable, _value(a.specificity), a.relevance.model_dump(), _value(a.potential_for_results),
            _value(a.potential_impact), a.promising, _value(a.completion), _value(a.completion_prefilled),
            a.completion_reason, _value(a.early_results), _value(a.did_it_open_government), a.report_year,
            a.assessed_at, a.assessed_by, a.star,
        )  # fmt: skip
