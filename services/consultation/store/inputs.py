"""Repositories of submissions and comments, their authors' rate windows and moderation.

One input is one short transaction: the round's row ``FOR KEY SHARE`` (so a round closing at that
moment either counts it or refuses it), the author's row updated by the rate limiter (which also
serialises one person's concurrent posts), the insert, and the event in the outbox. The common
path is four round trips: BEGIN, :meth:`PgInputs.target`, :meth:`PgInputs.add_with_event`, COMMIT.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID, uuid4

from services.consultation.domain.inputs import Anchor, Counted, Input, LogEntry, ModeratedInput, Target
from shared.events.base import Event
from shared.events.consultation import InputKind, RoundKind, RoundState
from shared.uow import OUTBOX_COLUMNS, UnitOfWork, outbox_row


class Inputs(Protocol):
    async def target(self, round_id: UUID, subject: str, now: datetime, window: timedelta) -> Target | None:
        """The round (``FOR KEY SHARE``) and, when it takes input, its author found or created and
        this input counted in their window. None when the round does not exist."""
        ...

    async def anchor_of(self, input_id: UUID, round_id: UUID) -> Anchor | None:
        """The anchor of an input of that round (a reply's parent); None when there is none."""
        ...

    async def add_with_event(self, item: Input, event: Event) -> int | None:
        """Store the input and its event's outbox row; its ``seq``, or None for a duplicate text
        of the same author in the round (and then no outbox row either)."""
        ...

    async def first_copy(self, item: Input) -> UUID | None:
        """The input of the same author in the round with the same text."""
        ...

    async def of_round(self, ids: Sequence[UUID], round_id: UUID) -> set[UUID]:
        """Those of ``ids`` that are inputs of the round."""
        ...

    async def for_moderation(self, input_id: UUID) -> ModeratedInput | None:
        """Locked for this transaction."""
        ...

    async def add_flag(self, input_id: UUID, flagger_id: UUID, reason: str, at: datetime) -> bool:
        """False when that person flagged the input before."""
        ...

    async def save_moderation(self, item: ModeratedInput, entry: LogEntry) -> None:
        """Store the input's visibility and flag count, and the action in the audit log."""


class Participants(Protocol):
    async def count(self, subject: str, now: datetime, window: timedelta) -> Counted:
        """Find or create the person's row and count one action in their window."""
        ...


def _count_in_window(now: str, window: str) -> str:
    """The rate limiter's fixed window, the one definition of it: the tail of an ``INSERT INTO
    participants AS p`` that finds or creates the person's row and counts one action. A window
    runs ``window`` from its first action; the first action after it starts a new one. (``now``
    and ``window`` name the parameters.)"""
    expired = f"p.window_start <= {now} - {window}::interval"
    return f"""ON CONFLICT (subject) DO UPDATE SET
        window_start = CASE WHEN {expired} THEN {now} ELSE p.window_start END,
        window_count = CASE WHEN {expired} THEN 1 ELSE p.window_count + 1 END
    RETURNING id, window_start, window_count"""


#: The round's row ``FOR KEY SHARE`` and, when the round takes input, the author's row found or
#: created and this input counted in their window: one statement, one round trip. A round that is
#: missing or not open leaves the author's row alone (the transaction is rolled back anyway).
_ROUND_AND_AUTHOR = f"""
WITH r AS (
    SELECT plan_id, member_id, kind, commitment_id,
           CASE WHEN state = 'open' AND closes_at <= $4 THEN 'closed' ELSE state END AS state
    FROM rounds WHERE id = $1 FOR KEY SHARE
), p AS (
    INSERT INTO participants AS p (id, subject, window_start, window_count)
    SELECT $2, $3, $4, 1 FROM r WHERE r.state = $6
    {_count_in_window("$4", "$5")}
)
SELECT r.plan_id, r.member_id, r.kind, r.commitment_id, r.state,
       p.id AS author_id, p.window_start, p.window_count
FROM r LEFT JOIN p ON true
"""  # noqa: S608 (constant SQL fragments; values are parameters)

#: Count one action (a flag) of a person who need not have posted yet.
_COUNT_IN_WINDOW = f"""
INSERT INTO participants AS p (id, subject, window_start, window_count) VALUES ($1, $2, $3, 1)
{_count_in_window("$3", "$4")}
"""  # noqa: S608 (constant SQL fragments; values are parameters)

#: The input and its event's outbox row in one statement: the outbox row is written only when the
#: input is (not for a duplicate, which the unique index turns away).
_INSERT_WITH_EVENT = f"""
WITH i AS (
    INSERT INTO inputs (id, round_id, plan_id, kind, parent_id, anchor, commitment_id,
        alignment, language, title, body, public_title, public_body, links, author_id,
        display_name, official, stakeholder_type, region, gender, text_hash, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, $19, $20, $21, $22)
    ON CONFLICT (round_id, author_id, text_hash) DO NOTHING
    RETURNING seq
), o AS (
    INSERT INTO outbox ({OUTBOX_COLUMNS})
    SELECT $23, $24, $25, $26, $27, $28, $29, $30, $31 FROM i
)
SELECT seq FROM i
"""  # noqa: S608 (constant SQL fragments; values are parameters)


class PgInputs:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn
        self._service = uow.service

    async def target(self, round_id: UUID, subject: str, now: datetime, window: timedelta) -> Target | None:
        row = await self._conn.fetchrow(
            _ROUND_AND_AUTHOR, round_id, uuid4(), subject, now, window, RoundState.OPEN.value
        )
        if row is None:
            return None
        counted = (
            Counted(row["author_id"], row["window_start"], row["window_count"])
            if row["author_id"] is not None
            else None
        )
        return Target(
            round_id, row["plan_id"], row["member_id"], RoundKind(row["kind"]), row["commitment_id"],
            RoundState(row["state"]), counted,
        )  # fmt: skip

    async def anchor_of(self, input_id: UUID, round_id: UUID) -> Anchor | None:
        data = await self._conn.fetchval(
            "SELECT anchor FROM inputs WHERE id = $1 AND round_id = $2", input_id, round_id
        )
        return Anchor.from_json(data) if data is not None else None

    async def add_with_event(self, item: Input, event: Event) -> int | None:
        # Hot path (every submission and comment): the input and its outbox row in one statement.
        t = item.text
        seq: int | None = await self._conn.fetchval(
            _INSERT_WITH_EVENT,
            item.id, item.round_id, item.plan_id, item.kind.value, item.parent_id, item.anchor.as_json(),
            item.anchor.commitment_id, t.alignment.value, t.language, t.title, t.body, item.public_title,
            item.public_body, item.public_links, item.author_id, t.display_name, item.official,
            t.stakeholder_type.value if t.stakeholder_type else None, t.region, t.gender, item.text_hash,
            item.created_at, *outbox_row(event, self._service),
        )  # fmt: skip
        item.seq = seq
        return seq

    async def first_copy(self, item: Input) -> UUID | None:
        first: UUID | None = await self._conn.fetchval(
            "SELECT id FROM inputs WHERE round_id = $1 AND author_id = $2 AND text_hash = $3",
            item.round_id,
            item.author_id,
            item.text_hash,
        )
        return first

    async def of_round(self, ids: Sequence[UUID], round_id: UUID) -> set[UUID]:
        rows = await self._conn.fetch(
            "SELECT id FROM inputs WHERE id = ANY($1::uuid[]) AND round_id = $2", list(ids), round_id
        )
        return {r["id"] for r in rows}

    async def for_moderation(self, input_id: UUID) -> ModeratedInput | None:
        row = await self._conn.fetchrow(
            """SELECT id, kind, round_id, plan_id, hidden, hidden_reason, flags FROM inputs
               WHERE id = $1 FOR UPDATE""",
            input_id,
        )
        if row is None:
            return None
        return ModeratedInput(
            row["id"], InputKind(row["kind"]), row["round_id"], row["plan_id"], row["hidden"],
            row["hidden_reason"], row["flags"],
        )  # fmt: skip

    async def add_flag(self, input_id: UUID, flagger_id: UUID, reason: str, at: datetime) -> bool:
        added = await self._conn.execute(
            """INSERT INTO input_flags (input_id, flagger_id, reason, flagged_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING""",
            input_id,
            flagger_id,
            reason,
            at,
        )
        return bool(added == "INSERT 0 1")

    async def save_moderation(self, item: ModeratedInput, entry: LogEntry) -> None:
        await self._conn.execute(
            "UPDATE inputs SET hidden = $2, hidden_reason = $3, flags = $4 WHERE id = $1",
            item.id,
            item.hidden,
            item.hidden_reason,
            item.flags,
        )
        await self._conn.execute(
            """INSERT INTO moderation_log (input_id, action, actor, public_reason, note, at)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            entry.input_id, entry.action.value, entry.actor, entry.public_reason, entry.note, entry.at,
        )  # fmt: skip


class PgParticipants:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def count(self, subject: str, now: datetime, window: timedelta) -> Counted:
        row: Any = await self._conn.fetchrow(_COUNT_IN_WINDOW, uuid4(), subject, now, window)
        return Counted(row["id"], row["window_start"], row["window_count"])
