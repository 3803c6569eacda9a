"""Public reads of the plans service: shaped for the API, the open-data export and the
benchmark. Only public data leaves here (never contact details)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.plans import store

Row = dict[str, Any]

_MILESTONES_OF_PLAN = f"""
SELECT {store.MILESTONE_COLUMNS} FROM milestones m WHERE m.plan_id = $1 ORDER BY m.commitment_id, m.number
"""  # noqa: S608


def public_commitment(c: Row, milestones: list[Row] | None = None) -> Row:
    texts = dict(c["texts"])
    out: Row = {
        "id": c["id"],
        "plan_id": c["plan_id"],
        "member_id": c["member_id"],
        "number": c["number"],
        "state": c["state"],
        "original_language": c["original_language"],
        "title": texts.pop("title", {c["original_language"]: c["title"]}),
        "texts": texts,
        "start_date": c["start_date"],
        "end_date": c["end_date"],
        "lead_agency": c["lead_agency"],
        "responsible_person": c["responsible_person"],
        "supporting_government": c["supporting_government"],
        "supporting_other": c["supporting_other"],
        "values": {
            "access_to_information": c["value_access_to_information"],
            "civic_participation": c["value_civic_participation"],
            "public_accountability": c["value_public_accountability"],
            "technology_innovation": c["value_technology_innovation"],
        },
        "policy_areas": c["policy_areas"],
        "budget_amount": float(c["budget_amount"]) if c["budget_amount"] is not None else None,
        "budget_currency": c["budget_currency"],
        "sdg_targets": c["sdg_targets"],
        "other_plan_links": c["other_plan_links"],
        "progress": float(c["progress"]),
        "self_assessment": c["self_assessment"],
        "irm": c["irm"],
        "version": c["version"],
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
    }
    if milestones is not None:
        out["milestones"] = [public_milestone(m) for m in milestones]
    return out


def public_milestone(m: Row) -> Row:
    return {
        "id": m["id"],
        "number": m["number"],
        "title": m["texts"].get("title", {}),
        "deliverable": m["texts"].get("deliverable"),
        "start_date": m["start_date"],
        "end_date": m["end_date"],
        "responsible": m["responsible"],
        "status": m["status"],
        "weight": float(m["weight"]),
        "progress": m["progress"],
        "completed_at": m["completed_at"],
    }


async def plan_with_commitments(conn: Any, plan_id: UUID) -> Row | None:
    """A plan, its commitments and their milestones in three queries whatever their number."""
    plan = await store.get_plan(conn, plan_id)
    if plan is None:
        return None
    commitments = await store.commitments_of_plan(conn, plan_id)
    by_commitment: dict[UUID, list[Row]] = {}
    for m in await conn.fetch(_MILESTONES_OF_PLAN, plan_id):
        by_commitment.setdefault(m["commitment_id"], []).append(dict(m))
    plan["commitments"] = [public_commitment(c, by_commitment.get(c["id"], [])) for c in commitments]
    return plan
