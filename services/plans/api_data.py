"""Open-data export and spreadsheet import of the plans service.

Exports are public and anonymous (``GET /v1/export/<dataset>.csv|json``) and stream from the
database. Imports are staff-only and take the raw CSV as the body (``Content-Type: text/csv``):
a multipart form would need another dependency and gives nothing a spreadsheet upload needs.
Bodies above ``PLANS_HTTP_MAX_BODY_BYTES`` get 413; bigger files go through the operator command
``python -m services.plans.imports`` (see ``docs/open-data.md``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from services.plans import exports, imports
from services.plans.use_cases._common import actor_id
from shared.auth import Principal, Role, require
from shared.http import Problem
from shared.runtime import Runtime, runtime_of

router = APIRouter(prefix="/v1", tags=["open data"])
RT = Annotated[Runtime, Depends(runtime_of)]
Staff = Annotated[Principal, Depends(require(Role.STAFF))]

CSV_TYPES = frozenset({"text/csv", "application/csv"})
_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "description": "UTF-8 CSV with a header"}}},
    }
}
_REPORT: dict[int | str, dict[str, Any]] = {
    200: {"description": "the import report: counts and one entry per failed row"},
    413: {"description": "body larger than PLANS_HTTP_MAX_BODY_BYTES: use the command line"},
    415: {"description": "not text/csv, or a charset other than UTF-8"},
    422: {"description": "unreadable file, or a header with unknown or missing columns"},
}


async def _csv_body(request: Request) -> bytes:
    """The raw CSV body; 415 for another media type, since guessing would import garbage."""
    media, _, params = request.headers.get("content-type", "").partition(";")
    if media.strip().lower() not in CSV_TYPES:
        raise Problem(415, "Unsupported Media Type", "send the spreadsheet as text/csv (UTF-8)")
    pairs = (p.partition("=") for p in params.split(";"))
    charset = {k.strip().lower(): v.strip().strip('"').lower() for k, _, v in pairs}.get("charset", "utf-8")
    if charset not in ("utf-8", "utf8"):
        raise Problem(415, "Unsupported Media Type", f"only UTF-8 is accepted, not {charset}")
    return await request.body()


@router.post(
    "/imports/commitments",
    summary="Import OGP's commitments spreadsheet (staff)",
    openapi_extra=_CSV_BODY,
    responses=_REPORT,
)
async def import_commitments(request: Request, rt: RT, who: Staff) -> dict[str, Any]:
    """Create or update members, action plans and commitments from OGP's commitments database
    (CSV). Idempotent: re-importing a file changes nothing; a changed row updates its
    commitment. Bad rows are reported, the others imported."""
    data = await _csv_body(request)
    report = await imports.import_commitments(rt.pool, data, by=actor_id(who))
    return report.as_dict()


@router.post(
    "/imports/milestone-progress",
    summary="Bulk milestone progress from CSV (staff)",
    openapi_extra=_CSV_BODY,
    responses=_REPORT,
)
async def import_milestone_progress(request: Request, rt: RT, who: Staff) -> dict[str, Any]:
    """One progress report per row, with the same rules and events as
    ``POST /v1/milestones/{id}/progress``; bad rows are reported, the others recorded."""
    data = await _csv_body(request)
    report = await imports.import_progress(rt.pool, data, by=actor_id(who))
    return report.as_dict()


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


for _dataset in exports.DATASETS.values():
    for _fmt, (_media, _) in _FORMATS.items():
        router.add_api_route(
            f"/export/{_dataset.name}.{_fmt}",
            _export_route(_dataset, _fmt),
            methods=["GET"],
            summary=f"Open data: {_dataset.name} ({_fmt.upper()})",
            response_class=StreamingResponse,
            responses={200: {"content": {_media.split(";")[0]: {}}}},
        )
