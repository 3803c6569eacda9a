"""The plan page's version (migration ``0006_plan_page_versions``) and the lookups that decide
whether a cached page is still current, against the real database: a page is never older than
the request it answers, whichever replica or connection wrote the change, and concurrent
requests share one lookup without breaking that.

Each test that would fail on a stale page says so: a change committed elsewhere (another
replica, a script), a lookup already in flight when the change commits, two writers whose row
locks cross.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from services.plans.queries import PageCache, plan_page
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from shared.runtime import Runtime
from tests.conftest import Env, client, running, token
from tests.helpers import ok

STAFF = token("staff")


@dataclass
class Plan:
    id: UUID
    commitments: list[UUID]
    milestones: list[UUID]


@pytest.fixture
async def rt(env: Env) -> AsyncIterator[Runtime]:
    async with running(PLANS, env.settings(PlansSettings, "plans")) as runtime:
        yield runtime


@pytest.fixture
async def api(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with client(rt) as c:
        yield c


async def new_plan(api: httpx.AsyncClient, commitments: int = 2) -> Plan:
    member = ok(await api.post("/v1/members", json={"name": f"M {uuid4().hex[:6]}", "kind": "national"},
                               headers=STAFF))  # fmt: skip
    plan = ok(
        await api.post(
            "/v1/plans",
            headers=STAFF,
            json={
                "member_id": member["id"],
                "title": "Plan",
                "start_date": "2025-01-01",
                "end_date": "2027-01-01",
                "point_of_contact": {"name": "C", "email": "c@example.org"},
            },
        )  # fmt: skip
    )
    ok(await api.post(f"/v1/plans/{plan['id']}/transitions", json={"to": "co_creation"}, headers=STAFF))
    out = Plan(UUID(plan["id"]), [], [])
    for i in range(commitments):
        c = ok(await api.post(f"/v1/plans/{plan['id']}/commitments", json={"title": f"C{i}"}, headers=STAFF))
        out.commitments.append(UUID(c["id"]))
        m = ok(
            await api.post(f"/v1/commitments/{c['id']}/milestones", json={"title": f"M{i}"}, headers=STAFF)
        )
        out.milestones.append(UUID(m["id"]))
    return out


async def version(rt: Runtime, plan_id: UUID) -> UUID:
    v: UUID = await rt.pool.fetchval("SELECT version FROM plan_page_versions WHERE plan_id = $1", plan_id)
    return v


async def page_of(pool: Any, plan_id: UUID, cache: PageCache) -> tuple[str, dict[str, Any]]:
    found = await plan_page(pool, plan_id, cache)
    assert found is not None
    tag, page = found
    assert page is not None
    return tag, json.loads(page.json)


async def test_every_committed_change_replaces_the_version_and_nothing_else_does(
    rt: Runtime, api: httpx.AsyncClient
) -> None:
    p = await new_plan(api)
    other = await new_plan(api)
    seen = {await version(rt, p.id)}

    async def changes(sql: str, *args: Any) -> None:
        await rt.pool.execute(sql, *args)
        now = await version(rt, p.id)
        assert now not in seen, sql
        seen.add(now)

    await changes("UPDATE plans SET title = 'Renamed' WHERE id = $1", p.id)
    await changes("UPDATE commitments SET lead_agency = 'Finance' WHERE id = $1", p.commitments[0])
    await changes("UPDATE milestones SET progress = 40 WHERE id = $1", p.milestones[1])
    await changes("DELETE FROM milestones WHERE id = $1", p.milestones[0])
    # a milestone moved to another plan changes both pages
    before_other = await version(rt, other.id)
    await changes("UPDATE milestones SET plan_id = $2 WHERE id = $1", p.milestones[1], other.id)
    assert await version(rt, other.id) != before_other

    current = await version(rt, p.id)
    # nothing committed: a rolled back change, a read, another plan's change
    async with rt.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("UPDATE plans SET title = 'Never' WHERE id = $1", p.id)
        await tx.rollback()
    await rt.pool.fetch("SELECT * FROM commitments WHERE plan_id = $1", p.id)
    await rt.pool.execute("UPDATE commitments SET lead_agency = 'X' WHERE id = $1", other.commitments[0])
    assert await version(rt, p.id) == current

    # one transaction of several changes: one new version, written once
    async with rt.pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE commitments SET lead_agency = 'A' WHERE plan_id = $1", p.id)
        await conn.execute("UPDATE milestones SET progress = 10 WHERE plan_id = $1", p.id)
        xid = await conn.fetchval("SELECT pg_current_xact_id()::text")
    row: Any = await rt.pool.fetchrow(
        "SELECT version, changed_in::text FROM plan_page_versions WHERE plan_id = $1", p.id
    )
    assert row["version"] != current and row["changed_in"] == xid
    # TRUNCATE fires no row trigger: every page changed
    await rt.pool.execute("TRUNCATE milestones, milestone_updates")
    assert await version(rt, p.id) != row["version"]


async def test_a_page_changed_through_another_replica_is_never_served_from_the_cache(
    rt: Runtime, api: httpx.AsyncClient
) -> None:
    """The service's cache is warm; the change is committed by another process (here a plain
    connection, as another replica or an operator's script would): the next request has it."""
    p = await new_plan(api)
    path = f"/v1/plans/{p.id}/full"
    first = await api.get(path)
    assert first.status_code == 200 and (await api.get(path)).headers["etag"] == first.headers["etag"]
    conn = await asyncpg.connect(rt.settings.database_url)
    try:
        for n in range(3):
            await conn.execute(
                "UPDATE commitments SET lead_agency = $2 WHERE id = $1", p.commitments[0], f"A{n}"
            )
            r = await api.get(path, headers={"if-none-match": first.headers["etag"]})
            assert r.status_code == 200 and r.json()["commitments"][0]["lead_agency"] == f"A{n}"
            first = r
    finally:
        await conn.close()
    # a replica's own write through the API: read back at once
    ok(await api.patch(f"/v1/commitments/{p.commitments[1]}", json={"title": "Renamed"}, headers=STAFF))
    assert (await api.get(path)).json()["commitments"][1]["title"] == {"en": "Renamed"}


