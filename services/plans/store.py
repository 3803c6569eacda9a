"""SQL of the plans service. Parameterised queries only; rows come back as dicts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.uow import UnitOfWork

Row = dict[str, Any]

PLAN_COLUMNS = """p.id, p.member_id, p.title, p.start_date, p.end_date, p.state,
    p.point_of_contact_id, p.created_at, p.submitted_at, p.updated_at, p.length_years, p.strands,
    p.action_plan_number, p.implementation_started_at, p.refreshed_at, p.ended_at, p.closed_at,
    (SELECT count(*) FROM commitments c
      WHERE c.plan_id = p.id AND c.state <> 'withdrawn') AS commitment_count,
    (SELECT coalesce(round(avg(c.progress), 1), 0) FROM commitments c
      WHERE c.plan_id = p.id AND c.state <> 'withdrawn') AS progress"""

MEMBER_COLUMNS = "id, name, kind, country_code, region, status, status_reason, status_changed_at, created_at"


async def insert_member(uow: UnitOfWork, row: Row) -> None:
    await uow.conn.execute(
        """INSERT INTO members (id, name, kind, country_code, created_at, region, source_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        row["id"],
        row["name"],
        row["kind"],
        row["country_code"],
        row["created_at"],
        row.get("region"),
        row.get("source_key"),
    )


async def get_member(conn: Any, member_id: UUID) -> Row | None:
    r = await conn.fetchrow(f"SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1", member_id)  # noqa: S608
    return dict(r) if r else None


async def insert_contact(uow: UnitOfWork, row: Row) -> None:
    await uow.conn.execute(
        "INSERT INTO contacts (id, name, email, phone, language) VALUES ($1,$2,$3,$4,$5)",
        row["id"],
        row["name"],
        row["email"],
        row["phone"],
        row["language"],
    )


async def insert_plan(uow: UnitOfWork, row: Row) -> None:
    await uow.conn.execute(
        """INSERT INTO plans (id, member_id, title, start_date, end_date, state,
                              point_of_contact_id, created_at)
           VALUES ($1,$2,$3,$4,$5,'draft',$6,$7)""",
        row["id"],
        row["member_id"],
        row["title"],
        row["start_date"],
        row["end_date"],
        row["point_of_contact_id"],
        row["created_at"],
    )


async def get_plan(conn: Any, plan_id: UUID, *, for_update: bool = False) -> Row | None:
    """With ``for_update`` the plan row is locked: every change to one plan (and so its events in
    the outbox) is serialised, which is what keeps a plan's events in order on Kafka."""
    lock = " FOR UPDATE OF p" if for_update else ""
    r = await conn.fetchrow(f"SELECT {PLAN_COLUMNS} FROM plans p WHERE p.id = $1{lock}", plan_id)  # noqa: S608
    return dict(r) if r else None


# --- commitments ---------------------------------------------------------------------------

#: Template texts besides the title, each a {language: text} map.
TEXT_FIELDS = ("problem", "baseline", "status_quo", "objective", "how_it_solves", "ambition")

COMMITMENT_COLUMNS = """c.id, c.plan_id, c.member_id, c.number, c.title, c.texts, c.original_language,
    c.state, c.start_date, c.end_date, c.lead_agency, c.responsible_person,
    c.supporting_government, c.supporting_other, c.value_access_to_information,
    c.value_civic_participation, c.value_public_accountability, c.value_technology_innovation,
    c.policy_areas, c.budget_amount, c.budget_currency, c.sdg_targets, c.other_plan_links,
    c.progress, c.self_assessment, c.irm, c.version, c.created_at, c.updated_at, c.source_key"""

#: Columns a commitment update may set (the API's field names map onto them).
WRITABLE = (
    "title",
    "texts",
    "original_language",
    "start_date",
    "end_date",
    "lead_agency",
    "responsible_person",
    "supporting_government",
    "supporting_other",
    "value_access_to_information",
    "value_civic_participation",
    "value_public_accountability",
    "value_technology_innovation",
    "policy_areas",
    "budget_amount",
    "budget_currency",
    "sdg_targets",
    "other_plan_links",
)


async def get_commitment(conn: Any, commitment_id: UUID, *, for_update: bool = False) -> Row | None:
    lock = " FOR UPDATE" if for_update else ""
    r = await conn.fetchrow(
        f"SELECT {COMMITMENT_COLUMNS} FROM commitments c WHERE c.id = $1{lock}",  # noqa: S608
        commitment_id,
    )
    return dict(r) if r else None


