"""Open-data export and spreadsheet import of the plans service.

Exports are public and anonymous (``GET /v1/export/<dataset>.csv|json``) and stream from the
database. Imports are staff-only and take the raw CSV as the body (``Content-Type: text/csv``):
a multipart form would need another dependency and gives nothing a spreadsheet upload needs.
The import routes have their own body limit, ``PLANS_IMPORT_MAX_BYTES`` (OGP's whole database
is many MB), instead of ``PLANS_HTTP_MAX_BODY_BYTES``: the body is read as a stream into a
temporary file (in memory up to :data:`SPOOL_BYTES`, on disk above), counted, and refused with
413 past the limit. With ``Prefer: respond-async`` (RFC 7240) an import runs as a background job
(:mod:`services.plans.imports.jobs`): 202 and the job's address at once, its progress and report
at ``GET /v1/imports/jobs/{job_id}``. See ``docs/open-data.md``.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from enum import StrEnum
from typing import IO, Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from services.plans import exports, exports_ogp
from services.plans.imports import jobs
from services.plans.queries.pagination import DEFAULT_LIMIT, MAX_LIMIT
from services.plans.settings import PlansSettings
from services.plans.use_cases._common import actor_id
from shared.auth import Principal, Role, require
from shared.http import Problem
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["open data"])
RT = Annotated[Runtime, Depends(runtime_of)]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]

CSV_TYPES = frozenset({"text/csv", "application/csv"})
#: An upload is kept in memory up to this size, in a temporary file above it.
SPOOL_BYTES = 4_000_000
IMPORT_PATHS = {
    "commitments": "/v1/imports/commitments",
    "milestone-progress": "/v1/imports/milestone-progress",
}


def body_limits(settings: Any) -> dict[str, int]:
    """The import routes' own body limit (the service's ``body_limits``)."""
    limit = PlansSettings.of(settings).import_max_bytes
    return dict.fromkeys(IMPORT_PATHS.values(), limit)


class ImportJob(BaseModel):
    """A background import. ``report`` is the synchronous import's answer, once ``succeeded``;
    ``error`` says why it ``failed`` or was ``interrupted`` (re-submitting is always safe)."""

    job_id: UUID
    kind: Literal["commitments", "milestone-progress"]
    state: Literal["queued", "running", "succeeded", "failed", "interrupted"]
    rows_total: int | None = None
    rows_done: int
    bytes: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    report: dict[str, Any] | None = None
    error: str | None = None


class ImportJobPage(BaseModel):
    items: list[ImportJob]
    next_cursor: str | None = None


_PREFER = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": "`respond-async` (RFC 7240): run the import as a background job and answer 202 at once",
    "schema": {"type": "string", "example": "respond-async"},
}
_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "description": "UTF-8 CSV with a header"}}},
    },
    "parameters": [_PREFER],
}
_REPORT: dict[int | str, dict[str, Any]] = {
    200: {"description": "the import report: counts and one entry per failed row"},
    202: {
        "description": "with `Prefer: respond-async`: the job was accepted; poll its `Location`",
        "model": ImportJob,
        "headers": {
            "Location": {"description": "/v1/imports/jobs/{job_id}", "schema": {"type": "string"}},
            "Preference-Applied": {"description": "respond-async", "schema": {"type": "string"}},
        },
    },
    413: {"description": "body larger than PLANS_IMPORT_MAX_BYTES (the detail names the limit)"},
    415: {"description": "not text/csv, or a charset other than UTF-8"},
    422: {"description": "unreadable file, or a header with unknown or missing columns"},
}


def _check_media_type(request: Request) -> None:
    """415 for another media type than CSV in UTF-8, since guessing would import garbage."""
    media, _, params = request.headers.get("content-type", "").partition(";")
    if media.strip().lower() not in CSV_TYPES:
        raise Problem(415, "Unsupported Media Type", "send the spreadsheet as text/csv (UTF-8)")
    pairs = (p.partition("=") for p in params.split(";"))
    charset = {k.strip().lower(): v.strip().strip('"').lower() for k, _, v in pairs}.get("charset", "utf-8")
    if charset not in ("utf-8", "utf8"):
        raise Problem(415, "Unsupported Media Type", f"only UTF-8 is accepted, not {charset}")


async def _spooled_body(request: Request, limit: int) -> tuple[IO[bytes], int]:
    """The raw CSV body as a temporary file (the caller closes it) and its size; 413 past
    ``limit``. A declared length above it was refused before the route (shared.http)."""
    _check_media_type(request)
    file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (the caller closes it)
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Problem(413, "Content Too Large", f"request body exceeds {limit} bytes")
            file.write(chunk)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file, size


def _respond_async(request: Request) -> bool:
    """Whether ``Prefer`` asks for ``respond-async`` (RFC 7240: comma-separated preferences,
    each maybe with parameters; names are case-insensitive)."""
    for header in request.headers.getlist("prefer"):
        for preference in header.split(","):
            name = preference.split(";", 1)[0].split("=", 1)[0].strip().lower()
            if name == "respond-async":
                return True
    return False


async def _import(kind: str, request: Request, rt: Runtime, who: Principal) -> Any:
    limit = PlansSettings.of(rt.settings).import_max_bytes
    file, size = await _spooled_body(request, limit)
    if _respond_async(request):
        job = await jobs.jobs_of(rt).submit(kind, file, size, actor_id(who))
        return JSONResponse(
            job,
            status_code=202,
            headers={"Location": f"/v1/imports/jobs/{job['job_id']}", "Preference-Applied": "respond-async"},
        )
    with file:  # read in chunks by the import (from disk above SPOOL_BYTES), never whole
        report = await jobs.KINDS[kind](rt.pool, file, by=actor_id(who))
    return report.as_dict()


@router.post(
    "/imports/commitments",
    summary="Import OGP's commitments spreadsheet (staff)",
    openapi_extra=_CSV_BODY,
    responses=_REPORT,
)
async def import_commitments(request: Request, rt: RT, who: Staff) -> Any:
    """Create or update members, action plans and commitments from OGP's commitments database
    (CSV). Idempotent: re-importing a file changes nothing; a changed row updates its
    commitment. Bad rows are reported, the others imported. With `Prefer: respond-async` the
    import runs in the background: 202, and its progress and report at the `Location`."""
    return await _import("commitments", request, rt, who)


@router.post(
    "/imports/milestone-progress",
    summary="Bulk milestone progress from CSV (staff)",
    openapi_extra=_CSV_BODY,
    responses=_REPORT,
)
async def import_milestone_progress(request: Request, rt: RT, who: Staff) -> Any:
    """One progress report per row, with the same rules and events as
    ``POST /v1/milestones/{id}/progress``; bad rows are reported, the others recorded. With
    `Prefer: respond-async` the import runs in the background: 202 and the job's `Location`."""
    return await _import("milestone-progress", request, rt, who)


