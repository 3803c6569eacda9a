"""Imports as background jobs: ``POST /v1/imports/...`` with ``Prefer: respond-async`` answers
202 at once and the import runs in the service process; ``GET /v1/imports/jobs/{id}`` tells how
far it got and, once done, its report.

Why it is shaped this way:

* **The file is never stored in the database.** The upload is spooled to a temporary file (see
  :mod:`services.plans.api_data`) that the job owns and closes when it ends, whatever the end.
* **A job belongs to the process that took it**, as an asyncio task that :class:`ImportJobs`
  holds (an unreferenced task may be collected mid-run). One job imports at a time per process
  (the others wait ``queued``): commitments imports serialise on the import lock anyway, and
  each running job holds its checked rows in memory (about 4x its file).
* **Progress is written at most every** :data:`FLUSH_S` seconds, by a ticker beside the import:
  the import's callback only counts, so it never waits on the database.
* **A job whose process is gone is marked interrupted.** While a job is live its process
  refreshes ``heartbeat_at`` (:data:`HEARTBEAT_S`); every process, at start and then every
  :data:`SWEEP_S`, marks ``interrupted`` the live jobs of other processes whose heartbeat is
  older than :data:`STALE_S` (the process that owned them is gone). A graceful shutdown cancels
  its own jobs and marks them interrupted itself. Re-submitting the file is safe: an import is
  idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from services.plans.imports.cli import KINDS
from services.plans.queries.pagination import (
    Page,
    cursor_timestamp,
    cursor_uuid,
    decode_cursor,
    page_of,
)
from shared.errors import Invalid
from shared.logging import get_logger, safe_traceback

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = get_logger(__name__)


#: Seconds between two progress writes of a job, at most.
FLUSH_S = 0.5
#: Seconds between two heartbeats of a live job whose progress does not move.
HEARTBEAT_S = 10.0
#: A live job whose heartbeat is older than this belongs to a process that is gone.
STALE_S = 60.0
#: Seconds between two looks for such jobs.
SWEEP_S = 30.0

RESUBMIT = "re-submitting the file is safe: an import is idempotent"
STOPPED = f"the service stopped before the import finished; {RESUBMIT}"
LOST = f"the process running the import stopped before it finished; {RESUBMIT}"

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)

_COLUMNS = """id AS job_id, kind, state, rows_total, rows_done, bytes, created_at, started_at,
    finished_at, report, error"""


def as_json(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it: report only once succeeded, error only once failed or
    interrupted."""
    job = dict(row)
    job["job_id"] = str(job["job_id"])
    for name in ("created_at", "started_at", "finished_at"):
        value = job.get(name)
        job[name] = value.isoformat() if isinstance(value, datetime) else value
    if job.get("report") is None:
        job.pop("report", None)
    if job.get("error") is None:
        job.pop("error", None)
    return job