async def insert_full_commitment(uow: UnitOfWork, row: Row) -> Row:
    """Insert with the next free number of the plan; returns the stored row."""
    cols = ["id", "plan_id", "member_id", "state", *WRITABLE]
    if row.get("source_key") is not None:
        cols.append("source_key")
    placeholders = ", ".join(f"${i}" for i in range(3, len(cols) + 1))
    sql = f"""INSERT INTO commitments (number, {", ".join(cols)})
              VALUES ((SELECT coalesce(max(number), 0) + 1 FROM commitments WHERE plan_id = $1),
                      $2, $1, {placeholders})
              RETURNING id"""  # noqa: S608  (column names are constants)
    args = [row["plan_id"], row["id"], row["member_id"], row["state"], *(row[c] for c in WRITABLE)]
    if row.get("source_key") is not None:
        args.append(row["source_key"])
    await uow.conn.execute(sql, *args)
    stored = await get_commitment(uow.conn, row["id"])
    assert stored is not None
    return stored


async def update_commitment(uow: UnitOfWork, commitment_id: UUID, values: Row) -> None:
    sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(values, start=2))
    await uow.conn.execute(
        f"""UPDATE commitments SET {sets}, version = version + 1, updated_at = now()
            WHERE id = $1""",  # noqa: S608  (keys are checked against WRITABLE by the caller)
        commitment_id,
        *values.values(),
    )


async def set_commitment_state(uow: UnitOfWork, commitment_id: UUID, state: str) -> None:
    await uow.conn.execute(
        "UPDATE commitments SET state = $2, version = version + 1, updated_at = now() WHERE id = $1",
        commitment_id,
        state,
    )


async def record_history(
    uow: UnitOfWork, commitment: Row, by: str, action: str, changes: dict[str, Any]
) -> None:
    await uow.conn.execute(
        """INSERT INTO commitment_history (commitment_id, plan_id, by, action, changes, version)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        commitment["id"],
        commitment["plan_id"],
        by,
        action,
        changes,
        commitment["version"],
    )


async def commitments_of_plan(conn: Any, plan_id: UUID, states: list[str] | None = None) -> list[Row]:
    rows = await conn.fetch(
        f"""SELECT {COMMITMENT_COLUMNS} FROM commitments c
            WHERE c.plan_id = $1 AND ($2::text[] IS NULL OR c.state = ANY($2))
            ORDER BY c.number""",  # noqa: S608
        plan_id,
        states,
    )
    return [dict(r) for r in rows]


# --- milestones ----------------------------------------------------------------------------

MILESTONE_COLUMNS = """m.id, m.commitment_id, m.plan_id, m.number, m.texts, m.start_date, m.end_date,
    m.responsible, m.status, m.weight, m.progress, m.completed_at, m.created_at, m.updated_at"""


async def get_milestone(conn: Any, milestone_id: UUID) -> Row | None:
    r = await conn.fetchrow(
        f"SELECT {MILESTONE_COLUMNS} FROM milestones m WHERE m.id = $1",  # noqa: S608
        milestone_id,
    )
    return dict(r) if r else None


async def insert_milestone(uow: UnitOfWork, row: Row) -> Row:
    r = await uow.conn.fetchrow(
        f"""INSERT INTO milestones (id, commitment_id, plan_id, number, texts, start_date, end_date,
                                   responsible, weight)
            VALUES ($1, $2, $3,
                    (SELECT coalesce(max(number), 0) + 1 FROM milestones WHERE commitment_id = $2),
                    $4, $5, $6, $7, $8)
            RETURNING {MILESTONE_COLUMNS.replace("m.", "")}""",  # noqa: S608
        row["id"],
        row["commitment_id"],
        row["plan_id"],
        row["texts"],
        row["start_date"],
        row["end_date"],
        row["responsible"],
        row["weight"],
    )
    assert r is not None
    return dict(r)


async def milestones_of(conn: Any, commitment_id: UUID) -> list[Row]:
    rows = await conn.fetch(
        f"SELECT {MILESTONE_COLUMNS} FROM milestones m WHERE m.commitment_id = $1 ORDER BY m.number",  # noqa: S608
        commitment_id,
    )
    return [dict(r) for r in rows]


async def plan_progress(conn: Any, plan_id: UUID) -> float:
    """Mean progress of the plan's commitments that count (withdrawn ones do not)."""
    value = await conn.fetchval(
        "SELECT round(avg(progress), 1) FROM commitments WHERE plan_id = $1 AND state <> 'withdrawn'",
        plan_id,
    )
    return float(value or 0)
