"""The public plan page (``GET /v1/plans/{id}/full``: the plan, its commitments and their
milestones) and the cache that builds it once per version.

A page of 100 commitments and 500 milestones is 600 nested objects: turning them into Python
objects and encoding those again (asyncpg records → dicts → FastAPI's encoder → JSON) cost the
service about 23 ms of CPU per request (``bench/plans_read.py``). PostgreSQL writes the same text
(:mod:`~services.plans.queries.json_sql`) with less work and Python then only copies bytes; and
the page is kept in memory for as long as Postgres says it has not changed (:class:`PageCache`).
"""

from __future__ import annotations

import asyncio
import gzip
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.plans.queries.json_sql import MILESTONES_BY_COMMITMENT, commitment, plan

# One statement, one round trip: milestones grouped per commitment, commitments aggregated in
# number order with the plan's summary computed over the same rows.
_PLAN_FULL = f"""
WITH ms AS ({MILESTONES_BY_COMMITMENT}
), cs AS (
    SELECT json_agg(j ORDER BY c.number) AS items,
           count(*) FILTER (WHERE c.state <> 'withdrawn') AS n,
           coalesce(round(avg(c.progress) FILTER (WHERE c.state <> 'withdrawn'), 1), 0)::float8 AS progress
    FROM commitments c LEFT JOIN ms ON ms.commitment_id = c.id
    CROSS JOIN LATERAL ({commitment("coalesce(ms.items, '[]'::json)")}) j
    WHERE c.plan_id = $1
)
SELECT row_to_json(j)::text
FROM plans p CROSS JOIN cs
CROSS JOIN LATERAL ({plan("cs.n", "cs.progress", "coalesce(cs.items, '[]'::json)")}) j
WHERE p.id = $1
"""  # noqa: S608

#: Changes whenever a row the plan page is made of changes: every INSERT or UPDATE gives the row
#: version a new ``xmin`` (the writing transaction's id; it never comes back to an old value
#: short of 2^32 transactions), a DELETE drops the row from the count and the sum. Each row
#: counts as a 64-bit hash of (id, xmin), summed: a change leaves the sum as it was with a
#: probability of about 2^-64. Reading it costs index scans over the plan's rows and no JSON. (A
#: no-op UPDATE changes it too: a needless rebuild, never a stale page.) Whatever table the page
#: reads must be part of it: a page that showed, say, the member's name would need the member row.
_PLAN_FINGERPRINT = """md5(p.xmin::text
    || '|' || (SELECT count(*) || '.' || coalesce(sum(hashtextextended(c.id::text || c.xmin::text, 0)), 0)
               FROM commitments c WHERE c.plan_id = p.id)
    || '|' || (SELECT count(*) || '.' || coalesce(sum(hashtextextended(m.id::text || m.xmin::text, 0)), 0)
               FROM milestones m WHERE m.plan_id = p.id))"""

#: The fingerprint, and the page only when it differs from ``$2`` (the one already known). The
#: page is an uncorrelated sub-select, which Postgres runs only when the CASE needs it; both come
#: from the statement's one snapshot, so a page is never stored under another version's
#: fingerprint. (OFFSET 0 keeps the fingerprint computed once rather than once per reference.)
_PLAN_FULL_IF_CHANGED = f"""
SELECT v.fingerprint, CASE WHEN v.fingerprint = $2 THEN NULL ELSE ({_PLAN_FULL}) END AS body
FROM (SELECT {_PLAN_FINGERPRINT} AS fingerprint FROM plans p WHERE p.id = $1 OFFSET 0) v
"""  # noqa: S608


@dataclass(frozen=True, slots=True)
class PageVersion:
    """One version of a plan page: its fingerprint (the HTTP ETag), its JSON and that JSON
    gzipped (a 300 KB page is about 20 KB gzipped: what browsers and CDNs ask for)."""

    fingerprint: str
    json: bytes
    gzip: bytes

    @property
    def size(self) -> int:
        return len(self.json) + len(self.gzip)


class PageCache:
    """The plan pages last built, least recently used first out, bounded by their total size.

    A page is served from here only after Postgres confirmed that its fingerprint is still the
    current one (see :func:`plan_page`), so the cache can never serve a stale page, whichever
    process or replica wrote the change. It saves rebuilding the JSON, which is most of the cost
    of a page, not the round trip.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[UUID, PageVersion] = OrderedDict()
        self._bytes = 0

    def get(self, key: UUID) -> PageVersion | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: UUID, page: PageVersion) -> None:
        self.discard(key)
        if page.size > self.max_bytes:
            return
        self._pages[key] = page
        self._bytes += page.size
        while self._bytes > self.max_bytes:
            _, old = self._pages.popitem(last=False)
            self._bytes -= old.size

    def discard(self, key: UUID) -> None:
        page = self._pages.pop(key, None)
        if page is not None:
            self._bytes -= page.size


async def plan_page(
    conn: Any, plan_id: UUID, cache: PageCache, client_fingerprint: str | None = None
) -> tuple[str, PageVersion | None] | None:
    """The current fingerprint of the public plan page and the page itself, None for the page
    when the client already holds that version (``If-None-Match``); None when there is no plan.

    One round trip always (the fingerprint); the JSON is built, and gzipped in a worker thread,
    only when neither the cache nor the client holds the current version.
    """
    cached = cache.get(plan_id)
    known = cached.fingerprint if cached is not None else client_fingerprint
    row = await conn.fetchrow(_PLAN_FULL_IF_CHANGED, plan_id, known)
    if row is None:
        cache.discard(plan_id)
        return None
    fingerprint: str = row["fingerprint"]
    page: PageVersion | None = None
    if row["body"] is not None:
        body = row["body"].encode()
        page = PageVersion(fingerprint, body, await asyncio.to_thread(gzip.compress, body, 6, mtime=0))
        cache.put(plan_id, page)
    elif cached is not None and cached.fingerprint == fingerprint:
        page = cached
    if fingerprint == client_fingerprint:
        return fingerprint, None
    assert page is not None  # no body comes back only for the version the cache or client holds
    return fingerprint, page
