"""SQL of the plans service. Parameterised queries only; rows come back as dicts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.uow import UnitOfWork

Row = dict[str, Any]

PLAN_COLUMNS = """p.id, p.member_id, p.title, p.start_date, p.end_date, p.state,
    p.point_of_contact_id, p.created_at, p.submitted_at, p.updated_at,
    (SELECT count(*) FROM commitments c WHERE c.plan_id = p.id) AS commitment_count"""


async def insert_member(uow: UnitOfWork, row: Row) -> None:
    await uow.conn.execute(
        "INSERT INTO members (id, name, kind, country_code, created_at) VALUES ($1,$2,$3,$4,$5)",
        row["id"], row["name"], row["kind"], row["country_code"], row["created_at"],
    )  # fmt: skip


async def get_member(conn: Any, member_id: UUID) -> Row | None:
    r = await conn.fetchrow(
        "SELECT id, name, kind, country_code, created_at FROM members WHERE id = $1", member_id
    )
    return dict(r) if r else None


async def insert_contact(uow: UnitOfWork, row: Row) -> None:
    await uow.conn.execute(
        "INSERT INTO contacts (id, name, email, phone, language) VALUES ($1,$2,$3,$4,$5)",
        row["id"], row["name"], row["email"], row["phone"], row["language"],
    )  # fmt: skip


async def insert_plan(uow: UnitOfWork, row: Row) -> None:
    await uow.conn.execute(
        """INSERT INTO plans (id, member_id, title, start_date, end_date, state,
                              point_of_contact_id, created_at)
           VALUES ($1,$2,$3,$4,$5,'draft',$6,$7)""",
        row["id"], row["member_id"], row["title"], row["start_date"], row["end_date"],
        row["point_of_contact_id"], row["created_at"],
    )  # fmt: skip


async def get_plan(conn: Any, plan_id: UUID, *, for_update: bool = False) -> Row | None:
    """With ``for_update`` the plan row is locked: every change to one plan (and so its events in
    the outbox) is serialised, which is what keeps a plan's events in order on Kafka."""
    lock = " FOR UPDATE OF p" if for_update else ""
    r = await conn.fetchrow(f"SELECT {PLAN_COLUMNS} FROM plans p WHERE p.id = $1{lock}", plan_id)  # noqa: S608
    return dict(r) if r else None


async def set_plan_state(uow: UnitOfWork, plan_id: UUID, state: str, submitted: Any) -> None:
    await uow.conn.execute(
        """UPDATE plans SET state = $2, updated_at = now(),
                  submitted_at = COALESCE($3, submitted_at) WHERE id = $1""",
        plan_id, state, submitted,
    )  # fmt: skip


async def insert_commitment(uow: UnitOfWork, row: Row) -> int:
    number: int = await uow.conn.fetchval(
        """INSERT INTO commitments (id, plan_id, number, title, objective, created_at)
           VALUES ($1, $2, (SELECT coalesce(max(number), 0) + 1 FROM commitments WHERE plan_id = $2),
                   $3, $4, $5)
           RETURNING number""",
        row["id"], row["plan_id"], row["title"], row["objective"], row["created_at"],
    )  # fmt: skip
    return number


async def list_commitments(conn: Any, plan_id: UUID) -> list[Row]:
    rows = await conn.fetch(
        """SELECT id, plan_id, number, title, objective, created_at
           FROM commitments WHERE plan_id = $1 ORDER BY number""",
        plan_id,
    )
    return [dict(r) for r in rows]
