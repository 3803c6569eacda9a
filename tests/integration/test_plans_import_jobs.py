"""Big imports of the plans service, against the real Postgres and Kafka: the import routes' own
body limit (streamed, counted), background import jobs (``Prefer: respond-async``), their
progress, and jobs left behind by a stopped process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from services.plans import imports
from services.plans.imports import jobs
from services.plans.service import SPEC as PLANS
from services.plans.settings import PlansSettings
from shared.runtime import Runtime
from tests.conftest import Env, client, running, token
from tests.helpers import assert_problem, eventually, ok

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "ogp_commitments_sample.csv"
STAFF = token("staff", sub="support-unit")
CSV = {**STAFF, "content-type": "text/csv"}
ASYNC = {**CSV, "prefer": "respond-async"}
#: Below the test's import limit, above the general body limit (1 MB).
IMPORT_LIMIT = 2_000_000


@pytest.fixture
async def plans(env: Env) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    settings = env.settings(PlansSettings, "plans", import_max_bytes=IMPORT_LIMIT)
    async with running(PLANS, settings) as rt, client(rt) as c:
        yield c, rt


def padded(size: int) -> bytes:
    """The fixture followed by blank lines (skipped by the import) up to ``size`` bytes."""
    data = FIXTURE.read_bytes()
    return data + b"\n" * (size - len(data))


async def finished(api: httpx.AsyncClient, location: str) -> dict[str, Any]:
    async def poll() -> dict[str, Any]:
        job: dict[str, Any] = ok(await api.get(location, headers=STAFF))
        return job

    return await eventually(poll, until=lambda j: j["state"] not in ("queued", "running"), timeout=60)


async def test_a_body_above_the_general_limit_is_imported_below_the_import_limit(plans: Any) -> None:
    api, _rt = plans
    big = padded(1_100_000)
    r = await api.post("/v1/imports/commitments", content=big, headers=CSV)
    assert r.status_code == 200, r.text
    assert (r.json()["rows"], r.json()["created"]) == (41, 36)

    # Declared too large: refused before the body is read, the limit named.
    too_big = padded(IMPORT_LIMIT + 1)
    body = assert_problem(await api.post("/v1/imports/commitments", content=too_big, headers=CSV), 413)
    assert str(IMPORT_LIMIT) in body["detail"]

    # Streamed without a length (chunked): counted by the route, refused past the limit.
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(too_big), 256_000):
            yield too_big[start : start + 256_000]

    r = await api.post("/v1/imports/milestone-progress", content=chunks(), headers=CSV)
    assert str(IMPORT_LIMIT) in assert_problem(r, 413)["detail"]
    r = await api.post("/v1/imports/commitments", content=chunks(), headers=ASYNC)
    assert_problem(r, 413)
    # Other routes keep the general limit.
    r = await api.post("/v1/members", content=b"{" + b" " * 1_100_000 + b"}", headers=STAFF)
    assert "1000000" in assert_problem(r, 413)["detail"]
    # And the media type rules hold for jobs too.
    r = await api.post(
        "/v1/imports/commitments", content=big, headers={**ASYNC, "content-type": "text/plain"}
    )
    assert_problem(r, 415)


async def test_respond_async_runs_a_job_whose_report_is_the_synchronous_one(plans: Any) -> None:
    api, _rt = plans
    data = padded(1_200_000)
    r = await api.post("/v1/imports/commitments", content=data, headers=ASYNC)
    assert r.status_code == 202, r.text
    assert r.headers["preference-applied"] == "respond-async"
    accepted = r.json()
    assert r.headers["location"] == f"/v1/imports/jobs/{accepted['job_id']}"
    assert accepted["state"] in ("queued", "running") and accepted["kind"] == "commitments"
    job = await finished(api, r.headers["location"])
    assert job["state"] == "succeeded", job
    assert job["rows_done"] == job["rows_total"] == 41
    assert job["bytes"] == len(data) and job["started_at"] and job["finished_at"]
    assert (job["report"]["created"], job["report"]["failed"]) == (36, 5)
    assert "error" not in job

    # Once imported, the synchronous and the background re-import give the same report.
    sync = ok(await api.post("/v1/imports/commitments", content=data, headers=CSV))
    r = await api.post(
        "/v1/imports/commitments", content=data, headers={**ASYNC, "prefer": "wait=5, Respond-Async"}
    )
    assert r.status_code == 202, r.text
    again = await finished(api, r.headers["location"])
    assert again["report"] == sync
    assert sync["unchanged"] == 36

    listed = ok(await api.get("/v1/imports/jobs", headers=STAFF))
    assert [j["job_id"] for j in listed["items"]] == [again["job_id"], job["job_id"]]
    first = ok(await api.get("/v1/imports/jobs?limit=1", headers=STAFF))
    assert [j["job_id"] for j in first["items"]] == [again["job_id"]]
    rest = ok(await api.get(f"/v1/imports/jobs?limit=1&cursor={first['next_cursor']}", headers=STAFF))
    assert [j["job_id"] for j in rest["items"]] == [job["job_id"]] and rest["next_cursor"] is None


async def test_a_file_that_cannot_be_read_fails_its_job_with_a_message(plans: Any) -> None:
    api, _rt = plans
    r = await api.post("/v1/imports/milestone-progress", content=b"", headers=ASYNC)
    assert r.status_code == 202, r.text
    job = await finished(api, r.headers["location"])
    assert job["state"] == "failed" and job["kind"] == "milestone-progress"
    assert job["error"].startswith("the file cannot be imported")
    assert "Traceback" not in job["error"] and "report" not in job


async def test_job_routes_are_for_staff_and_an_unknown_job_is_404(plans: Any) -> None:
    api, _rt = plans
    assert_problem(await api.get(f"/v1/imports/jobs/{uuid4()}", headers=STAFF), 404)
    assert_problem(await api.get("/v1/imports/jobs/not-a-uuid", headers=STAFF), 422)
    for path in ("/v1/imports/jobs", f"/v1/imports/jobs/{uuid4()}"):
        assert_problem(await api.get(path), 401)
        for role in ("participant", "government", "irm"):
            assert_problem(await api.get(path, headers=token(role)), 403)
    r = await api.post("/v1/imports/commitments", content=FIXTURE.read_bytes(),
                       headers={**token("government"), "content-type": "text/csv", "prefer": "respond-async"})  # fmt: skip
    assert_problem(r, 403)


async def test_progress_is_told_with_increasing_counts(plans: Any) -> None:
    _api, rt = plans
    seen: list[tuple[int, int]] = []
    report = await imports.import_commitments(
        rt.pool, FIXTURE.read_bytes(), by="test", batch_size=5, progress=lambda d, t: seen.append((d, t))
    )
    assert {t for _, t in seen} == {report.rows}
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(set(done)) > 3
    assert done[-1] == report.rows and done[0] < report.rows


async def test_the_file_is_read_off_the_event_loop(plans: Any) -> None:
    """Reading and checking OGP's whole database is seconds of CPU: done on the event loop, it
    would stall the service's requests, consumers and probes for that long."""
    _api, rt = plans
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    at_progress: list[int] = []
    task = asyncio.create_task(ticker())
    try:
        report = await imports.import_commitments(
            rt.pool, FIXTURE.read_bytes(), by="test", progress=lambda _d, _t: at_progress.append(ticks)
        )
    finally:
        stop.set()
        await task
    assert report.created > 0
    assert at_progress[0] > 0  # told once the file is read: the loop ran other tasks meanwhile