@router.get(
    "/imports/jobs",
    summary="Recent import jobs (staff)",
    response_class=Response,
    responses={200: {"model": ImportJobPage, "content": {"application/json": {}}}},
)
async def list_import_jobs(
    rt: RT,
    who: Staff,
    cursor: Annotated[
        str | None,
        Query(max_length=500, description="`next_cursor` of the previous page; omit for the first page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
) -> Response:
    """Background imports, newest first."""
    page = await jobs.list_jobs(rt.pool, cursor=cursor, limit=limit)
    return Response(page.to_json(), media_type="application/json")


@router.get(
    "/imports/jobs/{job_id}",
    summary="A background import: state, progress, report (staff)",
    responses={200: {"model": ImportJob}},
)
async def get_import_job(job_id: UUID, rt: RT, who: Staff) -> Any:
    """`state` is queued, running, succeeded, failed or interrupted; `rows_done` of
    `rows_total` tells the progress (written every half second at most); `report` is the
    synchronous import's answer once succeeded; `error` a message once failed or interrupted.
    An interrupted job's file may be re-submitted: an import is idempotent."""
    job = await jobs.get_job(rt.pool, job_id)
    if job is None:
        raise Problem(404, "Not Found", f"no import job {job_id}")
    return job


# --- exports ------------------------------------------------------------------------------------

_FORMATS: dict[str, tuple[str, Callable[..., AsyncIterator[bytes]]]] = {
    "csv": ("text/csv; charset=utf-8", exports.csv_stream),
    "json": ("application/json", exports.json_stream),
}


def _export_route(
    dataset: exports.Dataset, fmt: str
) -> Callable[[Runtime], Coroutine[Any, Any, StreamingResponse]]:
    media_type, stream = _FORMATS[fmt]

    async def export(rt: RT) -> StreamingResponse:
        return StreamingResponse(
            stream(rt.pool, dataset),
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{dataset.name}.{fmt}"'},
        )

    export.__doc__ = (
        f"All {dataset.name} as {fmt.upper()}, public and anonymous; streamed. "
        "The columns are documented in docs/open-data.md."
    )
    return export


class Layout(StrEnum):
    SHARAKA = "sharaka"
    OGP = "ogp"


@router.get(
    "/export/commitments.csv",
    summary="Open data: commitments (CSV), in Sharaka's or OGP's layout",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_commitments_csv(rt: RT, layout: Layout = Layout.SHARAKA) -> StreamingResponse:
    """All commitments as CSV, public and anonymous; streamed. ``layout=ogp`` writes the columns
    of OGP's commitments database in its order (imported commitments with their source data),
    which the import reads back to the same commitments. The columns are documented in
    docs/open-data.md."""
    if layout is Layout.OGP:
        return StreamingResponse(
            exports_ogp.ogp_csv_stream(rt.pool),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="commitments-ogp.csv"'},
        )
    return await _export_route(exports.COMMITMENTS, "csv")(rt)


for _dataset in exports.DATASETS.values():
    for _fmt, (_media, _) in _FORMATS.items():
        if (_dataset.name, _fmt) == ("commitments", "csv"):
            continue  # above, with its layout
        router.add_api_route(
            f"/export/{_dataset.name}.{_fmt}",
            _export_route(_dataset, _fmt),
            methods=["GET"],
            summary=f"Open data: {_dataset.name} ({_fmt.upper()})",
            response_class=StreamingResponse,
            responses={200: {"content": {_media.split(";")[0]: {}}}},
        )