async def get_job(pool: asyncpg.Pool, job_id: UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM import_jobs WHERE id = $1", job_id)  # noqa: S608
    return None if row is None else as_json(row)


async def list_jobs(pool: asyncpg.Pool, *, cursor: str | None, limit: int) -> Page:
    """Newest first (then id), keyset-paged like the service's other lists."""
    args: list[Any] = []
    where = "TRUE"
    if cursor is not None:
        created, job_id = decode_cursor(cursor, "import_jobs")
        args += [cursor_timestamp(created), cursor_uuid(job_id)]
        where = "(created_at, id) < ($1, $2)"
    rows = await pool.fetch(
        f"""SELECT {_COLUMNS} FROM import_jobs WHERE {where}
            ORDER BY created_at DESC, id DESC LIMIT {int(limit) + 1}""",  # noqa: S608
        *args,
    )
    items = [{"created_at": r["created_at"], "id": r["job_id"], "item": json.dumps(as_json(r))} for r in rows]
    return page_of(items, limit, "import_jobs", ("created_at", "id"))


async def sweep_stale(pool: asyncpg.Pool, owner: UUID, stale_s: float = STALE_S) -> int:
    """Mark ``interrupted`` the live jobs of other processes whose heartbeat is stale; how many."""
    status = await pool.execute(
        """UPDATE import_jobs SET state = 'interrupted', finished_at = now(), error = $3
           WHERE state IN ('queued', 'running') AND owner <> $1
             AND heartbeat_at < now() - make_interval(secs => $2)""",
        owner,
        stale_s,
        LOST,
    )
    swept = int(status.split()[-1])
    if swept:
        log.warning("import jobs of a stopped process marked interrupted", jobs=swept)
    return swept


class ImportJobs:
    """The jobs of one service process; see the module's docstring."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.owner = uuid.uuid4()
        self._tasks: dict[UUID, asyncio.Task[None]] = {}
        self._one_at_a_time = asyncio.Semaphore(1)

    async def submit(self, kind: str, file: IO[bytes], size: int, by: str) -> dict[str, Any]:
        """Record the job (``queued``) and start it; the job owns ``file`` from here on."""
        job_id = uuid.uuid4()
        try:
            row = await self.pool.fetchrow(
                f"""INSERT INTO import_jobs (id, kind, submitted_by, owner, bytes)
                    VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}""",  # noqa: S608
                job_id,
                kind,
                by,
                self.owner,
                size,
            )
        except BaseException:
            file.close()
            raise
        assert row is not None
        task = asyncio.create_task(self._run(job_id, kind, file, by), name=f"plans-import-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(job_id, None))
        return as_json(row)

    async def _run(self, job_id: UUID, kind: str, file: IO[bytes], by: str) -> None:
        counts: list[int] = [0, 0]
        moved = asyncio.Event()

        def progress(done: int, total: int) -> None:
            counts[:] = [done, total]
            moved.set()

        ticker = asyncio.create_task(self._tick(job_id, counts, moved))
        try:
            async with self._one_at_a_time:
                await self.pool.execute(
                    "UPDATE import_jobs SET state = 'running', started_at = now() WHERE id = $1", job_id
                )
                with file:  # the job's copy of the file ends with the import
                    report = await KINDS[kind](self.pool, file, by=by, progress=progress)
            ticker.cancel()
            await _settled(ticker)
            await self.pool.execute(
                """UPDATE import_jobs SET state = 'succeeded', finished_at = now(), heartbeat_at = now(),
                       rows_total = $2, rows_done = $2, report = $3 WHERE id = $1""",
                job_id,
                report.rows,
                report.as_dict(),
            )
        except asyncio.CancelledError:
            raise  # stop() marks the process's jobs interrupted once they are all cancelled
        except Invalid as problem:
            fields = "; ".join(f"{f}: {m}" for f, m in problem.errors)
            await self._fail(job_id, f"the file cannot be imported: {problem.message}", fields)
        except Exception as exc:
            log.error(
                "import job failed",
                job_id=str(job_id),
                error_type=type(exc).__name__,
                stack=safe_traceback(exc),
            )
            await self._fail(
                job_id, f"the import stopped on an unexpected error ({type(exc).__name__})", RESUBMIT
            )
        finally:
            ticker.cancel()
            await _settled(ticker)
            file.close()

    async def _fail(self, job_id: UUID, message: str, more: str) -> None:
        try:
            await self.pool.execute(
                """UPDATE import_jobs SET state = 'failed', finished_at = now(), heartbeat_at = now(),
                       error = $2 WHERE id = $1""",
                job_id,
                f"{message}; {more}" if more else message,
            )
        except _DB_ERRORS as exc:  # left live: swept as interrupted once its heartbeat is stale
            log.warning("import job failure not written", job_id=str(job_id), error_type=type(exc).__name__)

    async def _tick(self, job_id: UUID, counts: list[int], moved: asyncio.Event) -> None:
        """Write the counts when they moved, at most every FLUSH_S; else a heartbeat every
        HEARTBEAT_S (a queued job's too). A failed write is logged and tried again next time:
        the import goes on meanwhile."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(moved.wait(), timeout=HEARTBEAT_S)
            moved.clear()
            done, total = counts
            try:
                await self.pool.execute(
                    """UPDATE import_jobs SET heartbeat_at = now(),
                           rows_done = greatest(rows_done, $2), rows_total = coalesce($3, rows_total)
                       WHERE id = $1""",
                    job_id,
                    done,
                    total if total or done else None,
                )
            except _DB_ERRORS as exc:
                log.warning(
                    "import job progress not written", job_id=str(job_id), error_type=type(exc).__name__
                )
            await asyncio.sleep(FLUSH_S)

    async def keep(self, stopping: asyncio.Event) -> None:
        """Until ``stopping``: mark the jobs of stopped processes interrupted (now, then every
        SWEEP_S). Then cancel this process's jobs and mark them interrupted."""
        try:
            while not stopping.is_set():
                try:
                    await sweep_stale(self.pool, self.owner)
                except _DB_ERRORS as exc:
                    log.warning("import jobs sweep failed", error_type=type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=SWEEP_S)
        finally:
            await self.stop()

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(*_DB_ERRORS):
            marked = await self.pool.execute(
                """UPDATE import_jobs SET state = 'interrupted', finished_at = now(), error = $2
                   WHERE owner = $1 AND state IN ('queued', 'running')""",
                self.owner,
                STOPPED,
            )
            if marked != "UPDATE 0":
                log.warning("import jobs interrupted by the shutdown", jobs=int(marked.split()[-1]))


async def _settled(task: asyncio.Task[Any]) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def jobs_of(rt: Runtime) -> ImportJobs:
    """The jobs of this running service (tests run several services in one process)."""
    jobs: ImportJobs | None = getattr(rt.app.state, "import_jobs", None)
    if jobs is None:
        jobs = rt.app.state.import_jobs = ImportJobs(rt.pool)
    return jobs


async def import_jobs_keeper(rt: Runtime) -> None:
    """Background task of the plans service: see :meth:`ImportJobs.keep`."""
    await jobs_of(rt).keep(rt.stopping)


__all__ = ["KINDS", "ImportJobs", "get_job", "import_jobs_keeper", "jobs_of", "list_jobs", "sweep_stale"]
