"""One-transaction calls of the commitment, milestone and document use cases for callers that
hold a pool or a plain unit of work and work with rows (scripts, the integration tests, the
importer). No rules here: each opens (or wraps) the plans unit of work and calls
:mod:`services.plans.use_cases`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.plans.handlers import plans_uow
from services.plans.store import PgPlansUnitOfWork
from services.plans.use_cases import commitments, documents, milestones
from services.plans.use_cases._common import staff
from shared.auth import Principal
from shared.events.plans import CommitmentState, DocumentType, EvidenceLink, Language, MilestoneStatus
from shared.uow import UnitOfWork, unit_of_work

SERVICE = "plans"


async def add_commitment(
    pool: asyncpg.Pool, who: Principal, plan_id: UUID, fields: dict[str, Any]
) -> dict[str, Any]:
    async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
        c = await commitments.add_commitment(uow, commitments.AddCommitment(who, plan_id, fields))
    return asdict(c)


async def add_commitment_in(
    uow: UnitOfWork, plan: dict[str, Any], fields: dict[str, Any], by: str, now: datetime
) -> dict[str, Any]:
    """The importer's new commitment (its plan is locked and open; ``now`` is the use case's)."""
    columns = {k: v for k, v in fields.items() if k != "source_key"}
    c = await commitments.add_commitment(
        plans_uow(uow), commitments.AddCommitment(staff(by), plan["id"], columns, fields.get("source_key"))
    )
    return asdict(c)


async def transition_commitment(
    pool: asyncpg.Pool, who: Principal, commitment_id: UUID, target: CommitmentState, reason: str | None
) -> dict[str, Any]:
    async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
        c = await commitments.transition_commitment(
            uow, commitments.TransitionCommitment(who, commitment_id, target, reason)
        )
    return asdict(c)


async def add_milestone(
    pool: asyncpg.Pool, who: Principal, commitment_id: UUID, fields: dict[str, Any]
) -> dict[str, Any]:
    texts = fields["texts"]
    async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
        m = await milestones.add_milestone(
            uow,
            milestones.AddMilestone(
                who, commitment_id, milestones.MilestoneText(texts["title"]),
                milestones.MilestoneText(texts["deliverable"]) if "deliverable" in texts else None,
                fields.get("start_date"), fields.get("end_date"), fields.get("responsible"),
                float(fields.get("weight", 1)),
            ),
        )  # fmt: skip
    return asdict(m)


async def report_progress(
    pool: asyncpg.Pool,
    who: Principal,
    milestone_id: UUID,
    *,
    status: MilestoneStatus,
    progress: int,
    note: str | None,
    evidence: list[EvidenceLink],
    end_date: date | None = None,
) -> dict[str, Any]:
    async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
        m = await milestones.report_progress(
            uow, milestones.ReportProgress(who, milestone_id, status, progress, note, evidence, end_date)
        )
    return asdict(m)


async def report_progress_in(
    uow: UnitOfWork,
    plan: dict[str, Any],
    m: dict[str, Any],
    by: str,
    now: datetime,
    *,
    status: MilestoneStatus,
    progress: int,
    note: str | None,
    evidence: list[EvidenceLink],
    end_date: date | None,
) -> dict[str, Any]:
    """The importer's progress report (``plan`` is locked; ``now`` is the use case's)."""
    report = milestones.ReportProgress(staff(by), m["id"], status, progress, note, evidence, end_date)
    return asdict(await milestones.report_progress(plans_uow(uow), report))


async def publish_document(
    pool: asyncpg.Pool, who: Principal, plan_id: UUID, fields: dict[str, Any]
) -> dict[str, Any]:
    async with unit_of_work(pool, SERVICE, PgPlansUnitOfWork) as uow:
        d = await documents.publish_document(
            uow,
            documents.PublishDocument(
                who, plan_id, DocumentType(fields["type"]), fields["title"], str(fields["url"]),
                Language(fields["language"]), fields["published_on"],
            ),
        )  # fmt: skip
    return asdict(d)
