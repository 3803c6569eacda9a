"""Repositories of co-creation spaces, commitments and rounds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from uuid import UUID

from services.consultation.domain.rounds import CoCreationSpace, CommitmentSpace, OfflineEvent, Round
from shared.events.consultation import RoundKind, RoundState
from shared.uow import UnitOfWork

#: Wakes the timers' leader (it LISTENs on its lock connection) when a round is scheduled sooner
#: than its next planned pass.
TIMERS_CHANNEL = "consultation_timers"

ROUND_COLUMNS = """id, plan_id, member_id, kind, commitment_id, title, description, opens_at,
    closes_at, scheduled_at, notice_days, short_notice, state, opened_at, closed_at, close_reason"""

Lock = Literal["share", "update"] | None


class Spaces(Protocol):
    async def get(self, plan_id: UUID, *, lock: Lock = None) -> CoCreationSpace | None: ...

    async def add_or_retitle(self, space: CoCreationSpace) -> bool:
        """Store a new space (True), or give a known one the plan's new title (False)."""
        ...

    async def save_closed(self, space: CoCreationSpace) -> None:
        """Store a closed space, whether it was known or not."""


class Commitments(Protocol):
    async def add(self, commitment: CommitmentSpace) -> None:
        """Store it unless known (a replay)."""

    async def belongs(self, commitment_id: UUID, plan_id: UUID) -> bool: ...


class Rounds(Protocol):
    async def get(self, round_id: UUID, *, for_update: bool = False) -> Round | None: ...

    async def add(self, rnd: Round) -> None:
        """Store a scheduled round and wake the timers (at commit) in case it is due soon."""

    async def save(self, rnd: Round) -> None:
        """Store its state and the times it opened or closed."""

    async def due(self, state: RoundState, limit: int, now: datetime) -> list[Round]:
        """Locked, oldest due first: scheduled rounds whose opening time came, or open rounds
        whose closing time came."""
        ...

    async def to_close_for_plan(self, plan_id: UUID) -> list[Round]:
        """Locked: the plan's rounds still scheduled or open, by opening time."""
        ...

    async def closing_soon(self, now: datetime, within: timedelta, limit: int) -> list[Round]:
        """Locked, soonest closing first: open rounds not announced yet that close after ``now``
        and at most ``within`` after it. Rounds another transaction is changing are skipped (the
        next pass finds them); inputs being posted do not hold them up."""
        ...

    async def save_closing_soon(self, rnd: Round) -> None:
        """Store when the round was announced as closing soon."""

    async def input_counts(self, round_id: UUID) -> tuple[int, int]:
        """(submissions, comments) the round took."""
        ...

    async def add_offline_event(self, offline: OfflineEvent) -> None: ...


def _round(row: Any) -> Round:
    return Round(
        row["id"], row["plan_id"], row["member_id"], RoundKind(row["kind"]), row["commitment_id"],
        row["title"], row["description"], row["opens_at"], row["closes_at"], row["scheduled_at"],
        row["notice_days"], row["short_notice"], RoundState(row["state"]), row["opened_at"],
        row["closed_at"], row["close_reason"],
    )  # fmt: skip


_SPACE = """SELECT plan_id, member_id, title, state, opened_at, closed_at, submitted_at
            FROM co_creation_spaces WHERE plan_id = $1"""


class PgSpaces:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def get(self, plan_id: UUID, *, lock: Lock = None) -> CoCreationSpace | None:
        suffix = {None: "", "share": " FOR SHARE", "update": " FOR UPDATE"}[lock]
        row = await self._conn.fetchrow(
            _SPACE + suffix,
            plan_id,
        )
        return CoCreationSpace(**dict(row)) if row else None

    async def add_or_retitle(self, space: CoCreationSpace) -> bool:
        created = await self._conn.fetchval(
            """INSERT INTO co_creation_spaces (plan_id, member_id, title, state, opened_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (plan_id) DO UPDATE SET title = EXCLUDED.title
               RETURNING xmax = 0""",
            space.plan_id, space.member_id, space.title, space.state, space.opened_at,
        )  # fmt: skip
        return bool(created)

    async def save_closed(self, space: CoCreationSpace) -> None:
        await self._conn.execute(
            """INSERT INTO co_creation_spaces (plan_id, member_id, title, state, closed_at, submitted_at)
               VALUES ($1, $2, $3, 'closed', $4, $5)
               ON CONFLICT (plan_id) DO UPDATE SET state = 'closed', closed_at = EXCLUDED.closed_at,
                                                   submitted_at = EXCLUDED.submitted_at""",
            space.plan_id, space.member_id, space.title, space.closed_at, space.submitted_at,
        )  # fmt: skip


