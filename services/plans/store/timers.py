"""The timers' candidate scans on Postgres (:class:`~.protocols.TimerScans`): set-based SQL
for the rules of :mod:`services.plans.timers`.

Every scan takes $1 today, $2 batch size, $3 the aggregates to restrict to (NULL: all) and $4 the
timer kind, then its own parameters. It returns ``subject`` and ``occurrence`` (the
timer_emissions key), ``aggregate`` (the row to lock) and the payload's columns, and leaves out
what was already emitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from shared.db import Row
from shared.events.plans import PlanState

if TYPE_CHECKING:
    from services.plans.store.postgres import Conn

_MILESTONES = """
SELECT m.id AS subject, to_char(m.end_date, 'YYYY-MM-DD') AS occurrence, m.plan_id AS aggregate,
       m.plan_id, m.commitment_id, m.number, m.end_date, p.member_id
FROM milestones m
JOIN plans p ON p.id = m.plan_id
JOIN commitments c ON c.id = m.commitment_id
WHERE m.end_date < $1
  AND m.status NOT IN ('completed', 'cancelled')  -- the predicate of the milestones_due index
  AND p.state = ANY($5::text[])
  AND c.state <> 'withdrawn'
  AND ($3::uuid[] IS NULL OR m.plan_id = ANY($3::uuid[]))
  AND NOT EXISTS (SELECT 1 FROM timer_emissions e
                  WHERE e.kind = $4 AND e.subject = m.id
                    AND e.occurrence = to_char(m.end_date, 'YYYY-MM-DD'))
ORDER BY m.plan_id, m.id
LIMIT $2
"""

_NEXT_PLAN = """
WITH latest AS (
    SELECT DISTINCT ON (p.member_id) p.member_id, p.id AS plan_id, p.end_date
    FROM plans p
    JOIN members mb ON mb.id = p.member_id
    WHERE p.state = ANY($5::text[])
      AND mb.status <> 'withdrawn'
      AND ($3::uuid[] IS NULL OR p.member_id = ANY($3::uuid[]))
    ORDER BY p.member_id, p.end_date DESC, p.created_at DESC, p.id DESC
)
SELECT l.member_id AS subject, l.plan_id::text AS occurrence, l.member_id AS aggregate,
       l.member_id, l.plan_id, l.end_date
FROM latest l
WHERE (l.end_date + make_interval(months => $6))::date < $1
  AND NOT EXISTS (SELECT 1 FROM plans n
                  WHERE n.member_id = l.member_id AND n.id <> l.plan_id
                    AND (n.start_date > l.end_date
                         OR (n.created_at AT TIME ZONE 'UTC')::date > l.end_date))
  AND NOT EXISTS (SELECT 1 FROM timer_emissions e
                  WHERE e.kind = $4 AND e.subject = l.member_id AND e.occurrence = l.plan_id::text)
ORDER BY l.member_id
LIMIT $2
"""

# (today - created) / 365 is at least the number of whole years elapsed, so the series covers every
# completed period; ``period_end <= today`` keeps only those. date + interval is a timestamp
# without time zone: no session time zone can shift a boundary.
_REPOSITORY = """
WITH p AS (
    SELECT id, member_id, (created_at AT TIME ZONE 'UTC')::date AS created
    FROM plans
    WHERE state = ANY($5::text[])
      AND ($3::uuid[] IS NULL OR id = ANY($3::uuid[]))
), periods AS (
    SELECT p.id AS plan_id, p.member_id,
           (p.created + make_interval(years => k))::date AS period_start,
           (p.created + make_interval(years => k + 1))::date AS period_end
    FROM p, generate_series(0, greatest(($1::date - p.created) / 365, 0)) AS k
)
SELECT x.plan_id AS subject, to_char(x.period_start, 'YYYY-MM-DD') AS occurrence,
       x.plan_id AS aggregate, x.plan_id, x.member_id, x.period_start, x.period_end,
       d.n AS updates
FROM periods x
CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM documents d
    WHERE d.plan_id = x.plan_id AND d.published_on >= x.period_start AND d.published_on < x.period_end
) d
WHERE x.period_end <= $1::date
  AND d.n < $6
  AND NOT EXISTS (SELECT 1 FROM timer_emissions e
                  WHERE e.kind = $4 AND e.subject = x.plan_id
                    AND e.occurrence = to_char(x.period_start, 'YYYY-MM-DD'))
ORDER BY x.plan_id, x.period_start
LIMIT $2
"""


def _states(states: Sequence[PlanState]) -> list[str]:
    return [s.value for s in states]


class PgTimerScans:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def overdue_milestones(
        self, today: date, limit: int, within: Sequence[UUID] | None, kind: str,
        plan_states: Sequence[PlanState],
    ) -> list[Row]:  # fmt: skip
        rows = await self._conn.fetch(_MILESTONES, today, limit, within, kind, _states(plan_states))
        return [dict(r) for r in rows]

    async def next_plans_overdue(
        self, today: date, limit: int, within: Sequence[UUID] | None, kind: str,
        plan_states: Sequence[PlanState], grace_months: int,
    ) -> list[Row]:  # fmt: skip
        rows = await self._conn.fetch(
            _NEXT_PLAN, today, limit, within, kind, _states(plan_states), grace_months
        )
        return [dict(r) for r in rows]

    async def stale_repositories(
        self, today: date, limit: int, within: Sequence[UUID] | None, kind: str,
        plan_states: Sequence[PlanState], min_updates: int,
    ) -> list[Row]:  # fmt: skip
        rows = await self._conn.fetch(
            _REPOSITORY, today, limit, within, kind, _states(plan_states), min_updates
        )
        return [dict(r) for r in rows]
