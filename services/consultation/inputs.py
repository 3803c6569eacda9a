"""Submissions and comments, with abuse control and moderation.

One input is one short transaction: the round's row ``FOR KEY SHARE`` (so a round closing at that
moment either counts it or refuses it), the author's row updated by the rate limiter (which also
serialises one person's concurrent posts), the insert, and the event in the outbox.

Abuse control, in order: only an open round takes input (409); more than
``rate_limit_inputs`` per ``rate_limit_window_s`` from one person is a 429 with ``Retry-After``
(staff and government officials answering in threads are not limited); the same text twice from
the same person in the same round is a 409 naming the first copy; oversize text is a 422 (or a
413 for a body over the HTTP limit).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from services.consultation.domain import (
    RuleViolation,
    check_takes_input,
    redact_contacts,
    retry_after,
    text_hash,
)
from services.consultation.errors import problem_for
from services.consultation.schemas import AnchorIn, CommentIn, FlagIn, HideIn, InputIn, RestoreIn
from services.consultation.settings import ConsultationSettings
from shared.auth import Principal, Role
from shared.events.base import Event
from shared.events.consultation import (
    AnchorType,
    CommentAdded,
    CommentModerated,
    InputKind,
    ModerationAction,
    RoundKind,
    RoundState,
    SubmissionReceived,
)
from shared.http import Conflict, NotFound, Problem, Unprocessable
from shared.uow import OUTBOX_COLUMNS, UnitOfWork, outbox_row, unit_of_work

SERVICE = "consultation"

Row = dict[str, Any]

#: Columns the public may see. The author's subject, profile and the raw text are not among them.
PUBLIC_COLUMNS = """i.id, i.seq, i.kind, i.round_id, i.plan_id, i.parent_id,
    CASE WHEN i.hidden THEN i.anchor - 'section' - 'quote' ELSE i.anchor END AS anchor, i.alignment,
    i.language, i.created_at, i.official, i.hidden, i.hidden_reason,
    CASE WHEN i.hidden THEN NULL ELSE i.public_title END AS title,
    CASE WHEN i.hidden THEN NULL ELSE i.public_body END AS body,
    CASE WHEN i.hidden THEN NULL ELSE i.links END AS links,
    CASE WHEN i.hidden THEN NULL ELSE i.display_name END AS author,
    (i.display_name IS NULL) AS anonymous"""


def is_official(who: Principal, member_id: UUID) -> bool:
    """Staff and the plan's own government answer in threads; their inputs need no response and
    are not rate-limited. A government official of another member is a participant here."""
    return who.has(Role.STAFF) or (who.has(Role.GOVERNMENT) and member_id in who.member_ids)


class TooManyRequests(Problem):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            429,
            "Too Many Requests",
            f"too many inputs from you; try again in {retry_after_s} s",
            headers={"Retry-After": str(retry_after_s)},
        )


async def _anchor(
    conn: Any, rnd: asyncpg.Record, given: AnchorIn | None, parent: asyncpg.Record | None
) -> AnchorIn:
    """Where an input points. Default: the parent's anchor, else the round's commitment or plan.
    A passage's section and quote are public text: contact details in them are masked."""
    if given is None:
        if parent is not None:
            return AnchorIn.model_validate(parent["anchor"])
        if rnd["kind"] == RoundKind.COMMITMENT_DRAFT:
            return AnchorIn(type=AnchorType.COMMITMENT, commitment_id=rnd["commitment_id"])
        return AnchorIn(type=AnchorType.PLAN)
    if given.type is AnchorType.PLAN:
        if given.commitment_id or given.section or given.quote:
            raise Unprocessable("anchor", "a plan anchor takes no commitment, section or quote")
        return given
    if given.type is AnchorType.PASSAGE and not (given.section or given.quote):
        raise Unprocessable("anchor.quote", "a passage anchor needs a section or a quote")
    if given.type is AnchorType.COMMITMENT and given.commitment_id is None:
        raise Unprocessable("anchor.commitment_id", "a commitment anchor names its commitment")
    if given.commitment_id is not None and not await conn.fetchval(
        "SELECT true FROM commitment_spaces WHERE commitment_id = $1 AND plan_id = $2",
        given.commitment_id,
        rnd["plan_id"],
    ):
        raise Unprocessable("anchor.commitment_id", f"the plan has no commitment {given.commitment_id}")
    return given.model_copy(
        update={
            "section": redact_contacts(given.section) if given.section else given.section,
            "quote": redact_contacts(given.quote) if given.quote else given.quote,
        }
    )


def _count_in_window(now: str, window: str) -> str:
    """The rate limiter's fixed window, as the tail of an ``INSERT INTO participants AS p``: find or
    create the person's row and count one action (``now`` and ``window`` name the parameters)."""
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


