"""Reviews' repository: the reviews, the plans they review, researchers, comments on drafts and
the timers' claims (what was already reported)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from services.irm.domain.reviews import Comment, Researcher, Review, SubmittedPlan
from shared.events.irm import ReviewKind, ReviewState
from shared.uow import UnitOfWork

_COLUMNS = (
    "id, plan_id, member_id, kind, state, opened_on, due_date, scheduled_at, researcher_id, assigned_at, "
    "state_changed_at, comments_until, draft_url, report_title, report_url, published_on, withdrawn_reason"
)
_COMMENT_COLUMNS = (
    "id, review_id, phase, author, author_role, body, received_at, considered_note, considered_by, "
    "considered_at"
)
#: The states a timer still looks at.
_OPEN_STATES = [s.value for s in ReviewState if s not in (ReviewState.PUBLISHED, ReviewState.WITHDRAWN)]


class Reviews(Protocol):
    async def get(self, review_id: UUID, *, for_update: bool = False) -> Review | None:
        """The review, locked for the rest of the unit of work with ``for_update``."""

    async def add_many_with_plans(
        self, reviews: Sequence[Review], plans: Sequence[SubmittedPlan]
    ) -> set[UUID]:
        """A run of submissions in one statement: each plan as last submitted, and each review
        unless its plan has one of that kind already (before, or earlier in ``reviews``); the ids
        of the reviews stored."""

    async def add(self, review: Review) -> bool:
        """Store a new review; False when the plan already has one of that kind."""

    async def remember_plan(self, plan_id: UUID, member_id: UUID, end_date: date | None) -> None:
        """Keep what an event told of a plan the IRM may not have seen submitted."""

    async def save(self, review: Review) -> None: ...

    async def windows_ended(self, today: date, limit: int) -> list[Review]:
        """Reviews in pre-publication whose window ended before ``today``, locked (busy ones skipped)."""

    async def unreported(self, kind: str, today: date, reminder_days: int, limit: int) -> list[Review]:
        """Open reviews due for the ``kind`` report (``review_due_soon``: within ``reminder_days``
        of the due date; ``review_overdue``: past it) and not reported for their due date yet."""

    async def claim(self, kind: str, occurrences: Sequence[str]) -> set[str]:
        """Record these reports as made; returns those no one had made before."""

    async def researcher(self, researcher_id: UUID) -> Researcher | None: ...

    async def researcher_by_subject(self, subject: str) -> Researcher | None: ...

    async def save_researcher(self, researcher: Researcher) -> Researcher:
        """Register a researcher, or update the name and ties of the one with that subject."""

    async def add_comment(self, comment: Comment) -> None: ...

    async def comment(self, comment_id: UUID, *, for_update: bool = False) -> Comment | None: ...

    async def save_considered(self, comment: Comment) -> None: ...

    async def comment_counts(self, review_id: UUID) -> tuple[int, int]:
        """(comments received, comments not considered yet)."""


def _review(row: Any) -> Review:
    return Review(**{**dict(row), "kind": ReviewKind(row["kind"]), "state": ReviewState(row["state"])})


def _researcher(row: Any) -> Researcher:
    return Researcher(row["id"], row["subject"], row["name"], frozenset(row["ties"]), row["registered_at"])


def _comment(row: Any) -> Comment:
    return Comment(
        row["id"], row["review_id"], ReviewState(row["phase"]), row["author"], row["author_role"],
        row["body"], row["received_at"], row["considered_note"], row["considered_by"], row["considered_at"],
    )  # fmt: skip


_DUE = {
    "review_due_soon": "r.due_date >= $2::date AND r.due_date - $3::int <= $2::date",
    "review_overdue": "r.due_date < $2::date AND $3::int >= 0",
}


class PgReviews:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def get(self, review_id: UUID, *, for_update: bool = False) -> Review | None:
        lock = " FOR UPDATE" if for_update else ""
        sql = f"SELECT {_COLUMNS} FROM reviews WHERE id = $1{lock}"  # noqa: S608  (constant text)
        row = await self._conn.fetchrow(sql, review_id)
        return None if row is None else _review(row)

    async def add_many_with_plans(
        self, reviews: Sequence[Review], plans: Sequence[SubmittedPlan]
    ) -> set[UUID]:
        # DISTINCT ON keeps the last submission of a plan and the first review of a kind, as one
        # statement per event in order would have left them.
        rows = await self._conn.fetch(
            """WITH p AS (
                   SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::date[], $5::date[],
                                        $6::timestamptz[]) WITH ORDINALITY
                       AS p(plan_id, member_id, title, start_date, end_date, submitted_at, n)
               ), seen AS (
                   INSERT INTO plans_seen (plan_id, member_id, title, start_date, end_date, submitted_at)
                   SELECT DISTINCT ON (plan_id) plan_id, member_id, title, start_date, end_date, submitted_at
                   FROM p ORDER BY plan_id, n DESC
                   ON CONFLICT (plan_id) DO UPDATE SET title = EXCLUDED.title,
                       start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
                       submitted_at = EXCLUDED.submitted_at
               )
               INSERT INTO reviews (id, plan_id, member_id, kind, state, opened_on, due_date, scheduled_at)
               SELECT DISTINCT ON (plan_id, kind) id, plan_id, member_id, kind, state, opened_on, due_date,
                      scheduled_at
               FROM unnest($7::uuid[], $8::uuid[], $9::uuid[], $10::text[], $11::text[], $12::date[],
                           $13::date[], $14::timestamptz[]) WITH ORDINALITY
                   AS r(id, plan_id, member_id, kind, state, opened_on, due_date, scheduled_at, n)
               ORDER BY plan_id, kind, n
               ON CONFLICT (plan_id, kind) DO NOTHING
               RETURNING id""",
            [p.plan_id for p in plans], [p.member_id for p in plans], [p.title for p in plans],
            [p.start_date for p in plans], [p.end_date for p in plans], [p.submitted_at for p in plans],
            [r.id for r in reviews], [r.plan_id for r in reviews], [r.member_id for r in reviews],
            [r.kind.value for r in reviews], [r.state.value for r in reviews], [r.opened_on for r in reviews],
            [r.due_date for r in reviews], [r.scheduled_at for r in reviews],
        )  # fmt: skip
        return {r["id"] for r in rows}

    async def add(self, review: Review) -> bool:
        added = await self._conn.fetchval(
            """INSERT INTO reviews (id, plan_id, member_id, kind, state, opened_on, due_date, scheduled_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (plan_id, kind) DO NOTHING
               RETURNING id""",
            review.id, review.plan_id, review.member_id, review.kind.value, review.state.value,
            review.opened_on, review.due_date, review.scheduled_at,
        )  # fmt: skip
        return added is not None

    async def remember_plan(self, plan_id: UUID, member_id: UUID, end_date: date | None) -> None:
        await self._conn.execute(
            """INSERT INTO plans_seen (plan_id, member_id, end_date) VALUES ($1, $2, $3)
               ON CONFLICT (plan_id) DO UPDATE
               SET end_date = COALESCE(EXCLUDED.end_date, plans_seen.end_date)""",
            plan_id, member_id, end_date,
        )  # fmt: skip

    async def save(self, review: Review) -> None:
        r = review
        await self._conn.execute(
            """UPDATE reviews SET state = $2, researcher_id = $3, assigned_at = $4, state_changed_at = $5,
                   comments_until = $6, draft_url = $7, report_title = $8, report_url = $9,
                   published_on = $10, withdrawn_reason = $11
               WHERE id = $1""",
            r.id, r.state.value, r.researcher_id, r.assigned_at, r.state_changed_at, r.comments_until,
            r.draft_url, r.report_title, r.report_url, r.published_on, r.withdrawn_reason,
        )  # fmt: skip

    async def windows_ended(self, today: date, limit: int) -> list[Review]:
        rows = await self._conn.fetch(
            f"""SELECT {_COLUMNS} FROM reviews
                WHERE state = 'pre_publication' AND comments_until < $1
                ORDER BY comments_until, id LIMIT $2
                FOR UPDATE SKIP LOCKED""",  # noqa: S608  (constant column list)
            today,
            limit,
        )
        return [_review(r) for r in rows]

    async def unreported(self, kind: str, today: date, reminder_days: int, limit: int) -> list[Review]:
        columns = ", ".join(f"r.{c.strip()}" for c in _COLUMNS.split(","))
        rows = await self._conn.fetch(
            f"""SELECT {columns} FROM reviews r
                WHERE r.state = ANY($4::text[]) AND {_DUE[kind]}
                  AND NOT EXISTS (
                      SELECT 1 FROM review_emissions e
                      WHERE e.kind = $1
                        AND e.occurrence = r.id::text || ':' || to_char(r.due_date, 'YYYY-MM-DD'))
                ORDER BY r.due_date, r.id LIMIT $5""",  # noqa: S608  (constant text, values bound)
            kind,
            today,
            reminder_days,
            _OPEN_STATES,
            limit,
        )
        return [_review(r) for r in rows]

    async def claim(self, kind: str, occurrences: Sequence[str]) -> set[str]:
        rows = await self._conn.fetch(
            """INSERT INTO review_emissions (kind, occurrence)
               SELECT $1, o FROM unnest($2::text[]) AS t(o)
               ON CONFLICT DO NOTHING
               RETURNING occurrence""",
            kind,
            list(occurrences),
        )
        return {r["occurrence"] for r in rows}

    async def researcher(self, researcher_id: UUID) -> Researcher | None:
        row = await self._conn.fetchrow(
            "SELECT id, subject, name, ties, registered_at FROM researchers WHERE id = $1", researcher_id
        )
        return None if row is None else _researcher(row)

    async def researcher_by_subject(self, subject: str) -> Researcher | None:
        row = await self._conn.fetchrow(
            "SELECT id, subject, name, ties, registered_at FROM researchers WHERE subject = $1", subject
        )
        return None if row is None else _researcher(row)

    async def save_researcher(self, researcher: Researcher) -> Researcher:
        r = researcher
        row = await self._conn.fetchrow(
            """INSERT INTO researchers (id, subject, name, ties, registered_at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (subject) DO UPDATE SET name = EXCLUDED.name, ties = EXCLUDED.ties
               RETURNING id, subject, name, ties, registered_at""",
            r.id, r.subject, r.name, sorted(r.ties), r.registered_at,
        )  # fmt: skip
        return _researcher(row)

    async def add_comment(self, comment: Comment) -> None:
        c = comment
        await self._conn.execute(
            f"""INSERT INTO review_comments ({_COMMENT_COLUMNS})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",  # noqa: S608  (constant column list)
            c.id, c.review_id, c.phase.value, c.author, c.author_role, c.text, c.received_at,
            c.considered_note, c.considered_by, c.considered_at,
        )  # fmt: skip

    async def comment(self, comment_id: UUID, *, for_update: bool = False) -> Comment | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(
            f"SELECT {_COMMENT_COLUMNS} FROM review_comments WHERE id = $1{lock}",  # noqa: S608
            comment_id,
        )
        return None if row is None else _comment(row)

    async def save_considered(self, comment: Comment) -> None:
        await self._conn.execute(
            """UPDATE review_comments SET considered_note = $2, considered_by = $3, considered_at = $4
               WHERE id = $1""",
            comment.id,
            comment.considered_note,
            comment.considered_by,
            comment.considered_at,
        )

    async def comment_counts(self, review_id: UUID) -> tuple[int, int]:
        row = await self._conn.fetchrow(
            """SELECT count(*) AS received, count(*) FILTER (WHERE considered_at IS NULL) AS open
               FROM review_comments WHERE review_id = $1""",
            review_id,
        )
        return (int(row["received"]), int(row["open"])) if row else (0, 0)