async def test_jobs_of_a_stopped_process_are_interrupted(env: Env) -> None:
    settings = env.settings(PlansSettings, "plans")
    async with running(PLANS, settings) as rt:
        stale, mine = uuid4(), uuid4()
        insert = """INSERT INTO import_jobs (id, kind, state, submitted_by, owner, bytes, heartbeat_at)
                    VALUES ($1, 'commitments', 'running', 'x', $2, 10, now() - make_interval(secs => $3))"""
        await rt.pool.execute(insert, stale, uuid4(), 3600.0)
        # Another process's job with a fresh heartbeat is left alone (that process is alive).
        alive = uuid4()
        await rt.pool.execute(insert, alive, uuid4(), 1.0)
        # A graceful shutdown marks the process's own live jobs interrupted.
        await rt.pool.execute(insert, mine, jobs.jobs_of(rt).owner, 1.0)
    async with running(PLANS, settings) as rt:

        async def state_of(job_id: Any) -> dict[str, Any]:
            row = await rt.pool.fetchrow("SELECT state, error FROM import_jobs WHERE id = $1", job_id)
            assert row is not None
            return dict(row)

        swept = await eventually(lambda: state_of(stale), until=lambda j: j["state"] == "interrupted")
        assert "re-submitting the file is safe" in swept["error"]
        stopped = await state_of(mine)
        assert stopped["state"] == "interrupted" and "service stopped" in stopped["error"]
        assert (await state_of(alive))["state"] == "running"
