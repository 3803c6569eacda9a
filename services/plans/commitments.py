"""Use cases on commitments, milestones, self-assessments and the document repository.

Every change locks the plan row first: the plan is the aggregate whose events must stay in order
on Kafka, and its commitments' numbers are allocated under that lock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.plans import domain, store
from services.plans.errors import forbidden, problem_for
from shared.auth import Principal
from shared.events.plans import (
    CommitmentAdded,
    CommitmentAdopted,
    CommitmentSnapshot,
    CommitmentState,
    CommitmentStateChanged,
    CommitmentUpdated,
    CommitmentWithdrawn,
    DocumentPublished,
    EvidenceLink,
    MilestoneAdded,
    MilestoneCancelled,
    MilestoneCompleted,
    MilestoneDelayed,
    MilestoneProgressUpdated,
    MilestoneStatus,
    OgpValues,
    PlanState,
    SelfAssessmentRecorded,
)
from shared.http import Conflict, NotFound, Unprocessable
from shared.uow import UnitOfWork, unit_of_work

SERVICE = "plans"
Row = dict[str, Any]


def snapshot(c: Row) -> CommitmentSnapshot:
    texts = dict(c["texts"])
    title = texts.pop("title", {c["original_language"]: c["title"]})
    return CommitmentSnapshot(
        commitment_id=c["id"],
        plan_id=c["plan_id"],
        member_id=c["member_id"],
        number=c["number"],
        state=c["state"],
        original_language=c["original_language"],
        title=title,
        texts=texts,
        start_date=c["start_date"],
        end_date=c["end_date"],
        lead_agency=c["lead_agency"],
        responsible_person=c["responsible_person"],
        supporting_government=c["supporting_government"],
        supporting_other=c["supporting_other"],
        values=OgpValues(
            access_to_information=c["value_access_to_information"],
            civic_participation=c["value_civic_participation"],
            public_accountability=c["value_public_accountability"],
            technology_innovation=c["value_technology_innovation"],
        ),
        policy_areas=c["policy_areas"],
        budget_amount=float(c["budget_amount"]) if c["budget_amount"] is not None else None,
        budget_currency=c["budget_currency"],
        sdg_targets=c["sdg_targets"],
        other_plan_links=c["other_plan_links"],
        progress=float(c["progress"]),
        version=c["version"],
    )


async def _plan_for_edit(uow: UnitOfWork, who: Principal, plan_id: UUID) -> Row:
    plan = await store.get_plan(uow.conn, plan_id, for_update=True)
    if plan is None:
        raise NotFound(f"plan {plan_id}")
    if not who.acts_for(plan["member_id"]):
        raise forbidden(plan["member_id"])
    return plan


def to_columns(fields: Row) -> Row:
    """API field names → columns: ``values`` spreads into four booleans, texts merge into one map."""
    out: Row = {}
    for key, value in fields.items():
        if key == "values":
            for name, flag in value.items():
                out[f"value_{name}"] = flag
        elif key not in ("texts",):
            out[key] = value
    return out


def _check_fields(columns: Row, current: Row | None = None) -> None:
    merged = {**(current or {}), **columns}
    try:
        domain.check_values(
            bool(merged.get("value_access_to_information")),
            bool(merged.get("value_civic_participation")),
            bool(merged.get("value_public_accountability")),
            bool(merged.get("value_technology_innovation")),
        )
        titles = merged["texts"].get("title", {})
        domain.check_original_language(merged["original_language"], titles)
    except domain.RuleViolation as rv:
        raise problem_for(rv) from None
    start, end = merged.get("start_date"), merged.get("end_date")
    if start and end and end < start:
        raise Unprocessable("end_date", "end_date must not be before start_date")


async def add_commitment(pool: asyncpg.Pool, who: Principal, plan_id: UUID, fields: Row) -> Row:
    """``fields`` uses column names (see :func:`to_columns`) plus ``texts`` with the title."""
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        plan = await _plan_for_edit(uow, who, plan_id)
        if not domain.editable_commitments(PlanState(plan["state"])):
            raise Conflict(
                f"commitments cannot be added to a plan in state {plan['state']}",
                rule="plan.commitments_frozen",
            )
        row = await add_commitment_in(uow, plan, fields, who.subject, now)
    return row


async def add_commitment_in(uow: UnitOfWork, plan: Row, fields: Row, by: str, now: datetime) -> Row:
    """The insert and its events, for an HTTP request or an import row alike."""
    defaults: Row = {c: None for c in store.WRITABLE}
    defaults.update(
        supporting_government=[],
        supporting_other=[],
        policy_areas=[],
        sdg_targets=[],
        other_plan_links=[],
        value_access_to_information=False,
        value_civic_participation=False,
        value_public_accountability=False,
        value_technology_innovation=False,
    )
    row: Row = {**defaults, **fields}
    row["title"] = row["texts"]["title"].get(row["original_language"]) or next(
        iter(row["texts"]["title"].values())
    )
    _check_fields(row)
    row.update(
        id=uuid4(), plan_id=plan["id"], member_id=plan["member_id"], state=CommitmentState.DRAFTED.value
    )
    stored = await store.insert_full_commitment(uow, row)
    await store.record_history(uow, stored, by, "created", {k: _jsonable(stored[k]) for k in store.WRITABLE})
    snap = snapshot(stored)
    uow.publish(
        CommitmentAdded(
            plan_id=plan["id"],
            commitment_id=stored["id"],
            member_id=plan["member_id"],
            number=stored["number"],
            title=stored["title"],
            added_at=now,
            commitment=snap,
        )
    )
    return stored


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime | UUID):
        return value.isoformat() if not isinstance(value, UUID) else str(value)
    if hasattr(value, "is_finite"):  # Decimal
        return float(value)
    return value


async def update_commitment(
    pool: asyncpg.Pool, who: Principal, commitment_id: UUID, fields: Row, expected_version: int | None
) -> Row:
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        current = await store.get_commitment(uow.conn, commitment_id)
        if current is None:
            raise NotFound(f"commitment {commitment_id}")
        plan = await _plan_for_edit(uow, who, current["plan_id"])
        current = await store.get_commitment(uow.conn, commitment_id, for_update=True)
        assert current is not None
        if expected_version is not None and expected_version != current["version"]:
            raise Conflict(
                f"the commitment is at version {current['version']}, not {expected_version}",
                rule="commitment.version_mismatch",
            )
        if not domain.editable_commitments(PlanState(plan["state"])) or current["state"] in (
            CommitmentState.WITHDRAWN.value,
            CommitmentState.ENDED.value,
        ):
            raise Conflict(
                f"a commitment of a plan in state {plan['state']} cannot be edited",
                rule="commitment.frozen",
            )
        values = {k: v for k, v in fields.items() if k in store.WRITABLE or k == "texts"}
        if "texts" in values:  # languages and fields not sent are kept
            merged = {k: dict(v) for k, v in current["texts"].items()}
            for name, by_language in values["texts"].items():
                merged.setdefault(name, {}).update(by_language)
            values["texts"] = merged
            lang = values.get("original_language", current["original_language"])
            values["title"] = merged["title"].get(lang) or current["title"]
        _check_fields(values, current)
        changes = {
            k: {"from": _jsonable(current[k]), "to": _jsonable(v)}
            for k, v in values.items()
            if _jsonable(current[k]) != _jsonable(v)
        }
        if not changes:
            return current
        await store.update_commitment(uow, commitment_id, {k: values[k] for k in changes})
        updated = await store.get_commitment(uow.conn, commitment_id)
        assert updated is not None
        await store.record_history(uow, updated, who.subject, "updated", changes)
        uow.publish(
            CommitmentUpdated(
                plan_id=updated["plan_id"],
                commitment_id=commitment_id,
                member_id=updated["member_id"],
                changed_at=now,
                changed_by=who.subject,
                commitment=snapshot(updated),
                changed_fields=sorted(changes),
            )
        )
    return updated


async def move_commitment(
    uow: UnitOfWork, commitment: Row, target: CommitmentState, by: str, now: datetime, reason: str | None
) -> Row:
    """One allowed transition of a commitment, with its history and events (used by the plan's
    cascade too)."""
    current = CommitmentState(commitment["state"])
    domain.check_commitment_transition(current, target)
    await store.set_commitment_state(uow, commitment["id"], target.value)
    moved = await store.get_commitment(uow.conn, commitment["id"])
    assert moved is not None
    await store.record_history(
        uow,
        moved,
        by,
        "state_changed",
        {"state": {"from": current.value, "to": target.value}, **({"reason": reason} if reason else {})},
    )
    base: Row = dict(
        plan_id=moved["plan_id"],
        commitment_id=moved["id"],
        member_id=moved["member_id"],
        changed_at=now,
        changed_by=by,
        commitment=snapshot(moved),
    )
    uow.publish(CommitmentStateChanged(from_state=current, to_state=target, **base))
    if target is CommitmentState.ADOPTED:
        uow.publish(CommitmentAdopted(**base))
    elif target is CommitmentState.WITHDRAWN:
        uow.publish(CommitmentWithdrawn(reason=reason or "", **base))
    return moved


async def transition_commitment(
    pool: asyncpg.Pool, who: Principal, commitment_id: UUID, target: CommitmentState, reason: str | None
) -> Row:
    if target is CommitmentState.WITHDRAWN and not reason:
        raise Unprocessable("reason", "a withdrawal needs a public reason")
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        found = await store.get_commitment(uow.conn, commitment_id)
        if found is None:
            raise NotFound(f"commitment {commitment_id}")
        await _plan_for_edit(uow, who, found["plan_id"])
        current = await store.get_commitment(uow.conn, commitment_id, for_update=True)
        assert current is not None
        try:
            moved = await move_commitment(uow, current, target, who.subject, now, reason)
        except domain.RuleViolation as rv:
            raise problem_for(rv) from None
        await _refresh_progress(uow, moved["id"])
    return moved


async def cascade(uow: UnitOfWork, plan_id: UUID, plan_state: PlanState, by: str, now: datetime) -> None:
    """Commitments follow their plan: submitted → adopted, implementing → implementing, ..."""
    if plan_state not in domain.CASCADE:
        return
    sources, target = domain.CASCADE[plan_state]
    for c in await store.commitments_of_plan(uow.conn, plan_id, [s.value for s in sources]):
        await move_commitment(uow, c, target, by, now, None)


# --- milestones ------------------------------------------------------------------------------


async def add_milestone(pool: asyncpg.Pool, who: Principal, commitment_id: UUID, fields: Row) -> Row:
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        c = await store.get_commitment(uow.conn, commitment_id)
        if c is None:
            raise NotFound(f"commitment {commitment_id}")
        plan = await _plan_for_edit(uow, who, c["plan_id"])
        if not domain.editable_commitments(PlanState(plan["state"])):
            raise Conflict(
                f"milestones cannot be added to a plan in state {plan['state']}",
                rule="plan.commitments_frozen",
            )
        start, end = fields.get("start_date"), fields.get("end_date")
        if start and end and end < start:
            raise Unprocessable("end_date", "end_date must not be before start_date")
        m = await store.insert_milestone(
            uow, {"id": uuid4(), "commitment_id": commitment_id, "plan_id": c["plan_id"], **fields}
        )
        uow.publish(
            MilestoneAdded(
                plan_id=c["plan_id"],
                commitment_id=commitment_id,
                milestone_id=m["id"],
                member_id=c["member_id"],
                number=m["number"],
                title=m["texts"].get("title", {}),
                start_date=m["start_date"],
                end_date=m["end_date"],
                weight=float(m["weight"]),
                added_at=now,
            )
        )
        await _refresh_progress(uow, commitment_id)
    return m


async def _refresh_progress(uow: UnitOfWork, commitment_id: UUID) -> float:
    milestones = await store.milestones_of(uow.conn, commitment_id)
    progress = domain.roll_up(
        domain.WeightedProgress(
            float(m["weight"]), float(m["progress"]), m["status"] != MilestoneStatus.CANCELLED.value
        )
        for m in milestones
    )
    await uow.conn.execute("UPDATE commitments SET progress = $2 WHERE id = $1", commitment_id, progress)
    return progress


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
) -> Row:
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        found = await store.get_milestone(uow.conn, milestone_id)
        if found is None:
            raise NotFound(f"milestone {milestone_id}")
        plan = await _plan_for_edit(uow, who, found["plan_id"])
        m = await report_progress_in(
            uow,
            plan,
            found,
            who.subject,
            now,
            status=status,
            progress=progress,
            note=note,
            evidence=evidence,
            end_date=end_date,
        )
    return m


async def report_progress_in(
    uow: UnitOfWork,
    plan: Row,
    m: Row,
    by: str,
    now: datetime,
    *,
    status: MilestoneStatus,
    progress: int,
    note: str | None,
    evidence: list[EvidenceLink],
    end_date: date | None,
) -> Row:
    """Record one progress report (HTTP or bulk CSV) and its events; the plan row is locked."""
    if not domain.progress_reportable(PlanState(plan["state"])):
        raise Conflict(
            f"progress is reported once the plan is submitted, not in {plan['state']}",
            rule="plan.progress_not_open",
        )
    try:
        stored_progress = domain.check_milestone_update(MilestoneStatus(m["status"]), status, progress)
    except domain.RuleViolation as rv:
        raise problem_for(rv) from None
    new_end = end_date or m["end_date"]
    await uow.conn.execute(
        """UPDATE milestones SET status = $2, progress = $3, end_date = $4, updated_at = $5,
                  completed_at = CASE WHEN $2 = 'completed' THEN $5 ELSE completed_at END
           WHERE id = $1""",
        m["id"],
        status.value,
        stored_progress,
        new_end,
        now,
    )
    await uow.conn.execute(
        """INSERT INTO milestone_updates (milestone_id, by, status, progress, note, evidence)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        m["id"],
        by,
        status.value,
        stored_progress,
        note,
        [e.model_dump() for e in evidence],
    )
    commitment_progress = await _refresh_progress(uow, m["commitment_id"])
    plan_progress = await store.plan_progress(uow.conn, m["plan_id"])
    base: Row = dict(
        plan_id=m["plan_id"],
        commitment_id=m["commitment_id"],
        milestone_id=m["id"],
        member_id=plan["member_id"],
        number=m["number"],
    )
    uow.publish(
        MilestoneProgressUpdated(
            status=status,
            progress=stored_progress,
            evidence=evidence,
            commitment_progress=commitment_progress,
            plan_progress=plan_progress,
            updated_at=now,
            updated_by=by,
            **base,
        )
    )
    previous = MilestoneStatus(m["status"])
    if status is MilestoneStatus.COMPLETED:
        uow.publish(MilestoneCompleted(completed_at=now, evidence=evidence, **base))
    elif status is MilestoneStatus.DELAYED and previous is not MilestoneStatus.DELAYED:
        uow.publish(MilestoneDelayed(end_date=new_end, delayed_at=now, **base))
    elif status is MilestoneStatus.CANCELLED:
        uow.publish(MilestoneCancelled(cancelled_at=now, **base))
    updated = await store.get_milestone(uow.conn, m["id"])
    assert updated is not None
    return updated