async def post_input(
    pool: asyncpg.Pool,
    who: Principal,
    round_id: UUID,
    body: InputIn,
    kind: InputKind,
    settings: ConsultationSettings,
) -> Row:
    """Four round trips on the common path: BEGIN, round and author (one statement), input and
    outbox row (one statement), COMMIT. A reply or an explicit commitment anchor adds a lookup."""
    if len(body.body) > settings.input_max_chars:
        raise Unprocessable("body", f"at most {settings.input_max_chars} characters")
    now = datetime.now(UTC)
    window = timedelta(seconds=settings.rate_limit_window_s)
    parent_id = body.parent_id if isinstance(body, CommentIn) else None
    async with unit_of_work(pool, SERVICE) as uow:
        conn = uow.conn
        rnd = await conn.fetchrow(
            _ROUND_AND_AUTHOR, round_id, uuid4(), who.subject, now, window, RoundState.OPEN.value
        )
        if rnd is None:
            raise NotFound(f"round {round_id}")
        try:
            check_takes_input(RoundState(rnd["state"]))
        except RuleViolation as rv:
            raise problem_for(rv) from None
        parent = None
        if parent_id is not None:
            parent = await conn.fetchrow(
                "SELECT anchor FROM inputs WHERE id = $1 AND round_id = $2", parent_id, round_id
            )
            if parent is None:
                raise Unprocessable("parent_id", f"the round has no submission or comment {parent_id}")
        anchor = await _anchor(conn, rnd, body.anchor, parent)
        # Checked after the parent and anchor, as before they were combined with the round.
        official = is_official(who, rnd["member_id"])
        if rnd["window_count"] > settings.rate_limit_inputs and not official:
            raise TooManyRequests(retry_after(rnd["window_start"], now, window))
        input_id = uuid4()
        common = {
            "round_id": round_id,
            "plan_id": rnd["plan_id"],
            "anchor_type": anchor.type,
            "commitment_id": anchor.commitment_id,
        }
        lang = {"alignment": body.alignment, "language": body.language}
        event: Event
        if kind is InputKind.SUBMISSION:
            event = SubmissionReceived(submission_id=input_id, received_at=now, **common, **lang)
        else:
            event = CommentAdded(comment_id=input_id, parent_id=parent_id, added_at=now, **common, **lang)
        digest = text_hash(body.title, body.body)
        inserted = await conn.fetchval(
            _INSERT_WITH_EVENT,
            input_id, round_id, rnd["plan_id"], kind.value, parent_id, anchor.model_dump(mode="json"),
            anchor.commitment_id, body.alignment.value, body.language, body.title, body.body,
            redact_contacts(body.title) if body.title else None, redact_contacts(body.body),
            [str(u) for u in body.links], rnd["author_id"], body.display_name, official,
            body.stakeholder_type.value if body.stakeholder_type else None, body.region,
            body.gender.value if body.gender else None, digest, now, *outbox_row(event, SERVICE),
        )  # fmt: skip
        if inserted is None:
            first = await conn.fetchval(
                "SELECT id FROM inputs WHERE round_id = $1 AND author_id = $2 AND text_hash = $3",
                round_id,
                rnd["author_id"],
                digest,
            )
            raise Conflict(f"you already posted this text in this round as {first}", rule="duplicate_text")
    return {"id": input_id, "seq": inserted, "kind": kind.value, "round_id": round_id, "created_at": now}


async def public_input(conn: Any, input_id: UUID) -> Row:
    row = await conn.fetchrow(
        f"""SELECT {PUBLIC_COLUMNS},
                   r.id AS response_id, r.decision, r.rationale, r.published_at AS responded_at
            FROM inputs i
            LEFT JOIN response_inputs ri ON ri.input_id = i.id
            LEFT JOIN responses r ON r.id = ri.response_id
            WHERE i.id = $1""",  # noqa: S608 (constant SQL fragments; values are parameters)
        input_id,
    )
    if row is None:
        raise NotFound(f"submission or comment {input_id}")
    return dict(row)


# --- moderation ----------------------------------------------------------------------------


async def _input_for_moderation(conn: Any, input_id: UUID) -> Any:
    row = await conn.fetchrow(
        "SELECT id, kind, round_id, plan_id, hidden, flags FROM inputs WHERE id = $1 FOR UPDATE", input_id
    )
    if row is None:
        raise NotFound(f"submission or comment {input_id}")
    return row


