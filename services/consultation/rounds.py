"""Consultation rounds (standard 3): scheduled with notice, opened and closed by the service.

Opening and closing are conditional updates (``WHERE state = ...``) in the same transaction as
their event, so a round opens and closes exactly once however many runners or restarts there are.
Closing first takes the round's row ``FOR UPDATE``, which waits for every input transaction that
holds the row ``FOR KEY SHARE``: an input is either in the closed round's counts or refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.consultation import reports
from services.consultation.domain import (
    RuleViolation,
    check_not_future,
    check_round_transition,
    check_schedule,
    notice,
)
from services.consultation.errors import forbidden, problem_for
from services.consultation.schemas import OfflineEventIn, RoundIn
from shared.auth import Principal
from shared.events.consultation import (
    ConsultationClosed,
    ConsultationOpened,
    ConsultationScheduled,
    OfflineEventRecorded,
    RoundKind,
    RoundState,
)
from shared.http import NotFound, Unprocessable
from shared.logging import get_logger
from shared.uow import UnitOfWork, unit_of_work

log = get_logger(__name__)

SERVICE = "consultation"
#: Wakes the timers' leader (it LISTENs on its lock connection) when a round is scheduled sooner
#: than its next planned pass.
TIMERS_CHANNEL = "consultation_timers"

Row = dict[str, Any]

ROUND_COLUMNS = """id, plan_id, member_id, kind, commitment_id, title, description, opens_at,
    closes_at, scheduled_at, notice_days, short_notice, state, opened_at, closed_at, close_reason"""


async def space_for_edit(conn: Any, who: Principal, plan_id: UUID) -> Any:
    space = await conn.fetchrow(
        "SELECT plan_id, member_id, state FROM co_creation_spaces WHERE plan_id = $1 FOR SHARE",
        plan_id,
    )
    if space is None:
        raise NotFound(f"plan {plan_id}")
    if not who.acts_for(space["member_id"]):
        raise forbidden(f"run the consultation of plan {plan_id}")
    return space


async def round_for_edit(conn: Any, who: Principal, round_id: UUID, *, for_update: bool = False) -> Any:
    lock = "FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {ROUND_COLUMNS} FROM rounds WHERE id = $1 {lock}", round_id)  # noqa: S608 (constant SQL fragments; values are parameters)
    if row is None:
        raise NotFound(f"round {round_id}")
    if not who.acts_for(row["member_id"]):
        raise forbidden(f"run the consultation of plan {row['plan_id']}")
    return row


async def schedule_round(
    pool: asyncpg.Pool, who: Principal, plan_id: UUID, body: RoundIn, notice_days_required: int
) -> Row:
    now = datetime.now(UTC)
    try:
        check_schedule(body.opens_at, body.closes_at, now)
        if body.kind is RoundKind.COMMITMENT_DRAFT and body.commitment_id is None:
            raise RuleViolation(
                "commitment_required", "a commitment_draft round names its commitment", "commitment_id"
            )
        if body.kind is not RoundKind.COMMITMENT_DRAFT and body.commitment_id is not None:
            raise RuleViolation(
                "commitment_refused", f"a {body.kind.value} round is about the whole plan", "commitment_id"
            )
    except RuleViolation as rv:
        raise problem_for(rv) from None
    given = notice(now, body.opens_at, notice_days_required)
    async with unit_of_work(pool, SERVICE) as uow:
        space = await space_for_edit(uow.conn, who, plan_id)
        if space["state"] != "open":
            raise problem_for(
                RuleViolation("co_creation_closed", f"the co-creation of plan {plan_id} is closed")
            )
        if body.commitment_id is not None and not await uow.conn.fetchval(
            "SELECT true FROM commitment_spaces WHERE commitment_id = $1 AND plan_id = $2",
            body.commitment_id,
            plan_id,
        ):
            raise Unprocessable("commitment_id", f"plan {plan_id} has no commitment {body.commitment_id}")
        row = await uow.conn.fetchrow(
            f"""INSERT INTO rounds (id, plan_id, member_id, kind, commitment_id, title, description,
                   opens_at, closes_at, scheduled_at, notice_days, short_notice, state, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'scheduled', $13)
               RETURNING {ROUND_COLUMNS}""",  # noqa: S608 (constant SQL fragments; values are parameters)
            uuid4(), plan_id, space["member_id"], body.kind.value, body.commitment_id, body.title,
            body.description, body.opens_at, body.closes_at, now, given.days, given.short, who.subject,
        )  # fmt: skip
        assert row is not None
        uow.publish(
            ConsultationScheduled(
                round_id=row["id"],
                plan_id=plan_id,
                member_id=space["member_id"],
                kind=body.kind,
                commitment_id=body.commitment_id,
                title=body.title,
                opens_at=body.opens_at,
                closes_at=body.closes_at,
                scheduled_at=now,
                notice_days=given.days,
                notice_days_required=notice_days_required,
                short_notice=given.short,
            )
        )
        await uow.conn.execute("SELECT pg_notify($1, '')", TIMERS_CHANNEL)
    return dict(row)


async def cancel_round(pool: asyncpg.Pool, who: Principal, round_id: UUID) -> Row:
    """A round that has not opened yet may be called off; an open one runs to its end."""
    async with unit_of_work(pool, SERVICE) as uow:
        row = await round_for_edit(uow.conn, who, round_id, for_update=True)
        try:
            check_round_transition(RoundState(row["state"]), RoundState.CANCELLED)
        except RuleViolation as rv:
            raise problem_for(rv) from None
        return await close_round(uow, row, reason="cancelled", min_cell=None)


async def open_round(uow: UnitOfWork, row: asyncpg.Record, now: datetime) -> None:
    await uow.conn.execute("UPDATE rounds SET state = 'open', opened_at = $2 WHERE id = $1", row["id"], now)
    uow.publish(
        ConsultationOpened(
            round_id=row["id"],
            plan_id=row["plan_id"],
            member_id=row["member_id"],
            kind=RoundKind(row["kind"]),
            opened_at=now,
            closes_at=row["closes_at"],
        )
    )


async def close_round(uow: UnitOfWork, row: asyncpg.Record, *, reason: str, min_cell: int | None) -> Row:
    """Close an open round (or cancel a scheduled one); the caller holds the row ``FOR UPDATE``.

    A round that ran publishes its participation report with its closing, for the IRM
    (``min_cell=None``: no report, for a round cancelled before it opened)."""
    now = datetime.now(UTC)
    state = RoundState.CANCELLED if row["state"] == RoundState.SCHEDULED else RoundState.CLOSED
    closed = await uow.conn.fetchrow(
        f"""UPDATE rounds SET state = $2, closed_at = $3, close_reason = $4 WHERE id = $1
            RETURNING {ROUND_COLUMNS}""",  # noqa: S608 (constant SQL fragments; values are parameters)
        row["id"],
        state.value,
        now,
        reason,
    )
    assert closed is not None
    counts = await uow.conn.fetchrow(
        """SELECT count(*) FILTER (WHERE kind = 'submission') AS submissions,
                  count(*) FILTER (WHERE kind = 'comment') AS comments
           FROM inputs WHERE round_id = $1""",
        row["id"],
    )
    assert counts is not None
    uow.publish(
        ConsultationClosed(
            round_id=row["id"],
            plan_id=row["plan_id"],
            member_id=row["member_id"],
            closed_at=now,
            reason=reason,
            submissions=counts["submissions"],
            comments=counts["comments"],
        )
    )
    if min_cell is not None and state is RoundState.CLOSED:
        await reports.publish_round_report(uow, row["id"], min_cell)
    return dict(closed)


async def open_due(pool: asyncpg.Pool, limit: int) -> int:
    """Open the rounds whose time has come; returns how many were opened."""
    return await _due(pool, limit, "scheduled", "opens_at", _open_one)


async def close_due(pool: asyncpg.Pool, limit: int, min_cell: int) -> int:
    """Close the open rounds whose time is up; returns how many were closed.

    The lock is a plain ``FOR UPDATE``: it waits for the inputs being written into the round
    (they hold its row ``FOR KEY SHARE``) rather than skipping a busy round, which under steady
    traffic would never be free. Only the elected runner gets here, so nothing else competes."""

    async def close_one(uow: UnitOfWork, row: asyncpg.Record, _now: datetime) -> None:
        await close_round(uow, row, reason="closed_on_schedule", min_cell=min_cell)

    return await _due(pool, limit, "open", "closes_at", close_one)


_Act = Callable[[UnitOfWork, asyncpg.Record, datetime], Awaitable[None]]


async def _open_one(uow: UnitOfWork, row: asyncpg.Record, now: datetime) -> None:
    await open_round(uow, row, now)


async def _due(pool: asyncpg.Pool, limit: int, state: str, column: str, act: _Act) -> int:
    done = 0
    async with unit_of_work(pool, SERVICE) as uow:
        now = datetime.now(UTC)
        rows = await uow.conn.fetch(
            f"""SELECT {ROUND_COLUMNS} FROM rounds WHERE state = $1 AND {column} <= $2
                ORDER BY {column} LIMIT $3 FOR UPDATE""",  # noqa: S608 (constant SQL fragments; values are parameters)
            state,
            now,
            limit,
        )
        for row in rows:
            # One round that cannot be handled (a bug, bad data) must not hold back the others:
            # it is rolled back alone, logged, and tried again at the next pass.
            try:
                async with uow.savepoint():
                    await act(uow, row, now)
                done += 1
            except Exception as exc:
                log.error("round timer failed", round_id=str(row["id"]), error_type=type(exc).__name__)
    return done


async def seconds_until_next_due(pool: asyncpg.Pool) -> float | None:
    due: datetime | None = await pool.fetchval(
        """SELECT least((SELECT min(opens_at) FROM rounds WHERE state = 'scheduled'),
                        (SELECT min(closes_at) FROM rounds WHERE state = 'open'))"""
    )
    if due is None:
        return None
    return max(0.0, (due - datetime.now(UTC)).total_seconds())


async def close_for_submitted_plan(uow: UnitOfWork, plan_id: UUID, min_cell: int) -> int:
    """A submitted plan takes no more input: open rounds close, scheduled ones are cancelled."""
    rows = await uow.conn.fetch(
        f"""SELECT {ROUND_COLUMNS} FROM rounds WHERE plan_id = $1 AND state IN ('scheduled', 'open')
            ORDER BY opens_at FOR UPDATE""",  # noqa: S608 (constant SQL fragments; values are parameters)
        plan_id,
    )
    for row in rows:
        await close_round(uow, row, reason="plan_submitted", min_cell=min_cell)
    return len(rows)


async def record_offline_event(
    pool: asyncpg.Pool, who: Principal, round_id: UUID, body: OfflineEventIn
) -> Row:
    async with unit_of_work(pool, SERVICE) as uow:
        row = await round_for_edit(uow.conn, who, round_id)
        if row["state"] == RoundState.CANCELLED:
            raise problem_for(RuleViolation("round_cancelled", "the round was cancelled"))
        event_id = uuid4()
        try:
            check_not_future(body.held_on, "held_on", datetime.now(UTC))
        except RuleViolation as rv:
            raise problem_for(rv) from None
        by_sector = {k.value: v for k, v in body.by_sector.items()}
        if sum(by_sector.values()) > body.participants:
            raise Unprocessable("by_sector", "the sectors count more people than took part")
        report_url = str(body.report_url) if body.report_url else None
        await uow.conn.execute(
            """INSERT INTO offline_events (id, round_id, plan_id, format, held_on, participants,
                                           by_sector, report_url, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            event_id, round_id, row["plan_id"], body.format, body.held_on, body.participants,
            by_sector, report_url, who.subject,
        )  # fmt: skip
        uow.publish(
            OfflineEventRecorded(
                offline_event_id=event_id,
                round_id=round_id,
                plan_id=row["plan_id"],
                format=body.format,
                held_on=body.held_on,
                participants=body.participants,
                by_sector=body.by_sector,
                report_url=report_url,
            )
        )
    return {"id": event_id, "round_id": round_id, **body.model_dump(mode="json")}