# --- self-assessment and documents ----------------------------------------------------------


async def record_self_assessment(
    pool: asyncpg.Pool,
    who: Principal,
    commitment_id: UUID,
    completion: Any,
    evidence: list[EvidenceLink],
    note: str | None,
) -> Row:
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        c = await store.get_commitment(uow.conn, commitment_id)
        if c is None:
            raise NotFound(f"commitment {commitment_id}")
        plan = await _plan_for_edit(uow, who, c["plan_id"])
        if PlanState(plan["state"]) not in (PlanState.IMPLEMENTING, PlanState.REFRESHING, PlanState.ENDED):
            raise Conflict(
                "the self-assessment is made at the end of the term", rule="self_assessment.not_open"
            )
        value = {
            "completion": completion.value,
            "evidence": [e.model_dump() for e in evidence],
            "note": note,
            "recorded_at": now.isoformat(),
            "recorded_by": who.subject,
        }
        await uow.conn.execute(
            "UPDATE commitments SET self_assessment = $2, updated_at = now() WHERE id = $1",
            commitment_id,
            value,
        )
        await store.record_history(uow, c, who.subject, "self_assessed", {"self_assessment": value})
        uow.publish(
            SelfAssessmentRecorded(
                plan_id=c["plan_id"],
                commitment_id=commitment_id,
                member_id=c["member_id"],
                completion=completion,
                evidence=evidence,
                recorded_at=now,
            )
        )
    return value


async def publish_document(pool: asyncpg.Pool, who: Principal, plan_id: UUID, fields: Row) -> Row:
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        plan = await _plan_for_edit(uow, who, plan_id)
        row = {"id": uuid4(), "plan_id": plan_id, "member_id": plan["member_id"], **fields}
        await uow.conn.execute(
            """INSERT INTO documents (id, plan_id, member_id, type, title, url, language, published_on,
                                      created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            row["id"],
            plan_id,
            plan["member_id"],
            row["type"],
            row["title"],
            row["url"],
            row["language"],
            row["published_on"],
            who.subject,
        )
        uow.publish(
            DocumentPublished(
                document_id=row["id"],
                plan_id=plan_id,
                member_id=plan["member_id"],
                type=row["type"],
                title=row["title"],
                url=row["url"],
                language=row["language"],
                published_on=row["published_on"],
                published_at=now,
            )
        )
    return row