class PgCommitments:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def add(self, commitment: CommitmentSpace) -> None:
        c = commitment
        await self._conn.execute(
            """INSERT INTO commitment_spaces (commitment_id, plan_id, number, title, opened_at)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (commitment_id) DO NOTHING""",
            c.commitment_id, c.plan_id, c.number, c.title, c.opened_at,
        )  # fmt: skip

    async def belongs(self, commitment_id: UUID, plan_id: UUID) -> bool:
        return bool(
            await self._conn.fetchval(
                "SELECT true FROM commitment_spaces WHERE commitment_id = $1 AND plan_id = $2",
                commitment_id,
                plan_id,
            )
        )


class PgRounds:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def get(self, round_id: UUID, *, for_update: bool = False) -> Round | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(f"SELECT {ROUND_COLUMNS} FROM rounds WHERE id = $1{lock}", round_id)  # noqa: S608 (constant SQL fragments; values are parameters)
        return _round(row) if row else None

    async def add(self, rnd: Round) -> None:
        await self._conn.execute(
            """INSERT INTO rounds (id, plan_id, member_id, kind, commitment_id, title, description,
                   opens_at, closes_at, scheduled_at, notice_days, short_notice, state, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)""",
            rnd.id, rnd.plan_id, rnd.member_id, rnd.kind.value, rnd.commitment_id, rnd.title,
            rnd.description, rnd.opens_at, rnd.closes_at, rnd.scheduled_at, rnd.notice_days,
            rnd.short_notice, rnd.state.value, rnd.created_by,
        )  # fmt: skip
        await self._conn.execute("SELECT pg_notify($1, '')", TIMERS_CHANNEL)

    async def save(self, rnd: Round) -> None:
        await self._conn.execute(
            """UPDATE rounds SET state = $2, opened_at = $3, closed_at = $4, close_reason = $5
               WHERE id = $1""",
            rnd.id, rnd.state.value, rnd.opened_at, rnd.closed_at, rnd.close_reason,
        )  # fmt: skip

    async def due(self, state: RoundState, limit: int, now: datetime) -> list[Round]:
        column = "opens_at" if state is RoundState.SCHEDULED else "closes_at"
        rows = await self._conn.fetch(
            f"""SELECT {ROUND_COLUMNS} FROM rounds WHERE state = $1 AND {column} <= $2
                ORDER BY {column} LIMIT $3 FOR UPDATE""",  # noqa: S608 (constant SQL fragments; values are parameters)
            state.value,
            now,
            limit,
        )
        return [_round(r) for r in rows]

    async def to_close_for_plan(self, plan_id: UUID) -> list[Round]:
        rows = await self._conn.fetch(
            f"""SELECT {ROUND_COLUMNS} FROM rounds WHERE plan_id = $1 AND state IN ('scheduled', 'open')
                ORDER BY opens_at FOR UPDATE""",  # noqa: S608 (constant SQL fragments; values are parameters)
            plan_id,
        )
        return [_round(r) for r in rows]

    async def closing_soon(self, now: datetime, within: timedelta, limit: int) -> list[Round]:
        # FOR NO KEY UPDATE: an input holds the round FOR KEY SHARE, which this does not wait
        # for; closing (FOR UPDATE) and another announcer do conflict with it.
        rows = await self._conn.fetch(
            f"""SELECT {ROUND_COLUMNS} FROM rounds
                WHERE state = 'open' AND closing_soon_at IS NULL AND closes_at > $1
                  AND closes_at <= $1 + $2::interval
                ORDER BY closes_at LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED""",  # noqa: S608 (constant SQL fragments; values are parameters)
            now,
            within,
            limit,
        )
        return [_round(r) for r in rows]  # none announced yet: ``closing_soon_at`` is None

    async def save_closing_soon(self, rnd: Round) -> None:
        await self._conn.execute(
            "UPDATE rounds SET closing_soon_at = $2 WHERE id = $1", rnd.id, rnd.closing_soon_at
        )

    async def input_counts(self, round_id: UUID) -> tuple[int, int]:
        row = await self._conn.fetchrow(
            """SELECT count(*) FILTER (WHERE kind = 'submission') AS submissions,
                      count(*) FILTER (WHERE kind = 'comment') AS comments
               FROM inputs WHERE round_id = $1""",
            round_id,
        )
        assert row is not None  # an aggregate: always one row
        return int(row["submissions"]), int(row["comments"])

    async def add_offline_event(self, offline: OfflineEvent) -> None:
        o = offline
        await self._conn.execute(
            """INSERT INTO offline_events (id, round_id, plan_id, format, held_on, participants,
                                           by_sector, report_url, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            o.id, o.round_id, o.plan_id, o.format, o.held_on, o.participants,
            {k.value: v for k, v in o.by_sector.items()}, o.report_url, o.created_by,
        )  # fmt: skip
