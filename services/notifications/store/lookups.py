"""What the service learnt of plans, members, rounds and reviews from other services' events: the
names messages show, and who speaks for what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from services.notifications.domain.recipients import PlanContact
from services.notifications.domain.triggers import ScopeType, Trigger
from shared.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Context:
    plan_title: str | None = None
    plan_contact_id: UUID | None = None
    member_name: str | None = None
    #: The point of contact of the member's most recently seen plan.
    member_contact_id: UUID | None = None
    round_title: str | None = None
    review_kind: str | None = None
    review_due_date: str | None = None
    researcher_id: UUID | None = None


_CONTEXT = """
SELECT
    (SELECT title FROM plan_contacts WHERE plan_id = $1) AS plan_title,
    (SELECT contact_id FROM plan_contacts WHERE plan_id = $1) AS plan_contact_id,
    (SELECT name FROM members_seen WHERE member_id = $2) AS member_name,
    (SELECT contact_id FROM plan_contacts WHERE member_id = $2 ORDER BY seen_at DESC LIMIT 1)
        AS member_contact_id,
    (SELECT title FROM rounds_seen WHERE round_id = $3) AS round_title,
    (SELECT kind FROM reviews_seen WHERE review_id = $4) AS review_kind,
    (SELECT due_date::text FROM reviews_seen WHERE review_id = $4) AS review_due_date,
    (SELECT researcher_id FROM reviews_seen WHERE review_id = $4) AS researcher_id
"""


class PgLookups:
    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def save_plan_contact(self, contact: PlanContact) -> None:
        await self._conn.execute(
            """INSERT INTO plan_contacts (plan_id, member_id, contact_id, title) VALUES ($1, $2, $3, $4)
               ON CONFLICT (plan_id) DO UPDATE SET contact_id = EXCLUDED.contact_id,
                   title = EXCLUDED.title, seen_at = now()""",
            contact.plan_id, contact.member_id, contact.contact_id, contact.title,
        )  # fmt: skip

    async def save_member(self, member_id: UUID, name: str) -> None:
        await self._conn.execute(
            """INSERT INTO members_seen (member_id, name) VALUES ($1, $2)
               ON CONFLICT (member_id) DO UPDATE SET name = EXCLUDED.name""",
            member_id, name,
        )  # fmt: skip

    async def save_round(self, round_id: UUID, plan_id: UUID, title: str) -> None:
        await self._conn.execute(
            """INSERT INTO rounds_seen (round_id, plan_id, title) VALUES ($1, $2, $3)
               ON CONFLICT (round_id) DO UPDATE SET title = EXCLUDED.title""",
            round_id, plan_id, title,
        )  # fmt: skip

    async def save_review(
        self,
        review_id: UUID,
        plan_id: UUID,
        kind: str,
        *,
        due_date: date | None = None,
        researcher_id: UUID | None = None,
    ) -> None:
        await self._conn.execute(
            """INSERT INTO reviews_seen (review_id, plan_id, kind, due_date, researcher_id)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (review_id) DO UPDATE SET kind = EXCLUDED.kind,
                   due_date = coalesce(EXCLUDED.due_date, reviews_seen.due_date),
                   researcher_id = coalesce(EXCLUDED.researcher_id, reviews_seen.researcher_id)""",
            review_id, plan_id, kind, due_date, researcher_id,
        )  # fmt: skip

    async def context(self, trigger: Trigger) -> Context:
        s = trigger.scopes
        row = await self._conn.fetchrow(
            _CONTEXT,
            s.get(ScopeType.PLAN),
            s.get(ScopeType.MEMBER),
            s.get(ScopeType.ROUND),
            s.get(ScopeType.REVIEW),
        )
        return Context(**dict(row)) if row else Context()
