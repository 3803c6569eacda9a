"""Assessments as the API and the exports show them; the completion comparison per plan.

The public sees the assessments of published reviews only; IRM staff see every one. The export
names its columns as OGP's commitments spreadsheet does, plus the columns of the new scales.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

import asyncpg

from shared.db import Row

_COLUMNS = """a.review_id, a.plan_id, a.member_id, a.commitment_id, a.product, a.scale_version,
    a.verifiable, a.specificity, a.relevance, a.potential_for_results, a.potential_impact,
    a.promising, a.completion, a.completion_prefilled, a.completion_reason, a.early_results,
    a.did_it_open_government, a.star, a.report_year, a.assessed_at, r.state AS review_state,
    c.number AS commitment_number, c.title AS commitment_title"""


async def assessments(
    pool: asyncpg.Pool,
    *,
    plan_id: UUID | None = None,
    member_id: UUID | None = None,
    review_id: UUID | None = None,
    year: int | None = None,
    published_only: bool = True,
    limit: int = 1000,
) -> list[Row]:
    """By plan, member, review and year: the year its review was opened (``reviews.opened_on``,
    the rule of ``GET /v1/reviews``)."""
    rows = await pool.fetch(
        f"""SELECT {_COLUMNS}
            FROM assessments a JOIN reviews r ON r.id = a.review_id
            LEFT JOIN irm_commitments c ON c.commitment_id = a.commitment_id
            WHERE ($1::uuid IS NULL OR a.plan_id = $1) AND ($2::uuid IS NULL OR a.member_id = $2)
              AND ($3::uuid IS NULL OR a.review_id = $3) AND (NOT $4 OR r.state = 'published')
              AND ($5::int IS NULL OR extract(year FROM r.opened_on) = $5)
            ORDER BY a.plan_id, c.number NULLS LAST, a.commitment_id, a.product
            LIMIT $6""",  # noqa: S608  (constant column list, values bound)
        plan_id, member_id, review_id, published_only, year, limit,
    )  # fmt: skip
    return [dict(r) for r in rows]


#: The IRM's completion a plan's self-assessment is compared with: the results report's, else
#: the midterm review's (the latest word on what was done).
_PRODUCT_ORDER = "CASE a.product WHEN 'results_report' THEN 0 WHEN 'midterm_review' THEN 1 ELSE 2 END"


async def completion_comparison(pool: asyncpg.Pool, plan_id: UUID, *, published_only: bool = True) -> Row:
    """Per commitment of the plan: the government's self-assessed completion and the IRM's, and
    the agreement rate over the commitments that have both (None when none has)."""
    rows = await pool.fetch(
        f"""SELECT c.commitment_id, c.number, c.title, c.withdrawn, c.self_assessed,
                   irm.completion AS irm_completion, irm.product
            FROM irm_commitments c
            LEFT JOIN LATERAL (
                SELECT a.completion, a.product FROM assessments a JOIN reviews r ON r.id = a.review_id
                WHERE a.commitment_id = c.commitment_id AND a.completion IS NOT NULL
                  AND (NOT $2 OR r.state = 'published')
                ORDER BY {_PRODUCT_ORDER}, a.assessed_at DESC LIMIT 1) irm ON true
            WHERE c.plan_id = $1
            ORDER BY c.number NULLS LAST, c.commitment_id""",  # noqa: S608  (constant text)
        plan_id, published_only,
    )  # fmt: skip
    commitments: list[Row] = []
    both = agreed = 0
    for r in rows:
        agrees = None
        if r["self_assessed"] is not None and r["irm_completion"] is not None:
            agrees = r["self_assessed"] == r["irm_completion"]
            both += 1
            agreed += agrees
        commitments.append({**dict(r), "agrees": agrees})
    return {
        "plan_id": plan_id,
        "commitments": commitments,
        "compared": both,
        "agreed": agreed,
        "agreement_rate": round(agreed / both, 4) if both else None,
    }


# --- export ---------------------------------------------------------------------------------------


def _label(value: str | None) -> str:
    return "" if value is None else value.replace("_", " ").title()


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("Yes" if value else "No")


def _flag(value: bool | None) -> str:
    return "" if value is None else ("1" if value else "0")


#: OGP's spreadsheet columns first (same names), then the columns of the new scales.
EXPORT_COLUMNS = (
    "Commitment Unique Identifier",
    "Action Plan ID",
    "Commitment Number",
    "Commitment Title",
    "Verifiable",
    "Specificity",
    "OGP Value Access To Information",
    "OGP Value Civic Participation",
    "OGP Value Public Accountability",
    "OGP Value Technology",
    "Potential Impact",
    "Potential for Results",
    "Completion (Progress Report)",
    "Completion (End Of Term)",
    "Early Results",
    "Did It Open Government (Overall)",
    "Starred (Current Formula) Progress Report",
    "Starred (Current Formula) End of Term",
    "Report Publication Year",
    # Sharaka's own columns.
    "IRM Product",
    "Review ID",
    "Scale Version",
    "Promising",
    "Completion Pre-filled",
    "Completion Reason",
    "Assessed At",
)


def export_row(a: Row) -> dict[str, Any]:
    """One assessment as a spreadsheet row (labels as OGP writes them: "Not Started", "Yes")."""
    relevance: dict[str, Any] = a["relevance"] or {}
    end_of_term = a["product"] == "results_report"
    completion = _label(a["completion"])
    star = _yes_no(a["star"])
    return {
        "Commitment Unique Identifier": str(a["commitment_id"]),
        "Action Plan ID": str(a["plan_id"]),
        "Commitment Number": "" if a.get("commitment_number") is None else str(a["commitment_number"]),
        "Commitment Title": a.get("commitment_title") or "",
        "Verifiable": _yes_no(a["verifiable"]),
        "Specificity": _label(a["specificity"]),
        "OGP Value Access To Information": _flag(relevance.get("access_to_information")),
        "OGP Value Civic Participation": _flag(relevance.get("civic_participation")),
        "OGP Value Public Accountability": _flag(relevance.get("public_accountability")),
        "OGP Value Technology": _flag(relevance.get("technology_innovation")),
        "Potential Impact": _label(a["potential_impact"]),
        "Potential for Results": _label(a["potential_for_results"]),
        "Completion (Progress Report)": "" if end_of_term else completion,
        "Completion (End Of Term)": completion if end_of_term else "",
        "Early Results": _label(a["early_results"]),
        "Did It Open Government (Overall)": _label(a["did_it_open_government"]),
        "Starred (Current Formula) Progress Report": "" if end_of_term else star,
        "Starred (Current Formula) End of Term": star if end_of_term else "",
        "Report Publication Year": "" if a["report_year"] is None else str(a["report_year"]),
        "IRM Product": a["product"],
        "Review ID": str(a["review_id"]),
        "Scale Version": a["scale_version"],
        "Promising": _yes_no(a["promising"]),
        "Completion Pre-filled": _label(a["completion_prefilled"]),
        "Completion Reason": a["completion_reason"] or "",
        "Assessed At": a["assessed_at"].isoformat(),
    }


def export_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(export_row(r))
    return out.getvalue()