async def _log(
    uow: UnitOfWork,
    row: asyncpg.Record,
    who: Principal,
    action: ModerationAction,
    now: datetime,
    *,
    public_reason: str | None = None,
    note: str | None = None,
    visible: bool,
    publish: bool = True,
) -> None:
    """Write the action in the audit log and, unless ``publish`` is false, announce it."""
    await uow.conn.execute(
        """INSERT INTO moderation_log (input_id, action, actor, public_reason, note, at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        row["id"],
        action.value,
        who.subject,
        public_reason,
        note,
        now,
    )
    if not publish:
        return
    uow.publish(
        CommentModerated(
            input_id=row["id"],
            input_kind=InputKind(row["kind"]),
            round_id=row["round_id"],
            plan_id=row["plan_id"],
            action=action,
            public_reason=public_reason,
            visible=visible,
            moderated_at=now,
        )
    )


async def flag(
    pool: asyncpg.Pool, who: Principal, input_id: UUID, body: FlagIn, settings: ConsultationSettings
) -> Row:
    """Anyone signed in may flag an input once. ``flags`` counts the flags no moderator has acted
    on yet: the first one puts the input in the queue and is published, later ones raise the
    count; hiding or restoring empties it. Flags count against the same per-person window as
    inputs, so one account cannot flood the queue."""
    now = datetime.now(UTC)
    window = timedelta(seconds=settings.rate_limit_window_s)
    async with unit_of_work(pool, SERVICE) as uow:
        row = await _input_for_moderation(uow.conn, input_id)
        counted = await uow.conn.fetchrow(_COUNT_IN_WINDOW, uuid4(), who.subject, now, window)
        assert counted is not None
        if counted["window_count"] > settings.rate_limit_inputs and not who.has(Role.STAFF, Role.MODERATOR):
            raise TooManyRequests(retry_after(counted["window_start"], now, window))
        flagger = counted["id"]
        added = await uow.conn.execute(
            """INSERT INTO input_flags (input_id, flagger_id, reason, flagged_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING""",
            input_id,
            flagger,
            body.reason,
            now,
        )
        if added != "INSERT 0 1":
            return {"id": input_id, "flags": row["flags"], "already_flagged": True}
        await uow.conn.execute("UPDATE inputs SET flags = flags + 1 WHERE id = $1", input_id)
        await _log(
            uow, row, who, ModerationAction.FLAGGED, now,
            note=body.reason, visible=not row["hidden"], publish=row["flags"] == 0,
        )  # fmt: skip
    return {"id": input_id, "flags": row["flags"] + 1, "already_flagged": False}


async def hide(pool: asyncpg.Pool, who: Principal, input_id: UUID, body: HideIn) -> Row:
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        row = await _input_for_moderation(uow.conn, input_id)
        if row["hidden"]:
            raise Conflict("the input is already hidden", rule="already_hidden")
        await uow.conn.execute(
            "UPDATE inputs SET hidden = true, hidden_reason = $2, flags = 0 WHERE id = $1",
            input_id,
            body.public_reason,
        )
        await _log(
            uow,
            row,
            who,
            ModerationAction.HIDDEN,
            now,
            public_reason=body.public_reason,
            note=body.note,
            visible=False,
        )
        return await public_input(uow.conn, input_id)


async def restore(pool: asyncpg.Pool, who: Principal, input_id: UUID, body: RestoreIn) -> Row:
    now = datetime.now(UTC)
    async with unit_of_work(pool, SERVICE) as uow:
        row = await _input_for_moderation(uow.conn, input_id)
        if not row["hidden"]:
            raise Conflict("the input is not hidden", rule="not_hidden")
        await uow.conn.execute(
            "UPDATE inputs SET hidden = false, hidden_reason = NULL, flags = 0 WHERE id = $1", input_id
        )
        await _log(uow, row, who, ModerationAction.RESTORED, now, note=body.note, visible=True)
        return await public_input(uow.conn, input_id)


async def moderator_view(conn: Any, input_id: UUID) -> Row:
    """Everything about an input, for moderators: the raw text, who wrote it, the flags, the log."""
    row = await conn.fetchrow(
        """SELECT i.id, i.kind, i.round_id, i.plan_id, i.parent_id, i.title, i.body, i.links,
                  i.display_name, i.official, i.stakeholder_type, i.region, i.gender, i.created_at,
                  i.flags, i.hidden, i.hidden_reason, p.id AS author_id, p.subject AS author_subject
           FROM inputs i JOIN participants p ON p.id = i.author_id WHERE i.id = $1""",
        input_id,
    )
    if row is None:
        raise NotFound(f"submission or comment {input_id}")
    log = await conn.fetch(
        """SELECT action, actor, public_reason, note, at FROM moderation_log
           WHERE input_id = $1 ORDER BY id""",
        input_id,
    )
    return dict(row) | {"log": [dict(r) for r in log]}
