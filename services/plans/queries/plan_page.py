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
from collections.abc import Awaitable, Callable
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

#: The page's version (migration ``0006_plan_page_versions``: a uuid that every committed change
#: to the plan, its commitments or its milestones replaces in the same transaction) and the page
#: only when that version differs from ``$2`` (the one already known). One primary-key lookup;
#: the page is an uncorrelated sub-select, which Postgres runs only when the CASE needs it. Both
#: come from the statement's one snapshot, so a page is never stored under another version.
_PLAN_FULL_IF_CHANGED = f"""
SELECT v.version, CASE WHEN v.version = $2 THEN NULL ELSE ({_PLAN_FULL}) END AS body
FROM plan_page_versions v WHERE v.plan_id = $1
"""  # noqa: S608


@dataclass(frozen=True, slots=True)
class PageVersion:
    """One version of a plan page: its version (32 hex digits, the HTTP ETag), its JSON and that
    JSON gzipped (a 300 KB page is about 20 KB gzipped: what browsers and CDNs ask for)."""

    version: str
    json: bytes
    gzip: bytes

    @property
    def size(self) -> int:
        return len(self.json) + len(self.gzip)


#: What a lookup found: the current version and the page, or None for the page when the version
#: is the one the lookup was told was already known (and no cached page has it); None: no plan.
Found = tuple[str, PageVersion | None] | None


class PageCache:
    """The plan pages last built, least recently used first out, bounded by their total size,
    and the version lookups in flight.

    A page is served from here only after Postgres confirmed that its version is still the
    current one (see :func:`plan_page`), so the cache can never serve a stale page, whichever
    process or replica wrote the change. It saves rebuilding the JSON, which is most of the cost
    of a page; the lookup is one indexed row, shared by the requests that arrive together.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[UUID, PageVersion] = OrderedDict()
        self._bytes = 0
        self._lookups = _Lookups()

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


#: Event-loop turns a lookup waits, after the previous one came back, before it is sent: about
#: twice as many requests per lookup under load (8 rather than 4 at 2,700 req/s), for a few
#: microseconds of latency.
_GATHER_TURNS = 3


class _Lookups:
    """Version lookups shared by the requests for one plan, without ever answering one of them
    from a snapshot older than its arrival.

    A request joins the lookup that has not been sent yet, or opens one; at most one lookup per
    plan is in flight, and the next one is sent when it is back, for every request that arrived
    meanwhile (and during a few turns of the event loop). A lookup stops taking requests before
    its query is sent, so Postgres takes its snapshot after each of them arrived: whatever was
    committed before a request came in (the requester's own write, answered before it asked) is
    in what that request gets. Under load, one round trip serves every request that came in
    during the previous one (the page costs the database and the service's asyncpg side a
    fraction of a query each); alone, a request costs one round trip, as before. The lookup runs
    as its own task, so a client that hangs up does not cancel it for the others.
    """

    def __init__(self) -> None:
        self._open: dict[UUID, asyncio.Task[Found]] = {}
        self._sent: dict[UUID, asyncio.Task[Found]] = {}

    def join(self, plan_id: UUID, lookup: Callable[[], Awaitable[Found]]) -> asyncio.Future[Found]:
        """The lookup the request waits for (``lookup`` runs it when a new one is needed)."""
        task = self._open.get(plan_id)
        if task is None:
            task = asyncio.ensure_future(self._run(plan_id, lookup))
            task.add_done_callback(_retrieve)
            self._open[plan_id] = task
        # shield: a request that goes away leaves the lookup to the others.
        return asyncio.shield(task)

    async def _run(self, plan_id: UUID, lookup: Callable[[], Awaitable[Found]]) -> Found:
        me = asyncio.current_task()
        try:
            previous = self._sent.get(plan_id)
            if previous is not None:
                await asyncio.wait([previous])
                # Under load: a few turns of the event loop let it read the requests already
                # waiting in its sockets, which join this lookup rather than wait for the next.
                for _ in range(_GATHER_TURNS):
                    await asyncio.sleep(0)
        finally:
            # Closed before the query is sent: later requests wait for the next lookup.
            if self._open.get(plan_id) is me:
                del self._open[plan_id]
        assert me is not None
        self._sent[plan_id] = me
        try:
            return await lookup()
        finally:
            if self._sent.get(plan_id) is me:
                del self._sent[plan_id]


def _retrieve(task: asyncio.Task[Found]) -> None:
    """Every waiter may have gone: the lookup's error is theirs, not the event loop's to log."""
    if not task.cancelled():
        task.exception()


async def _lookup(pool: Any, plan_id: UUID, cache: PageCache, known: str | None) -> Found:
    """One round trip: the current version, and the page built (and gzipped in a worker thread)
    only when neither the cache nor ``known`` holds that version."""
    cached = cache.get(plan_id)
    if cached is not None:
        known = cached.version
    row = await pool.fetchrow(_PLAN_FULL_IF_CHANGED, plan_id, UUID(known) if known else None)
    if row is None:
        cache.discard(plan_id)
        return None
    version: str = row["version"].hex
    if row["body"] is not None:
        body = row["body"].encode()
        page = PageVersion(version, body, await asyncio.to_thread(gzip.compress, body, 6, mtime=0))
        cache.put(plan_id, page)
        return version, page
    cached = cache.get(plan_id)  # the same page, unless another lookup replaced it meanwhile
    return version, cached if cached is not None and cached.version == version else None


async def plan_page(pool: Any, plan_id: UUID, cache: PageCache, client_version: str | None = None) -> Found:
    """The current version of the public plan page and the page itself, None for the page when
    the client already holds that version (``If-None-Match``); None when there is no plan.

    The version comes from a lookup sent after this request arrived (shared with the requests
    for the same plan that arrived with it); the JSON is built only after a change.
    """
    found = await cache._lookups.join(plan_id, lambda: _lookup(pool, plan_id, cache, client_version))
    if found is None:
        return None
    version, page = found
    if version == client_version:
        return version, None
    if page is None:
        # The shared lookup was told another client's version, which is the current one; this
        # client holds another, and no page is cached: look again, for this request alone.
        found = await _lookup(pool, plan_id, cache, None)
        if found is None:
            return None
        version, page = found
        if version == client_version:
            return version, None
    assert page is not None  # a lookup told nothing known always brings the page
    return version, page