class HeldPool:
    """The service's pool, except that the next lookup, once Postgres has answered it, is held
    until released: a lookup in flight while something else happens."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.answered = asyncio.Event()
        self.release = asyncio.Event()
        self.hold_next = False
        self.lookups = 0

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self.lookups += 1
        row = await self.pool.fetchrow(sql, *args)
        if self.hold_next:
            self.hold_next = False
            self.answered.set()
            await self.release.wait()
        return row


async def test_a_request_arriving_after_a_commit_never_gets_a_lookup_sent_before_it(
    rt: Runtime, api: httpx.AsyncClient
) -> None:
    """Requests share lookups, but only one not yet sent: a request that came in after the
    change committed must not be answered by a lookup whose snapshot predates the change (it
    would be the writer's own read after its write, stale)."""
    p = await new_plan(api)
    pool = HeldPool(rt.pool)
    cache = PageCache()
    old_tag, _ = await page_of(pool, p.id, cache)

    pool.hold_next = True
    early = asyncio.create_task(page_of(pool, p.id, cache))
    await pool.answered.wait()  # its snapshot is taken: the old version
    await rt.pool.execute("UPDATE commitments SET lead_agency = 'New' WHERE id = $1", p.commitments[0])
    late = asyncio.create_task(page_of(pool, p.id, cache))
    await asyncio.sleep(0.05)  # the late request is waiting for the next lookup, not this one
    assert not late.done()
    pool.release.set()
    early_tag, _ = await early
    late_tag, late_page = await late
    assert early_tag == old_tag  # it arrived before the change: the old page is its answer
    assert late_tag != old_tag and late_page["commitments"][0]["lead_agency"] == "New"
    # and the cache holds the new page, whichever lookup came back last
    assert (await page_of(pool, p.id, cache))[0] == late_tag


async def test_concurrent_requests_share_one_lookup_and_survive_a_client_leaving(
    rt: Runtime, api: httpx.AsyncClient
) -> None:
    p = await new_plan(api)
    pool = HeldPool(rt.pool)
    cache = PageCache()
    tag, _ = await page_of(pool, p.id, cache)
    pool.lookups = 0

    pool.hold_next = True
    first = asyncio.create_task(page_of(pool, p.id, cache))  # opens a lookup, then is held
    await pool.answered.wait()
    waiting = [asyncio.create_task(page_of(pool, p.id, cache)) for _ in range(20)]
    await asyncio.sleep(0.01)
    first.cancel()  # the client that opened the lookup hangs up: the others still get answers
    pool.release.set()
    results = await asyncio.gather(*waiting)
    assert {t for t, _ in results} == {tag}
    assert pool.lookups == 2  # the held one, then one for the twenty that came during it
    with pytest.raises(asyncio.CancelledError):
        await first

    # a client already holding the current version gets no page (304), others get it
    found = await plan_page(pool, p.id, cache, tag)
    assert found is not None and found == (tag, None)
    assert await plan_page(pool, uuid4(), cache) is None


async def test_writers_whose_row_locks_cross_on_one_plan_do_not_deadlock(
    rt: Runtime, api: httpx.AsyncClient
) -> None:
    """The version row is locked at commit only (deferred triggers): a writer holding it from
    its first statement would deadlock with one that locked a commitment first and then needs
    the version, while the first one waits for that commitment."""
    p = await new_plan(api)
    before = await version(rt, p.id)
    a = await asyncpg.connect(rt.settings.database_url)
    b = await asyncpg.connect(rt.settings.database_url)
    try:
        await a.execute("BEGIN")
        await b.execute("BEGIN")
        await asyncio.wait_for(
            a.execute("UPDATE milestones SET progress = 20 WHERE id = $1", p.milestones[0]), 10
        )
        # with the version locked by a's first statement, b would wait here for a
        await asyncio.wait_for(
            b.execute("UPDATE commitments SET lead_agency = 'B' WHERE id = $1", p.commitments[0]), 10
        )
        a_waits = asyncio.create_task(
            a.execute("UPDATE commitments SET lead_agency = 'A' WHERE id = $1", p.commitments[0])
        )
        await asyncio.sleep(0.1)
        assert not a_waits.done()  # a waits for b's commitment row
        await asyncio.wait_for(b.execute("COMMIT"), 10)
        after_b = await version(rt, p.id)
        await asyncio.wait_for(a_waits, 10)
        await asyncio.wait_for(a.execute("COMMIT"), 10)
    finally:
        a.terminate()
        b.terminate()
    after_a = await version(rt, p.id)
    assert len({before, after_b, after_a}) == 3
    assert (await api.get(f"/v1/plans/{p.id}/full")).json()["commitments"][0]["lead_agency"] == "A"


async def test_every_plan_has_a_version_from_its_creation(rt: Runtime, api: httpx.AsyncClient) -> None:
    await new_plan(api, commitments=0)
    missing = await rt.pool.fetchval(
        "SELECT count(*) FROM plans p WHERE NOT EXISTS (SELECT 1 FROM plan_page_versions v WHERE v.plan_id = p.id)"
    )
    assert missing == 0
